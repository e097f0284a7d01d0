from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_SAMPLE = REPO_ROOT.parent / "shared" / "hub-sample"


@pytest.fixture(scope="session")
def hub_sample() -> Path:
    """The real Hub sample beside the checkout; tests that need it skip when it is absent."""
    if not HUB_SAMPLE.is_dir():
        pytest.skip("../shared/hub-sample is not present")
    return HUB_SAMPLE
