"""The analyze stage's first step: parse every model's card in a snapshot into findings tables.

Reads `models.parquet` (model_id, card_data, siblings) and `cards.parquet` (model_id, status,
readme) in batches and writes `findings/parsed_cards.parquet` (one row per model) and
`findings/claims.parquet` (one row per model-index metric or Trainer result), each written batch
by batch into a temporary file renamed into place at the end. The results of `eval_results.parquet`
(the repositories' `.eval_results/*.yaml` files, `pipeline/cards/eval_results.py`) follow in
`claims.parquet`, streamed in batches too.

Joining without holding every README: the crawler writes cards in the order of the models, so
first a pass over the two id columns checks that the cards' ids are a subsequence of the
models' ids; then both files stream side by side. When they are not (cards written in another
order), the cards are held in memory if they are small (`PARTITION_BYTES`), and otherwise both
files are first split by a hash of the model id into partitions of about that size on disk, and
joined one partition at a time.

Parsing runs in a process pool (every core by default); results come back in order, with at most
two batches per worker in flight, so memory stays bounded by the batch size. Each worker's address
space is capped (`HUBMINE_PARSE_MAX_MEMORY`): a card that would pass it is a `memory_exceeded`
problem on its row, and the other cards are parsed on. A snapshot of one batch is parsed in process,
where starting a pool would cost more than the parsing; there the per-card budgets (the README cap,
YAML expansion, rows per card) bound the work.

`card_status`: the cards row's status; without a cards row `no_readme` when siblings list no
README.md, else `not_fetched` (a metadata-only crawl, or siblings unknown). `readme_listed`
says whether siblings list README.md (null when siblings are unknown).

`has_card` of a README that was not read (not fetched, gated, error): true when siblings list
README.md or cardData (which the Hub reads from the README's front matter) is a non-empty
mapping; its text cannot be checked for whitespace. A README the Hub answered as `missing` is no
card. `has_card_body` needs the text, so it stays false.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import settings
from pipeline.cards.eval_results import eval_result_claims
from pipeline.cards.parse import parse_card
from pipeline.children import limit_own_memory
from pipeline.errors import SnapshotError
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.damage import reading, table_remedy
from pipeline.store.files import atomic_path
from pipeline.store.layout import Snapshot
from pipeline.store.partition import write_partitions

BATCH_ROWS = 1000  # models per task sent to a worker
PARTITION_BYTES = 256 * 2**20  # README bytes joined in memory at once when cards are out of order
README = "README.md"

MODEL_COLUMNS = ["model_id", "card_data", "siblings"]
CARD_COLUMNS = ["model_id", "status", "readme"]
EVAL_RESULTS_COLUMNS = ["model_id", "status", "text"]
MAX_EVAL_RESULTS_ROWS = 5000  # eval-results claims of one model, over all its files
# Eval-results files read at once: each may hold up to 1 MiB of text and 1,000 claims.
EVAL_RESULTS_BATCH = 64

# (model_id, card_data, siblings, (status, readme) or None when the card was not asked for)
Job = tuple[str, str | None, list[str] | None, tuple[str, str | None] | None]


def parse_batch(jobs: list[Job]) -> tuple[pa.Table, pa.Table]:
    """Parse one batch of models into (parsed_cards, claims) tables; runs in a worker."""
    parsed: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    for model_id, card_data, siblings, card in jobs:
        listed = None if siblings is None else README in siblings
        if card is not None:
            status, readme = card
        else:
            status, readme = ("no_readme" if listed is False else "not_fetched"), None
        result = parse_card(model_id, readme if status == "ok" else None, card_data)
        if not result.readme_given and status != "missing":
            # Unread README: it exists if the listing names it or cardData came from its front matter.
            result.has_card = listed is True or (
                result.metadata_source == "card_data" and bool(result.metadata)
            )
        row = result.to_row(status)
        row["readme_listed"] = listed
        parsed.append(row)
        claims.extend(result.claims)
    return table_from_rows("parsed_cards", parsed), table_from_rows("claims", claims)


def _arrow_batches(path: Path, columns: list[str], rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """`columns` of a crawl table in batches; a file damaged anywhere raises `DamagedFileError`."""
    with reading(path, table_remedy(path)):
        yield from pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns)


def _batches(path: Path, columns: list[str], rows: int = BATCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    for batch in _arrow_batches(path, columns, rows):
        yield list(zip(*(batch.column(name).to_pylist() for name in columns), strict=True))


def _rows(path: Path, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    for batch in _batches(path, columns):
        yield from batch


def _cards_follow_models(models: Path, cards: Path) -> bool:
    """Whether the cards' ids are a subsequence of the models' ids (one pass over the ids)."""
    wanted = _rows(cards, ["model_id"])
    want = next(wanted, None)
    for (model_id,) in _rows(models, ["model_id"]):
        if want is None:
            return True
        if model_id == want[0]:
            want = next(wanted, None)
    return want is None


def _eval_result_claims(snapshot: Snapshot) -> Iterator[tuple[pa.Table, Counter[str]]]:
    """Claims of the fetched eval-results files, a batch of files at a time, with their problem codes."""
    if not snapshot.eval_results.exists():
        return
    per_model: Counter[str] = Counter()
    for batch in _batches(snapshot.eval_results, EVAL_RESULTS_COLUMNS, EVAL_RESULTS_BATCH):
        claims: list[dict[str, Any]] = []
        problems: Counter[str] = Counter()
        for model_id, status, text in batch:
            if status != "ok" or text is None:
                continue
            left = MAX_EVAL_RESULTS_ROWS - per_model[model_id]
            if left <= 0:
                problems["eval_results_model_capped"] += 1
                continue
            rows, found = eval_result_claims(model_id, text)
            if len(rows) > left:
                rows = rows[:left]
                found.append("eval_results_model_capped")
            per_model[model_id] += len(rows)
            claims.extend(rows)
            problems.update(found)
        yield table_from_rows("claims", claims), problems


def _merged(models: Path, cards: Path) -> Iterator[list[Job]]:
    card_rows = _rows(cards, CARD_COLUMNS)
    pending = next(card_rows, None)
    for batch in _batches(models, MODEL_COLUMNS):
        jobs: list[Job] = []
        for model_id, card_data, siblings in batch:
            card = None
            if pending is not None and pending[0] == model_id:
                card, pending = (pending[1], pending[2]), next(card_rows, None)
            jobs.append((model_id, card_data, siblings, card))
        yield jobs


class _Lookup:
    """Models joined to cards held in a dict, counting the cards no model claimed."""

    def __init__(self) -> None:
        self.orphans = 0

    def join(self, models: Path, cards: Path | None) -> Iterator[list[Job]]:
        held = {row[0]: (row[1], row[2]) for row in _rows(cards, CARD_COLUMNS)} if cards else {}
        for batch in _batches(models, MODEL_COLUMNS):
            yield [(m, data, siblings, held.pop(m, None)) for m, data, siblings in batch]
        self.orphans += len(held)


def _partition(source: Path, columns: list[str], parts: int, directory: Path) -> list[Path]:
    """Split `source` by crc32(model_id) % parts into parquet files under `directory`."""
    paths = [directory / f"{source.stem}-{index}.parquet" for index in range(parts)]
    schema = pq.read_schema(source)
    write_partitions(
        _arrow_batches(source, columns), pa.schema([schema.field(name) for name in columns]), paths
    )
    return paths


def _uncompressed_bytes(path: Path) -> int:
    meta = pq.ParquetFile(path).metadata
    return sum(meta.row_group(index).total_byte_size for index in range(meta.num_row_groups))


def _jobs(snapshot: Snapshot, spill: Path, info: dict[str, Any]) -> Iterator[list[Job]]:
    models, cards = snapshot.models, snapshot.cards
    if not models.exists():
        raise SnapshotError(f"{models} is missing; the snapshot has no models table")
    lookup = _Lookup()
    if not cards.exists():
        info["join"] = "no_cards"
        yield from lookup.join(models, None)
    elif _cards_follow_models(models, cards):
        info["join"] = "merge"
        yield from _merged(models, cards)
    else:
        parts = max(1, math.ceil(_uncompressed_bytes(cards) / PARTITION_BYTES))
        info["join"] = "memory" if parts == 1 else f"partitioned:{parts}"
        if parts == 1:
            yield from lookup.join(models, cards)
        else:
            model_parts = _partition(models, MODEL_COLUMNS, parts, spill)
            card_parts = _partition(cards, CARD_COLUMNS, parts, spill)
            for model_part, card_part in zip(model_parts, card_parts, strict=True):
                yield from lookup.join(model_part, card_part)
    info["orphan_cards"] = lookup.orphans


def _ordered_map(
    function: Callable[[list[Job]], tuple[pa.Table, pa.Table]], batches: Iterable[list[Job]], workers: int
) -> Iterator[tuple[pa.Table, pa.Table]]:
    batches = iter(batches)
    head = list(itertools.islice(batches, 2))
    if workers == 1 or len(head) < 2:  # one batch: starting a pool costs more than it saves
        yield from map(function, itertools.chain(head, batches))
        return
    batches = itertools.chain(head, batches)
    # forkserver: workers fork from a clean process, not from this one with Arrow's threads running.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    memory = settings.PARSE_MAX_MEMORY.read()
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=limit_own_memory,
        initargs=(memory,),
    ) as pool:
        in_flight: deque[Future[tuple[pa.Table, pa.Table]]] = deque()
        for batch in batches:
            in_flight.append(pool.submit(function, batch))
            if len(in_flight) >= 2 * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


class _Tally:
    """The counts parse_snapshot returns, accumulated batch by batch."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.card_status: Counter[str] = Counter()
        self.metadata_source: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()

    def add(self, parsed: pa.Table, claims: pa.Table) -> None:
        self.counts["models"] += parsed.num_rows
        for column in ("has_card", "has_card_body", "has_front_matter"):
            self.counts[column] += pc.sum(parsed.column(column)).as_py() or 0
        self.counts["models_with_eval_claims"] += (
            pc.sum(pc.greater(parsed.column("n_claims"), 0)).as_py() or 0
        )
        self.counts["claims"] += claims.num_rows
        self.counts["counting_claims"] += pc.sum(claims.column("counts")).as_py() or 0
        self.card_status.update(_value_counts(parsed.column("card_status")))
        self.metadata_source.update(_value_counts(parsed.column("metadata_source")))
        self.problems.update(_value_counts(pc.list_flatten(parsed.column("problems"))))

    def add_eval_results(self, claims: pa.Table, problems: Counter[str]) -> None:
        self.counts["claims"] += claims.num_rows
        self.problems.update(problems)

    def summary(self) -> dict[str, Any]:
        return {
            **{key: self.counts[key] for key in ("models", "has_card", "has_card_body", "has_front_matter")},
            **{key: self.counts[key] for key in ("models_with_eval_claims", "claims", "counting_claims")},
            "card_status": dict(sorted(self.card_status.items())),
            "metadata_source": dict(sorted(self.metadata_source.items())),
            "problems": dict(sorted(self.problems.items())),
        }


