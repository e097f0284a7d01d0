"""`hubmine report`: Markdown and HTML report with PNG figures from a snapshot's findings."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from pipeline.errors import SnapshotError
from pipeline.measures.attributes import AttributesSection
from pipeline.measures.claim_checks import CHECKS, ClaimChecksSection
from pipeline.measures.claims import ClaimsSection
from pipeline.measures.comparison import ComparisonRow, Side
from pipeline.measures.datasets import DatasetsSection
from pipeline.measures.lineage import LineageSection
from pipeline.measures.scores import SCORE_COLUMNS, ScoresSection
from pipeline.measures.section import HeadlineItem
from pipeline.measures.summary import Summary, load_summary
from pipeline.report import figures
from pipeline.report.claimed_vs_measured import read_evaluations
from pipeline.report.claimed_vs_measured import report_blocks as claimed_vs_measured
from pipeline.report.history import figure_makers as history_figures
from pipeline.report.history import read_process
from pipeline.report.history import report_blocks as history_blocks
from pipeline.report.provenance import population_warning, provenance_blocks
from pipeline.report.render import Block, Heading, Image, Para, Table, image_path, to_html, to_markdown
from pipeline.report.risks import report_blocks as risks
from pipeline.report.trends import figure_makers as trend_figures
from pipeline.report.trends import read_trends
from pipeline.report.trends import report_blocks as trends_blocks
from pipeline.store.files import atomic_open
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import resolve_snapshot
from pipeline.store.tables import read_table

REPORTS_DIR = Path("reports")


def pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def side(value: Side | int | None) -> str:
    """A paper or snapshot cell: a count of a total with its share, a share, or a number."""
    if value is None:
        return "not measured"
    if isinstance(value, Side):
        if value.count is None or value.of is None:
            return pct(value.share)
        return f"{value.count:,} / {value.of:,} ({pct(value.share)})"
    return f"{value:,}"


def headline_value(item: HeadlineItem) -> str:
    if item.format == "count":
        return f"{item.value:,}"
    if item.format == "share":
        return pct(item.value)
    if item.format == "score":
        return score(item.value)
    return str(item.value)


def _headline(summary: Summary) -> list[Block]:
    rows = [[item.label, headline_value(item)] for item in summary.headline() if item.format != "detail"]
    return [Heading(2, "Headline"), Table(["measure", "value"], rows)]


def _claims(summary: Summary) -> list[Block]:
    claims = summary.section(ClaimsSection)
    if not claims.n_claims:
        return [Para("No model in this snapshot makes a performance claim.")]
    subjects = claims.by_subject
    own = subjects.get("self", 0)
    blocks: list[Block] = [
        Para(
            f"{plural(claims.n_claims, 'claim row')} in all (model-index, eval-results and the card body), "
            f"{own:,} of them about the card's own model; only those count in any figure. "
            f"{claims.n_counting_model_index:,} model-index claims count for this figure (numeric, with "
            "a metric, task and dataset)."
        )
    ]
    if claims.models_comparing:
        blocks.append(
            Para(
                f"Comparison tables: {plural(claims.models_comparing, 'card')} give another model's numbers "
                f"(baselines, sibling models, the base model) in a results table, "
                f"{claims.models_comparing_with_own:,} of them beside their own; "
                f"{subjects.get('other', 0):,} claim rows are about other models and "
                f"{subjects.get('unknown', 0):,} do not say whose they are, none of them counted."
            )
        )
    return blocks


def _claim_checks(summary: Summary) -> list[Block]:
    checks = summary.section(ClaimChecksSection)
    blocks: list[Block] = [Heading(3, "Checks on the claims, without running a model")]
    if not checks.models_with_claims:
        return [*blocks, Para("No claims to check: no model in this snapshot makes a performance claim.")]
    blocks += [
        Para(
            f"Models with at least one finding: {checks.models_with_findings:,} of the "
            f"{checks.models_with_claims:,} with claims ({pct(checks.share_with_findings)}); "
            f"{checks.models_with_other_findings:,} ({pct(checks.share_with_other_findings)}) "
            "leaving unverifiable claims aside."
        ),
        Table(
            ["check", "finds", "findings", "models"],
            [
                [name, words, f"{checks.checks[name].findings:,}", f"{checks.checks[name].models:,}"]
                for name, words in CHECKS.items()
                if name in checks.checks
            ],
        ),
        Para(
            "Only claims about the card's own model are checked. A Trainer results list that differs "
            "from its own log table for an ordinary reason (the best checkpoint kept, a table that stops "
            "before training does, masked-language-model losses that vary between passes) is counted "
            "under that reason, not as a disagreement, and is left out of the models with findings."
        ),
    ]
    if checks.checks["unverifiable"].findings:
        reasons = ", ".join(f"{reason}: {n:,}" for reason, n in checks.unverifiable_reasons.items())
        blocks.append(Para(f"Unverifiable claims by reason: {reasons}."))
    verified = checks.self_vs_verified
    if verified.pairs:
        blocks.append(
            Para(
                f"{plural(verified.pairs, 'unverified claim')} compared with a verified one, "
                f"{verified.differing:,} of them differing beyond rounding; mean absolute difference "
                f"{score(verified.mean_abs_difference)} on the 0-1 scale."
            )
        )
    return blocks


def difference(paper: Side | int | None, snapshot: Side | int | None) -> str:
    """This snapshot's share minus the paper's, in percentage points; empty where either is no share."""
    if not isinstance(paper, Side) or not isinstance(snapshot, Side):
        return ""
    if paper.share is None or snapshot.share is None:
        return ""
    return f"{100 * (snapshot.share - paper.share):+.1f} points"


def _share(value: Side | int | None) -> str:
    return pct(value.share) if isinstance(value, Side) else side(value)


def comparison_blocks(rows: list[ComparisonRow]) -> list[Block]:
    """The rows both sides measured, with their difference, as a table; the rows only one side measured,
    each listed in one sentence."""
    both = [row for row in rows if row.paper is not None and row.snapshot is not None]
    ours = [row for row in rows if row.paper is None and row.snapshot is not None]
    theirs = [row for row in rows if row.paper is not None and row.snapshot is None]
    blocks: list[Block] = [
        Table(
            ["measure", "paper", "this snapshot", "difference"],
            [
                [row.measure, side(row.paper), side(row.snapshot), difference(row.paper, row.snapshot)]
                for row in both
            ],
        )
    ]
    if ours:
        listed = "; ".join(f"{row.measure} {_share(row.snapshot)}" for row in ours)
        blocks.append(Para(f"Measured here, with no figure in the paper: {listed}."))
    if theirs:
        listed = "; ".join(f"{row.measure} {side(row.paper)}" for row in theirs)
        blocks.append(Para(f"In the paper, not measured in this snapshot: {listed}."))
    return blocks


def without_empty_figures(blocks: list[Block], empty: dict[str, str]) -> list[Block]:
    """`blocks` without the figures that have no data (`empty`: name -> the sentence saying so): where
    the figure's section has said something already, that stands; else the sentence takes its place."""
    kept: list[Block] = []
    section_has_text = False
    for block in blocks:
        if isinstance(block, Heading):
            section_has_text = False
        elif isinstance(block, Image) and block.name in empty:
            if section_has_text:
                continue
            block = Para(empty[block.name])
        if isinstance(block, Para):
            section_has_text = True
        kept.append(block)
    return kept


