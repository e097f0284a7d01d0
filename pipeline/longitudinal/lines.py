"""`hubmine history --git`: the lines each commit changed, from the repository's own git history.

PRIME's productivity, bus factor and issue density count lines, which the commits API does not give. Each
model is cloned bare over the Hub's git endpoint (in full: `git log --numstat` needs the files' blobs; the
weights stay in LFS and are not part of the clone), through the same bounded runner as `hubmine risks
--signatures`, and read twice:

- every commit reachable from `main` (merged branches included) with its author date, a digest of its
  author's email (PRIME tells developers apart by email; the address itself is not kept) and its numstat
  against its first parent; a merge commit's own lines are not counted (its branch's commits are);
- the first-parent line of `main`, where each commit's numstat against its first parent, summed from the
  root, gives the lines of text in the tree after it (`tree_lines`, PRIME's size).

A binary file counts no line. A clone is made only for a model whose commits listing found new commits this
run, or whose lines are not held yet (or failed before); its rows replace the model's rows.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline.errors import HubmineError, one_line
from pipeline.hub.client import HubClient
from pipeline.hub.ids import InvalidHubName
from pipeline.longitudinal.history_store import (
    EARLIEST,
    FUTURE_SLACK,
    Row,
    StepCount,
    in_models,
    merge_write,
    per_model,
    remedy,
)
from pipeline.risks.signatures import GitRunner, Limits, paced_clone
from pipeline.store.damage import reading
from pipeline.store.layout import DataDir

TABLE = "lines"
# Starts a commit's header line in `git log` output (`%x00` in the format); numstat lines never do.
HEADER = "\x00"


def author_key(email: str) -> str:
    """A stable digest of an author's email: the identity PRIME counts developers by, without the address."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:16]


def _date(seconds: str) -> datetime | None:
    """A commit's author date (`%at`); None outside the bounds history keeps. A commit object may hold
    any number there, so it is bounded before it becomes a datetime (which past year 9999 would raise)."""
    if not seconds.isascii() or not seconds.isdigit() or len(seconds) > 12:
        return None
    latest = datetime.now(timezone.utc) + FUTURE_SLACK
    if not EARLIEST.timestamp() <= int(seconds) <= latest.timestamp():
        return None
    return datetime.fromtimestamp(int(seconds), timezone.utc)


def _numstat(line: str) -> tuple[int, int] | None:
    """(added, deleted) of one numstat line; (0, 0) for a binary file; None when it is no numstat line."""
    parts = line.split("\t", 2)
    if len(parts) != 3:
        return None
    if parts[0] == "-" and parts[1] == "-":
        return 0, 0
    if all(part.isascii() and part.isdigit() and len(part) <= 12 for part in parts[:2]):
        return int(parts[0]), int(parts[1])
    return None


def _log(runner: GitRunner, repo: Path, args: list[str]) -> Iterator[str]:
    """The lines of one `git log` of HEAD in `repo`, decoded, under the runner's bounds."""
    for line in runner.log_lines(repo, ["-M", *args, "HEAD"]):
        yield line.decode("utf-8", "replace").rstrip("\n")


def read_history(runner: GitRunner, repo: Path, model_id: str, read_at: datetime) -> list[Row]:
    """One row per commit reachable from HEAD: author date and key, lines added and deleted (null on a
    merge), and the tree's lines after it for a commit on the first-parent line."""
    limit = runner.limits.max_commits
    rows: dict[str, Row] = {}
    current: Row | None = None
    header = "--format=%x00%H%x09%P%x09%at%x09%ae"
    for line in _log(runner, repo, [header, "--numstat", "--diff-merges=off", f"--max-count={limit + 1}"]):
        if line.startswith(HEADER):
            sha, parents, seconds, email = [*line[1:].split("\t"), "", "", ""][:4]
            merge = len(parents.split()) > 1
            current = {
                "model_id": model_id,
                "commit_id": sha[:64],
                "date": _date(seconds),
                "author_key": author_key(email),
                "merge": merge,
                "lines_added": None if merge else 0,
                "lines_deleted": None if merge else 0,
                "tree_lines": None,
                "read_at": read_at,
            }
            rows[current["commit_id"]] = current
        elif current is not None and not current["merge"] and (counts := _numstat(line)) is not None:
            current["lines_added"] += counts[0]
            current["lines_deleted"] += counts[1]
    if len(rows) > limit:
        raise HubmineError(f"the history has more than {limit} commits; raise HUBMINE_GIT_MAX_COMMITS")
    # The first-parent line, newest first: each commit's change to the tree, summed from the root.
    line_of_main: list[tuple[str, int]] = []
    first_parent = ["--first-parent", "--diff-merges=first-parent", "--format=%x00%H", "--numstat"]
    for line in _log(runner, repo, first_parent):
        if line.startswith(HEADER):
            line_of_main.append((line[1:][:64], 0))
        elif line_of_main and (counts := _numstat(line)) is not None:
            sha, change = line_of_main[-1]
            line_of_main[-1] = (sha, change + counts[0] - counts[1])
    total = 0
    for sha, change in reversed(line_of_main):
        total += change
        if sha in rows:
            rows[sha]["tree_lines"] = total
    return list(rows.values())


