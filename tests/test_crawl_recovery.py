"""A crawl stopped mid-cards (killed, its files damaged, its disk full) resumes without asking again for
what it had received, and ends with the tables of an uninterrupted crawl."""

from __future__ import annotations

import errno
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crawl_helpers import assert_same_tables, cli_crawl, crawl, files_asked, unfinished_snapshot
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.crawl import CrawlParams, CrawlResult, run_crawl
from pipeline.crawl import fetch as fetch_module
from pipeline.crawl.fetch import PART_ROWS
from pipeline.crawl.state import CrawlState
from pipeline.errors import StorageError
from pipeline.store import files
from pipeline.store.journal import Journal
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import read_manifest

pytestmark = pytest.mark.usefixtures("quick_retries")

WORKERS = 4


def clean_then_killed(sim: HubSimulator, root: Path) -> tuple[CrawlResult, Snapshot]:
    """An uninterrupted crawl to compare with, then a crawl in a child process SIGKILLed once it has asked
    for the README of a part and a tenth beyond (the counters count only that second crawl)."""
    clean = crawl(sim.url, root / "clean", workers=WORKERS)
    sim.reset_counters()
    proc = cli_crawl(root / "killed", sim.url, "--snapshot", "s1", "--workers", str(WORKERS))
    after_requests = PART_ROWS + 100
    # A safety net only: the kill waits on the request count, whatever the machine's speed.
    deadline = time.monotonic() + 120
    while sim.counters["resolvers"] < after_requests and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sim.counters["resolvers"] >= after_requests
    return clean, DataDir(root / "killed").snapshot("s1")


