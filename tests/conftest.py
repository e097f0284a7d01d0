from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml.composer
from measures_helpers import build_snapshot
from yaml.nodes import Node

from hubsim import Registry
from pipeline.analyze import measure_snapshot
from pipeline.cards import yaml_safe
from pipeline.store.layout import Snapshot
from tests.test_cards_parse import MODEL_INDEX_CARD
from tests.test_cards_training import TRAINER_CARD

REPO_ROOT = Path(__file__).resolve().parent.parent

# Test tiers, by file: `unit` tests call functions in process, `integration` tests (every file not named
# here) run parts against real files and the Hub simulator, `e2e` tests run whole commands, model
# processes, notebooks or the built wheel. `make test-fast` leaves out e2e and slow tests.
UNIT = {
    *("test_cards_claims", "test_cards_finetuned", "test_cards_frontmatter", "test_cards_links"),
    *("test_cards_parse", "test_cards_results", "test_cards_sections", "test_cards_subject"),
    *("test_cards_tables", "test_cards_training", "test_cards_yaml", "test_claimed_vs_measured"),
    *("test_claims_labels", "test_dataset_ids", "test_docs", "test_hub_units", "test_linear_patterns"),
    *("test_lookalikes", "test_registry", "test_summary", "test_crawl_phases", "test_risks_exposure"),
}
E2E = {
    *("test_cli", "test_wheel", "test_notebooks", "test_evaluate", "test_evaluate_units", "test_demo"),
    *("test_corruption", "test_crawl_recovery", "test_crawl_resilience", "test_publish_prune"),
    *("test_signals", "test_secrets", "test_hostile_server", "test_hostile_cards", "test_hubsim_repos"),
    *("test_report_escaping", "test_history_recompute"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        stem = item.path.stem
        item.add_marker("unit" if stem in UNIT else "e2e" if stem in E2E else "integration")


def _hub_sample() -> Path | None:
    """The real Hub sample: HUBMINE_HUB_SAMPLE (a path, or `none` to test as on a fresh clone), else beside
    the checkout."""
    chosen = os.environ.get("HUBMINE_HUB_SAMPLE", "")
    if chosen.lower() == "none":
        return None
    if chosen:
        if not Path(chosen).is_dir():
            raise pytest.UsageError(f"HUBMINE_HUB_SAMPLE={chosen} is not a folder")
        return Path(chosen)
    beside = REPO_ROOT.parent / "shared" / "hub-sample"
    return beside if beside.is_dir() else None


HUB_SAMPLE = _hub_sample()

# Hand-written cards mixed into the synthetic stand-in for the 2022 sample: what real cards have and
# generated ones lack (model-index claims, the Trainer's lists, `language: no`, tabs in flow YAML).
EDGE_CARDS = {
    "edge/model-index": MODEL_INDEX_CARD,
    "edge/trainer": "---\nlicense: mit\n---\n" + TRAINER_CARD,
    "edge/tabs": "---\nlicense: mit\ntags: [a,\tb]\n---\n# Tabs\n",
}


def write_sample(registry: Registry, directory: Path, readmes: bool = True) -> Path:
    """`registry` in the layout of a hub-sample data directory, as `Registry.from_sample` reads it.

    Records carry no `gated` field, as in the 2022 sample. Without `readmes` the directory is
    metadata-only, as the 2024 sample: the simulator makes each card from its cardData.
    """
    directory.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}
    with gzip.open(directory / "models.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i in range(len(registry)):
            record = {k: v for k, v in registry.model_info(i).items() if k != "gated"}
            readme = registry.readme(i)
            if readmes and readme is None:
                record["_readme_missing"] = True
            elif readmes and readme is not None:
                texts[record["id"]] = readme.decode("utf-8", errors="replace")
            handle.write(json.dumps(record) + "\n")
    table = pa.table({"id": list(texts), "readme": pa.array(list(texts.values()), pa.large_string())})
    pq.write_table(table, directory / "readmes.parquet")
    return directory


@pytest.fixture(scope="session")
def hub_sample() -> Path:
    """The real Hub sample, for comparisons with counts known of that very sample and no other."""
    if HUB_SAMPLE is None:
        pytest.skip("compares with known counts of the real Hub sample, which is absent (HUBMINE_HUB_SAMPLE)")
    return HUB_SAMPLE


@pytest.fixture(scope="session")
def hub2022(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2022 sample's data directory; without the sample, a synthetic one of its size and layout."""
    if HUB_SAMPLE is not None:
        return HUB_SAMPLE / "hub2022-sample"
    registry = Registry.synthetic(7322, seed=2022)
    for model_id, text in EDGE_CARDS.items():
        registry.add({"id": model_id, "siblings": [{"rfilename": "README.md"}]}, text.encode())
    return write_sample(registry, tmp_path_factory.mktemp("hub2022-sample"))


@pytest.fixture(scope="session")
def hub2024(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The metadata-only 2024 sample's data directory; without the sample, a synthetic one like it."""
    if HUB_SAMPLE is not None:
        return HUB_SAMPLE / "hub2024-sample"
    registry = Registry.synthetic(2000, seed=2024)
    return write_sample(registry, tmp_path_factory.mktemp("hub2024-sample"), readmes=False)


@pytest.fixture(scope="session")
def sample_registry(hub2022: Path) -> Registry:
    """The 2022 sample (real or synthetic) served as recorded; shared by the session, so read-only."""
    return Registry.from_sample(hub2022)


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
