"""The crawl's phases, in the order they run: adding one is a module with its run function and a line here.

A phase either commits its table in numbered parts (`merge`: the checkpoint counts them, and they
are merged into the table once the phase has finished) or writes it whole at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.crawl.authors import crawl_authors, tally_authors
from pipeline.crawl.cards import crawl_cards, tally_cards
from pipeline.crawl.context import CrawlContext
from pipeline.crawl.eval_results import crawl_eval_results, tally_eval_results
from pipeline.crawl.listing import crawl_listing
from pipeline.crawl.params import CrawlParams


@dataclass(frozen=True)
class Phase:
    """`run` does what remains after the checkpoint; `tally` counts the finished table for the manifest.

    `restart_on_damage`: a damaged committed part sends the phase back to its start instead of to that
    part (the listing, whose cursor went with the part). `reads_earlier`: the phase looks at the
    snapshot the crawl builds on (to reuse what it holds).
    """

    name: str
    table: str
    enabled: Callable[[CrawlParams], bool]
    run: Callable[[CrawlContext], None]
    merge: bool = True
    unique_key: str | None = None
    restart_on_damage: bool = False
    reads_earlier: bool = False
    tally: Callable[[CrawlContext], dict[str, Any]] | None = None


PHASES: tuple[Phase, ...] = (
    Phase(
        "listing",
        "models",
        enabled=lambda params: True,
        run=crawl_listing,
        unique_key="model_id",
        restart_on_damage=True,
    ),
    Phase(
        "cards",
        "cards",
        enabled=lambda params: params.cards,
        run=crawl_cards,
        reads_earlier=True,
        tally=tally_cards,
    ),
    Phase(
        "eval_results",
        "eval_results",
        enabled=lambda params: params.cards,
        run=crawl_eval_results,
        reads_earlier=True,
        tally=tally_eval_results,
    ),
    Phase(
        "authors",
        "authors",
        enabled=lambda params: params.authors,
        run=crawl_authors,
        merge=False,
        reads_earlier=True,
        tally=tally_authors,
    ),
)


def enabled_phases(params: CrawlParams) -> tuple[Phase, ...]:
    return tuple(phase for phase in PHASES if phase.enabled(params))


def part_tables(phases: tuple[Phase, ...]) -> dict[str, str]:
    """The table each phase that commits parts writes, by phase name."""
    return {phase.name: phase.table for phase in phases if phase.merge}
