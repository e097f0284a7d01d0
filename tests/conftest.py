from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml.composer
from measures_helpers import build_snapshot
from yaml.nodes import Node

from pipeline.analyze import measure_snapshot
from pipeline.cards import yaml_safe
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
def yaml_work(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What YAML loading did, to bound it by the input instead of the clock: `built`, child nodes the
    value builder visited (aliases expanded would be counted once per use); `composed`, nodes the
    pure-Python composer made (libyaml composes in C, uncounted)."""
    work: Counter[str] = Counter()
    child: Callable[[Node, dict[int, Any]], Any] = yaml_safe._child
    compose: Callable[..., Node] = yaml.composer.Composer.compose_node

    def counted_child(node: Node, values: dict[int, Any]) -> Any:
        work["built"] += 1
        return child(node, values)

    def counted_compose(self: yaml.composer.Composer, *args: Any) -> Node:
        work["composed"] += 1
        return compose(self, *args)

    monkeypatch.setattr(yaml_safe, "_child", counted_child)
    monkeypatch.setattr(yaml.composer.Composer, "compose_node", counted_compose)
    return work


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
