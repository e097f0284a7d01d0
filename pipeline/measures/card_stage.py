"""The card stage (`pipeline.cards.stage`) as the first step of `hubmine analyze`."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.cards.stage import parse_snapshot
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Section


@dataclass(frozen=True)
class CardsSection(Section):
    """summary.json `cards`: what parse_snapshot counted."""

    models: int
    has_card: int
    has_card_body: int
    has_front_matter: int
    models_with_eval_claims: int
    claims: int
    counting_claims: int
    card_status: dict[str, int]
    metadata_source: dict[str, int]
    problems: dict[str, int]
    join: str
    orphan_cards: int
    workers: int
    seconds: float


def run(context: Context) -> CardsSection:
    return CardsSection.from_dict(parse_snapshot(context.snapshot))


MEASURE = Measure(
    name="cards",
    run=run,
    summary_key="cards",
    section=CardsSection,
    reads=("models", "cards", "eval_results"),
    writes=("parsed_cards", "claims"),
)
