"""findings/evaluations.parquet: one row per claim tried, appended one model at a time.

Each model's rows replace the rows of the same claims from earlier runs and the whole file is
rewritten atomically, so a run killed mid-model leaves the file as it was after the model before.
A claim is done, and skipped on the next run, when it was measured or refused at the same sha; a
measurement on the first N examples is done only for runs that ask for at most N.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import one_line
from pipeline.evaluate.plan import Claim
from pipeline.schemas import table_from_rows, validate
from pipeline.store.damage import open_parquet, reading
from pipeline.store.files import write_parquet
from pipeline.store.layout import Snapshot

TABLE = "evaluations"
STATUSES = (
    "measured",
    "unsupported_task",
    "unsupported_metric",
    "dataset_unavailable",
    "label_mismatch",
    "pickle_refused",
    "remote_code_refused",
    "too_large",
    "error",
)
# Outcomes that another run at the same sha would repeat. Tried again: errors and unavailable datasets,
# and the refusals that hang on this machine rather than the claim (the size cap, the model types the
# installed transformers knows), which cost a file list and a config.json, no weights.
FINAL = frozenset(
    {
        "measured",
        "unsupported_task",
        "unsupported_metric",
        "label_mismatch",
        "pickle_refused",
    }
)
KEY_COLUMNS = (
    "model_id",
    "sha",
    "source",
    "task_type",
    "dataset_id",
    "dataset_config",
    "dataset_split",
    "metric",
)
MAX_ERROR_CHARS = 500


def row(
    claim: Claim,
    status: str,
    *,
    measured: float | None = None,
    n_examples: int | None = None,
    max_examples: int | None = None,
    error: str | None = None,
    device: str | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """The evaluations row of `claim`."""
    return {
        "model_id": claim.model_id,
        "sha": claim.sha,
        "source": claim.source,
        "task_type": claim.task_type,
        "dataset_id": claim.dataset_id,
        "dataset_config": claim.dataset_config,
        "dataset_split": claim.dataset_split,
        "metric": claim.metric,
        "claimed": claim.claimed,
        "claimed_unit": claim.claimed_unit,
        "measured": measured,
        "n_examples": n_examples,
        "max_examples": max_examples,
        "status": status,
        "error": one_line(error)[:MAX_ERROR_CHARS] if error else None,
        "device": device,
        "seconds": seconds,
        "evaluated_at": datetime.now(timezone.utc),
    }


def read(snapshot: Snapshot) -> pa.Table | None:
    path = snapshot.finding(TABLE)
    if not path.exists():
        return None
    remedy = f"remove it and run `hubmine evaluate --snapshot {snapshot.id}` again"
    open_parquet(path, remedy)
    with reading(path, remedy):
        return validate(TABLE, pq.read_table(path))


def _keys(table: pa.Table) -> list[tuple[Any, ...]]:
    return list(zip(*(table.column(name).to_pylist() for name in KEY_COLUMNS), strict=True))


def done(snapshot: Snapshot, allow_pickle: bool, max_examples: int | None) -> set[tuple[Any, ...]]:
    """Keys of the claims an earlier run settled; a pickle refusal is not settled for `--allow-pickle`,
    nor a measurement on fewer examples than this run's `max_examples` (None: the whole split)."""
    table = read(snapshot)
    if table is None:
        return set()
    final = FINAL - {"pickle_refused"} if allow_pickle else FINAL
    statuses = table.column("status").to_pylist()
    caps = table.column("max_examples").to_pylist()

    def enough(cap: int | None) -> bool:
        return cap is None or (max_examples is not None and cap >= max_examples)

    return {
        key
        for key, status, cap in zip(_keys(table), statuses, caps, strict=True)
        if status in final and (status != "measured" or enough(cap))
    }


def append(snapshot: Snapshot, rows: list[dict[str, Any]]) -> None:
    """Add `rows`, replacing earlier rows of the same claims; one atomic rewrite."""
    new = table_from_rows(TABLE, rows)
    old = read(snapshot)
    if old is not None:
        replaced = set(_keys(new))
        keep = [key not in replaced for key in _keys(old)]
        new = pa.concat_tables([old.filter(pa.array(keep, pa.bool_())).select(new.column_names), new])
    write_parquet(snapshot.finding(TABLE), new)
