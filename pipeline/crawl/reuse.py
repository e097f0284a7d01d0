"""Cards of the previous snapshot, looked up by model id, so an unchanged `sha` costs no request."""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# A card is reused only when its outcome depends on the revision alone; errors are always retried.
REUSABLE_STATUSES = frozenset({"ok", "missing", "gated"})


class PreviousCards:
    """Random access to an earlier `cards.parquet`: ids, shas and statuses in memory, READMEs on demand."""

    def __init__(self, path: Path, cached_groups: int = 8) -> None:
        self._file = pq.ParquetFile(path)
        head = self._file.read(columns=["model_id", "sha", "status"])
        self._row_of = {mid: i for i, mid in enumerate(head.column("model_id").to_pylist())}
        self._sha = head.column("sha").to_pylist()
        self._status = head.column("status").to_pylist()
        metadata = self._file.metadata
        self._group_starts = []
        start = 0
        for group in range(metadata.num_row_groups):
            self._group_starts.append(start)
            start += metadata.row_group(group).num_rows
        self._groups: OrderedDict[int, pa.Table] = OrderedDict()
        self._cached_groups = cached_groups
        self._lock = threading.Lock()

    def status(self, model_id: str) -> str | None:
        row = self._row_of.get(model_id)
        return None if row is None else self._status[row]

    def _reusable_row(self, model_id: str, sha: str | None) -> int | None:
        row = self._row_of.get(model_id)
        if row is None or sha is None or self._sha[row] != sha or self._status[row] not in REUSABLE_STATUSES:
            return None
        return row

    def can_reuse(self, model_id: str, sha: str | None) -> bool:
        return self._reusable_row(model_id, sha) is not None

    def reusable(self, model_id: str, sha: str | None) -> dict[str, Any] | None:
        """The earlier card row of `model_id` if it was taken at this same `sha`, else None."""
        row = self._reusable_row(model_id, sha)
        if row is None:
            return None
        group = bisect.bisect_right(self._group_starts, row) - 1
        with self._lock:
            table = self._group(group)
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