def _comparison(summary: Summary) -> list[Block]:
    comparison = summary.paper_comparison
    datasets = comparison.fig6_datasets
    datasets_text = f"Datasets: {datasets.note}; both counts are shown."
    if not datasets.snapshot_models and not datasets.snapshot_metric_entries:
        datasets_text = "No model in this snapshot declares a dataset, and no counting claim names one."
    return [
        Heading(2, "Comparison with the paper"),
        Para(f"{comparison.paper}."),
        *comparison_blocks(comparison.documentation),
        Heading(3, "Fig. 7: performance claims by task"),
        *_claims(summary),
        Table(
            ["task", "paper", "this snapshot"],
            [[r.task, side(r.paper), side(r.snapshot)] for r in comparison.fig7_claims_by_task],
        ),
        Image(
            "claims_by_task", "Share of each task's models with model-index claims, paper vs this snapshot"
        ),
        *_claim_checks(summary),
        Heading(3, "Fig. 6: architectures and datasets"),
        Image("architectures", "config.model_type shares; diamonds: the paper's reported values"),
        Para(datasets_text),
        Image("datasets", "Datasets by model-index metric entries and by declaring models"),
    ]


def _missing(summary: Summary) -> list[Block]:
    attributes = summary.section(AttributesSection)
    blocks: list[Block] = [Heading(2, "Missing attributes")]
    if not attributes.n_models:
        blocks.append(Para("The snapshot has no models, so no attribute is measured."))
    elif not attributes.present["has_card_body"].count:
        blocks.append(
            Para(
                "No model card text was read in this snapshot (a metadata-only crawl fetches no README), "
                "so card bodies and card sections count as missing for every model."
            )
        )
    return [
        *blocks,
        Image("attribute_rates", "Share of models missing each attribute and card section"),
        Image("missing_by_decile", "Missing attributes by popularity decile"),
        Image("missing_by_task", "Missing attributes by task"),
    ]


def _scores(summary: Summary) -> list[Block]:
    scores = summary.section(ScoresSection)
    rows = [
        [name, ", ".join(factors), score(scores.score(name).mean), score(scores.score(name).median)]
        for name, factors in scores.score_factors.items()
    ]
    return [
        Heading(2, "Provenance, reproducibility and portability"),
        Table(["score", "factors", "mean", "median"], rows),
        Image("factor_rates", "Share of models with each Table I factor"),
        Image("score_distributions", "Distribution of the three scores"),
    ]


