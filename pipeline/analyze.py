"""`hubmine analyze`: run every registered step on a snapshot, in the registry's order, and write
`findings/summary.json`."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import SnapshotError
from pipeline.measures import summary
from pipeline.measures.attributes import AttributesSection
from pipeline.measures.catalog import CARD_STAGE, REGISTRY
from pipeline.measures.registry import Context, Registry, check_written
from pipeline.measures.section import Section
from pipeline.progress import progress_bar
from pipeline.store.damage import open_parquet, recrawl_remedy
from pipeline.store.layout import SNAPSHOT_TABLES, DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import resolve_snapshot

# Headline shares the command prints, with their words.
SUMMARY_LINE_RATES = {
    "share_has_card": "card",
    "share_has_license": "license",
    "share_has_eval_claims": "model-index claims",
    "architecture_missing_share": "architecture missing",
}


def analyze_snapshot(snapshot: Snapshot, registry: Registry = REGISTRY) -> summary.Summary:
    """Run the registry's measures in order; write and return the summary."""
    snapshot.findings.mkdir(parents=True, exist_ok=True)
    context = Context(snapshot, registry)
    sections: dict[str, Section] = {}
    with progress_bar(registry.measures, desc="measures", unit="measure", disable=None) as progress:
        for measure in progress:
            progress.set_postfix_str(measure.name)
            sections[measure.summary_key] = measure.run(context)
            check_written(snapshot, measure)
    result = summary.assemble(snapshot, sections, registry)
    summary.write(snapshot, result)
    return result


def measure_snapshot(snapshot: Snapshot, registry: Registry = REGISTRY) -> summary.Summary:
    """Every measure but the card stage, on a snapshot whose cards are parsed already."""
    return analyze_snapshot(snapshot, registry.without(CARD_STAGE))


def summary_line(result: summary.Summary, snapshot: Snapshot) -> str:
    head = {item.key: item.value for item in result.headline()}
    rates = ", ".join(f"{label} {_pct(head[key])}" for key, label in SUMMARY_LINE_RATES.items())
    return (
        f"analyzed {result.section(AttributesSection).n_models} models of snapshot {result.snapshot_id}: "
        f"{rates}, {head['lineage_edges']} base-model edges; findings in {snapshot.findings}"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def run_analyze(data_dir: Path, snapshot_id: str | None) -> str:
    data = DataDir(data_dir)
    snapshot = resolve_snapshot(data, snapshot_id)
    if not snapshot.models.exists():
        raise SnapshotError(f"snapshot {snapshot.id!r} has no {snapshot.models.name}")
    # A crawl table cut short or overwritten is named before any measure trips over it.
    for name in SNAPSHOT_TABLES:
        if snapshot.table(name).exists():
            open_parquet(snapshot.table(name), recrawl_remedy())
    with holding_lock(data, "analyze"):
        return summary_line(analyze_snapshot(snapshot), snapshot)
