"""`hubmine import`: a complete snapshot built from a published dump of the Hub's model cards, so that a
first crawl can reuse its cards instead of asking for every one.

The dump is laid out like `librarian-bots/model_cards_with_metadata`: one row per model with `modelId`,
`author`, `last_modified`, `downloads`, `likes`, `library_name`, `tags`, `pipeline_tag`, `createdAt`
and `card` (the README, front matter included). It is read from a Hub dataset (streamed with
`datasets`, pinned to the commit it had when the import began) or from a local folder of Parquet files,
`BATCH_ROWS` rows at a time, and written batch by batch, one row group per batch, so memory holds one
batch and 8 bytes per id seen (to keep the first row of a model listed twice), however long the dump.

What a dump cannot say stays null: `sha` (so reuse goes by `last_modified`, `pipeline.crawl.reuse`;
a `last_modified` after the import itself is no time to trust, and is stored null and counted),
`siblings` (the file list is unknown, which the analyses count as unknown) and `card_data` (the
analyses read a card's metadata from its front matter when the card is there). Each models row names
where it came from (`imported_from`: the file, or the dataset at its revision); the manifest's
`source` says what was read and counts what was skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.crawl import new_snapshot_id
from pipeline.crawl.fetch import decode_body
from pipeline.crawl.params import CrawlParams
from pipeline.crawl.state import versions, write_manifest
from pipeline.errors import HubmineError, SnapshotError, one_line
from pipeline.hub.caps import BodyCap, BodyCaps
from pipeline.hub.client import check_settings
from pipeline.hub.ids import InvalidHubName, repo_path
from pipeline.hub.records import model_row
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.files import atomic_path, remove_leftovers, storage_errors
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.removal import remove_path

BATCH_ROWS = 5000
# The dump's columns the snapshot uses; any other column is never read.
DUMP_COLUMNS = (
    "modelId",
    "author",
    "last_modified",
    "downloads",
    "likes",
    "library_name",
    "tags",
    "pipeline_tag",
    "createdAt",
    "card",
)
# The models rows' extra column naming the file (or dataset revision) each row was read from.
PROVENANCE_COLUMN = "imported_from"
# Ids the manifest quotes of those skipped as invalid; the rest are only counted.
MAX_QUOTED_IDS = 20


@dataclass
class ImportCounts:
    rows: int = 0
    models: int = 0
    duplicates: int = 0
    null_ids: int = 0
    invalid_ids: int = 0
    invalid_examples: list[str] = field(default_factory=list)
    cards: Counter[str] = field(default_factory=Counter)
    malformed_cards: int = 0
    truncated_cards: int = 0
    future_last_modified: int = 0
    nulls: Counter[str] = field(default_factory=Counter)
    batches: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "models": self.models,
            "duplicates": self.duplicates,
            "null_ids": self.null_ids,
            "invalid_ids": self.invalid_ids,
            "invalid_id_examples": self.invalid_examples,
            "cards": {s: self.cards.get(s, 0) for s in ("ok", "missing", "error")},
            "malformed_cards": self.malformed_cards,
            "truncated_cards": self.truncated_cards,
            "future_last_modified": self.future_last_modified,
            "nulls": dict(sorted(self.nulls.items())),
            "batches": self.batches,
        }


@dataclass
class ImportResult:
    snapshot: Snapshot
    counts: ImportCounts
    source: dict[str, Any]
    elapsed_s: float = 0.0

    def summary_line(self) -> str:
        c = self.counts
        return (
            f"snapshot {self.snapshot.id} complete: imported {c.models} models from {c.rows} rows of "
            f"{self.source.get('dataset') or self.source.get('path')}, cards {c.cards['ok']} ok / "
            f"{c.cards['missing']} missing / {c.cards['error']} error ({c.malformed_cards} malformed); "
            f"skipped {c.duplicates} duplicate, {c.invalid_ids} invalid and {c.null_ids} null ids; "
            f"{self.elapsed_s:.1f}s -> {self.snapshot.dir}"
        )


# -- reading the dump ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """Rows of the dump (column name to values) and where they were read from."""

    columns: dict[str, list[Any]]
    origin: str


def _wanted(names: list[str]) -> list[str]:
    if "modelId" not in names:
        found = ", ".join(names[:20])
        raise HubmineError(f"the dump has no modelId column, only {found}; not a dump of models")
    return [name for name in DUMP_COLUMNS if name in names]


def local_files(folder: Path) -> list[Path]:
    """The Parquet files under `folder`, in path order."""
    if not folder.is_dir():
        raise HubmineError(f"{folder} is neither a folder of Parquet files nor a Hub dataset id")
    files = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    if not files:
        raise HubmineError(f"{folder} holds no .parquet files; pass a folder of the dump's Parquet files")
    return files


def read_local(folder: Path, files: list[Path]) -> Iterator[Batch]:
    for path in files:
        try:
            dump = pq.ParquetFile(path)
            columns = _wanted(dump.schema_arrow.names)
            origin = path.relative_to(folder).as_posix()
            for batch in dump.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                yield Batch(batch.to_pydict(), origin)
        except (OSError, pa.ArrowException) as exc:
            raise HubmineError(f"cannot read {path}: {one_line(str(exc))[:300]}; check the file") from None


def dataset_revision(dataset_id: str) -> str:
    """The commit the dataset's main branch points at, so every row is read from one revision."""
    from huggingface_hub import HfApi

    repo_path(dataset_id)  # refuses a name that is no Hub id before it becomes a URL
    try:
        return HfApi().dataset_info(dataset_id).sha or "main"
    except Exception as exc:  # unreachable Hub, missing or gated dataset: one line either way
        raise HubmineError(
            f"cannot read dataset {dataset_id}: {type(exc).__name__}: {one_line(str(exc))[:300]}; "
            "check the id, HF_ENDPOINT and HF_TOKEN"
        ) from None


