from __future__ import annotations

from pathlib import Path

import pytest
from measures_helpers import build_snapshot

from pipeline.analyze import measure_snapshot
from pipeline.store.layout import Snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_SAMPLE = REPO_ROOT.parent / "shared" / "hub-sample"


@pytest.fixture(scope="session")
def hub_sample() -> Path:
    """The real Hub sample beside the checkout; tests that need it skip when it is absent."""
    if not HUB_SAMPLE.is_dir():
        pytest.skip("../shared/hub-sample is not present")
    return HUB_SAMPLE


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crawls against the simulator: short backoff, a few more tries, and never the user's token."""
    monkeypatch.setenv("HUBMINE_BACKOFF_S", "0.01")
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "12")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")


@pytest.fixture(scope="module")
def measured_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The hand-built fixture snapshot (measures_helpers) with every measure run on it; read-only."""
    snapshot = build_snapshot(tmp_path_factory.mktemp("data"))
    measure_snapshot(snapshot)
    return snapshot
