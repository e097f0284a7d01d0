"""One writer per data directory: a second crawl or analysis is refused in one line, and a lock left by
a killed run is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from crawl_helpers import REPO_ROOT, assert_same_tables, crawl, unfinished_snapshot
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.store.layout import DataDir
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import read_manifest

pytestmark = pytest.mark.usefixtures("quick_retries")

runner = CliRunner()


def test_a_second_crawl_or_analysis_is_refused_while_a_crawl_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.synthetic(n=40, seed=41)
    with HubSimulator(registry) as sim:
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        crawl(sim.url, tmp_path, snapshot="s1")
        sim.reset_counters()
        with holding_lock(DataDir(tmp_path), "crawl"):
            results = [
                runner.invoke(app, ["crawl", "--data-dir", str(tmp_path)]),
                runner.invoke(app, ["analyze", "--data-dir", str(tmp_path)]),
            ]
        assert sim.counters["api"] == 0
    for result in results:
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(
            f"hubmine: error: {tmp_path} is being crawled by PID {os.getpid()} since "
        )
        assert result.stderr.rstrip().endswith("; wait for it to finish or stop that run")
    assert [p.name for p in DataDir(tmp_path).snapshots.iterdir()] == ["s1"]


def test_a_second_resume_is_refused_and_the_first_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.synthetic(n=40, seed=42)
    with HubSimulator(registry) as sim:
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        clean = crawl(sim.url, tmp_path / "clean")
        unfinished_snapshot(tmp_path / "data", "s1", sim.url)
        with holding_lock(DataDir(tmp_path / "data"), "crawl"):
            second = runner.invoke(app, ["crawl", "--data-dir", str(tmp_path / "data"), "--resume"])
        assert second.exit_code == 1 and "is being crawled by PID" in second.stderr
        first = runner.invoke(app, ["crawl", "--data-dir", str(tmp_path / "data"), "--resume"])
    assert first.exit_code == 0, first.output
    snapshot = DataDir(tmp_path / "data").snapshot("s1")
    assert read_manifest(snapshot)["status"] == "complete"
    assert_same_tables(clean.snapshot, snapshot)


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from pipeline.store.layout import DataDir;"
            "from pipeline.store.lock import holding_lock\n"
            "with holding_lock(DataDir(Path(sys.argv[1])), 'crawl'):\n"
            "    print('held', flush=True); sys.stdin.read()",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert f"{holder.pid} crawl " in DataDir(tmp_path).lock.read_text()
    registry = Registry.synthetic(n=20, seed=43)
    with HubSimulator(registry) as sim:
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        result = runner.invoke(app, ["crawl", "--data-dir", str(tmp_path), "--no-cards"])
    assert result.exit_code == 0, result.output
    assert not DataDir(tmp_path).lock.exists()