def fetch_lines(runner: GitRunner, client: HubClient, model_id: str) -> tuple[list[Row], int]:
    """The rows of one model from a fresh clone, and the clones asked (one); an `error` row when it
    cannot be cloned or read."""
    try:
        runner.url(model_id)
    except InvalidHubName as exc:
        return [{"model_id": model_id, "error": str(exc)}], 0
    with tempfile.TemporaryDirectory(prefix="hubmine-history-git-") as tmp:
        clone = paced_clone(runner, client, model_id, Path(tmp) / "repo", blobless=False)
        if not clone.ok:
            return [{"model_id": model_id, "error": clone.error}], 1
        try:
            rows = read_history(runner, clone.path, model_id, datetime.now(timezone.utc))
        except (HubmineError, OSError) as exc:
            return [{"model_id": model_id, "error": one_line(str(exc))}], 1
    for row in rows:
        row["clone_bytes"] = clone.bytes
    return rows, 1


def listed_since(
    commit_id: str, fetched_at: datetime | None, held: set[str], read_at: datetime | None
) -> bool:
    """Whether a listed commit is missing from the lines held and was listed after they were read (one
    listed before and missing was rewritten away: the clone rightly lacks it)."""
    return commit_id not in held and (fetched_at is None or read_at is None or fetched_at > read_at)


def _read(path: Path, models: Sequence[str], columns: list[str]) -> list[Row]:
    if not path.exists() or not models:
        return []
    with reading(path, remedy(path)):
        table = ds.dataset(path, format="parquet").to_table(
            columns=columns, filter=pc.field("model_id").isin(list(models))
        )
    return table.to_pylist()


def needing_clone(data: DataDir, models: Sequence[str], with_new_commits: set[str]) -> list[str]:
    """Of `models`, those whose lines must be read: new commits listed this run, no lines held, an error
    held, or commits listed after the held lines were read and missing from them (a run without --git)."""
    ids: dict[str, set[str]] = {}
    read_at: dict[str, datetime] = {}
    failed: set[str] = set()
    for row in _read(data.history_table(TABLE), models, ["model_id", "commit_id", "read_at", "error"]):
        if row["error"] is not None:
            failed.add(row["model_id"])
        elif row["commit_id"] is not None:
            ids.setdefault(row["model_id"], set()).add(row["commit_id"])
            if row["read_at"] is not None:
                read_at[row["model_id"]] = max(read_at.get(row["model_id"], row["read_at"]), row["read_at"])
    stale = {
        row["model_id"]
        for row in _read(data.history_table("commits"), list(ids), ["model_id", "commit_id", "fetched_at"])
        if row["commit_id"] is not None
        and row["commit_id"] not in ids[row["model_id"]]
        and (
            row["fetched_at"] is None
            or row["model_id"] not in read_at
            or row["fetched_at"] > read_at[row["model_id"]]
        )
    }
    return [m for m in models if m in with_new_commits or m not in ids or m in failed or m in stale]


def require_git() -> None:
    """Stop before any request when git is missing: --git could not finish."""
    if shutil.which("git") is None:
        raise HubmineError("git is not installed; install git 2.31 or later to use hubmine history --git")


def update_lines(
    data: DataDir, client: HubClient, endpoint: str, token: str | None, models: Sequence[str], workers: int
) -> StepCount:
    """Clone `models` and put their lines in `lines.parquet` in place of those held; a model that fails
    keeps its old lines beside its error row."""
    path = data.history_table(TABLE)
    with tempfile.TemporaryDirectory(prefix="hubmine-git-home-") as home:
        runner = GitRunner(endpoint, token, Path(home), Limits.from_env())
        done, count = per_model(
            models, lambda model_id: fetch_lines(runner, client, model_id), workers, "git histories"
        )
    read = [model_id for model_id in done if model_id not in count.errored]
    merge_write(
        path,
        TABLE,
        [[row for rows in done.values() for row in rows]],
        lambda held: pc.or_(
            in_models(held, read), pc.and_(in_models(held, done), held.column("error").is_valid())
        ),
    )
    return count
