"""Where snapshots live and which one a command means."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.errors import SnapshotError

DEFAULT_DATA_DIR = "data"
MANIFEST = "manifest.json"


def data_dir_from_env() -> Path:
    return Path(os.environ.get("HUBMINE_DATA_DIR", DEFAULT_DATA_DIR))


def snapshots_root(data_dir: Path) -> Path:
    return data_dir / "snapshots"


def snapshot_dir(data_dir: Path, snapshot_id: str) -> Path:
    return snapshots_root(data_dir) / snapshot_id


def findings_dir(data_dir: Path, snapshot_id: str) -> Path:
    return snapshot_dir(data_dir, snapshot_id) / "findings"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of the snapshot in `directory`, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((directory / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def list_snapshots(data_dir: Path, status: str | None = None) -> list[str]:
    """Snapshot ids under `data_dir`, oldest first by start time (not by name: ids may be chosen)."""
    root = snapshots_root(data_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        manifest = read_manifest(child) if child.is_dir() else None
        if manifest is not None and (status is None or manifest.get("status") == status):
            found.append((str(manifest.get("started_at") or ""), child.name))
    return [name for _, name in sorted(found)]


def resolve_snapshot(data_dir: Path, snapshot_id: str | None) -> str:
    """`snapshot_id` if it exists and is complete, else the newest complete snapshot."""
    if snapshot_id is not None:
        manifest = read_manifest(snapshot_dir(data_dir, snapshot_id))
        if manifest is None:
            raise SnapshotError(f"no snapshot {snapshot_id!r} under {snapshots_root(data_dir)}")
        if manifest.get("status") != "complete":
            raise SnapshotError(
                f"snapshot {snapshot_id!r} is {manifest.get('status')}; finish it with "
                f"`hubmine crawl --resume --snapshot {snapshot_id}`"
            )
        return snapshot_id
    complete = list_snapshots(data_dir, status="complete")
    if not complete:
        raise SnapshotError(
            f"no complete snapshot under {snapshots_root(data_dir)}; run `hubmine crawl` first"
        )
    return complete[-1]
