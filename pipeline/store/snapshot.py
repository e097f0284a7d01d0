"""Which snapshot a command means: manifests, listing by start time, the newest complete one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import settings
from pipeline.errors import DamagedFileError, SnapshotError
from pipeline.store.damage import read_json_object, warn
from pipeline.store.layout import DataDir, Snapshot

DEFAULT_DATA_DIR = settings.DATA_DIR.default


def data_dir_from_env() -> Path:
    return Path(settings.DATA_DIR.read())


def read_manifest(snapshot: Snapshot) -> dict[str, Any] | None:
    """The manifest of `snapshot`, or None when there is none; `DamagedFileError` when it does not read."""
    remedy = f"restore it from a backup, or remove {snapshot.dir} and crawl again"
    try:
        return read_json_object(snapshot.manifest, remedy)
    except (FileNotFoundError, NotADirectoryError):
        return None


def list_snapshots(data: DataDir, status: str | None = None) -> list[str]:
    """Snapshot ids under `data`, oldest first by start time (not by name: ids may be chosen); a snapshot
    whose manifest is damaged is left out with a warning."""
    for folder in (data.root, data.snapshots):
        if folder.exists() and not folder.is_dir():
            raise SnapshotError(f"{folder} is a file, not a folder; pass --data-dir a folder of snapshots")
    if not data.snapshots.is_dir():
        return []
    found = []
    for child in data.snapshots.iterdir():
        try:
            manifest = read_manifest(Snapshot(child)) if child.is_dir() else None
        except DamagedFileError as exc:
            warn(f"skipping snapshot {child.name}: {exc}")
            continue
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