def read_dataset(dataset_id: str, revision: str) -> Iterator[Batch]:
    import datasets

    origin = f"{dataset_id}@{revision}"
    try:
        stream = datasets.load_dataset(dataset_id, split="train", streaming=True, revision=revision)
        names = list(stream.features) if stream.features is not None else list(DUMP_COLUMNS)
        stream = stream.select_columns(_wanted(names))
        for rows in stream.iter(batch_size=BATCH_ROWS):
            yield Batch(rows, origin)
    except HubmineError:
        raise
    except Exception as exc:  # whatever datasets raises, the import stops with it in one line
        raise HubmineError(
            f"cannot read dataset {origin}: {type(exc).__name__}: {one_line(str(exc))[:300]}"
        ) from None


# -- rows ------------------------------------------------------------------------------------------


class SeenIds:
    """The ids imported so far, as 64-bit hashes in sorted runs merged like a binary counter (a few runs,
    each at most half the one before): 8 bytes an id and no Python object per id, so a dump of millions
    of rows neither grows nor fragments the heap. Two ids sharing a hash (about one chance in 10^7 at
    two million ids) would count the second as a duplicate."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def first_seen(self, ids: list[str]) -> list[bool]:
        """Whether each of `ids` is new (not seen before, nor earlier in `ids`); all are remembered."""
        if not ids:
            return []  # an empty run would break the lookups that follow
        hashes = np.fromiter((hash(model_id) for model_id in ids), dtype=np.int64, count=len(ids))
        unique, first = np.unique(hashes, return_index=True)
        fresh = np.zeros(len(ids), dtype=bool)
        fresh[first] = True
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
            fresh &= run[at] != hashes
        self._runs.append(unique)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(np.union1d(older, newer))
        return fresh.tolist()


def _iso(value: Any) -> Any:
    """A dump's time as the Hub's ISO text (what `model_row` reads), to the millisecond; text as is."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return value


