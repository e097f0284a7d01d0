"""A table written in numbered parts while a crawl runs, merged into one Parquet file when it ends.

Parts are committed atomically and in order; the crawl's checkpoint counts committed parts and records
each one's checksum, so a part beyond the checkpoint (written just before a kill) is simply written
again on resume, and so is a committed part whose bytes changed since, with every part after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schemas import load_schema, validate
from pipeline.store.files import atomic_path, write_parquet
from pipeline.store.layout import Snapshot
from pipeline.store.removal import remove_path


class PartSet:
    def __init__(self, snapshot: Snapshot, table: str) -> None:
        self.snapshot = snapshot
        self.directory = snapshot.parts(table)
        self.table = table

    def path(self, index: int) -> Path:
        return self.snapshot.part(self.table, index)

    def write(self, index: int, data: pa.Table) -> None:
        write_parquet(self.path(index), validate(self.table, data))

    def paths(self, count: int) -> list[Path]:
        return [self.path(i) for i in range(count)]

    def drop_beyond(self, count: int) -> None:
        """Forget parts at or after `count` (written after the last checkpoint) and stray temp files."""
        if not self.directory.is_dir():
            return
        keep = {p.name for p in self.paths(count)}
        for child in self.directory.iterdir():
            if child.name not in keep:
                remove_path(child, self.snapshot.dir)

    def checksums(self, start: int, count: int) -> list[str]:
        """Checksums of parts start..count-1, as the checkpoint records them once they are committed."""
        return [checksum(path) for path in self.paths(count)[start:]]

    def intact_rows(self, checksums: list[str]) -> list[int]:
        """Row counts of the parts `checksums` describe, up to the first one whose bytes changed."""
        rows = []
        for path, expected in zip(self.paths(len(checksums)), checksums, strict=True):
            try:
                if checksum(path) != expected:
                    break
                rows.append(pq.ParquetFile(path).metadata.num_rows)
            except (OSError, pa.ArrowException):
                break
        return rows

    def iter_batches(self, count: int, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        for path in self.paths(count):
            yield from pq.ParquetFile(path).iter_batches(columns=columns, batch_size=4096)

    def merge(self, count: int, target: Path, unique_key: str | None = None) -> int:
        """Write parts 0..count-1 into `target` (atomic), keeping the first row per `unique_key`."""
        schema = load_schema(self.table)
        seen: set[str] = set()
        rows = 0
        with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for path in self.paths(count):
                data = validate(self.table, pq.read_table(path)).select(schema.names)
                if unique_key is not None:
                    data = _first_occurrences(data, unique_key, seen)
                writer.write_table(data.cast(schema), row_group_size=2048)
                rows += data.num_rows
        return rows

    def remove(self) -> None:
        remove_path(self.directory, self.snapshot.dir, ignore_errors=True)


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _first_occurrences(data: pa.Table, key: str, seen: set[str]) -> pa.Table:
    """Rows whose `key` was not seen before (in earlier parts or earlier in this one)."""
    keep = []
    for i, value in enumerate(data.column(key).to_pylist()):
        if value not in seen:
            seen.add(value)
            keep.append(i)
    return data if len(keep) == data.num_rows else data.take(pa.array(keep, pa.int64()))
