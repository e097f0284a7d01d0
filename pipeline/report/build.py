"""`hubmine report`: Markdown and HTML report with PNG figures from a snapshot's findings."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from pipeline.errors import SnapshotError
from pipeline.measures import summary as summary_file
from pipeline.measures.attributes import ALL_COLUMNS
from pipeline.measures.scores import SCORE_COLUMNS, SCORES
from pipeline.report import figures
from pipeline.report.render import Block, Heading, Image, Para, Table, image_path, to_html, to_markdown
from pipeline.store.files import atomic_open
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import resolve_snapshot

REPORTS_DIR = Path("reports")


def pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def side(value: Any) -> str:
    """A paper or snapshot cell: a count of a total with its share, a share, or a number."""
    if value is None:
        return "not measured"
    if isinstance(value, dict):
        if value.get("count") is None:
            return pct(value.get("share"))
        return f"{value['count']:,} / {value['of']:,} ({pct(value['share'])})"
    return f"{value:,}"


def _headline(summary: dict[str, Any]) -> list[Block]:
    head = summary["headline"]
    rows = [["models", f"{head['n_models']:,}"]]
    rows += [[f"{figures.label(n)} present", pct(head[f"share_{n}"])] for n in ALL_COLUMNS]
    rows += [[f"mean {name} score", f"{head[f'mean_{name}_score']:.3f}"] for name in SCORES]
    rows += [
        ["base-model edges", f"{head['lineage_edges']:,}"],
        ["models with a base model edge", f"{head['models_with_base']:,}"],
        ["longest base-model chain", str(head["max_chain_depth"])],
    ]
    return [Heading(2, "Headline"), Table(["measure", "value"], rows)]


def _comparison(summary: dict[str, Any]) -> list[Block]:
    comparison = summary["paper_comparison"]
    return [
        Heading(2, "Comparison with the paper"),
        Para(f"{comparison['paper']}; {comparison['note']}."),
        Table(
            ["measure", "paper", "this snapshot"],
            [
                [row["measure"], side(row["paper"]), side(row["snapshot"])]
                for row in comparison["documentation"]
            ],
        ),
        Heading(3, "Fig. 7: performance claims by task"),
        Table(
            ["task", "paper", "this snapshot"],
            [[r["task"], side(r["paper"]), side(r["snapshot"])] for r in comparison["fig7_claims_by_task"]],
        ),
        Image(
            "claims_by_task", "Share of each task's models with model-index claims, paper vs this snapshot"
        ),
        Heading(3, "Fig. 6: architectures and datasets"),
        Image("architectures", "config.model_type shares; diamonds: the paper's reported values"),
        Para(f"Datasets: {comparison['fig6_datasets']['note']}; both counts are shown."),
        Image("datasets", "Datasets by model-index metric entries and by declaring models"),
    ]


def _missing() -> list[Block]:
    return [
        Heading(2, "Missing attributes"),
        Image("attribute_rates", "Share of models missing each attribute and card section"),
        Image("missing_by_decile", "Missing attributes by popularity decile"),
        Image("missing_by_task", "Missing attributes by task"),
    ]


def _scores(summary: dict[str, Any]) -> list[Block]:
    scores = summary["scores"]
    rows = [
        [name, ", ".join(factors), f"{scores[name]['mean']:.3f}", f"{scores[name]['median']:.3f}"]
        for name, factors in scores["score_factors"].items()
    ]
    return [
        Heading(2, "Provenance, reproducibility and portability"),
        Table(["score", "factors", "mean", "median"], rows),
        Image("factor_rates", "Share of models with each Table I factor"),
        Image("score_distributions", "Distribution of the three scores"),
    ]


def _lineage(summary: dict[str, Any]) -> list[Block]:
    lineage = summary["dependencies"]["lineage"]
    most = summary["dependencies"]["datasets"]["per_model"]["most_downstream"]
    relations = ", ".join(f"{name} {n:,}" for name, n in sorted(lineage["relations"].items()))
    text = (
        f"{lineage['n_edges']:,} base-model edges from {lineage['models_with_base']:,} models to "
        f"{lineage['bases']['distinct']:,} bases ({relations}); longest chain {lineage['depth']['max']}: "
        f"{' -> '.join(lineage['depth']['deepest_chain'])}."
    )
    blocks: list[Block] = [Heading(2, "Base-model lineage"), Para(text)]
    if most:
        blocks.append(
            Para(
                f"One dataset, {most['dataset']}, has {most['downstream_models']:,} downstream models "
                f"({most['models']:,} declaring it directly, the rest derived from those)."
            )
        )
    blocks += [
        Table(
            ["root", "in snapshot", "direct children", "descendants", "deepest"],
            [
                [
                    f["root"],
                    "yes" if f["root_in_snapshot"] else "no",
                    f"{f['direct_children']:,}",
                    f"{f['descendants']:,}",
                    str(f["max_depth"]),
                ]
                for f in lineage["families"]["top"]
            ],
        ),
        Image("lineage_families", "Largest families and most reused bases"),
    ]
    return blocks


def _figures(
    summary: dict[str, Any], breakdowns: pd.DataFrame, scores: pd.DataFrame
) -> dict[str, Callable[[], Any]]:
    return {
        "claims_by_task": lambda: figures.claims_by_task(summary),
        "architectures": lambda: figures.architectures(summary),
        "datasets": lambda: figures.datasets(summary),
        "attribute_rates": lambda: figures.attribute_rates(summary),
        "missing_by_decile": lambda: figures.missing_by_decile(breakdowns),
        "missing_by_task": lambda: figures.missing_by_task(breakdowns),
        "factor_rates": lambda: figures.factor_rates(summary),
        "score_distributions": lambda: figures.score_distributions(scores),
        "lineage_families": lambda: figures.lineage_families(summary),
    }


def run_report(data_dir: Path, snapshot_id: str | None, out: Path | None) -> str:
    matplotlib.use("Agg")
    snapshot = resolve_snapshot(DataDir(data_dir), snapshot_id)
    snapshot_id = snapshot.id
    try:
        summary = summary_file.load(snapshot)
    except FileNotFoundError:
        raise SnapshotError(
            f"snapshot {snapshot_id!r} has no findings; run `hubmine analyze --snapshot {snapshot_id}`"
        ) from None
    breakdowns = pd.read_parquet(snapshot.finding("breakdowns"))
    scores = pd.read_parquet(snapshot.finding("scores"), columns=list(SCORE_COLUMNS))
    out = out or REPORTS_DIR / snapshot_id

    images: dict[str, bytes] = {}
    for name, draw in _figures(summary, breakdowns, scores).items():
        buffer = io.BytesIO()
        draw().savefig(buffer, format="png")
        images[name] = buffer.getvalue()
        with atomic_open(out / image_path(name), "wb") as handle:
            handle.write(images[name])

    title = f"hubmine report: snapshot {snapshot_id}"
    blocks: list[Block] = [
        Heading(1, title),
        Para(f"{summary['headline']['n_models']:,} models; findings generated {summary['generated_at']}."),
        *_headline(summary),
        *_comparison(summary),
        *_missing(),
        *_scores(summary),
        *_lineage(summary),
    ]
    with atomic_open(out / "report.md") as handle:
        handle.write(to_markdown(blocks))
    with atomic_open(out / "report.html") as handle:
        handle.write(to_html(blocks, title, images))
    return (
        f"report of snapshot {snapshot_id}: {len(images)} figures; {out / 'report.md'}, {out / 'report.html'}"
    )
