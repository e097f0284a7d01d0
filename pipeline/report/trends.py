"""Trends: the tables `hubmine trends` writes across snapshots, for the report and notebook 05.

They are optional: without a `trends/` folder, or with fewer than two snapshots in it, the section says
how to make them, and shows no figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from pipeline.report import figures
from pipeline.report.render import Block, Heading, Image, Para, Table
from pipeline.store.damage import reading
from pipeline.store.layout import TREND_TABLES, DataDir

HINT = "run hubmine trends after analyzing two or more snapshots"
# The headline formats the rates table shows: rates and scores, which compare across registry sizes.
RATE_FORMATS = ("share", "score")


@dataclass(frozen=True)
class Trends:
    rates: pd.DataFrame
    formats: pd.DataFrame
    growth: pd.DataFrame
    concentration: pd.DataFrame

    @property
    def snapshots(self) -> list[str]:
        """The snapshots measured, oldest first."""
        return list(dict.fromkeys(self.concentration["snapshot"]))


def read_trends(data: DataDir) -> Trends | None:
    """The trend tables of `data`, or None when `hubmine trends` has not written them all."""
    paths = [data.trend(name) for name in TREND_TABLES]
    if not all(path.exists() for path in paths):
        return None
    frames = {}
    for name, path in zip(TREND_TABLES, paths, strict=True):
        with reading(path, f"remove {data.trends} and {HINT}"):
            frames[name] = pq.read_table(path).to_pandas()
    return Trends(**frames)


def _cell(value: float | None, format: str) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{100 * value:.1f}%" if format == "share" else f"{value:.3f}"


def _rates(trends: Trends) -> Table:
    snapshots = trends.snapshots
    rates = trends.rates[trends.rates["format"].isin(RATE_FORMATS)]
    rows = []
    for (label, format), group in rates.groupby(["label", "format"], sort=False):
        values = dict(zip(group["snapshot"], group["value"], strict=True))
        rows.append([str(label), *(_cell(values.get(s), str(format)) for s in snapshots)])
    return Table(["measure", *snapshots], rows)


def _formats_and_downloads(trends: Trends) -> Table:
    snapshots = trends.snapshots
    formats = trends.formats.set_index("snapshot")
    concentration = trends.concentration.set_index("snapshot")
    rows = [
        [name, *(_cell(table[column].get(s), "share") for s in snapshots)]
        for name, table, column in (
            ("models with safetensors", formats, "safetensors_share"),
            ("models with pickle weights", formats, "pickle_share"),
            ("models with pickle weights only", formats, "pickle_only_share"),
            ("downloads to the top 1% of models", concentration, "top1_share"),
            ("downloads to the top 10% of models", concentration, "top10_share"),
        )
    ]
    gini = [f"{v:.3f}" if pd.notna(v) else "n/a" for v in concentration["gini"].reindex(snapshots)]
    models = [f"{int(v):,}" for v in concentration["models"].reindex(snapshots)]
    return Table(["measure", *snapshots], [["models", *models], *rows, ["Gini of downloads", *gini]])


def report_blocks(trends: Trends | None, warning: Para | None = None) -> list[Block]:
    """The Trends section; `warning` (`population_warning`) when its snapshots hold different populations."""
    blocks: list[Block] = [Heading(2, "Trends")]
    if trends is None or len(trends.snapshots) < 2:
        return [*blocks, Para(f"No trend yet: {HINT}.")]
    snapshots = trends.snapshots
    return [
        *blocks,
        Para(f"{len(snapshots)} analyzed snapshots, from {snapshots[0]} to {snapshots[-1]}."),
        *([warning] if warning is not None else []),
        _rates(trends),
        _formats_and_downloads(trends),
        Image("trend_rates", "Headline shares across snapshots"),
        Image("trend_formats", "Safetensors and pickle weights across snapshots"),
        Image("trend_growth", "Models created and last updated per month, newest snapshot"),
    ]


def figure_makers(trends: Trends | None) -> dict[str, Callable[[], Figure]]:
    return {
        "trend_rates": lambda: figures.trend_rates(None if trends is None else trends.rates),
        "trend_formats": lambda: figures.trend_formats(None if trends is None else trends.formats),
        "trend_growth": lambda: figures.trend_growth(None if trends is None else trends.growth),
    }
