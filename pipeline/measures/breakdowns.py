"""Every attribute, factor and score rate broken down by task, library, author kind, creation year
and popularity decile: `findings/breakdowns.parquet` (long form: one row per group and measure).

Author kind (organization or user) is not part of a model's listing; it comes from the snapshot's
optional `authors.parquet` (author, kind). Authors it does not list, or every author when the file is
absent, are `unknown`. Popularity deciles rank models by 30-day downloads (1 = least downloaded,
10 = most); ties are broken by model id so the deciles have equal sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.measures.attributes import ALL_COLUMNS
from pipeline.measures.scores import FACTOR_COLUMNS, SCORE_COLUMNS
from pipeline.measures.tables import MODELS, findings_path, read_table, write_finding

DIMENSIONS = ("task", "library", "author_kind", "year", "popularity_decile")
MEASURES = ALL_COLUMNS + FACTOR_COLUMNS + SCORE_COLUMNS
AUTHORS = "authors.parquet"
# Groups per dimension listed in summary.json (the Parquet file keeps them all).
SUMMARY_GROUPS = 15


def author_kinds(snapshot: Path) -> dict[str, str]:
    path = snapshot / AUTHORS
    if not path.exists():
        return {}
    table = read_table(path, ["author", "kind"]).to_pandas()
    return dict(zip(table["author"], table["kind"], strict=True))


def popularity_deciles(downloads: pd.Series, model_ids: pd.Series) -> pd.Series:
    """Decile 1..10 of each model by downloads, ties broken by model id."""
    order = pd.DataFrame({"d": downloads.fillna(0).to_numpy(), "m": model_ids.to_numpy()}).sort_values(
        ["d", "m"]
    )
    position = pd.Series(range(len(order)), index=order.index)
    return (position * 10 // max(len(order), 1) + 1).sort_index().set_axis(downloads.index)


def frame(snapshot: Path) -> pd.DataFrame:
    """One row per model: its measures and its group on every dimension."""
    attributes = read_table(findings_path(snapshot, "attributes")).to_pandas()
    scores = read_table(findings_path(snapshot, "scores"), ["model_id", *FACTOR_COLUMNS, *SCORE_COLUMNS])
    models = read_table(
        snapshot / MODELS, ["model_id", "pipeline_tag", "library_name", "author", "created_at", "downloads"]
    ).to_pandas()
    data = attributes.merge(scores.to_pandas(), on="model_id").merge(models, on="model_id", how="left")
    kinds = author_kinds(snapshot)
    created = pd.to_datetime(data["created_at"], utc=True)
    return pd.DataFrame(
        {
            **{name: data[name] for name in MEASURES},
            "task": data["pipeline_tag"].fillna("none").replace("", "none"),
            "library": data["library_name"].fillna("none").replace("", "none"),
            "author_kind": data["author"].map(lambda author: kinds.get(author, "unknown")),
            "year": created.dt.year.astype("Int64").astype("string").fillna("unknown"),
            "popularity_decile": popularity_deciles(data["downloads"], data["model_id"]).astype(str),
        }
    )


def build(data: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for dimension in DIMENSIONS:
        grouped = data.groupby(dimension, sort=True)
        means = grouped[list(MEASURES)].mean().astype(float)
        long = means.stack().rename("value").reset_index()
        long.columns = ["group", "measure", "value"]
        long["n_models"] = long["group"].map(grouped.size()).astype("int64")
        long.insert(0, "dimension", dimension)
        parts.append(long)
    columns = ["dimension", "group", "n_models", "measure", "value"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def describe(long: pd.DataFrame) -> dict[str, Any]:
    """Per dimension: its largest groups with every measure's rate."""
    out: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        part = long[long["dimension"] == dimension]
        sizes = part.drop_duplicates("group").set_index("group")["n_models"]
        if dimension in ("popularity_decile", "year"):
            groups = sorted(sizes.index, key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0))
        else:
            groups = sizes.sort_values(ascending=False, kind="stable").index[:SUMMARY_GROUPS].tolist()
        table = part.pivot(index="group", columns="measure", values="value")
        out[dimension] = {
            "n_groups": len(sizes),
            "groups": [
                {
                    "group": g,
                    "n_models": int(sizes[g]),
                    "rates": table.loc[g, list(MEASURES)].round(4).to_dict(),
                }
                for g in groups
            ],
        }
    return out


def run(snapshot: Path) -> dict[str, Any]:
    """Write `findings/breakdowns.parquet` (needs attributes and scores); return the largest groups."""
    long = build(frame(snapshot))
    write_finding(snapshot, "breakdowns", pa.Table.from_pandas(long, preserve_index=False))
    return describe(long)
