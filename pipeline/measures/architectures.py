"""Architectures: `config.model_type` per model, how often it is missing, and the most common types."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures.attributes import model_type
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Count, HeadlineItem, Section, Share, share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import derive, load_json

TOP = 20


@dataclass(frozen=True)
class TypeCount(Section):
    model_type: str
    count: int
    share: Share | None


@dataclass(frozen=True)
class ArchitecturesSection(Section):
    """summary.json `dependencies.architectures`."""

    n_models: int
    missing: Count
    distinct: int
    top: list[TypeCount]

    def headline(self) -> list[HeadlineItem]:
        return [
            HeadlineItem("architecture_missing_share", self.missing.share, "architecture missing", "share")
        ]

    def count_of(self, model_type: str) -> int:
        """Models of `model_type`; 0 when it is not among the most common."""
        return next((entry.count for entry in self.top if entry.model_type == model_type), 0)


_TYPES = pa.schema([("model_id", pa.string()), ("model_type", pa.string())])


def describe(types: pa.Table) -> ArchitecturesSection:
    total = pc.count_distinct(types.column("model_id")).as_py()
    missing = types.column("model_type").null_count
    counts = pc.value_counts(types.column("model_type").combine_chunks().drop_null()).to_pylist()
    # Most common first, ties in the order the types were first met (as Counter.most_common ranks).
    ranked = sorted(counts, key=lambda entry: -entry["counts"])[:TOP]
    return ArchitecturesSection(
        n_models=total,
        missing=Count(missing, share(missing, total)),
        distinct=len(counts),
        top=[TypeCount(e["values"], e["counts"], share(e["counts"], total)) for e in ranked],
    )


def build(snapshot: Snapshot) -> pa.Table:
    return derive(
        snapshot.models,
        ["model_id", "config"],
        _TYPES,
        lambda row: (row[0], model_type(load_json(row[1]))),
    )


def run(context: Context) -> ArchitecturesSection:
    return describe(build(context.snapshot))


MEASURE = Measure(
    name="architectures",
    run=run,
    summary_key="dependencies.architectures",
    section=ArchitecturesSection,
    reads=("models",),
)