def card_row(
    model_id: str, card: Any, imported_at: datetime, cap: BodyCap, counts: ImportCounts
) -> dict[str, Any]:
    """The cards row of one dump row: `ok` with the README (an empty one too, as a crawl stores it),
    `missing` without one, `error` when the dump's value is not text."""
    row: dict[str, Any] = {
        "model_id": model_id,
        "sha": None,
        "fetched_at": imported_at,
        "reused": False,
        "truncated": False,
    }
    if card is None:
        row.update(status="missing", error="no card in the dump")
        return row
    if isinstance(card, str):
        body = card.encode("utf-8", errors="replace")
    elif isinstance(card, bytes):
        body = card
    else:
        counts.malformed_cards += 1
        row.update(status="error", error=f"the dump's card is {type(card).__name__}, not text")
        return row
    cut = len(body) > cap.limit
    status, text, problem = decode_body(body[: cap.limit], cut, cap)
    # Binary text is an error row; bad UTF-8 is kept with its bytes replaced. Both are malformed.
    counts.malformed_cards += status != "ok" or (problem is not None and not cut)
    counts.truncated_cards += cut
    row.update(status=status, readme=text, error=problem, size_bytes=len(body), truncated=cut)
    return row


def rows_of(
    batch: Batch, seen: SeenIds, imported_at: datetime, cap: BodyCap, counts: ImportCounts
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(models rows, cards rows) of one batch; ids that are null, invalid or seen before are skipped."""
    columns = batch.columns
    n = len(columns["modelId"])
    counts.rows += n
    for name in DUMP_COLUMNS:
        values = columns.get(name)
        counts.nulls[name] += n if values is None else sum(v is None for v in values)
    models: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    get = {name: columns.get(name) or [None] * n for name in DUMP_COLUMNS}
    valid: list[int] = []
    for i, model_id in enumerate(get["modelId"]):
        if not isinstance(model_id, str) or not model_id:
            counts.null_ids += 1
            continue
        try:
            repo_path(model_id)
        except InvalidHubName:
            counts.invalid_ids += 1
            if len(counts.invalid_examples) < MAX_QUOTED_IDS:
                counts.invalid_examples.append(model_id[:120])
            continue
        valid.append(i)
    fresh = seen.first_seen([get["modelId"][i] for i in valid])
    for i, first in zip(valid, fresh, strict=True):
        model_id = get["modelId"][i]
        if not first:
            counts.duplicates += 1
            continue
        record = {
            "id": model_id,
            "author": get["author"][i],
            "lastModified": _iso(get["last_modified"][i]),
            "createdAt": _iso(get["createdAt"][i]),
            "downloads": get["downloads"][i],
            "likes": get["likes"][i],
            "library_name": get["library_name"][i],
            "tags": get["tags"][i],
            "pipeline_tag": get["pipeline_tag"][i],
        }
        row = model_row(record, imported_at)
        if row["last_modified"] is not None and row["last_modified"] > imported_at:
            # Reuse trusts a card as long as its model's time is unchanged: a time to come would be forever.
            row["last_modified"] = None
            counts.future_last_modified += 1
        row["listed_at"] = None  # no listing page was fetched
        row[PROVENANCE_COLUMN] = batch.origin
        models.append(row)
        card = card_row(model_id, get["card"][i], imported_at, cap, counts)
        counts.cards[card["status"]] += 1
        cards.append(card)
    counts.models += len(models)
    return models, cards


# -- writing ---------------------------------------------------------------------------------------


def models_schema() -> pa.Schema:
    return load_schema("models").append(pa.field(PROVENANCE_COLUMN, pa.string()))


def models_table(rows: list[dict[str, Any]]) -> pa.Table:
    table = table_from_rows("models", rows)
    origins = pa.array([row[PROVENANCE_COLUMN] for row in rows], pa.string())
    return table.append_column(PROVENANCE_COLUMN, origins).cast(models_schema())


def write_tables(snapshot: Snapshot, batches: Iterator[Batch], imported_at: datetime) -> ImportCounts:
    """Write models.parquet and cards.parquet batch by batch (a row group each), atomically."""
    counts = ImportCounts()
    seen = SeenIds()
    cap = BodyCaps.from_env().readme
    with ExitStack() as stack:
        models_tmp = stack.enter_context(atomic_path(snapshot.models))
        cards_tmp = stack.enter_context(atomic_path(snapshot.cards))
        models = stack.enter_context(pq.ParquetWriter(models_tmp, models_schema(), compression="zstd"))
        cards = stack.enter_context(pq.ParquetWriter(cards_tmp, load_schema("cards"), compression="zstd"))
        for batch in batches:
            model_rows, card_rows = rows_of(batch, seen, imported_at, cap, counts)
            counts.batches += 1
            if model_rows:
                models.write_table(models_table(model_rows), row_group_size=BATCH_ROWS)
                cards.write_table(table_from_rows("cards", card_rows), row_group_size=BATCH_ROWS)
    return counts


def run_import(data_dir: Path, source: str, *, snapshot_id: str | None = None) -> ImportResult:
    """Import `source` (a local folder of Parquet files, else a Hub dataset id) as a complete snapshot."""
    data = DataDir(data_dir)
    if snapshot_id is not None:
        data.snapshot(snapshot_id)  # refuses an id that is not a plain name, before anything is written
    with holding_lock(data, "import"):
        return _import_holding_lock(data, source, snapshot_id)


def _import_holding_lock(data: DataDir, source: str, snapshot_id: str | None) -> ImportResult:
    started = time.monotonic()
    imported_at = datetime.now(timezone.utc)
    folder = Path(source)
    if folder.exists():
        files = local_files(folder)
        described: dict[str, Any] = {"kind": "import", "path": str(folder.resolve())}
        batches = read_local(folder, files)
    else:
        check_settings(None)  # a bad HF_ENDPOINT or HUBMINE_ setting stops the import before any request
        revision = dataset_revision(source)
        described = {"kind": "import", "dataset": source, "revision": revision}
        batches = read_dataset(source, revision)
    snapshot_id = snapshot_id or new_snapshot_id(data)
    snapshot = data.snapshot(snapshot_id)
    if snapshot.dir.exists():
        raise SnapshotError(f"snapshot {snapshot_id!r} exists; choose another --snapshot")
    with storage_errors(snapshot.dir):
        snapshot.dir.mkdir(parents=True)
    write_manifest(
        snapshot,
        snapshot_id=snapshot_id,
        status="running",
        started_at=imported_at.isoformat(),
        finished_at=None,
        params=CrawlParams().to_json(),
        since=None,
        source={**described, "imported_at": imported_at.isoformat()},
        versions=versions(),
    )
    try:
        counts = write_tables(snapshot, batches, imported_at)
    except BaseException:
        # An import is not resumable: a half-made snapshot is removed, never left for a crawl to meet.
        remove_path(snapshot.dir, data.root, ignore_errors=True)
        raise
    if folder.exists():
        described["files"] = [p.relative_to(folder).as_posix() for p in files]
    source_info = {**described, "rows": counts.rows, "imported_at": imported_at.isoformat()}
    write_manifest(
        snapshot,
        status="complete",
        finished_at=datetime.now(timezone.utc).isoformat(),
        source=source_info,
        counts={
            "models": counts.models,
            "cards": {s: counts.cards.get(s, 0) for s in ("ok", "missing", "gated", "error")},
            "cards_reused": 0,
            "cards_fetched": 0,
            "import": counts.to_json(),
            "failed_models": 0,
        },
        error=None,
    )
    remove_leftovers(snapshot.dir)
    return ImportResult(snapshot, counts, source_info, time.monotonic() - started)
