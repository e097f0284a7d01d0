"""`hubmine status`: the snapshots of a data directory, one line each, oldest first: id, state, models and
cards, size on disk, where they were crawled from and with which parameters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.crawl.params import CrawlParams
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import list_snapshots, read_manifest

HEADER = ("SNAPSHOT", "STATE", "MODELS", "CARDS", "SIZE", "ENDPOINT", "PARAMETERS")


@dataclass(frozen=True)
class SnapshotStatus:
    id: str
    state: str  # the manifest's status (complete, partial, running); "complete, analyzed" with findings
    models: int | None
    cards: int | None  # cards read (`ok`)
    size_bytes: int
    endpoint: str  # the Hub it was crawled from, or the dump it was imported from
    parameters: str

    def cells(self) -> tuple[str, ...]:
        return (
            self.id,
            self.state,
            "-" if self.models is None else f"{self.models:,}",
            "-" if self.cards is None else f"{self.cards:,}",
            human_size(self.size_bytes),
            self.endpoint,
            self.parameters,
        )


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:  # removed while we looked
                continue
    return total


@dataclass(frozen=True)
class Origin:
    """Where a snapshot's models came from: the endpoint a crawl asked, with its population options, or
    the dump an import read (at its revision, if any)."""

    imported: bool
    source: str
    parameters: str  # `--limit 1000 --sort downloads --cards`; empty for an import


def snapshot_origin(manifest: dict[str, Any]) -> Origin:
    source = manifest.get("source")
    if isinstance(source, dict):
        dump = str(source.get("dataset") or source.get("path") or "a dump")
        revision = f" at revision {source['revision']}" if source.get("revision") else ""
        return Origin(True, dump + revision, "")
    params = CrawlParams.from_json(manifest.get("params") or {})
    return Origin(False, str(manifest.get("endpoint") or "an unrecorded endpoint"), params.describe())


def snapshot_status(snapshot: Snapshot, manifest: dict[str, Any]) -> SnapshotStatus:
    counts = manifest.get("counts") or {}
    cards = counts.get("cards")
    state = str(manifest.get("status") or "?")
    if state == "complete" and snapshot.summary.exists():
        state = "complete, analyzed"
    origin = snapshot_origin(manifest)
    return SnapshotStatus(
        id=snapshot.id,
        state=state,
        models=counts.get("models"),
        cards=cards.get("ok") if isinstance(cards, dict) else None,
        size_bytes=folder_size(snapshot.dir),
        endpoint=f"import of {origin.source}" if origin.imported else origin.source,
        parameters=origin.parameters or "-",
    )


def list_status(data_dir: Path) -> list[SnapshotStatus]:
    data = DataDir(data_dir)
    found = []
    for snapshot_id in list_snapshots(data):
        snapshot = data.snapshot(snapshot_id)
        manifest = read_manifest(snapshot)
        if manifest is not None:
            found.append(snapshot_status(snapshot, manifest))
    return found


def status_lines(data_dir: Path) -> list[str]:
    """A table, oldest snapshot first, or one line saying there is none and how to make one."""
    rows = [row.cells() for row in list_status(data_dir)]
    if not rows:
        return [f"no snapshots under {DataDir(data_dir).snapshots}; run `hubmine crawl` (or `make demo`)"]
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [HEADER, *rows]
    ]
