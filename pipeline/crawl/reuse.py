"""Rows of earlier snapshots' file tables (cards, eval results), looked up by key, so an unchanged `sha`
costs no request.

Each file is taken from the newest complete snapshot that holds it at that `sha`. The snapshots
consulted are the complete ones with the table, newest first from the one the crawl builds on, down
to the newest that listed the whole registry (no `--limit`, `--author` or `--filter`: older ones
hold no file it lacks but a reverted one) and at most `MAX_SOURCES` of them, so memory stays a few
snapshots' keys and shas however many snapshots the data directory keeps.

A snapshot imported from a published dump (`hubmine import`) has no shas. Its card of a model is
reused when the model's listed `lastModified` is not later than the dump's `last_modified` for it
(any commit moves `lastModified`, so the card cannot have changed), and only an `ok` card: one the
dump lacks is asked for, and a model with either time unknown is fetched.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.errors import DamagedFileError
from pipeline.store.damage import open_parquet, reading, recrawl_remedy, warn
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import list_snapshots, read_manifest

# A file is reused only when its outcome depends on the revision alone; errors are always retried.
REUSABLE_STATUSES = frozenset({"ok", "missing", "gated"})
MAX_SOURCES = 4

# A row's key: its model, and its path in tables that hold several files per model (else None).
RowKey = tuple[str, str | None]


class EarlierFile:
    """Random access to an earlier file table: keys, shas and statuses in memory, the rest on demand.

    `imported`: the table belongs to an imported snapshot, whose models' `last_modified` stands in for
    the sha."""

    def __init__(self, path: Path, cached_groups: int = 8, imported: Snapshot | None = None) -> None:
        self._path = path
        self._file = open_parquet(path, recrawl_remedy())
        with reading(path, recrawl_remedy()):
            by_path = "path" in self._file.schema_arrow.names
            head = self._file.read(columns=["model_id", "sha", "status", *(["path"] if by_path else [])])
        ids = head.column("model_id").to_pylist()
        paths = head.column("path").to_pylist() if by_path else [None] * len(ids)
        self._row_of: dict[RowKey, int] = {key: i for i, key in enumerate(zip(ids, paths, strict=True))}
        self._sha = head.column("sha").to_pylist()
        self._status = head.column("status").to_pylist()
        self._modified = _dump_times(imported, ids) if imported is not None else None
        metadata = self._file.metadata
        self._group_starts = []
        start = 0
        for group in range(metadata.num_row_groups):
            self._group_starts.append(start)
            start += metadata.row_group(group).num_rows
        self._groups: OrderedDict[int, pa.Table] = OrderedDict()
        self._cached_groups = cached_groups
        self._lock = threading.Lock()

    def status(self, key: RowKey) -> str | None:
        row = self._row_of.get(key)
        return None if row is None else self._status[row]

    def _reusable_row(self, key: RowKey, sha: str | None, modified: datetime | None) -> int | None:
        row = self._row_of.get(key)
        if row is None:
            return None
        if self._modified is not None:
            dumped = self._modified[row]
            unchanged = modified is not None and dumped is not None and modified <= dumped
            return row if unchanged and self._status[row] == "ok" else None
        if sha is None or self._sha[row] != sha or self._status[row] not in REUSABLE_STATUSES:
            return None
        return row

    def can_reuse(self, key: RowKey, sha: str | None, modified: datetime | None = None) -> bool:
        return self._reusable_row(key, sha, modified) is not None

    def reusable(
        self, key: RowKey, sha: str | None, modified: datetime | None = None
    ) -> dict[str, Any] | None:
        """The earlier row of `key` if it was taken at this same `sha` (or, imported, is no older than
        the listed `modified`), else None."""
        row = self._reusable_row(key, sha, modified)
        if row is None:
            return None
        group = bisect.bisect_right(self._group_starts, row) - 1
        try:
            with self._lock, reading(self._path, recrawl_remedy()):
                table = self._group(group)
        except DamagedFileError as exc:
            warn(f"not reusing files from it: {exc}")
            return None
        return table.slice(row - self._group_starts[group], 1).to_pylist()[0]

    def _group(self, group: int) -> pa.Table:
        # Both snapshots list models in a similar order, so a few recent row groups serve most lookups.
        if group in self._groups:
            self._groups.move_to_end(group)
        else:
            self._groups[group] = self._file.read_row_group(group)
            if len(self._groups) > self._cached_groups:
                self._groups.popitem(last=False)
        return self._groups[group]


class PreviousFiles:
    """One table of several earlier snapshots, newest first: each lookup is answered by the first that
    holds the key (at that `sha`, for reuse)."""

    def __init__(self, files: list[EarlierFile]) -> None:
        self._files = files

    def status(self, key: RowKey) -> str | None:
        return next((s for f in self._files if (s := f.status(key)) is not None), None)

    def can_reuse(self, key: RowKey, sha: str | None, modified: datetime | None = None) -> bool:
        return any(f.can_reuse(key, sha, modified) for f in self._files)

    def reusable(
        self, key: RowKey, sha: str | None, modified: datetime | None = None
    ) -> dict[str, Any] | None:
        return next((r for f in self._files if (r := f.reusable(key, sha, modified)) is not None), None)


def previous_files(data: DataDir, since: str, table: str) -> PreviousFiles | None:
    """`table` of `since` and the complete snapshots before it, as the module's rule chooses them."""
    complete = list_snapshots(data, "complete")
    newest_first = [since, *reversed(complete[: complete.index(since)] if since in complete else [])]
    files = []
    for snapshot_id in newest_first:
        snapshot = data.snapshot(snapshot_id)
        path = snapshot.table(table)
        if not path.exists():
            continue
        try:
            manifest = read_manifest(snapshot) or {}
            imported = (manifest.get("source") or {}).get("kind") == "import"
            files.append(EarlierFile(path, imported=snapshot if imported else None))
        except DamagedFileError as exc:
            warn(f"not reusing {table} of snapshot {snapshot_id}: {exc}")
            continue
        if len(files) == MAX_SOURCES or _listed_everything(manifest.get("params") or {}):
            break
    return PreviousFiles(files) if files else None


def _dump_times(snapshot: Snapshot, ids: list[str]) -> list[datetime | None]:
    """The dump's `last_modified` of each of `ids`, from the imported snapshot's models."""
    with reading(snapshot.models, recrawl_remedy()):
        models = open_parquet(snapshot.models, recrawl_remedy()).read(columns=["model_id", "last_modified"])
        by_id = dict(zip(*(column.to_pylist() for column in models.columns), strict=True))
    return [by_id.get(model_id) for model_id in ids]


def _listed_everything(params: dict[str, Any]) -> bool:
    return not (params.get("limit") or params.get("author") or params.get("filters"))