def _lineage_text(lineage: LineageSection) -> str:
    if not lineage.n_edges:
        return "No model in this snapshot declares a base model."
    relations = ", ".join(f"{name} {n:,}" for name, n in sorted(lineage.relations.items()))
    text = (
        f"{plural(lineage.n_edges, 'base-model edge')} from {plural(lineage.models_with_base, 'model')} "
        f"to {plural(lineage.bases.distinct, 'base')} ({relations})"
    )
    if lineage.depth.max:
        chain = " -> ".join(lineage.depth.deepest_chain)
        text += f"; the longest chain has {plural(lineage.depth.max, 'edge')}: {chain}"
    return text + "."


def _lineage(summary: Summary) -> list[Block]:
    lineage = summary.section(LineageSection)
    most = summary.section(DatasetsSection).per_model.most_downstream
    blocks: list[Block] = [Heading(2, "Base-model lineage"), Para(_lineage_text(lineage))]
    if most and most.downstream_models > most.models:
        blocks.append(
            Para(
                f"One dataset, {most.dataset}, has {most.downstream_models:,} downstream models "
                f"({most.models:,} declaring it directly, the rest derived from those)."
            )
        )
    if lineage.families.top:
        blocks.append(
            Table(
                ["root", "in snapshot", "direct children", "descendants", "deepest"],
                [
                    [
                        f.root,
                        "yes" if f.root_in_snapshot else "no",
                        f"{f.direct_children:,}",
                        f"{f.descendants:,}",
                        str(f.max_depth),
                    ]
                    for f in lineage.families.top
                ],
            )
        )
    blocks.append(Image("lineage_families", "Largest families and most reused bases"))
    return blocks


def _figures(
    summary: Summary, breakdowns: pd.DataFrame, scores: pd.DataFrame, evaluations: pd.DataFrame | None
) -> dict[str, Callable[[], Any]]:
    return {
        "claims_by_task": lambda: figures.claims_by_task(summary),
        "claims_gap": lambda: figures.claims_gap(evaluations),
        "architectures": lambda: figures.architectures(summary),
        "datasets": lambda: figures.datasets(summary),
        "attribute_rates": lambda: figures.attribute_rates(summary),
        "missing_by_decile": lambda: figures.missing_by_decile(breakdowns),
        "missing_by_task": lambda: figures.missing_by_task(breakdowns),
        "factor_rates": lambda: figures.factor_rates(summary),
        "score_distributions": lambda: figures.score_distributions(scores),
        "lineage_families": lambda: figures.lineage_families(summary),
        "exposure_by_year": lambda: figures.exposure_by_year(breakdowns, summary),
    }


def run_report(data_dir: Path, snapshot_id: str | None, out: Path | None, command: str | None = None) -> str:
    """Write the report of `snapshot_id` (default: the newest complete one) under `out`; `command`, the
    command line that asked for it, goes into its provenance."""
    matplotlib.use("Agg")
    data = DataDir(data_dir)
    snapshot = resolve_snapshot(data, snapshot_id)
    snapshot_id = snapshot.id
    try:
        summary = load_summary(snapshot)
    except FileNotFoundError:
        raise SnapshotError(
            f"snapshot {snapshot_id!r} has no findings; run `hubmine analyze --snapshot {snapshot_id}`"
        ) from None
    breakdowns = read_table(snapshot.finding("breakdowns")).to_pandas()
    scores = read_table(snapshot.finding("scores"), SCORE_COLUMNS).to_pandas()
    out = out or REPORTS_DIR / snapshot_id

    images: dict[str, bytes] = {}
    evaluations = read_evaluations(snapshot)
    trends = read_trends(data)
    process = read_process(data)
    makers = {
        **_figures(summary, breakdowns, scores, evaluations),
        **trend_figures(trends),
        **history_figures(process, snapshot),
    }
    empty: dict[str, str] = {}
    for name, draw in makers.items():
        figure = draw()
        sentence = figures.no_data_sentence(figure)
        if sentence is not None:
            empty[name] = sentence
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        images[name] = buffer.getvalue()
        with atomic_open(out / image_path(name), "wb") as handle:
            handle.write(images[name])

    title = f"hubmine report: snapshot {snapshot_id}"
    n_models = summary.section(AttributesSection).n_models
    blocks: list[Block] = [
        Heading(1, title),
        Para(f"{plural(n_models, 'model')}; findings generated {summary.generated_at}."),
        *provenance_blocks(snapshot, command),
        *_headline(summary),
        *_comparison(summary),
        *claimed_vs_measured(snapshot, evaluations),
        Image("claims_gap", "Mean claimed minus measured per task and claim source (hubmine evaluate)"),
        *_missing(summary),
        *_scores(summary),
        *_lineage(summary),
        *risks(snapshot, summary),
        *trends_blocks(trends, population_warning(data, trends.snapshots) if trends else None),
        *history_blocks(process, snapshot),
    ]
    blocks = without_empty_figures(blocks, empty)
    with atomic_open(out / "report.md") as handle:
        handle.write(to_markdown(blocks))
    with atomic_open(out / "report.html") as handle:
        handle.write(to_html(blocks, title, images))
    return (
        f"report of snapshot {snapshot_id}: {len(images)} figures; {out / 'report.md'}, {out / 'report.html'}"
    )
