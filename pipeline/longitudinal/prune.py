"""`hubmine prune`: delete the oldest complete snapshots beyond the newest N.

Never deleted: the newest complete snapshot (whatever N), snapshots that are not complete (a crawl to
resume), and, unless forced, snapshots a diff (`diffs/<OLD>..<NEW>/`) or a trend table still names.
Each snapshot goes by a rename out of `snapshots/` (atomic: it is never seen half-deleted) and is then
removed; what a killed prune left under `pruning/` is removed by the next one. A `pruning/` that is a
link is refused, and so are `snapshots/` and `publish/`: deletion never follows a link out of the data
directory (`store.removal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.store.files import storage_errors
from pipeline.store.layout import DataDir
from pipeline.store.lock import holding_lock
from pipeline.store.removal import real_folder, remove_path
from pipeline.store.snapshot import list_snapshots


@dataclass
class PruneResult:
    dry_run: bool
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    named: dict[str, list[str]] = field(default_factory=dict)  # snapshot -> what names it, kept for that
    lines: list[str] = field(default_factory=list)

    def summary_line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        held = f", {len(self.named)} kept because a diff or trend names them (--force deletes them)"
        return f"{verb} {len(self.deleted)} snapshots, kept {len(self.kept)} complete" + (
            held if self.named else ""
        )


def run_prune(data_dir: Path, keep: int, *, force: bool = False, dry_run: bool = False) -> PruneResult:
    """Delete (or, with `dry_run`, list) the complete snapshots older than the newest `keep`."""
    data = DataDir(data_dir)
    result = PruneResult(dry_run)
    with holding_lock(data, "prune"):
        if not dry_run:
            _finish_earlier(data)
        complete = list_snapshots(data, status="complete")
        keep = max(1, keep)  # the newest complete snapshot is never deleted
        old, result.kept = complete[:-keep], complete[-keep:]
        names = named_snapshots(data, set(old))
        for snapshot_id in old:
            if names.get(snapshot_id) and not force:
                result.named[snapshot_id] = names[snapshot_id]
                result.kept.append(snapshot_id)
                result.lines.append(f"kept {snapshot_id}: named by {', '.join(names[snapshot_id])}")
                continue
            if not dry_run:
                _delete(data, snapshot_id)
            also = f" (named by {', '.join(names[snapshot_id])})" if names.get(snapshot_id) else ""
            result.deleted.append(snapshot_id)
            result.lines.append(f"{'would delete' if dry_run else 'deleted'} {snapshot_id}{also}")
    return result


def named_snapshots(data: DataDir, candidates: set[str]) -> dict[str, list[str]]:
    """Which of `candidates` a diff folder or a trend table names, and what names each."""
    found: dict[str, list[str]] = {}
    if data.diffs.is_dir():
        for folder in sorted(data.diffs.iterdir()):
            for snapshot_id in candidates:
                if folder.name.startswith(f"{snapshot_id}..") or folder.name.endswith(f"..{snapshot_id}"):
                    found.setdefault(snapshot_id, []).append(folder.relative_to(data.root).as_posix())
    if data.trends.is_dir():
        for path in sorted(data.trends.glob("*.parquet")):
            named = {s for s in candidates if s in path.name}
            if "snapshot" in pq.read_schema(path).names:
                named |= candidates & set(pq.read_table(path, columns=["snapshot"]).column(0).to_pylist())
            for snapshot_id in named:
                found.setdefault(snapshot_id, []).append(path.relative_to(data.root).as_posix())
    return found


def _delete(data: DataDir, snapshot_id: str) -> None:
    snapshot = data.snapshot(snapshot_id)
    with storage_errors(snapshot.dir):
        pruning = real_folder(data.pruning, data.root)
        # What moves into pruning/ to be deleted must not come through a link either.
        for source in (data.snapshots, data.published(snapshot_id).dir.parent):
            real_folder(source, data.root)
        pruning.mkdir(parents=True, exist_ok=True)
        target, published = pruning / snapshot_id, pruning / f"{snapshot_id}.publish"
        for leftover in (target, published):
            remove_path(leftover, data.root, ignore_errors=True)
        # The publish folder goes first: a prune killed after either rename leaves it all under pruning/.
        if data.published(snapshot_id).dir.is_dir():
            data.published(snapshot_id).dir.rename(published)
        snapshot.dir.rename(target)
        remove_path(target, data.root)
        remove_path(published, data.root, ignore_errors=True)


def _finish_earlier(data: DataDir) -> None:
    """Remove what an earlier prune, killed while deleting, left under `pruning/`."""
    pruning = real_folder(data.pruning, data.root)
    if pruning.is_dir():
        with storage_errors(pruning):
            for leftover in pruning.iterdir():
                remove_path(leftover, data.root, ignore_errors=True)
