"""The crawl's phase registry and its per-phase checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crawl_helpers import crawl

import pipeline.crawl.phases as phases_module
from hubsim import HubSimulator, Registry
from pipeline.crawl.context import CrawlContext
from pipeline.crawl.params import CrawlParams
from pipeline.crawl.phases import PHASES, Phase, enabled_phases, part_tables
from pipeline.crawl.state import CrawlState, PhaseProgress
from pipeline.schemas import load_schema
from pipeline.store.layout import SNAPSHOT_TABLES, DataDir

pytestmark = pytest.mark.usefixtures("quick_retries")


def test_phases_run_in_order_and_write_registered_tables() -> None:
    assert [p.name for p in PHASES] == ["listing", "cards", "eval_results", "authors"]
    for phase in PHASES:
        assert phase.table in SNAPSHOT_TABLES
        assert load_schema(phase.table).names[0] in {"model_id", "author"}
    assert [p.name for p in enabled_phases(CrawlParams(cards=False))] == ["listing"]
    assert [p.name for p in enabled_phases(CrawlParams(authors=True))] == [p.name for p in PHASES]
    assert part_tables(enabled_phases(CrawlParams(authors=True))) == {
        "listing": "models",
        "cards": "cards",
        "eval_results": "eval_results",
    }


def test_a_checkpoint_from_before_the_registry_still_loads(tmp_path: Path) -> None:
    snapshot = DataDir(tmp_path).snapshot("s1")
    snapshot.dir.mkdir(parents=True)
    legacy = {
        "next_url": "http://hub/api/models?cursor=x",
        "listing_parts": 3,
        "listed": 2500,
        "listing_done": True,
        "card_parts": 2,
        "cards_done": 2000,
        "cards_finished": False,
        "since": "s0",
        "part_checksums": {"models": ["a", "b", "c"], "cards": ["d", "e"]},
        "requests": {"requests.api": 3},
    }
    snapshot.state.write_text(json.dumps(legacy))
    state = CrawlState.load(snapshot)
    assert state.phases == {
        "listing": PhaseProgress(3, 2500, True),
        "cards": PhaseProgress(2, 2000, False),
    }
    assert state.next_url == legacy["next_url"] and state.since == "s0"
    assert state.phase("eval_results") == PhaseProgress()
    # Saved again, it is in the new shape and loads the same.
    state.save(snapshot, {"requests.api": 3}, {})
    saved = json.loads(snapshot.state.read_text())
    assert "card_parts" not in saved and saved["phases"]["cards"] == {
        "parts": 2,
        "done": 2000,
        "finished": False,
    }
    assert CrawlState.load(snapshot).phases == state.phases


def test_a_registered_phase_runs_after_those_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []

    def extra(context: CrawlContext) -> None:
        # Everything the phases before it wrote is merged into its table by then.
        seen.append((context.snapshot.id, context.snapshot.eval_results.exists()))

    phase = Phase("extra", "authors", enabled=lambda params: True, run=extra, merge=False)
    monkeypatch.setattr(phases_module, "PHASES", (*PHASES, phase))
    with HubSimulator(Registry.synthetic(n=20, seed=4)) as sim:
        result = crawl(sim.url, tmp_path, snapshot="s1")
        crawl(sim.url, tmp_path, snapshot="s2", cards=False)
    assert result.status == "complete"
    assert seen == [("s1", True), ("s2", False)]
