"""summary.json `paper_comparison`: the paper's figures beside the snapshot's."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures import paper
from pipeline.measures.architectures import ArchitecturesSection, TypeCount
from pipeline.measures.attributes import ALL_COLUMNS, SECTION_COLUMNS, AttributesSection, label
from pipeline.measures.datasets import DatasetEntries, DatasetsSection, DatasetUse
from pipeline.measures.section import Section, Share, share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import read_table

FIG6_TOP = 10


@dataclass(frozen=True)
class Side(Section):
    """One side of a comparison: a count of a total and its share, or only a share."""

    count: int | None = None
    of: int | None = None
    share: Share | None = None


def side(count: int | None, total: int | None) -> Side:
    return Side(count, total, share(count, total))


@dataclass(frozen=True)
class ComparisonRow(Section):
    """A compared figure; a side is a plain number (models), a `Side`, or None when not measured."""

    measure: str
    paper: Side | int | None
    snapshot: Side | int | None


@dataclass(frozen=True)
class TypeShare(Section):
    model_type: str
    share: Share


@dataclass(frozen=True)
class PaperArchitectures(Section):
    missing_share: Share
    top: list[TypeShare]


@dataclass(frozen=True)
class SnapshotArchitectures(Section):
    missing_share: Share | None
    top: list[TypeCount]


@dataclass(frozen=True)
class Fig6Architectures(Section):
    paper: PaperArchitectures
    snapshot: SnapshotArchitectures


@dataclass(frozen=True)
class Fig6Datasets(Section):
    note: str
    # The paper's dataset bars are not compared: only the snapshot side is given.
    paper: None
    snapshot_metric_entries: list[DatasetEntries]
    snapshot_models: list[DatasetUse]


@dataclass(frozen=True)
class TaskClaims(Section):
    task: str
    paper: Side
    snapshot: Side


@dataclass(frozen=True)
class PaperComparison(Section):
    paper: str
    note: str
    documentation: list[ComparisonRow]
    fig6_architectures: Fig6Architectures
    fig6_datasets: Fig6Datasets
    fig7_claims_by_task: list[TaskClaims]


def claims_by_task(snapshot: Snapshot) -> list[TaskClaims]:
    """Fig. 7: models with model-index claims per task, paper vs snapshot; other tasks include none."""
    # attributes.parquet has one row per model of models.parquet, in the same order.
    has_claims = read_table(snapshot.finding("attributes"), ["has_eval_claims"]).column(0)
    tags = read_table(snapshot.models, ["pipeline_tag"]).column(0)
    known = pc.fill_null(pc.is_in(tags, value_set=pa.array(list(paper.CLAIMS_BY_TASK), pa.string())), False)
    grouped = (
        pa.table({"task": pc.if_else(known, tags, paper.OTHER_TASKS), "claims": has_claims})
        .group_by("task")
        .aggregate([("claims", "sum"), ("claims", "count", pc.CountOptions(mode="all"))])
    )
    counts = {
        task: (claims, models)
        for task, claims, models in zip(
            *(grouped.column(name).to_pylist() for name in ("task", "claims_sum", "claims_count")),
            strict=True,
        )
    }
    rows = []
    for name, (p_claims, p_models) in [
        *paper.CLAIMS_BY_TASK.items(),
        (paper.OTHER_TASKS, paper.CLAIMS_OTHER_TASKS),
    ]:
        claims, models = counts.get(name, (0, 0))
        rows.append(TaskClaims(name, side(p_claims, p_models), side(claims, models)))
    return rows


def verified_organizations(snapshot: Snapshot) -> Side | None:
    """Verified share of the snapshot's organizations; None unless the crawl asked (`--authors`)."""
    path = snapshot.authors
    if not path.exists():
        return None
    kinds = read_table(path, ["kind", "verified"]).to_pylist()
    organizations = [row for row in kinds if row["kind"] == "organization"]
    return side(sum(1 for row in organizations if row["verified"]), len(organizations))


def _missing_words(column: str) -> str:
    """`has_license` -> `license missing`; `has_sec_citation` -> `citation section missing`."""
    return f"{label(column)} section missing" if column in SECTION_COLUMNS else f"{label(column)} missing"


def compare(
    snapshot: Snapshot,
    attributes: AttributesSection,
    architectures: ArchitecturesSection,
    datasets: DatasetsSection,
) -> PaperComparison:
    present, total = attributes.present, attributes.n_models
    top_name, top_share = paper.TOP_ARCHITECTURE
    documentation = [
        ComparisonRow("models", paper.MODELS_WITH_METADATA, total),
        ComparisonRow(
            "models with model-index performance claims",
            side(paper.MODELS_WITH_CLAIMS, paper.MODELS_WITH_METADATA),
            side(present["has_eval_claims"].count, total),
        ),
        ComparisonRow(
            "architecture (config.model_type) missing",
            Side(share=paper.ARCHITECTURE_MISSING_SHARE),
            side(architectures.missing.count, total),
        ),
        ComparisonRow(
            f"{top_name} share of models",
            Side(share=top_share),
            side(architectures.count_of(top_name), total),
        ),
        ComparisonRow(
            "organizations verified", side(*paper.ORGANIZATIONS_VERIFIED), verified_organizations(snapshot)
        ),
    ]
    documentation += [
        ComparisonRow(_missing_words(name), None, side(total - present[name].count, total))
        for name in ALL_COLUMNS
        if name not in ("has_eval_claims", "has_architecture")
    ]
    return PaperComparison(
        paper=f"Jiang et al., ICSE 2023, on the Hub of {paper.SNAPSHOT}",
        note="paper null: the paper did not measure it, or did not publish the number",
        documentation=documentation,
        fig6_architectures=Fig6Architectures(
            paper=PaperArchitectures(paper.ARCHITECTURE_MISSING_SHARE, [TypeShare(top_name, top_share)]),
            snapshot=SnapshotArchitectures(architectures.missing.share, architectures.top[:FIG6_TOP]),
        ),
        fig6_datasets=Fig6Datasets(
            note=datasets.metric_entries.note,
            paper=None,
            snapshot_metric_entries=datasets.metric_entries.top[:FIG6_TOP],
            snapshot_models=datasets.per_model.top[:FIG6_TOP],
        ),
        fig7_claims_by_task=claims_by_task(snapshot),
    )
