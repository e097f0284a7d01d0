"""Cards are reused from the newest complete snapshot that holds them at the same sha, not only from the
newest complete snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_helpers import crawl

from hubsim import HubSimulator, Registry

pytestmark = pytest.mark.usefixtures("quick_retries")


@pytest.mark.parametrize("between", [{"cards": False}, {"limit": 5}])
def test_a_crawl_without_cards_between_does_not_cost_the_reuse(
    tmp_path: Path, between: dict[str, object]
) -> None:
    registry = Registry.synthetic(n=60, seed=71)
    with HubSimulator(registry) as sim:
        first = crawl(sim.url, tmp_path, snapshot="full-1")
        crawl(sim.url, tmp_path, snapshot="between", **between)
        sim.reset_counters()
        third = crawl(sim.url, tmp_path, snapshot="full-2")
        asked = sim.counters["resolvers"]
    assert first.counts["cards_fetched"] > 0
    assert asked == 0
    assert third.counts["cards_reused"] == first.counts["cards_asked"]


def test_a_damaged_card_file_is_skipped_for_reuse_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = Registry.synthetic(n=30, seed=72)
    with HubSimulator(registry) as sim:
        first = crawl(sim.url, tmp_path, snapshot="s1")
        cards = first.snapshot.cards
        cards.write_bytes(cards.read_bytes()[:100])
        second = crawl(sim.url, tmp_path, snapshot="s2")
    assert second.status == "complete" and second.counts["cards_reused"] == 0
    assert f"not reusing cards of snapshot s1: {cards} is damaged" in capsys.readouterr().err
