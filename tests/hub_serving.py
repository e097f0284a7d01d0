"""A Hub simulator with every Hub client of this process (huggingface_hub, transformers, datasets) pointed at
it, for tests that serve files to those clients; torch-free, so tests that only serve files need no
evaluate extra."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import datasets
import pytest

from hubsim import HubSimulator, Registry


@contextlib.contextmanager
def serving(registry: Registry, tmp: Path) -> Iterator[HubSimulator]:
    """A simulator serving `registry`, with every Hub client in this process pointed at it and every cache
    under `tmp`, until the block ends; all settings are put back afterwards."""
    import huggingface_hub.constants as hub_constants
    import huggingface_hub.hf_api

    with HubSimulator(registry) as sim, pytest.MonkeyPatch.context() as mp:
        url = sim.url
        hub_cache, datasets_cache = tmp / "hub", tmp / "datasets"
        for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            mp.delenv(name, raising=False)
        env = {
            "HF_ENDPOINT": url,
            "HF_HOME": str(tmp / "home"),
            "HF_HUB_CACHE": str(hub_cache),
            "HF_DATASETS_CACHE": str(datasets_cache),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        # The libraries read these once, at import.
        mp.setattr(hub_constants, "ENDPOINT", url)
        mp.setattr(
            hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        mp.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
        mp.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        mp.setattr(hub_constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
        mp.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", True)
        mp.setattr(huggingface_hub.hf_api.api, "endpoint", url)
        mp.setattr(datasets.config, "HF_ENDPOINT", url)
        mp.setattr(datasets.config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}")
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
        mp.setattr(datasets.config, "HF_HUB_OFFLINE", False)
        mp.setattr(datasets.config, "HF_UPDATE_DOWNLOAD_COUNTS", False)
        yield sim
