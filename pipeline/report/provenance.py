"""What a report measured: where its snapshot came from, with which parameters, as of when, and which
hubmine wrote it; and whether the snapshots a trend compares hold the same population."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import __version__
from pipeline.errors import DamagedFileError
from pipeline.report.render import Block, Heading, Para, Table
from pipeline.status import Origin, snapshot_origin
from pipeline.store.damage import reading, table_remedy
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import read_manifest


def _minute(timestamp: object) -> str:
    """An ISO timestamp to the minute, in UTC as recorded: `2026-12-07 01:11 UTC`."""
    text = str(timestamp or "")
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 else "unknown"


def newest_change(snapshot: Snapshot) -> str:
    """The day of the newest `last_modified` among the snapshot's models: how recent its data is."""
    try:
        with reading(snapshot.models, table_remedy(snapshot.models)):
            column = pq.read_table(snapshot.models, columns=["last_modified"]).column("last_modified")
    except (FileNotFoundError, KeyError, DamagedFileError):  # the report does without it
        return "unknown"
    newest = pc.max(column).as_py()
    return "unknown" if newest is None else newest.date().isoformat()


def provenance_blocks(snapshot: Snapshot, command: str | None) -> list[Block]:
    """The report's provenance: a short table a reader checks before any figure."""
    manifest = read_manifest(snapshot) or {}
    source, parameters = _described(snapshot_origin(manifest))
    crawled_with = (manifest.get("versions") or {}).get("hubmine", "unknown")
    rows = [
        ["snapshot", snapshot.id],
        ["source", source],
        ["crawl parameters", parameters],
        ["crawled", f"{_minute(manifest.get('started_at'))} to {_minute(manifest.get('finished_at'))}"],
        ["newest model change in the data", newest_change(snapshot)],
        ["hubmine", f"{__version__} (report); {crawled_with} (crawl)"],
    ]
    if command:
        rows.append(["command", command])
    return [Heading(2, "What this report measured"), Table(["", "value"], rows)]


def _described(origin: Origin) -> tuple[str, str]:
    """(where from, with which parameters), in the report's words."""
    if origin.imported:
        return f"imported from {origin.source}", "as published (no crawl parameters)"
    return f"crawled from {origin.source}", f"hubmine crawl {origin.parameters}"


def population_warning(data: DataDir, snapshot_ids: list[str]) -> Para | None:
    """One sentence when the snapshots of a trend were not taken from the same source with the same
    parameters: their differences may be the populations', not the registry's."""
    origins = {
        snapshot_id: snapshot_origin(read_manifest(data.snapshot(snapshot_id)) or {})
        for snapshot_id in snapshot_ids
    }
    if len(set(origins.values())) < 2:
        return None
    listed = "; ".join(
        f"{snapshot_id}: {', '.join(_described(origin))}" for snapshot_id, origin in origins.items()
    )
    return Para(
        "Warning: these snapshots cover different populations, so a change between them may come from "
        f"what was crawled rather than from the registry ({listed})."
    )
