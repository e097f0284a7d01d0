"""SIGTERM ends a crawl as Ctrl-C does: a resumable snapshot and exit status 1 with the resume hint."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from crawl_helpers import assert_same_tables, cli_crawl, crawl

from hubsim import HubSimulator, Registry
from pipeline.crawl.state import CrawlState
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import read_manifest

pytestmark = pytest.mark.usefixtures("quick_retries")


def test_sigterm_leaves_a_resumable_snapshot(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=200, seed=51)
    with HubSimulator(registry, latency_s=0.002) as sim:
        clean = crawl(sim.url, tmp_path / "clean", workers=2)
        sim.reset_counters()
        proc = cli_crawl(tmp_path / "data", sim.url, "--snapshot", "s1", "--workers", "2")
        # A safety net only: the signal waits on the crawl having asked for READMEs.
        deadline = time.monotonic() + 120
        while sim.counters["resolvers"] < 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        snapshot = DataDir(tmp_path / "data").snapshot("s1")
        assert proc.returncode == 1, err.decode()
        assert "Traceback" not in err.decode()
        assert err.decode().strip().splitlines()[-1] == (
            "hubmine: error: interrupted; continue with `hubmine crawl --resume`"
        )
        assert read_manifest(snapshot)["status"] == "partial"
        assert CrawlState.load(snapshot).phase("listing").finished
        resumed = cli_crawl(tmp_path / "data", sim.url, "--resume")
        _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    assert read_manifest(snapshot)["status"] == "complete"
    assert_same_tables(clean.snapshot, snapshot)
