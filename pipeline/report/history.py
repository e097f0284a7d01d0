"""Repository history: the series `hubmine history` writes under `history/`, for the report and notebook 05.

Optional: without `history/process.parquet` the section says how to make it and the figures say there
is nothing yet. The monthly series is shown where there is one, else the weekly.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from pipeline.longitudinal.process import REGISTRY
from pipeline.report import figures
from pipeline.report.render import Block, Heading, Image, Para, Table
from pipeline.store.damage import reading, table_remedy
from pipeline.store.layout import DataDir, Snapshot

HINT = "run hubmine history (with --git for PRIME's line counts)"
# Models drawn in the report's figure, and periods in its table: enough to read, small enough to print.
TOP_MODELS = 5
TABLE_PERIODS = 6


def read_process(data: DataDir) -> pd.DataFrame | None:
    path = data.history_table("process")
    if not path.exists():
        return None
    with reading(path, f"remove {path} and {HINT} again"):
        return pq.read_table(path).to_pandas()


def shown_period(process: pd.DataFrame | None) -> str:
    periods = set() if process is None else set(process["period"])
    return "month" if "month" in periods or not periods else "week"


def top_models(process: pd.DataFrame | None, snapshot: Snapshot | None, n: int = TOP_MODELS) -> list[str]:
    """The most-downloaded models of the snapshot that have a series; by commits where the snapshot lists
    none of them."""
    if process is None:
        return []
    followed = process[process["model_id"] != REGISTRY]
    if snapshot is not None and snapshot.models.exists():
        # Only the followed models' rows of the snapshot are read, not the registry's.
        with reading(snapshot.models, table_remedy(snapshot.models)):
            ranked = (
                ds.dataset(snapshot.models, format="parquet")
                .to_table(
                    columns=["model_id", "downloads"],
                    filter=pc.field("model_id").isin(sorted(set(followed["model_id"]))),
                )
                .to_pandas()
            )
        ranked = ranked.sort_values(["downloads", "model_id"], ascending=[False, True], na_position="last")
        if not ranked.empty:
            return ranked["model_id"].head(n).tolist()
    totals = followed.groupby("model_id")["commits"].sum()
    return sorted(totals.index, key=lambda m: (-totals[m], m))[:n]


def _cell(value: object, digits: int = 2) -> str:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return "unknown"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _registry_table(process: pd.DataFrame, period: str) -> Table:
    rows = process[(process["model_id"] == REGISTRY) & (process["period"] == period)]
    rows = rows.sort_values("period_start").tail(TABLE_PERIODS)
    columns = ("models", "commits", "open_discussions", "open_pull_requests", *figures.PRIME_METRICS)
    body = [
        [
            row.period_start.strftime("%Y-%m-%d") + (" (partial)" if row.partial else ""),
            *(_cell(getattr(row, c)) for c in columns),
        ]
        for row in rows.itertuples()
    ]
    return Table([period, *columns], body)


def report_blocks(process: pd.DataFrame | None, snapshot: Snapshot) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Repository history")]
    if process is None or process.empty:
        blocks.append(Para(f"No repository history yet: {HINT}."))
    else:
        period = shown_period(process)
        models = process.loc[process["model_id"] != REGISTRY, "model_id"].nunique()
        computed = process["computed_at"].max()
        blocks += [
            Para(
                f"{models} models followed; the registry's last {TABLE_PERIODS} {period}s, computed "
                f"{computed:%Y-%m-%d %H:%M} UTC. PRIME's metrics are defined in docs/definitions.md; "
                "a value that could not be read shows as unknown."
            ),
            _registry_table(process, period),
        ]
    top = top_models(process, snapshot)
    return [
        *blocks,
        Image("history_registry", "The registry's series over time (hubmine history)"),
        Image(
            "history_top_models",
            f"PRIME's metrics of the {len(top) or TOP_MODELS} most-downloaded followed models",
        ),
    ]


def figure_makers(process: pd.DataFrame | None, snapshot: Snapshot) -> dict[str, Callable[[], Figure]]:
    period = shown_period(process)
    return {
        "history_registry": lambda: figures.history_registry(process, period),
        "history_top_models": lambda: figures.prime_metrics(process, top_models(process, snapshot), period),
    }
