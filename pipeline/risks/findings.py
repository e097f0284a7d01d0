"""The findings table of a risk step: rows measured before at the same sha, and the table written again.

A model's rows are taken without a request from this snapshot's own table (an earlier run) or else from
the newest earlier complete snapshot that holds the table, when they were measured at the sha the
snapshot lists and none of them is an `error` (an error is asked again). Rows of models not chosen
this time stay in the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.errors import DamagedFileError
from pipeline.progress import progress_bar
from pipeline.risks.registry import RiskContext, Target
from pipeline.schemas import table_from_rows
from pipeline.store.damage import warn
from pipeline.store.layout import Snapshot
from pipeline.store.snapshot import list_snapshots
from pipeline.store.tables import read_table, write_finding

Row = dict[str, Any]
Key = tuple[str, str | None]


def _rows_by_model(snapshot: Snapshot, table: str) -> dict[Key, list[Row]]:
    path = snapshot.finding(table)
    if not path.exists():
        return {}
    try:
        rows = read_table(path).to_pylist()
    except DamagedFileError as exc:
        warn(f"not reusing {table} of snapshot {snapshot.id}: {exc}")
        return {}
    grouped: dict[Key, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["model_id"], row["sha"]].append(row)
    return grouped


def _earlier_snapshot(context: RiskContext, table: str) -> Snapshot | None:
    """The newest complete snapshot started before this one that holds `table`."""
    complete = list_snapshots(context.data, "complete")
    before = complete[: complete.index(context.snapshot.id)] if context.snapshot.id in complete else []
    for snapshot_id in reversed(before):
        snapshot = context.data.snapshot(snapshot_id)
        if snapshot.finding(table).exists():
            return snapshot
    return None


def has_error(row: Row) -> bool:
    return row.get("error") is not None


def measure(
    context: RiskContext,
    table: str,
    measure_one: Callable[[Target], list[Row]],
    *,
    unit: str,
    is_error: Callable[[Row], bool] = has_error,
) -> tuple[list[Row], int]:
    """Rows of every target (reused or measured with `measure_one`, `context.workers` at a time), the
    table written; returns the rows of the targets and how many models were reused."""
    own = _rows_by_model(context.snapshot, table)
    earlier = _earlier_snapshot(context, table)
    before = _rows_by_model(earlier, table) if earlier is not None else {}
    done: dict[str, list[Row]] = {}
    todo: list[Target] = []
    for target in context.targets:
        key = (target.model_id, target.sha)
        # Without a sha (an imported snapshot) an earlier snapshot's rows may describe another revision.
        rows = own.get(key) or (before.get(key) if target.sha is not None else None)
        if rows and not any(is_error(row) for row in rows):
            done[target.model_id] = rows
        else:
            todo.append(target)
    reused = len(done)
    with (
        ThreadPoolExecutor(max_workers=context.workers) as pool,
        progress_bar(total=len(todo), desc=table, unit=unit, disable=None) as bar,
    ):
        for target, rows in zip(todo, pool.map(measure_one, todo), strict=True):
            done[target.model_id] = rows
            bar.update()
    chosen = [row for target in context.targets for row in done[target.model_id]]
    for row in chosen:
        if is_error(row):
            context.errored.add(row["model_id"])
    # Rows of this snapshot's table for models not chosen this time are kept as they were.
    kept = [row for (model_id, _), rows in own.items() if model_id not in done for row in rows]
    write_finding(context.snapshot, table, table_from_rows(table, kept + chosen))
    return chosen, reused


def tally(rows: Iterable[Row], column: str) -> str:
    """`a 3 / b 1` counts of `column`'s values, in order of first appearance."""
    counts: dict[str, int] = {}
    for row in rows:
        value = str(row.get(column))
        counts[value] = counts.get(value, 0) + 1
    return " / ".join(f"{value} {n}" for value, n in counts.items())
