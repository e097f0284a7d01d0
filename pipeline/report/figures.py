"""The report's figures, drawn from the typed summary and findings tables (also used by the notebooks).

Each function returns a matplotlib `Figure` built without pyplot, so it needs no global backend
state: the report saves it as PNG, a notebook displays it. A figure with nothing to show says so in
place of its plot. Labels are Hub data (model types, dataset names, tasks), so no text of these
figures is ever parsed as math: a `$` shows as `$`, whenever and wherever the figure is drawn.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from pipeline.measures.attributes import ALL_COLUMNS, SECTION_COLUMNS, AttributesSection, label
from pipeline.measures.lineage import RELATIONS, LineageSection
from pipeline.measures.risks import ExposureSection
from pipeline.measures.scores import SCORES, ScoresSection
from pipeline.measures.summary import Summary
from pipeline.report.claimed_vs_measured import gap_summary

PAPER_COLOR = "#9e9e9e"
SNAPSHOT_COLOR = "#1f77b4"
RELATION_COLORS = dict(zip(RELATIONS, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"), strict=True))
# Attributes shown by popularity and task: the contract's columns a reuser looks for first.
KEY_ATTRIBUTES = (
    "has_card_body",
    "has_license",
    "has_datasets",
    "has_base_model",
    "has_model_index",
    "has_eval_claims",
    "has_architecture",
    "has_pipeline_tag",
)
TOP_TASKS = 15


class PlainTextFigure(Figure):
    """A figure that draws every text as plain text, never as math.

    A text's `parse_math` is fixed when the text is made, and matplotlib makes tick labels as late as
    the draw (a notebook draws when it displays the figure), so both the texts there are and those the
    draw makes are set here, the one place every drawing goes through.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What each panel drawn without data says instead (`_no_data`), in drawing order.
        self.no_data: list[str] = []

    def draw(self, renderer: Any) -> None:
        with matplotlib.rc_context({"text.parse_math": False}):
            for text in self.findobj(Text):
                text.set_parse_math(False)
            super().draw(renderer)


def _figure(width: float, height: float) -> Figure:
    return PlainTextFigure(figsize=(width, height), dpi=110, layout="constrained")


def _no_data(ax: Axes, message: str) -> None:
    """Put `message` where the plot would be, and note it on the figure (`no_data_sentence`)."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    figure = ax.get_figure()
    if isinstance(figure, PlainTextFigure):
        figure.no_data.append(message)


def no_data_sentence(figure: Figure) -> str | None:
    """The one sentence a report shows instead of `figure` when none of its panels has data."""
    messages = list(dict.fromkeys(getattr(figure, "no_data", [])))
    if not messages or len(getattr(figure, "no_data", [])) < len(figure.axes):
        return None
    text = "; ".join(message.rstrip(".") for message in messages)
    return text[0].upper() + text[1:] + "."


def _legend_outside(ax: Axes, **kwargs: Any) -> None:
    """The legend beside the plot, on its right, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False, **kwargs)


def _integer_ticks(axis: Any) -> None:
    """Whole-number ticks (years, counts): never 2019.5."""
    axis.set_major_locator(MaxNLocator(integer=True))


