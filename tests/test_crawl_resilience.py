"""Crawls that are killed, faulted or rate-limited end with the same tables as a clean crawl."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pyarrow.parquet as pq
import pytest
from crawl_helpers import assert_same_tables, cli_crawl, crawl, rows

from hubsim import Faults, HubSimulator, Quotas, Registry
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.crawl.state import CrawlState, PhaseProgress, write_manifest
from pipeline.store.archive import read_archive
from pipeline.store.layout import DataDir
from pipeline.store.parts import PartSet
from pipeline.store.snapshot import read_manifest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quick_retries")]


def test_resume_after_sigkill_in_the_listing_equals_an_uninterrupted_crawl(tmp_path: Path) -> None:
    """Killed between listing pages, as abruptly as a crash (a kill mid-cards: test_crawl_recovery)."""
    registry = Registry.synthetic(n=4000, seed=11)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", cards=False)
        # Each page takes long enough that the kill lands after the first checkpoint, before the last.
        sim.latency_s = 0.3
        data_dir = tmp_path / "killed"
        proc = cli_crawl(data_dir, sim.url, "--snapshot", "s1", "--no-cards")
        snapshot = DataDir(data_dir).snapshot("s1")
        deadline = time.monotonic() + 60
        while (
            CrawlState.load(snapshot).phase("listing").parts < 1
            and time.monotonic() < deadline
            and proc.poll() is None
        ):
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = CrawlState.load(snapshot)
        listing = state.phase("listing")
        assert 1 <= listing.parts < 4 and not listing.finished
        assert read_manifest(snapshot)["status"] == "running"

        sim.latency_s = 0.0
        sim.reset_counters()
        resumed = cli_crawl(data_dir, sim.url, "--resume")
        out, err = resumed.communicate(timeout=120)
        listing_requests = sim.counters["listing"]
    assert resumed.returncode == 0, err.decode()
    assert "snapshot s1 complete" in out.decode()
    # The committed pages are not asked for again.
    assert listing_requests <= 4 - listing.parts
    assert rows(snapshot.models) == rows(clean.snapshot.models)


def test_resume_before_the_first_checkpoint_still_reuses_the_previous_snapshot(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=300, seed=19)
    with HubSimulator(registry) as sim:
        crawl(sim.url, tmp_path, snapshot="first")
        # The first listing page takes long enough for the kill to come before any checkpoint.
        sim.latency_s = 5.0
        proc = cli_crawl(tmp_path, sim.url, "--snapshot", "second")
        snapshot = DataDir(tmp_path).snapshot("second")
        deadline = time.monotonic() + 30
        while read_manifest(snapshot) is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert read_manifest(snapshot)["since"] == "first"
        assert not snapshot.state.exists()

        sim.latency_s = 0.0
        sim.reset_counters()
        resumed = cli_crawl(tmp_path, sim.url, "--resume", "--snapshot", "second")
        _, err = resumed.communicate(timeout=120)
        card_requests = sim.counters["resolvers"]
    assert resumed.returncode == 0, err.decode()
    assert read_manifest(snapshot)["since"] == "first"
    # Nothing changed since "first", so every card is reused.
    assert card_requests == 0


def test_resume_after_the_last_listing_page_lists_nothing_again(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=1500, seed=23)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", cards=False)
        # What a kill between the last page's checkpoint and the end of the listing phase leaves:
        # both pages committed, no next page, the phase not yet marked done.
        data_dir = tmp_path / "killed"
        snapshot = DataDir(data_dir).snapshot("s1")
        models = pq.read_table(clean.snapshot.models)
        parts = PartSet(snapshot, "models")
        parts.write(0, models.slice(0, 1000))
        parts.write(1, models.slice(1000))
        manifest = read_manifest(clean.snapshot)
        write_manifest(snapshot, **{**manifest, "snapshot_id": "s1", "status": "running", "counts": {}})
        CrawlState(phases={"listing": PhaseProgress(2, 1500)}).save(snapshot, {}, {"listing": "models"})
        sim.reset_counters()
        resumed = run_crawl(data_dir, CrawlParams(), snapshot_id="s1", resume=True, endpoint=sim.url)
        listing_requests = sim.counters["listing"]
    assert resumed.status == "complete"
    assert listing_requests == 0
    assert rows(snapshot.models) == rows(clean.snapshot.models)


def test_injected_faults_do_not_change_the_tables(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=1000, seed=13)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean")
    faults = Faults(rate=0.2, seed=1, kinds=("5xx", "reset", "truncate", "bad_json"))
    with HubSimulator(registry, faults=faults) as sim:
        faulty = crawl(sim.url, tmp_path / "faulty")
        injected = sim.counters["faults"]
    assert injected > 100
    assert faulty.exit_code == 0
    assert faulty.counts["requests"]["retries"] >= injected
    assert_same_tables(clean.snapshot, faulty.snapshot)


def test_quota_is_paced_without_tripping_it(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=1200, seed=17)
    quotas = Quotas(api=500, resolvers=300, window_s=1.0)
    with HubSimulator(registry, quotas=quotas) as sim:
        result = crawl(sim.url, tmp_path, workers=16)
        throttled = sim.counters["429"]
    assert result.status == "complete"
    # The cards outlast three windows of 300 resolver calls; unpaced, 16 workers would trip each one.
    assert result.counts["cards_asked"] > 3 * 300
    assert throttled <= 3


def test_listing_page_size_shrinks_on_timeouts_and_grows_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.synthetic(n=8000, seed=19)
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", cards=False)
    # A stall well past the read timeout, and a timeout well past a loaded machine's slowest real page.
    monkeypatch.setenv("HUBMINE_TIMEOUT_S", "1.5")
    monkeypatch.setenv("HUBMINE_STALL_TRIES", "8")  # a slow page is a stall; this test is about the shrink
    faults = Faults(rate=0.2, seed=8, kinds=("slow",), slow_s=4.0)
    with HubSimulator(registry, faults=faults) as sim:
        faulty = crawl(sim.url, tmp_path / "faulty", cards=False)
    sizes = [
        int(dict(parse_qsl(urlsplit(r["url"]).query))["limit"])
        for r in read_archive(faulty.snapshot, "listing")
    ]
    assert faulty.counts["failures"].get("timeout", 0) > 0
    assert min(sizes) < 1000, sizes
    # After a shrink, a run of good pages brings the page size back up.
    first_small = next(i for i, size in enumerate(sizes) if size < 1000)
    assert 1000 in sizes[first_small:], sizes
    assert rows(clean.snapshot.models) == rows(faulty.snapshot.models)
