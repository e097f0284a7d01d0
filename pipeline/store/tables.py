"""Reading and writing snapshot tables: batched column reads, JSON cells, emptiness, writing findings."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.schemas import validate
from pipeline.store.damage import open_parquet, reading, table_remedy
from pipeline.store.files import atomic_path
from pipeline.store.layout import Snapshot

# Rows per batch: large enough that Arrow does the heavy lifting, small enough that wide JSON
# columns (config, card text) of a million-model snapshot never sit in memory at once.
BATCH_ROWS = 20_000


def iter_columns(
    path: Path, columns: Sequence[str], batch_rows: int = BATCH_ROWS
) -> Iterator[list[list[Any]]]:
    """Column lists of `columns`, one batch at a time; a column the file lacks reads as all-null.

    A missing file yields nothing (cards.parquet is absent from metadata-only snapshots); a damaged one
    raises `DamagedFileError`.
    """
    if not path.exists():
        return
    parquet = open_parquet(path, table_remedy(path))
    present = [name for name in columns if name in parquet.schema_arrow.names]
    if not present:
        return
    with reading(path, table_remedy(path)):
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=present):
            lists = {name: batch.column(name).to_pylist() for name in present}
            yield [lists[name] if name in lists else [None] * batch.num_rows for name in columns]


def iter_rows(path: Path, columns: Sequence[str], batch_rows: int = BATCH_ROWS) -> Iterator[tuple[Any, ...]]:
    """Rows of `columns` as tuples, read in batches."""
    for cols in iter_columns(path, columns, batch_rows):
        yield from zip(*cols, strict=True)


def derive(
    path: Path,
    columns: Sequence[str],
    schema: pa.Schema,
    fn: Callable[[tuple[Any, ...]], tuple[Any, ...]],
) -> pa.Table:
    """Apply `fn` to each row of `columns` and collect its tuples into a compact table of `schema`.

    Batches become Arrow arrays as they go, so only the derived (small) values are kept.
    """
    parts = []
    for cols in iter_columns(path, columns):
        out = [fn(row) for row in zip(*cols, strict=True)]
        transposed = list(zip(*out, strict=True)) if out else [() for _ in schema]
        arrays = [pa.array(values, type=field.type) for values, field in zip(transposed, schema, strict=True)]
        parts.append(pa.Table.from_arrays(arrays, schema=schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def left_join(left: pa.Table, right: pa.Table, key: str = "model_id") -> pa.Table:
    """`left` with `right`'s other columns added by `key`, in `left`'s row order; null where `right`
    has no row (the first row wins where it has several)."""
    positions = pc.index_in(left.column(key), value_set=right.column(key).combine_chunks())
    taken = right.drop_columns([key]).take(positions)
    for name in taken.column_names:
        left = left.append_column(name, taken.column(name))
    return left


def load_json(text: str | None) -> Any:
    """The value of a JSON cell; None for null or unreadable text (a bad cell must not stop a measure)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def non_empty(value: Any) -> bool:
    """True for a value that says something: a string with a non-whitespace character, a list with a
    non-empty entry, a mapping with a non-empty value, or any other non-null scalar (numbers, and the
    booleans YAML 1.1 makes of `no`/`yes`, which are Norwegian or an answer, not absence)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return any(non_empty(entry) for entry in value)
    if isinstance(value, dict):
        return any(non_empty(entry) for entry in value.values())
    return True


def as_list(value: Any) -> list[Any]:
    """A metadata field that may be one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def strings(value: Any) -> list[str]:
    """The non-empty strings of a one-or-many metadata field, stripped."""
    return [entry.strip() for entry in as_list(value) if isinstance(entry, str) and entry.strip()]


def read_table(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """`path` read whole (or `columns` of it); a damaged file raises `DamagedFileError`."""
    with reading(path, table_remedy(path)):
        return pq.read_table(path, columns=list(columns) if columns is not None else None)


def write_finding(snapshot: Snapshot, table: str, data: pa.Table) -> Path:
    """Validate `data` against `schemas/<table>.json` and write it atomically under `findings/`."""
    path = snapshot.finding(table)
    data = validate(table, data)
    with atomic_path(path) as tmp:
        pq.write_table(data, tmp, compression="zstd")
    return path
