"""The raw archive: every Hub response, as received, in gzip JSON lines, so parsing can be replayed offline.

One archive file holds the responses of one committed part of a table, in the order of the part's
rows. Responses reach the journal (`pipeline.store.journal`) as they arrive; a part's archive file
is written from it, atomically, when the part is committed.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from pipeline.store.files import atomic_path
from pipeline.store.layout import Snapshot
from pipeline.store.removal import remove_path


def write_raw_part(snapshot: Snapshot, kind: str, part: int, records: Iterable[Mapping[str, Any]]) -> None:
    """Commit the archive file of part `part` of `kind` (none when there are no records)."""
    path = snapshot.raw_part(kind, part)
    records = iter(records)
    first = next(records, None)
    if first is None:
        remove_path(path, snapshot.dir)
        return
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as handle:
        for record in chain([first], records):
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def drop_raw_beyond(snapshot: Snapshot, kind: str, count: int) -> None:
    """Forget archive files of parts at or after `count` (written after the last checkpoint)."""
    keep = {snapshot.raw_part(kind, part) for part in range(count)}
    for path in snapshot.raw_parts(kind):
        if path not in keep:
            remove_path(path, snapshot.dir)


def read_archive(snapshot: Snapshot, kind: str) -> Iterator[dict[str, Any]]:
    """Every record of the committed archive files of `kind`, in part order."""
    for path in snapshot.raw_parts(kind):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