def attribute_rates(summary: Summary) -> Figure:
    """Share of models missing each attribute and card section."""
    attributes = summary.section(AttributesSection)
    fig = _figure(7, 6.5)
    ax = fig.add_subplot()
    ax.set_title(f"Missing attributes (blue) and card sections (orange), {attributes.n_models:,} models")
    if not attributes.n_models:
        _no_data(ax, "no models in this snapshot")
        return fig
    names = list(ALL_COLUMNS)[::-1]
    missing = [1 - (attributes.present[n].share or 0) for n in names]
    colors = ["#ff7f0e" if n in SECTION_COLUMNS else SNAPSHOT_COLOR for n in names]
    ax.barh([label(n) for n in names], missing, color=colors)
    for y, value in enumerate(missing):
        ax.text(value + 0.01, y, f"{100 * value:.1f}%", va="center", fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share of models missing it")
    return fig


def architectures(summary: Summary) -> Figure:
    """Fig. 6 (left): config.model_type shares, snapshot bars with the paper's reported values."""
    side = summary.paper_comparison.fig6_architectures
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    ax.set_title("Architectures (config.model_type)")
    if side.snapshot.missing_share is None:
        _no_data(ax, "no models in this snapshot")
        return fig
    names = ["(missing)"] + [e.model_type for e in side.snapshot.top]
    shares = [side.snapshot.missing_share] + [e.share or 0 for e in side.snapshot.top]
    paper = {"(missing)": side.paper.missing_share} | {e.model_type: e.share for e in side.paper.top}
    x = np.arange(len(names))
    ax.bar(x, shares, color=SNAPSHOT_COLOR, label="this snapshot")
    marked = [i for i, n in enumerate(names) if n in paper]
    ax.scatter(
        marked, [paper[names[i]] for i in marked], color="black", marker="D", zorder=3, label="paper (2022)"
    )
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_xlabel("config.model_type")
    ax.set_ylabel("share of models")
    _legend_outside(ax)
    return fig


def datasets(summary: Summary) -> Figure:
    """Fig. 6 (right): datasets counted the paper's way (metric entries) and per model."""
    side = summary.paper_comparison.fig6_datasets
    fig = _figure(11, 4.5)
    panels = [
        (
            [(e.dataset, e.entries) for e in side.snapshot_metric_entries],
            "entries",
            "model-index metric entries\n(the paper's count)",
        ),
        (
            [(e.dataset, e.models) for e in side.snapshot_models],
            "models",
            "models declaring it\n(metadata or dataset: tag)",
        ),
    ]
    for ax, (rows, key, title) in zip(fig.subplots(1, 2), panels, strict=True):
        ax.set_title(title, fontsize=10)
        if not rows:
            _no_data(ax, f"no {key} in this snapshot")
            continue
        ax.barh(
            [name or "(unnamed)" for name, _ in rows][::-1], [n for _, n in rows][::-1], color=SNAPSHOT_COLOR
        )
        ax.set_xlabel(key)
    fig.suptitle("Datasets")
    return fig


def claims_by_task(summary: Summary) -> Figure:
    """Fig. 7: share of models with model-index claims per task, paper vs snapshot."""
    rows = summary.paper_comparison.fig7_claims_by_task
    names = [r.task for r in rows]
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    ax.bar(x - 0.2, [r.paper.share or 0 for r in rows], 0.4, color=PAPER_COLOR, label="paper (Aug 2022)")
    ax.bar(x + 0.2, [r.snapshot.share or 0 for r in rows], 0.4, color=SNAPSHOT_COLOR, label="this snapshot")
    ax.set_xticks(x, names, rotation=40, ha="right")
    ax.set_ylabel("share of the task's models with claims")
    ax.set_title("Models with machine-readable performance claims, by task")
    ax.legend()
    return fig


def claims_gap(evaluations: pd.DataFrame | None) -> Figure:
    """Claimed minus measured (`hubmine evaluate`), mean per task, one bar per claim source."""
    table = gap_summary(evaluations, ["task_type", "source"]) if evaluations is not None else None
    tasks = 0 if table is None else table["task_type"].nunique()
    fig = _figure(8, 1.6 + 0.45 * max(tasks, 2))
    ax = fig.add_subplot()
    if table is None or table.empty:
        _no_data(ax, "No claim re-measured yet (hubmine evaluate)")
        return fig
    pivot = table.pivot(index="task_type", columns="source", values="mean_gap").fillna(0.0) * 100
    pivot.plot.barh(ax=ax, legend=False)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("mean claimed minus measured (points on a 0-100 scale)")
    ax.set_ylabel("task")
    ax.set_title("Claimed versus measured, by task and claim source")
    _legend_outside(ax, title="claim source")
    return fig


def _pivot(breakdowns: pd.DataFrame, dimension: str, measures: tuple[str, ...]) -> pd.DataFrame:
    part = breakdowns[(breakdowns["dimension"] == dimension) & breakdowns["measure"].isin(measures)]
    return part.pivot(index="group", columns="measure", values="value").reindex(columns=list(measures))


def missing_by_decile(breakdowns: pd.DataFrame) -> Figure:
    """Missing-attribute rates by popularity decile (1 = least downloaded)."""
    table = 1 - _pivot(breakdowns, "popularity_decile", KEY_ATTRIBUTES)
    fig = _figure(8, 4.8)
    ax = fig.add_subplot()
    ax.set_title("Missing attributes by popularity")
    if table.empty:
        _no_data(ax, "no models in this snapshot")
        return fig
    table = table.loc[sorted(table.index, key=int)]
    for column in table.columns:
        ax.plot(table.index.astype(int), table[column], marker="o", label=label(column))
    ax.set_xticks(range(1, 11))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("popularity decile by downloads (10 = most downloaded)")
    ax.set_ylabel("share of models missing it")
    _legend_outside(ax, fontsize=8)
    return fig


def missing_by_task(breakdowns: pd.DataFrame) -> Figure:
    """Missing-attribute rates of the largest tasks, as a heat map."""
    part = breakdowns[breakdowns["dimension"] == "task"]
    sizes = part.drop_duplicates("group").set_index("group")["n_models"].sort_values(ascending=False)
    tasks = sizes.index[:TOP_TASKS]
    fig = _figure(9, 0.6 + 0.38 * max(len(tasks), 3))
    ax = fig.add_subplot()
    ax.set_title("Missing attributes by task (%; models per task in brackets)")
    if not len(tasks):
        _no_data(ax, "no models in this snapshot")
        return fig
    table = (1 - _pivot(breakdowns, "task", KEY_ATTRIBUTES)).loc[tasks]
    image = ax.imshow(table.to_numpy(), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.columns)), [label(c) for c in table.columns], rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), [f"{t} ({sizes[t]:,})" for t in tasks])
    for (row, col), value in np.ndenumerate(table.to_numpy()):
        color = "white" if value > 0.6 else "black"
        ax.text(col, row, f"{100 * value:.0f}", ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(image, ax=ax, label="share missing")
    return fig


def score_distributions(scores: pd.DataFrame) -> Figure:
    """Histogram of each score over the models (scores are shares of a few factors, so discrete)."""
    fig = _figure(11, 3.8)
    for ax, (name, factors) in zip(fig.subplots(1, len(SCORES), sharey=True), SCORES.items(), strict=True):
        values = scores[f"{name}_score"]
        if values.empty:
            ax.set_title(f"{name} ({len(factors)} factors)", fontsize=10)
            _no_data(ax, "no models in this snapshot")
            continue
        steps = np.arange(len(factors) + 1) / len(factors)
        counts = values.round(6).value_counts().reindex(steps.round(6), fill_value=0)
        ax.bar(steps, counts.to_numpy() / len(values), width=0.7 / len(factors), color=SNAPSHOT_COLOR)
        ax.set_title(f"{name} ({len(factors)} factors), mean {values.mean():.2f}", fontsize=10)
        ax.set_xlabel("score")
    fig.axes[0].set_ylabel("share of models")
    fig.suptitle("Provenance, reproducibility and portability scores")
    return fig


def factor_rates(summary: Summary) -> Figure:
    """Share of models with each Table I factor."""
    scores = summary.section(ScoresSection)
    fig = _figure(7, 5)
    ax = fig.add_subplot()
    ax.set_title("Table I factors")
    if not scores.n_models:
        _no_data(ax, "no models in this snapshot")
        return fig
    names = list(scores.factors)[::-1]
    ax.barh([label(n) for n in names], [scores.factors[n] or 0 for n in names], color=SNAPSHOT_COLOR)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of models with the factor")
    return fig


def lineage_families(summary: Summary) -> Figure:
    """Largest base-model families (descendants) and the most reused bases by relation."""
    lineage = summary.section(LineageSection)
    fig = _figure(12, 5)
    left, right = fig.subplots(1, 2)
    left.set_title("Largest families (root base models)", fontsize=10)
    right.set_title("Most reused base models, by relation", fontsize=10)
    families = lineage.families.top[::-1]
    bases = lineage.bases.top[::-1]
    if not families:
        _no_data(left, "no base-model families in this snapshot")
    else:
        left.barh([f.root for f in families], [f.descendants for f in families], color=SNAPSHOT_COLOR)
        left.set_xlabel("models descending from it")
    if not bases:
        _no_data(right, "no model in this snapshot declares a base model")
    else:
        start = np.zeros(len(bases))
        for relation, color in RELATION_COLORS.items():
            counts = np.array([b.by_relation()[relation] for b in bases], dtype=float)
            right.barh([b.base_model for b in bases], counts, left=start, color=color, label=relation)
            start += counts
        right.set_xlabel("direct children")
        _legend_outside(right, fontsize=8)
    for ax in (left, right):
        ax.tick_params(axis="y", labelsize=7)
    return fig


EXPOSURE_RATES = {
    "pickle_only": "pickle-only weights",
    "has_pickle_files": "any pickle-based file",
    "has_safetensors": "safetensors",
}


def exposure_by_year(breakdowns: pd.DataFrame, summary: Summary) -> Figure:
    """Serialization exposure by creation year (breakdowns), and models per weight format."""
    exposure = summary.section(ExposureSection)
    fig = _figure(12, 4.5)
    left, right = fig.subplots(1, 2)
    left.set_title("Weight formats by creation year", fontsize=10)
    right.set_title("Models per weight format (files listed)", fontsize=10)
    table = _pivot(breakdowns, "year", tuple(EXPOSURE_RATES))
    table = table.loc[[year for year in table.index if year.isdigit()]]
    if table.empty:
        _no_data(left, "no creation years in this snapshot")
    else:
        table = table.loc[sorted(table.index, key=int)]
        for column, name in EXPOSURE_RATES.items():
            left.plot(table.index.astype(int), table[column], marker="o", label=name)
        left.set_ylim(-0.02, 1.02)
        _integer_ticks(left.xaxis)
        left.set_xlabel("year the model was created")
        left.set_ylabel("share of the year's models")
        _legend_outside(left, fontsize=8)
    if not exposure.formats:
        _no_data(right, "no weight file in this snapshot")
    else:
        names = list(exposure.formats)[::-1]
        right.barh(names, [exposure.formats[n] for n in names], color=SNAPSHOT_COLOR)
        right.set_xlabel("models")
    return fig


# Trend figures: drawn from the `hubmine trends` tables; None (no trends/ folder) or one snapshot is no trend.
NO_TREND = "no trend yet: run hubmine trends over two or more analyzed snapshots"


def _snapshot_axis(ax: Axes, snapshots: list[str]) -> None:
    ax.set_xticks(range(len(snapshots)), snapshots, rotation=30, ha="right", fontsize=8)


def trend_rates(rates: pd.DataFrame | None) -> Figure:
    """Each headline share across snapshots, oldest first: one small panel per share, all on one scale, so
    that no two lines share a colour and no legend covers them."""
    shares = None if rates is None else rates[rates["format"] == "share"]
    if shares is None or shares["snapshot"].nunique() < 2:
        fig = _figure(9, 3)
        ax = fig.add_subplot()
        ax.set_title("Headline shares over time", fontsize=10)
        _no_data(ax, NO_TREND)
        return fig
    snapshots = list(dict.fromkeys(shares["snapshot"]))
    table = shares.pivot_table(index="snapshot", columns="label", values="value", sort=False)
    # "X missing" is one minus "X present", shown already: one concept, one panel.
    table = table[[name for name in table.columns if not str(name).endswith(" missing")]]
    columns = 4
    rows = -(-len(table.columns) // columns)
    fig = _figure(12, 1.9 * rows + 0.6)
    fig.suptitle("Headline shares over time (share of models, oldest snapshot first)", fontsize=10)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, name in zip(axes, table.columns, strict=False):
        ax.plot(range(len(snapshots)), table[name].reindex(snapshots), marker="o", color=SNAPSHOT_COLOR)
        ax.set_title(str(name), fontsize=7)
        ax.set_ylim(-0.02, 1.02)
        ax.tick_params(labelsize=7)
    for ax in axes[len(table.columns) :]:
        ax.set_visible(False)
    for ax in axes[: len(table.columns)][-columns:]:
        ax.set_xticks(range(len(snapshots)), snapshots, rotation=30, ha="right", fontsize=6)
    fig.supxlabel("snapshot", fontsize=8)
    fig.supylabel("share of models", fontsize=8)
    return fig


def trend_formats(formats: pd.DataFrame | None) -> Figure:
    """Safetensors against pickle weights across snapshots."""
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    ax.set_title("Safetensors vs pickle weights over time (models with a file list)", fontsize=10)
    if formats is None or len(formats) < 2:
        _no_data(ax, NO_TREND)
        return fig
    snapshots = formats["snapshot"].tolist()
    for column, name in (
        ("safetensors_share", "safetensors"),
        ("pickle_share", "pickle weights"),
        ("pickle_only_share", "pickle only"),
    ):
        ax.plot(range(len(snapshots)), formats[column], marker="o", label=name)
    _snapshot_axis(ax, snapshots)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("snapshot")
    ax.set_ylabel("share of models")
    _legend_outside(ax, fontsize=8)
    return fig


def trend_growth(growth: pd.DataFrame | None) -> Figure:
    """Models created and updated per month, from the newest snapshot of the trends."""
    fig = _figure(9, 4.5)
    ax = fig.add_subplot()
    if growth is None or growth.empty:
        ax.set_title("Models created and updated per month", fontsize=10)
        _no_data(ax, NO_TREND)
        return fig
    ax.set_title(f"Models created and updated per month (snapshot {growth['snapshot'].iloc[0]})", fontsize=10)
    months = growth["month"].tolist()
    ax.bar(range(len(months)), growth["created"], color=SNAPSHOT_COLOR, label="created")
    ax.plot(range(len(months)), growth["updated"], color="#ff7f0e", marker=".", label="last updated")
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("month")
    ax.set_ylabel("models")
    _integer_ticks(ax.yaxis)
    _legend_outside(ax, fontsize=8)
    return fig


NO_HISTORY = "no repository history yet: run hubmine history"
# PRIME's four metrics, as `history/process.parquet` names them, with their axis labels.
PRIME_METRICS = {
    "productivity": "lines changed per day of age",
    "bus_factor": "authors over 80% of lines",
    "issue_density": "open issues per KLOC",
    "issue_spoilage": "issues open per day",
}


def _history_axis(ax: Axes, rows: pd.DataFrame, column: str, label: str) -> None:
    """One series over time; the last, partial period drawn hollow."""
    rows = rows.sort_values("period_start")
    line = ax.plot(rows["period_start"], rows[column], marker="o", markersize=3, label=label)[0]
    cut = rows[rows["partial"].fillna(False).astype(bool)]
    ax.plot(cut["period_start"], cut[column], "o", markerfacecolor="white", color=line.get_color())
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def history_registry(process: pd.DataFrame | None, period: str) -> Figure:
    """The registry-wide series (`*`) of one period: commits and authors, open threads, PRIME's four."""
    fig = _figure(10, 6)
    rows = None if process is None else process[(process["model_id"] == "*") & (process["period"] == period)]
    if rows is None or rows.empty:
        _no_data(fig.add_subplot(), NO_HISTORY)
        return fig
    axes = fig.subplots(2, 3)
    panels = [
        (("commits", "commits"), ("authors", "active authors")),
        (("open_discussions", "open discussions"), ("open_pull_requests", "open pull requests")),
        *(((name, meaning),) for name, meaning in PRIME_METRICS.items()),
    ]
    for ax, series in zip(axes.flat, panels, strict=True):
        for column, name in series:
            _history_axis(ax, rows, column, name)
        ax.set_title(", ".join(name for _, name in series), fontsize=8)
    fig.suptitle(f"The registry's series by {period} (hollow: the partial last {period})", fontsize=10)
    return fig


def prime_metrics(process: pd.DataFrame | None, model_ids: list[str], period: str) -> Figure:
    """PRIME's four metrics over time, one line per model: one repository's, or several compared."""
    fig = _figure(10, 6)
    rows = None if process is None else process[process["period"] == period]
    rows = None if rows is None else rows[rows["model_id"].isin(model_ids)]
    if rows is None or rows.empty:
        _no_data(fig.add_subplot(), NO_HISTORY)
        return fig
    axes = fig.subplots(2, 2)
    for ax, (column, meaning) in zip(axes.flat, PRIME_METRICS.items(), strict=True):
        for model_id in model_ids:
            mine = rows[rows["model_id"] == model_id]
            if not mine.empty:
                _history_axis(ax, mine, column, model_id)
        ax.set_title(f"{column}: {meaning}", fontsize=8)
        if rows[column].isna().all():
            ax.text(
                0.5, 0.5, "unknown: see the reason columns", ha="center", transform=ax.transAxes, fontsize=7
            )
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(f"PRIME's metrics by {period} (hollow: the partial last {period})", fontsize=10)
    return fig
