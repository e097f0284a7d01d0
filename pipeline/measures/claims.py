"""Claims in numbers: claim rows by source and by subject, how many of them count (model-index rows
only can), and how many cards compare their model with others in a results table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pipeline.cards.subject import OTHER, SELF, is_self
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Section
from pipeline.store.tables import iter_rows


@dataclass(frozen=True)
class ClaimsSection(Section):
    """summary.json `claims`."""

    n_claims: int
    by_source: dict[str, int]
    n_counting_model_index: int
    # Claim rows by subject (a table written before `subject` existed reads as self).
    by_subject: dict[str, int]
    # Claims about the card's own model, by source: the only ones any other figure counts.
    self_by_source: dict[str, int]
    models_with_self_claims: int
    # Cards whose results tables give another model's numbers (baselines, siblings, the base model),
    # and of them those that give their own model's numbers beside them.
    models_comparing: int
    models_comparing_with_own: int


def run(context: Context) -> ClaimsSection:
    by_source: Counter[str] = Counter()
    by_subject: Counter[str] = Counter()
    self_by_source: Counter[str] = Counter()
    with_self: set[str] = set()
    comparing: set[str] = set()
    counting = 0
    columns = ["model_id", "source", "counts", "subject"]
    for model_id, source, counts, subject in iter_rows(context.snapshot.finding("claims"), columns):
        by_source[source] += 1
        own = is_self(subject)
        by_subject[SELF if own else subject] += 1
        counting += bool(counts) and own
        if own:
            self_by_source[source] += 1
            with_self.add(model_id)
        elif subject == OTHER:
            comparing.add(model_id)
    return ClaimsSection(
        n_claims=sum(by_source.values()),
        by_source=dict(by_source),
        n_counting_model_index=counting,
        by_subject=dict(by_subject),
        self_by_source=dict(self_by_source),
        models_with_self_claims=len(with_self),
        models_comparing=len(comparing),
        models_comparing_with_own=len(comparing & with_self),
    )


MEASURE = Measure(name="claims", run=run, summary_key="claims", section=ClaimsSection, reads=("claims",))
