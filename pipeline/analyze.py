"""`hubmine analyze`: parse a snapshot's cards, run every measure, write `findings/summary.json`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline.errors import SnapshotError
from pipeline.measures import attributes, breakdowns, dependencies, scores, summary
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import resolve_snapshot

# In dependency order: scores read attributes and lineage; breakdowns read attributes and scores.
MEASURES: tuple[tuple[str, Callable[[Snapshot], dict[str, Any]]], ...] = (
    ("attributes", attributes.run),
    ("dependencies", dependencies.run),
    ("scores", scores.run),
    ("breakdowns", breakdowns.run),
)


def measure_snapshot(snapshot: Snapshot, cards: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every measure on a snapshot whose cards are parsed; write and return the summary.

    `cards` is what the card stage reported (its counts go into the summary as they are).
    """
    sections: dict[str, Any] = {} if cards is None else {"cards": cards}
    with tqdm(MEASURES, desc="measures", unit="measure", disable=None) as progress:
        for name, run in progress:
            progress.set_postfix_str(name)
            sections[name] = run(snapshot)
    return summary.write(snapshot, sections)


def summary_line(result: dict[str, Any], snapshot: Snapshot) -> str:
    head = result["headline"]

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    return (
        f"analyzed {head['n_models']} models of snapshot {result['snapshot_id']}: "
        f"card {pct(head['share_has_card'])}, license {pct(head['share_has_license'])}, "
        f"model-index claims {pct(head['share_has_eval_claims'])}, "
        f"architecture missing {pct(head['architecture_missing_share'])}, "
        f"{head['lineage_edges']} base-model edges; findings in {snapshot.findings}"
    )


def run_analyze(data_dir: Path, snapshot_id: str | None) -> str:
    snapshot = resolve_snapshot(DataDir(data_dir), snapshot_id)
    if not snapshot.models.exists():
        raise SnapshotError(f"snapshot {snapshot.id!r} has no {snapshot.models.name}")
    # Imported here: card parsing pulls in YAML and Markdown machinery the measures do not need.
    from pipeline.cards.stage import parse_snapshot

    cards = parse_snapshot(snapshot)
    return summary_line(measure_snapshot(snapshot, cards), snapshot)