def resume(sim: HubSimulator, data_dir: Path) -> None:
    resumed = cli_crawl(data_dir, sim.url, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()


@pytest.mark.slow
def test_resume_after_sigkill_asks_for_no_readme_it_had_received(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=1300, seed=11)
    with HubSimulator(registry, latency_s=0.002) as sim:
        clean, snapshot = clean_then_killed(sim, tmp_path)
        readmes = files_asked(clean)
        asked_before_kill = sim.counters["resolvers"]
        committed = CrawlState.load(snapshot).phase("cards").done
        resume(sim, tmp_path / "killed")
        asked = sim.counters["resolvers"]
    # The kill left received cards that no part held yet; the resumed crawl replayed them.
    assert asked_before_kill > committed + WORKERS
    # Only requests in flight at the kill (one per worker at most) are asked again.
    assert asked <= readmes + WORKERS
    assert read_manifest(snapshot)["status"] == "complete"
    assert not snapshot.journal("cards").exists()
    assert_same_tables(clean.snapshot, snapshot)


@pytest.mark.slow
def test_damaged_journal_tail_and_parts_are_fetched_again(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=1300, seed=12)
    with HubSimulator(registry, latency_s=0.002) as sim:
        clean, snapshot = clean_then_killed(sim, tmp_path)
        readmes = files_asked(clean)
        state = CrawlState.load(snapshot)
        assert state.phase("cards").parts >= 1
        # What a kill or a failing disk can leave: the journal's last entry cut in half and followed
        # by garbage, the first committed part cut short, and a half-written part beyond the checkpoint.
        journal = snapshot.journal("cards")
        data = journal.read_bytes()
        journal.write_bytes(data[: len(data) - 40] + b"\x1f\x8b garbage")
        committed_part = snapshot.part("cards", 0)
        committed_part.write_bytes(committed_part.read_bytes()[:-100])
        snapshot.part("cards", state.phase("cards").parts).write_bytes(b"PAR1 cut")
        asked_before = sim.counters["resolvers"]
        resume(sim, tmp_path / "killed")
        asked_on_resume = sim.counters["resolvers"] - asked_before
    # The damaged part's cards are asked for again; the journal's whole entries are not.
    assert asked_on_resume >= PART_ROWS
    assert asked_before + asked_on_resume <= readmes + PART_ROWS + WORKERS + 1
    assert read_manifest(snapshot)["status"] == "complete"
    assert_same_tables(clean.snapshot, snapshot)


def test_a_cut_journal_keeps_its_whole_entries(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl.gz"
    journal = Journal(path, committed=0)
    for seq in range(5):
        journal.recorder(seq, (f"m{seq}", "sha")).write({"status": 200, "body": "x" * 100 * seq})
    journal.close()
    path.write_bytes(path.read_bytes()[:-7])
    reopened = Journal(path, committed=1)
    assert reopened.last_record(0, ("m0", "sha")) is None  # committed: dropped
    assert [reopened.last_record(seq, (f"m{seq}", "sha")) is not None for seq in range(1, 5)] == [
        True,
        True,
        True,
        False,
    ]
    assert reopened.last_record(1, ("other", "sha")) is None  # a replay answers only its own request
    assert [r["body"] for r in reopened.records_before(4)] == ["x" * 100, "x" * 200, "x" * 300]
    reopened.close()


def fail_after(calls: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, until it has been called `calls` times; then a full disk."""
    count = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if count > calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    return failing


@pytest.mark.slow
@pytest.mark.parametrize("writer", ["journal", "part"])
def test_a_full_disk_stops_the_crawl_in_one_line_and_resume_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    registry = Registry.synthetic(n=1300, seed=14)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", workers=WORKERS)
        readmes = files_asked(clean)
        sim.reset_counters()
        with monkeypatch.context() as patch:
            if writer == "journal":
                # The listing's two pages, then half the cards.
                patch.setattr(Journal, "_append", fail_after(2 + readmes // 2, Journal._append))
            else:
                # Two listing parts, then the first card part; the second does not fit.
                patch.setattr(files.pq, "write_table", fail_after(3, files.pq.write_table))
            patch.setenv("HF_ENDPOINT", sim.url)
            args = ["--data-dir", str(tmp_path / "full"), "--snapshot", "s1", "--workers", str(WORKERS)]
            result = CliRunner().invoke(app, ["crawl", *args])
        assert result.exit_code == 1
        # Progress bars aside, the error is one line.
        assert "Traceback" not in result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert message.startswith("hubmine: error: cannot write ")
        assert "No space left on device" in message and "free space" in message
        assert "hubmine crawl --resume" in message and str(tmp_path / "full") in message
        assert isinstance(result.exception, SystemExit)
        snapshot = DataDir(tmp_path / "full").snapshot("s1")
        resumed = run_crawl(tmp_path / "full", CrawlParams(), snapshot_id="s1", resume=True, endpoint=sim.url)
        asked = sim.counters["resolvers"]
    assert resumed.status == "complete"
    # Whatever was received before the disk filled up is not asked for again.
    assert asked <= readmes + WORKERS
    assert_same_tables(clean.snapshot, snapshot)


def test_storage_errors_name_the_path_and_the_fix(tmp_path: Path) -> None:
    for code, fix in ((errno.ENOSPC, "free space"), (errno.EROFS, "writable"), (errno.EACCES, "writable")):
        with pytest.raises(StorageError) as err, files.storage_errors(tmp_path / "x"):
            raise OSError(code, "refused")
        assert str(tmp_path / "x") in str(err.value) and fix in str(err.value)
    with pytest.raises(FileNotFoundError), files.storage_errors(tmp_path / "x"):
        raise FileNotFoundError(errno.ENOENT, "not a write failure")


def test_a_committed_part_garbled_inside_is_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small parts, so a crawl of a small registry commits several before the disk fills up.
    monkeypatch.setattr(fetch_module, "PART_ROWS", 10)
    registry = Registry.synthetic(n=60, seed=15)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", workers=WORKERS)
        with monkeypatch.context() as patch, pytest.raises(StorageError):
            # The listing's page, then 35 cards: three parts committed, the fourth cut off.
            patch.setattr(Journal, "_append", fail_after(1 + 35, Journal._append))
            crawl(sim.url, tmp_path / "cut", snapshot="s1", workers=1)
        snapshot = DataDir(tmp_path / "cut").snapshot("s1")
        assert CrawlState.load(snapshot).phase("cards").parts == 3
        # Bytes changed between the header and the footer: the part still opens, but no longer holds
        # what was committed.
        part = snapshot.part("cards", 1)
        data = bytearray(part.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 16] = bytes(16)
        part.write_bytes(bytes(data))
        sim.reset_counters()
        run_crawl(tmp_path / "cut", CrawlParams(), snapshot_id="s1", resume=True, endpoint=sim.url)
        asked_on_resume = sim.counters["resolvers"]
    # Parts 1 and 2 are fetched again: only part 0 (10 cards) and the journal's 5 cards are not.
    assert asked_on_resume >= files_asked(clean) - 10 - 5
    assert read_manifest(snapshot)["status"] == "complete"
    assert_same_tables(clean.snapshot, snapshot)


def test_a_finished_crawl_leaves_no_temporary_file_and_no_parts(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=40, seed=16)
    with HubSimulator(registry) as sim:
        snapshot = unfinished_snapshot(tmp_path, "s1", sim.url)
        # What runs killed mid-write leave: a table and a raw archive file under their temporary names.
        (snapshot.dir / f".{snapshot.models.name}.tmp-99999").write_bytes(b"PAR1")
        snapshot.raw.mkdir(exist_ok=True)
        (snapshot.raw / ".cards-000000.jsonl.gz.tmp-99999").write_bytes(b"\x1f\x8b")
        run_crawl(tmp_path, CrawlParams(), snapshot_id="s1", resume=True, endpoint=sim.url)
    left = sorted(str(p.relative_to(snapshot.dir)) for p in snapshot.dir.rglob("*"))
    assert not [name for name in left if ".tmp-" in name or name.startswith("parts")]
    assert not DataDir(tmp_path).lock.exists()
