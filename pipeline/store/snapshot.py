"""Which snapshot a command means: manifests, listing by start time, the newest complete one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.errors import SnapshotError
from pipeline.store.layout import DataDir, Snapshot

DEFAULT_DATA_DIR = "data"


def data_dir_from_env() -> Path:
    return Path(os.environ.get("HUBMINE_DATA_DIR", DEFAULT_DATA_DIR))


def read_manifest(snapshot: Snapshot) -> dict[str, Any] | None:
    """The manifest of `snapshot`, or None when there is none (or it is unreadable)."""
    try:
        manifest = json.loads(snapshot.manifest.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def list_snapshots(data: DataDir, status: str | None = None) -> list[str]:
    """Snapshot ids under `data`, oldest first by start time (not by name: ids may be chosen)."""
    if not data.snapshots.is_dir():
        return []
    found = []
    for child in data.snapshots.iterdir():
        manifest = read_manifest(Snapshot(child)) if child.is_dir() else None
        if manifest is not None and (status is None or manifest.get("status") == status):
            found.append((str(manifest.get("started_at") or ""), child.name))
    return [name for _, name in sorted(found)]


def resolve_snapshot(data: DataDir, snapshot_id: str | None) -> Snapshot:
    """`snapshot_id` if it exists and is complete, else the newest complete snapshot."""
    if snapshot_id is not None:
        snapshot = data.snapshot(snapshot_id)
        manifest = read_manifest(snapshot)
        if manifest is None:
            raise SnapshotError(f"no snapshot {snapshot_id!r} under {data.snapshots}")
        if manifest.get("status") != "complete":
            raise SnapshotError(
                f"snapshot {snapshot_id!r} is {manifest.get('status')}; finish it with "
                f"`hubmine crawl --resume --snapshot {snapshot_id}`"
            )
        return snapshot
    complete = list_snapshots(data, status="complete")
    if not complete:
        raise SnapshotError(f"no complete snapshot under {data.snapshots}; run `hubmine crawl` first")
    return data.snapshot(complete[-1])
