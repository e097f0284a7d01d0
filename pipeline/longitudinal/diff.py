"""`hubmine diff OLD NEW`: what changed between two snapshots, one row per changed model.

Each snapshot is reduced to a fingerprint per model (ids, sha, 8-byte digests of tags, cardData, file
list and README, the weight formats), read one row group at a time from only the columns needed, so memory
does not grow with the size of the cards; the two fingerprints are then joined, and only the models with a
difference become Python rows. A registry larger than `HUBMINE_DIFF_MODELS_PER_PART` models is split by a
hash of the model id into parts of about that size, written to temporary Parquet files and compared a part
at a time, so memory is bounded by the part size, not the registry's; only the added and removed models
(a rename moves a model across parts) are matched across parts.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import settings
from pipeline.measures.risks import classify
from pipeline.schemas import table_from_rows
from pipeline.store.damage import reading, table_remedy
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.partition import write_partitions
from pipeline.store.removal import real_folder, remove_path
from pipeline.store.snapshot import resolve_snapshot

CHANGES = ("added", "removed", "renamed", "card_changed", "metadata_changed")
# Metadata compared besides the sha, by models.parquet column.
METADATA = ("tags", "card_data", "siblings")
# Attribute flags compared before and after among changed models: (findings table, column).
ADOPTION = (("attributes", "has_license"), ("attributes", "has_model_index"), ("risks", "has_safetensors"))
# A crawl writes row groups of 2,048 rows: a batch of that size decodes one group at a time.
BATCH_ROWS = 2048
PARTS_PREFIX = ".parts-"


def _digest(value: Any) -> int | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def _batches(path: Path, columns: list[str]) -> Any:
    with reading(path, table_remedy(path)):
        yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _model_chunks(snapshot: Snapshot) -> Iterator[pa.Table]:
    """The models' fingerprints without the README digest (`_FINGERPRINT`), a row group at a time."""
    for batch in _batches(snapshot.models, ["model_id", "object_id", "sha", *METADATA]):
        # Digests are made batch by batch into Arrow arrays: a few bytes per model, no Python objects kept.
        columns = [batch.column(name) for name in ("model_id", "object_id", "sha")]
        columns += [
            pa.array([_digest(v) for v in batch.column(name).to_pylist()], pa.int64()) for name in METADATA
        ]
        formats = [
            None if s is None else ",".join(classify(s).formats) for s in batch.column("siblings").to_pylist()
        ]
        yield pa.Table.from_arrays([*columns, pa.array(formats, pa.string())], schema=_FINGERPRINT)


def _fingerprint(models: list[pa.Table], readmes: list[pa.Table]) -> pa.Table:
    """One row per model: model_id, object_id, sha, a digest per metadata column, formats, readme digest."""
    table = pa.concat_tables(models) if models else _FINGERPRINT.empty_table()
    readme = pa.concat_tables(readmes) if readmes else _README.empty_table()
    # `listed` tells a model of the snapshot from a row the outer join made up: every other column
    # may be null (an imported snapshot has no sha).
    listed = table.append_column("listed", pa.array([True] * table.num_rows, pa.bool_()))
    return listed.join(readme, "model_id", join_type="left outer")


_README = pa.schema([("model_id", pa.string()), ("readme", pa.int64())])
_FINGERPRINT = pa.schema(
    [
        ("model_id", pa.string()),
        ("object_id", pa.string()),
        ("sha", pa.string()),
        *((name, pa.int64()) for name in METADATA),
        ("formats", pa.string()),
    ]
)


def _readme_chunks(snapshot: Snapshot) -> Iterator[pa.Table]:
    """A digest of each card: of its text when `ok`, of "missing" when there is none; null when unknown
    (gated, failed, not asked), so an unknown card never counts as a changed one."""
    if snapshot.cards.exists():
        for batch in _batches(snapshot.cards, ["model_id", "status", "readme"]):
            pairs = zip(batch.column("status").to_pylist(), batch.column("readme").to_pylist(), strict=True)
            digests = [
                _digest(text) if status == "ok" else _digest(status) if status == "missing" else None
                for status, text in pairs
            ]
            yield pa.Table.from_arrays(
                [batch.column("model_id"), pa.array(digests, pa.int64())], schema=_README
            )


def _rows(snapshot: Snapshot) -> int:
    with reading(snapshot.models, table_remedy(snapshot.models)):
        return pq.ParquetFile(snapshot.models).metadata.num_rows


