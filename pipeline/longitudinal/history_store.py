"""The tables of `hubmine history` under `DIR/history/`, shared by its steps (commits, discussions,
lines, process): how they are merged and written, what they hold, and one step run per model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.hub.records import parse_timestamp
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.damage import reading
from pipeline.store.files import atomic_path
from pipeline.store.layout import DataDir

Row = dict[str, Any]
# How far each model's history is known: the start of the snapshot of the run that last listed it.
LISTED = "listed"
# A commit or discussion title is one line; the Hub caps it, but a hostile server might not.
MAX_TITLE = 1000

# A date from the Hub outside these bounds is taken as unknown: git lets an author write any date, and a
# series from year 1 would be millions of empty periods.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from the Hub (`2024-01-31T12:00:00.000Z`) in UTC, or None when it is not one or
    lies before 2000 or more than a day ahead."""
    parsed = parse_timestamp(value) if isinstance(value, str) and len(value) <= 64 else None
    if parsed is None or not EARLIEST <= parsed <= datetime.now(timezone.utc) + FUTURE_SLACK:
        return None
    return parsed


def remedy(path: Path) -> str:
    return f"remove {path} and run `hubmine history` again (it lists the histories again)"


def held_ids(path: Path, models: Sequence[str], key: str) -> dict[str, set[str]]:
    """`key` values of the rows `path` holds for `models` (not error rows); only two columns are read."""
    if not path.exists():
        return {}
    with reading(path, remedy(path)):
        table = ds.dataset(path, format="parquet").to_table(
            columns=["model_id", key],
            filter=pc.field("model_id").isin(list(models)) & pc.field(key).is_valid(),
        )
    held: dict[str, set[str]] = defaultdict(set)
    for model_id, value in zip(*(table.column(c).to_pylist() for c in ("model_id", key)), strict=True):
        held[model_id].add(value)
    return held


def merge_write(
    path: Path, table: str, new_rows: Iterable[list[Row]], drop: Callable[[pa.Table], pa.Array]
) -> None:
    """Write `path` atomically: the rows it held, less those `drop` marks (a boolean mask per batch), then
    each batch of `new_rows`; read and written a batch at a time, so memory does not grow with the table."""
    schema = load_schema(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        if path.exists():
            with reading(path, remedy(path)):
                for batch in pq.ParquetFile(path).iter_batches():
                    held = _conform(pa.Table.from_batches([batch]), schema)
                    writer.write_table(held.filter(pc.invert(drop(held))))
        for rows in new_rows:
            writer.write_table(table_from_rows(table, rows))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` in `schema`: a column added to the schema since the file was written reads as nulls."""
    for name in schema.names:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
    return table.select(schema.names).cast(schema)


def in_models(table: pa.Table, models: Iterable[str]) -> pa.Array:
    return pc.is_in(table.column("model_id"), value_set=pa.array(list(models), pa.string()))


def listed_until(data: DataDir) -> dict[str, datetime]:
    """How far each model's history is known (`listed.parquet`): the start of the snapshot of the last
    run that listed it."""
    path = data.history_table(LISTED)
    if not path.exists():
        return {}
    with reading(path, remedy(path)):
        table = ds.dataset(path, format="parquet").to_table(columns=["model_id", "listed_until"])
    return dict(zip(*(table.column(c).to_pylist() for c in ("model_id", "listed_until")), strict=True))


@dataclass
class StepCount:
    """What one step of `hubmine history` did: rows written, models with an error row, requests."""

    rows: int = 0
    errored: set[str] = field(default_factory=set)
    requests: int = 0


def per_model(
    models: Sequence[str], fetch: Callable[[str], tuple[list[Row], int]], workers: int, desc: str
) -> tuple[dict[str, list[Row]], StepCount]:
    """`fetch` of every model, `workers` at a time, with a progress bar; error rows noted."""
    done: dict[str, list[Row]] = {}
    count = StepCount()
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(models), desc=desc, unit="model", disable=None) as bar,
    ):
        for model_id, (rows, pages) in zip(models, pool.map(fetch, models), strict=True):
            done[model_id] = rows
            count.requests += pages
            if any(row.get("error") for row in rows):
                count.errored.add(model_id)
            else:
                count.rows += len(rows)
            bar.update()
    return done, count
