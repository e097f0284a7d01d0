"""Every attribute, factor and score rate broken down by task, library, author kind, creation year
and popularity decile: `findings/breakdowns.parquet` (long form: one row per group and measure).

Author kind (organization or user) is not part of a model's listing; it comes from the snapshot's
optional `authors.parquet` (author, kind). Authors it does not list, or every author when the file is
absent, are `unknown`. Popularity deciles rank models by 30-day downloads (1 = least downloaded,
10 = most); ties are broken by model id so the deciles have equal sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures.registry import Context, Measure, Rates
from pipeline.measures.section import Section, Share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import read_table, write_finding

DIMENSIONS = ("task", "library", "author_kind", "year", "popularity_decile")
# Groups per dimension listed in summary.json (the Parquet file keeps them all).
SUMMARY_GROUPS = 15


@dataclass(frozen=True)
class Group(Section):
    group: str
    n_models: int
    rates: dict[str, Share]


@dataclass(frozen=True)
class Dimension(Section):
    n_groups: int
    groups: list[Group]


@dataclass(frozen=True)
class BreakdownsSection(Section):
    """summary.json `breakdowns`: per dimension, its largest groups with every rate."""

    task: Dimension
    library: Dimension
    author_kind: Dimension
    year: Dimension
    popularity_decile: Dimension


def author_kinds(snapshot: Snapshot) -> dict[str, str]:
    path = snapshot.authors
    if not path.exists():
        return {}
    table = read_table(path, ["author", "kind"])
    return dict(zip(table.column("author").to_pylist(), table.column("kind").to_pylist(), strict=True))


def popularity_deciles(downloads: pa.ChunkedArray, model_ids: pa.ChunkedArray) -> pa.Array:
    """Decile 1..10 of each model by downloads, ties broken by model id."""
    order = pc.sort_indices(
        pa.table({"d": pc.fill_null(downloads, 0), "m": model_ids}),
        sort_keys=[("d", "ascending"), ("m", "ascending")],
    ).to_numpy()
    deciles = np.empty(len(order), np.int64)
    deciles[order] = np.arange(len(order)) * 10 // max(len(order), 1) + 1
    return pa.array(deciles)


def _none_if_empty(values: pa.ChunkedArray) -> pa.ChunkedArray:
    values = pc.fill_null(values, "none")
    return pc.if_else(pc.equal(values, ""), "none", values)


def _categorical(labels: pa.ChunkedArray | pa.Array) -> pd.Categorical:
    """Labels as codes into their sorted names: compact, and grouped in the order of the names."""
    encoded = pc.dictionary_encode(labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels)
    names = encoded.dictionary.to_pylist()
    rank = np.empty(len(names), np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    return pd.Categorical.from_codes(rank[encoded.indices.to_numpy(zero_copy_only=False)], sorted(names))


def frame(snapshot: Snapshot) -> pd.DataFrame:
    """One row per model, in the row order of attributes and scores: its group on every dimension."""
    models = read_table(
        snapshot.models, ["model_id", "pipeline_tag", "library_name", "author", "created_at", "downloads"]
    )
    kinds = author_kinds(snapshot)
    authors = pc.dictionary_encode(models.column("author").combine_chunks())
    author_kind = pa.DictionaryArray.from_arrays(
        authors.indices,
        pa.array([kinds.get(a, "unknown") for a in authors.dictionary.to_pylist()], pa.string()),
    ).cast(pa.string())
    created = models.column("created_at")
    year = pc.year(created.cast(pa.timestamp(created.type.unit, tz="UTC")))
    deciles = popularity_deciles(models.column("downloads"), models.column("model_id"))
    return pd.DataFrame(
        {
            "task": _categorical(_none_if_empty(models.column("pipeline_tag"))),
            "library": _categorical(_none_if_empty(models.column("library_name"))),
            "author_kind": _categorical(pc.fill_null(author_kind, "unknown")),
            "year": _categorical(pc.fill_null(pc.cast(year, pa.string()), "unknown")),
            "popularity_decile": _categorical(pc.cast(deciles, pa.string())),
        }
    )


def build(snapshot: Snapshot, data: pd.DataFrame, rates: list[Rates]) -> pd.DataFrame:
    """Group means of every rate; rate columns are read one at a time, never all together."""
    measures = [name for rate in rates for name in rate.columns]
    codes = {dimension: data[dimension].cat.codes.to_numpy() for dimension in DIMENSIONS}
    means: dict[str, dict[str, pd.Series]] = {dimension: {} for dimension in DIMENSIONS}
    for rate in rates:
        for name in rate.columns:
            values = read_table(snapshot.finding(rate.table), [name]).column(name).to_pandas()
            for dimension in DIMENSIONS:
                means[dimension][name] = values.groupby(codes[dimension], sort=True).mean()
    parts = []
    for dimension in DIMENSIONS:
        groups = data[dimension].cat.categories
        table = pd.DataFrame(means[dimension])[measures].astype(float)
        table.index = groups[table.index]
        sizes = pd.Series(np.bincount(codes[dimension], minlength=len(groups)), index=groups)
        long = table.stack().rename("value").reset_index()
        long.columns = ["group", "measure", "value"]
        long["n_models"] = long["group"].map(sizes).astype("int64")
        long.insert(0, "dimension", dimension)
        parts.append(long)
    columns = ["dimension", "group", "n_models", "measure", "value"]
    return pd.concat(parts, ignore_index=True)[columns]


def describe(long: pd.DataFrame) -> BreakdownsSection:
    """Per dimension: its largest groups with every measure's rate."""
    measures = long["measure"].unique().tolist()
    out: dict[str, Dimension] = {}
    for dimension in DIMENSIONS:
        part = long[long["dimension"] == dimension]
        sizes = part.drop_duplicates("group").set_index("group")["n_models"]
        if dimension in ("popularity_decile", "year"):
            groups = sorted(sizes.index, key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0))
        else:
            groups = sizes.sort_values(ascending=False, kind="stable").index[:SUMMARY_GROUPS].tolist()
        table = part.pivot(index="group", columns="measure", values="value")
        out[dimension] = Dimension(
            n_groups=len(sizes),
            groups=[Group(g, int(sizes[g]), table.loc[g, measures].round(4).to_dict()) for g in groups],
        )
    return BreakdownsSection(**out)


def run(context: Context) -> BreakdownsSection:
    """Write `findings/breakdowns.parquet`; return the largest groups."""
    long = build(context.snapshot, frame(context.snapshot), context.registry.rates())
    write_finding(context.snapshot, "breakdowns", pa.Table.from_pandas(long, preserve_index=False))
    return describe(long)


MEASURE = Measure(
    name="breakdowns",
    run=run,
    summary_key="breakdowns",
    section=BreakdownsSection,
    reads=("models", "authors"),
    writes=("breakdowns",),
    reads_rates=True,
)