def _split(snapshot: Snapshot, folder: Path, parts: int) -> None:
    """Write the snapshot's fingerprints into `parts` pairs of files (`K.models`, `K.readmes`) by a hash of
    the model id, so a model lands in the same part in both snapshots."""
    folder.mkdir()
    for kind, chunks, schema in (
        ("models", _model_chunks(snapshot), _FINGERPRINT),
        ("readmes", _readme_chunks(snapshot), _README),
    ):
        write_partitions(chunks, schema, [folder / f"{k}.{kind}.parquet" for k in range(parts)])


def _pairs(old: Snapshot, new: Snapshot, scratch: Path) -> Iterator[tuple[pa.Table, pa.Table]]:
    """The two snapshots' fingerprints, a part at a time (whole when both are smaller than a part)."""
    per_part = settings.DIFF_MODELS_PER_PART.read()
    parts = math.ceil(max(_rows(old), _rows(new)) / per_part)
    for leftover in scratch.glob(f"{PARTS_PREFIX}*"):  # of a diff killed midway; the lock is ours
        remove_path(leftover, scratch, ignore_errors=True)
    if parts <= 1:
        yield (
            _fingerprint(list(_model_chunks(old)), list(_readme_chunks(old))),
            _fingerprint(list(_model_chunks(new)), list(_readme_chunks(new))),
        )
        return
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=PARTS_PREFIX) as folder:
        for name, snapshot in (("old", old), ("new", new)):
            _split(snapshot, Path(folder) / name, parts)
        for k in range(parts):
            yield tuple(  # type: ignore[misc]
                _fingerprint(
                    [pq.read_table(Path(folder) / name / f"{k}.models.parquet")],
                    [pq.read_table(Path(folder) / name / f"{k}.readmes.parquet")],
                )
                for name in ("old", "new")
            )


def _formats(value: str | None) -> set[str]:
    return set(value.split(",")) - {""} if value else set()


