"""Claims in numbers: claim rows by source, and how many of them count (model-index rows only can)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Section
from pipeline.measures.tables import iter_rows


@dataclass(frozen=True)
class ClaimsSection(Section):
    """summary.json `claims`."""

    n_claims: int
    by_source: dict[str, int]
    n_counting_model_index: int


def run(context: Context) -> ClaimsSection:
    by_source: Counter[str] = Counter()
    counting = 0
    for source, counts in iter_rows(context.snapshot.finding("claims"), ["source", "counts"]):
        by_source[source] += 1
        counting += bool(counts)
    return ClaimsSection(sum(by_source.values()), dict(by_source), counting)


MEASURE = Measure(name="claims", run=run, summary_key="claims", section=ClaimsSection, reads=("claims",))
