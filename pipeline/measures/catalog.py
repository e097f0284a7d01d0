"""Every step of `hubmine analyze`, registered once; the registry orders them by what they read."""

from __future__ import annotations

from pipeline.measures import (
    architectures,
    attributes,
    breakdowns,
    card_stage,
    claim_checks,
    claims,
    datasets,
    lineage,
    lookalikes,
    risks,
    scores,
)
from pipeline.measures.registry import Registry

REGISTRY = Registry(
    [
        card_stage.MEASURE,
        claims.MEASURE,
        attributes.MEASURE,
        architectures.MEASURE,
        lineage.MEASURE,
        claim_checks.MEASURE,
        datasets.MEASURE,
        scores.MEASURE,
        risks.MEASURE,
        lookalikes.MEASURE,
        breakdowns.MEASURE,
    ]
)
# The card stage's name, for runs on snapshots whose cards are already parsed.
CARD_STAGE = card_stage.MEASURE.name
