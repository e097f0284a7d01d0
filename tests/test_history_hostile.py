"""Repository history against hostile repositories and large tables: what a commit object or a table can
hold never stops a run, and what is read does not grow with more than it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.errors import DamagedFileError
from pipeline.longitudinal import process
from pipeline.longitudinal.lines import read_history
from pipeline.report.history import top_models
from pipeline.risks.signatures import GitRunner, Limits
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir

git_needed = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, check=True)
    return done.stdout.decode().strip()


@git_needed
@pytest.mark.parametrize("seconds", ["999999999999", "-99999999999", "4102444800"])
def test_an_author_date_git_keeps_but_datetime_cannot_hold_is_unknown_not_fatal(
    tmp_path: Path, seconds: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("one\ntwo\n")
    _git(repo, "add", "README.md")
    tree = _git(repo, "write-tree")
    # A commit object may carry any number as its author date; git log prints it as it is.
    commit = (
        f"tree {tree}\nauthor a <a@b> {seconds} +0000\ncommitter a <a@b> 1700000000 +0000\n\nm\n"
    ).encode()
    sha = _git(repo, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", stdin=commit)
    _git(repo, "update-ref", "refs/heads/main", sha)
    home = tmp_path / "home"
    home.mkdir()
    limits = Limits(timeout_s=60, max_bytes=1 << 30, max_commits=10, full_clone=False)
    runner = GitRunner("http://127.0.0.1:9", None, home, limits)

    rows = read_history(runner, repo, "a/b", datetime.now(timezone.utc))

    assert [(row["commit_id"], row["date"], row["lines_added"], row["tree_lines"]) for row in rows] == [
        (sha, None, 2, 2)
    ]


def test_the_reports_top_models_are_the_most_downloaded_followed_ones(tmp_path: Path) -> None:
    snapshot = DataDir(tmp_path).snapshot("s")
    registry = [{"model_id": f"x/m{i}", "downloads": i} for i in range(2_000)]
    write_parquet(snapshot.models, table_from_rows("models", registry))
    process = pd.DataFrame(
        {"model_id": ["*", "x/m5", "x/m1500", "x/m7", "gone/m"], "commits": [9, 1, 1, 1, 50]}
    )

    assert top_models(process, snapshot, n=2) == ["x/m1500", "x/m7"]
    # Without a snapshot, the most commits first.
    assert top_models(process, None, n=2) == ["gone/m", "x/m1500"]


@pytest.mark.parametrize("damaged", ["lines", "discussions", "process"])
def test_a_damaged_history_table_is_one_line_saying_what_to_do(tmp_path: Path, damaged: str) -> None:
    data = DataDir(tmp_path)
    when = datetime(2025, 1, 10, tzinfo=timezone.utc)
    commit = {
        "model_id": "a/b",
        "commit_id": "c1",
        "title": "t",
        "date": when,
        "authors": [],
        "fetched_at": when,
    }
    write_parquet(data.history_table("commits"), table_from_rows("commits", [commit]))
    data.history_table(damaged).write_bytes(b"PAR1 not a parquet file")

    with pytest.raises(DamagedFileError) as raised:
        periods = sorted(process.held_periods(data) | {"month"})
        process.write_process(data, periods, datetime(2025, 3, 1, tzinfo=timezone.utc), "s", when)
    message = str(raised.value)
    assert f"{damaged}.parquet" in message and "hubmine history" in message and "\n" not in message


def test_a_discussion_without_a_usable_creation_date_makes_the_counts_unknown_not_short(
    tmp_path: Path,
) -> None:
    """A hostile `createdAt` (before 2000, or in the future) is stored null: the thread cannot be placed
    in time, so no period's count can be trusted."""
    data = DataDir(tmp_path)
    when = datetime(2025, 1, 10, tzinfo=timezone.utc)
    commit = {"model_id": "a/b", "commit_id": "c1", "title": "t", "date": when, "authors": []}
    write_parquet(data.history_table("commits"), table_from_rows("commits", [commit]))
    thread = {
        "model_id": "a/b",
        "status": "open",
        "is_pull_request": False,
        "changed_at": [],
        "changed_to": [],
    }
    threads = [thread | {"num": 1, "created_at": when}, thread | {"num": 2, "created_at": None}]
    write_parquet(data.history_table("discussions"), table_from_rows("discussions", threads))

    process.write_process(data, ["month"], datetime(2025, 3, 1, tzinfo=timezone.utc), "s", when)

    rows = pq.read_table(data.history_table("process")).to_pylist()
    mine = [
        (r["open_discussions"], r["issue_spoilage"], r["discussions_unknown"])
        for r in rows
        if r["model_id"] == "a/b"
    ]
    assert mine == [(None, None, "discussions without a usable creation date: 1")] * 2