def _compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The detail columns of a model seen in both snapshots (`old`, `new`: fingerprint rows)."""
    # Null is unknown (a card not read, an imported snapshot's sha and file list), never a change.
    fields = [f for f in ("sha", "readme", *METADATA) if None not in (old[f], new[f]) and old[f] != new[f]]
    known = None not in (old["formats"], new["formats"])
    before, after = (_formats(old["formats"]), _formats(new["formats"])) if known else (set(), set())
    converted = "pickle" in before and "safetensors" not in before and "safetensors" in after
    return {
        "old_model_id": old["model_id"],
        "object_id": new["object_id"] or old["object_id"],
        "old_sha": old["sha"],
        "new_sha": new["sha"],
        "fields_changed": fields,
        "formats_added": sorted(after - before),
        "formats_removed": sorted(before - after),
        "formats_converted": ["pickle->safetensors"] if converted else [],
    }


def _kind(details: dict[str, Any]) -> str | None:
    fields = details["fields_changed"]
    if "readme" in fields:
        return "card_changed"
    return "metadata_changed" if fields else None


def _changed(a: pa.Table, b: pa.Table) -> Iterator[dict[str, Any]]:
    """The change rows of the models in both fingerprints that differ."""
    joined = a.join(b, "model_id", join_type="full outer", left_suffix="_old", right_suffix="_new")
    names = [n for n in a.column_names if n != "model_id"]
    both_rows = pc.and_(pc.is_valid(joined["listed_old"]), pc.is_valid(joined["listed_new"]))
    # Only models with some difference become Python rows; the unchanged majority stays in Arrow.
    differs = pc.fill_null(pc.not_equal(joined["readme_old"], joined["readme_new"]), False)
    for name in ("sha", *METADATA):
        differs = pc.or_(
            differs, pc.fill_null(pc.not_equal(joined[f"{name}_old"], joined[f"{name}_new"]), False)
        )
    for row in joined.filter(pc.and_(both_rows, differs)).to_pylist():
        o = {"model_id": row["model_id"], **{n: row[f"{n}_old"] for n in names}}
        n_ = {"model_id": row["model_id"], **{n: row[f"{n}_new"] for n in names}}
        details = _compare(o, n_)
        kind = _kind(details)
        if kind is not None:
            yield {"model_id": row["model_id"], "change": kind, **details}


def _only_in(a: pa.Table, b: pa.Table) -> dict[str, dict[str, Any]]:
    """The fingerprint rows of the models of `a` that `b` lacks, by model id."""
    return {r["model_id"]: r for r in a.filter(pc.invert(pc.is_in(a["model_id"], b["model_id"]))).to_pylist()}


def changes(old: Snapshot, new: Snapshot, scratch: Path) -> list[dict[str, Any]]:
    """The change rows from `old` to `new`, in `CHANGES` order, then by model id; `scratch` holds the
    parts of a large registry while it runs."""
    out: list[dict[str, Any]] = []
    gone: dict[str, dict[str, Any]] = {}
    came: dict[str, dict[str, Any]] = {}
    for a, b in _pairs(old, new, scratch):
        out.extend(_changed(a, b))
        gone |= _only_in(a, b)
        came |= _only_in(b, a)
    # A model whose _id reappears under a new id was renamed; the Hub's _id survives a rename.
    by_object = {r["object_id"]: r for r in gone.values() if r["object_id"]}
    for model_id, row in came.items():
        before = by_object.pop(row["object_id"], None) if row["object_id"] else None
        if before is None:
            out.append(
                {
                    "model_id": model_id,
                    "change": "added",
                    "object_id": row["object_id"],
                    "new_sha": row["sha"],
                }
            )
            continue
        del gone[before["model_id"]]
        out.append({"model_id": model_id, "change": "renamed", **_compare(before, row)})
    for model_id, row in gone.items():
        out.append(
            {
                "model_id": model_id,
                "change": "removed",
                "old_model_id": model_id,
                "object_id": row["object_id"],
                "old_sha": row["sha"],
            }
        )
    out.sort(key=lambda r: (CHANGES.index(r["change"]), r["model_id"]))
    return out


def _flags(snapshot: Snapshot, ids: set[str]) -> dict[str, dict[str, bool]]:
    """For each `ADOPTION` flag measured in `snapshot`, the models of `ids` that have it."""
    found: dict[str, dict[str, bool]] = {}
    for table, column in ADOPTION:
        path = snapshot.finding(table)
        if not path.exists():
            continue
        values: dict[str, bool] = {}
        # A risks flag is false when the file list is unknown: such a model is left out, not counted.
        known = ["siblings_known"] if table == "risks" else []
        for batch in _batches(path, ["model_id", column, *known]):
            pairs = zip(batch.column("model_id").to_pylist(), batch.column(column).to_pylist(), strict=True)
            usable = batch.column("siblings_known").to_pylist() if known else [True] * batch.num_rows
            for (model_id, flag), ok in zip(pairs, usable, strict=True):
                if ok and model_id in ids:
                    values[model_id] = bool(flag)
        found[column] = values
    return found


def adoption(old: Snapshot, new: Snapshot, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Among models in both snapshots that changed, the share with each flag before and after (a flag
    only when both snapshots measured it)."""
    pairs = [(r["old_model_id"], r["model_id"]) for r in rows if r["change"] not in ("added", "removed")]
    before = _flags(old, {p[0] for p in pairs})
    after = _flags(new, {p[1] for p in pairs})
    out: dict[str, dict[str, Any]] = {}
    for column in before.keys() & after.keys():
        seen = [
            (before[column][o], after[column][n])
            for o, n in pairs
            if o in before[column] and n in after[column]
        ]
        out[column] = {
            "models": len(seen),
            "before": sum(b for b, _ in seen),
            "after": sum(a for _, a in seen),
            "share_before": sum(b for b, _ in seen) / len(seen) if seen else None,
            "share_after": sum(a for _, a in seen) / len(seen) if seen else None,
        }
    return out


@dataclass(frozen=True)
class DiffResult:
    old: str
    new: str
    counts: dict[str, int]
    folder: Path

    def summary_line(self) -> str:
        parts = ", ".join(f"{self.counts[c]:,} {c.replace('_', ' ')}" for c in CHANGES)
        return f"diff {self.old}..{self.new}: {parts} -> {self.folder}"


def run_diff(data_dir: Path, old_id: str, new_id: str) -> DiffResult:
    """Compare two complete snapshots and write `diffs/OLD..NEW/changes.parquet` and `summary.json`."""
    data = DataDir(Path(data_dir))
    with holding_lock(data, "diff"):
        old, new = resolve_snapshot(data, old_id), resolve_snapshot(data, new_id)
        rows = changes(old, new, real_folder(data.diffs, data.root))
        counts = Counter(r["change"] for r in rows)
        ordered = {c: counts.get(c, 0) for c in CHANGES}
        write_parquet(data.diff_changes(old.id, new.id), table_from_rows("changes", rows))
        write_json(
            data.diff_summary(old.id, new.id),
            {
                "old": old.id,
                "new": new.id,
                "counts": ordered,
                "changed_models": len(rows),
                "adoption": adoption(old, new, rows),
            },
        )
    return DiffResult(old.id, new.id, ordered, data.diff(old.id, new.id))