def _value_counts(column: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    return {item["values"].as_py(): item["counts"].as_py() for item in pc.value_counts(column)}


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, cgroup sets included
    except AttributeError:
        return os.cpu_count() or 1


def parse_snapshot(snapshot: Snapshot, workers: int | None = None) -> dict[str, Any]:
    """Parse the cards of `snapshot`; returns counts for summary.json."""
    workers = max(1, workers or default_workers())
    findings = snapshot.findings
    findings.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tally = _Tally()
    info: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(dir=findings, prefix=".parse-spill-") as spill,
        atomic_path(snapshot.finding("parsed_cards")) as parsed_tmp,
        atomic_path(snapshot.finding("claims")) as claims_tmp,
        pq.ParquetWriter(parsed_tmp, load_schema("parsed_cards"), compression="zstd") as parsed_out,
        pq.ParquetWriter(claims_tmp, load_schema("claims"), compression="zstd") as claims_out,
    ):
        for parsed, claims in _ordered_map(parse_batch, _jobs(snapshot, Path(spill), info), workers):
            parsed_out.write_table(parsed)
            claims_out.write_table(claims)
            tally.add(parsed, claims)
        for claims, problems in _eval_result_claims(snapshot):
            claims_out.write_table(claims)
            tally.add_eval_results(claims, problems)
    return {**tally.summary(), **info, "workers": workers, "seconds": round(time.monotonic() - started, 3)}
