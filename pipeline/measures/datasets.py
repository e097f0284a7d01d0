"""Datasets, counted two ways: per model (models declaring the dataset in metadata `datasets` or a
`dataset:` tag, and the models derived from those through base-model edges) and the paper's way
(the paper's Fig. 6 dataset bars counted model-index metric entries, so one model evaluated with
five metrics on one dataset counts five times)."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.measures.graph import Graph, encode
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import HeadlineItem, Section, Share, share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import derive, iter_rows, left_join, load_json, read_table, strings

TOP = 20
METRIC_ENTRIES_NOTE = "the paper's dataset bars counted model-index metric entries, not models"


@dataclass(frozen=True)
class DatasetUse(Section):
    dataset: str
    models: int
    share: Share | None
    # Models trained on it directly or derived from one that was, through base_model.
    downstream_models: int


@dataclass(frozen=True)
class DatasetsPerModel(Section):
    n_models_with_datasets: int
    distinct: int
    top: list[DatasetUse]
    most_downstream: DatasetUse | None


@dataclass(frozen=True)
class DatasetEntries(Section):
    dataset: str
    entries: int
    models: int


@dataclass(frozen=True)
class MetricEntries(Section):
    note: str
    n_entries: int
    distinct: int
    top: list[DatasetEntries]


@dataclass(frozen=True)
class DatasetsSection(Section):
    """summary.json `dependencies.datasets`."""

    per_model: DatasetsPerModel
    metric_entries: MetricEntries

    def headline(self) -> list[HeadlineItem]:
        most = self.per_model.most_downstream
        return [
            HeadlineItem(
                "dataset_with_most_downstream_models",
                most and most.to_dict(),
                "dataset with most downstream models",
                "detail",
            )
        ]


_MODEL_FACTS = pa.schema([("model_id", pa.string()), ("tag_datasets", pa.list_(pa.string()))])
_CARD_FACTS = pa.schema([("model_id", pa.string()), ("meta_datasets", pa.list_(pa.string()))])


def _model_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, tags = row
    return model_id, [tag[len("dataset:") :].strip() for tag in tags or () if tag.startswith("dataset:")]


def _card_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, metadata = row
    meta = load_json(metadata)
    return model_id, strings(meta.get("datasets")) if isinstance(meta, dict) else []


def per_model(snapshot: Snapshot) -> DatasetsPerModel:
    models = derive(snapshot.models, ["model_id", "tags"], _MODEL_FACTS, _model_facts)
    cards = derive(snapshot.finding("parsed_cards"), ["model_id", "metadata"], _CARD_FACTS, _card_facts)
    joined = left_join(models, cards)
    del models, cards
    codes: dict[str, int] = {}
    # (dataset code, model row) per dataset a model declares.
    declared: list[np.ndarray] = []
    rows = 0
    for batch in joined.select(["tag_datasets", "meta_datasets"]).to_batches():
        pairs: list[tuple[int, int]] = []
        for tag_ds, meta_ds in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            for dataset in dict.fromkeys([*(meta_ds or ()), *tag_ds]):
                if dataset:
                    pairs.append((codes.setdefault(dataset, len(codes)), rows))
            rows += 1
        declared.append(np.array(pairs, np.int64).reshape(-1, 2))
    pairs = np.concatenate(declared) if declared else np.zeros((0, 2), np.int64)

    lineage = read_table(snapshot.finding("lineage"), ["model_id", "base_model"])
    names, (model_nodes, child, parent) = encode(
        joined.column("model_id"), lineage.column("model_id"), lineage.column("base_model")
    )
    total = len(np.unique(model_nodes))
    return _rank(Graph(names, child, parent), list(codes), pairs[:, 0], model_nodes[pairs[:, 1]], total)


def _rank(
    graph: Graph, names: list[str], codes: np.ndarray, nodes: np.ndarray, total: int
) -> DatasetsPerModel:
    counts = np.bincount(codes, minlength=len(names))
    ranked = heapq.nsmallest(TOP, range(len(names)), key=lambda d: (-counts[d], names[d]))
    top = [
        DatasetUse(names[d], int(counts[d]), share(int(counts[d]), total), graph.reach(nodes[codes == d]))
        for d in ranked
    ]
    return DatasetsPerModel(
        n_models_with_datasets=len(np.unique(nodes)),
        distinct=len(names),
        top=top,
        most_downstream=max(top, key=lambda entry: entry.downstream_models, default=None),
    )


def metric_entries(snapshot: Snapshot) -> MetricEntries:
    entries: Counter[str] = Counter()
    models: dict[str, set[str]] = defaultdict(set)
    columns = ["model_id", "source", "dataset_type", "dataset_name", "counts"]
    for model_id, source, dataset_type, dataset_name, counts in iter_rows(
        snapshot.finding("claims"), columns
    ):
        if source != "model-index" or not counts:
            continue
        name = (dataset_type or "").strip() or (dataset_name or "").strip()
        entries[name] += 1
        models[name].add(model_id)
    return MetricEntries(
        note=METRIC_ENTRIES_NOTE,
        n_entries=sum(entries.values()),
        distinct=len(entries),
        top=[DatasetEntries(name, n, len(models[name])) for name, n in entries.most_common(TOP)],
    )


def run(context: Context) -> DatasetsSection:
    return DatasetsSection(per_model(context.snapshot), metric_entries(context.snapshot))


MEASURE = Measure(
    name="datasets",
    run=run,
    summary_key="dependencies.datasets",
    section=DatasetsSection,
    reads=("models", "parsed_cards", "claims", "lineage"),
)
