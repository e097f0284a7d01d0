"""The per-model file fetch that the card phases share: each listed model's files of one kind (its
README, its `.eval_results/*.yaml`), pinned to the listed `sha`.

Files are fetched concurrently over the client's connection pool but committed in listing order,
one Parquet part per `PART_ROWS` files, so a resumed crawl knows exactly where it stopped and its
tables equal those of an uninterrupted crawl. Every response reaches the journal as it arrives, so
a resumed crawl replays the files fetched after the last commit instead of asking again. A file
taken at the same `sha` in an earlier snapshot (`pipeline.crawl.reuse`) costs no request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pyarrow.parquet as pq

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.replay import replayed
from pipeline.crawl.reuse import RowKey
from pipeline.errors import HubResponseError, one_line
from pipeline.hub.caps import BodyCap, BodyCaps
from pipeline.hub.client import HubClient, Response, utc_now
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.hub.responses import ResponseSink
from pipeline.progress import progress_bar
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.archive import drop_raw_beyond, write_raw_part
from pipeline.store.journal import Journal
from pipeline.store.parts import PartSet

T = TypeVar("T")
R = TypeVar("R")

PART_ROWS = 1000
# File paths inside a repository: the Hub's own paths are far shorter; longer ones are not asked for.
MAX_FILE_PATH = 1024


@dataclass(frozen=True)
class FileTarget:
    """One file of one model, at the listed revision (and its listed `lastModified`, for reuse from an
    imported snapshot)."""

    model_id: str
    sha: str | None
    path: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class FileKind:
    """Which files of each model a phase fetches, and the table (its rows, journal and archive) it fills.

    `select` picks the paths to fetch from a model's siblings, in the order they are fetched. Rows
    are keyed by model and, when the table has a `path` column, by path too.
    """

    table: str
    text_column: str
    cap: Callable[[BodyCaps], BodyCap]
    select: Callable[[list[str] | None], list[str]]
    unit: str

    @cached_property
    def has_path(self) -> bool:
        return "path" in load_schema(self.table).names

    def row_key(self, target: FileTarget) -> RowKey:
        return target.model_id, target.path if self.has_path else None

    def journal_key(self, target: FileTarget) -> tuple[str | None, ...]:
        return (target.model_id, target.sha, *((target.path,) if self.has_path else ()))

    def targets(self, models_path: Path) -> Iterator[FileTarget]:
        """The files to fetch, model by model in listing order."""
        columns = ["model_id", "sha", "siblings", "last_modified"]
        for batch in pq.ParquetFile(models_path).iter_batches(columns=columns):
            for model_id, sha, siblings, modified in zip(
                *(c.to_pylist() for c in batch.columns), strict=True
            ):
                for path in self.select(siblings):
                    yield FileTarget(model_id, sha, path, modified)


def file_path(path: str) -> str:
    """A file path inside a repository as URL path segments; InvalidHubName when a segment is empty,
    dots alone or holds a control character, since a normalised URL would then ask for another file."""
    parts = path.split("/")
    if len(path) > MAX_FILE_PATH or not all(
        part.strip(".") and part.isprintable() and "\\" not in part for part in parts
    ):
        raise InvalidHubName(f"file path {path[:120]!r} is not a plain repository path; not requested")
    return "/".join(quote(part, safe="") for part in parts)


def file_url(endpoint: str, target: FileTarget) -> str:
    """The file `target` at its sha; InvalidHubName when the id, sha or path is no Hub name."""
    revision = revision_segment(target.sha or "main")
    return f"{endpoint}/{repo_path(target.model_id)}/resolve/{revision}/{file_path(target.path)}"


def decode_body(body: bytes, truncated: bool, cap: BodyCap) -> tuple[str, str | None, str | None]:
    """(status, text, problem) of a text body: binary is an error, bad UTF-8 and oversize are noted."""
    if b"\x00" in body:
        return "error", None, f"{cap.what} is binary (contains NUL bytes)"
    if truncated:
        # The cut may split a multi-byte character; drop that partial tail rather than flag the text.
        for end in range(len(body), max(len(body) - 4, -1), -1):
            try:
                text = body[:end].decode("utf-8")
                return "ok", text, f"{cap.what} cut at {len(body)} bytes ({cap.variable})"
            except UnicodeDecodeError:
                continue
    try:
        return "ok", body.decode("utf-8"), None
    except UnicodeDecodeError:
        problem = f"{cap.what} is not valid UTF-8; bad bytes replaced"
        return "ok", body.decode("utf-8", errors="replace"), problem


def file_row(kind: FileKind, target: FileTarget, response: Response) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model_id": target.model_id,
        "sha": target.sha,
        "path": target.path,
        "fetched_at": response.fetched_at,
        "http_status": response.status,
        "size_bytes": len(response.body),
        "truncated": response.truncated,
        "reused": False,
    }
    if response.status == 200:
        status, text, error = decode_body(response.body, response.truncated, kind.cap(BodyCaps()))
        row.update({"status": status, kind.text_column: text, "error": error})
    elif response.status in (401, 403):
        row["status"] = "gated"
        row["error"] = one_line(response.headers.get("X-Error-Message")) or f"HTTP {response.status}"
    elif response.status == 404:
        row["status"] = "missing"
        row["error"] = response.headers.get("X-Error-Code") or "HTTP 404"
    else:
        row["status"] = "error"
        row["error"] = f"HTTP {response.status}: {one_line(response.headers.get('X-Error-Message'))}".strip(
            ": "
        )
    return row


def error_row(target: FileTarget, error: str, http_status: int | None) -> dict[str, Any]:
    return {
        "model_id": target.model_id,
        "sha": target.sha,
        "path": target.path,
        "status": "error",
        "error": error,
        "http_status": http_status,
        "fetched_at": utc_now(),
        "reused": False,
    }


def fetch_file(
    client: HubClient, kind: FileKind, archive: ResponseSink, target: FileTarget
) -> dict[str, Any]:
    """The row of `target`; an id, sha or path that is no Hub name is an error row, never a request."""
    try:
        url = file_url(client.endpoint, target)
    except InvalidHubName as exc:
        return error_row(target, str(exc), None)
    try:
        response = client.get(url, bucket="resolvers", cap=kind.cap(client.caps), archive=archive)
    except HubResponseError as exc:
        return error_row(target, str(exc), exc.status)
    return file_row(kind, target, response)


def ordered_map(
    pool: ThreadPoolExecutor,
    work: Callable[[T], R],
    items: Iterable[T],
    window: int,
) -> Iterator[R]:
    """`work` over `items` on the pool, at most `window` in flight, results in input order."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def crawl_files(context: CrawlContext, kind: FileKind, phase: str) -> None:
    """Fetch (or reuse) every file of `kind` after the checkpoint of `phase`, committing a part per block."""
    client, snapshot, state = context.client, context.snapshot, context.state
    progress = state.phase(phase)
    previous = context.previous(kind.table)
    workers = context.params.workers
    parts = PartSet(snapshot, kind.table)
    parts.drop_beyond(progress.parts)
    drop_raw_beyond(snapshot, kind.table, progress.parts)
    journal = Journal(snapshot.journal(kind.table), committed=progress.done)
    # A file's position among all the phase's files orders its journal entries as its row.
    todo = ((i, t) for i, t in enumerate(kind.targets(snapshot.models)) if i >= progress.done)

    def work(item: tuple[int, FileTarget]) -> dict[str, Any]:
        seq, target = item
        earlier = (
            previous.reusable(kind.row_key(target), target.sha, target.last_modified) if previous else None
        )
        if earlier is not None:
            # An imported card has no sha: it is the card at the listed one.
            return {**earlier, "sha": target.sha, "reused": True}
        key = kind.journal_key(target)
        response = replayed(journal, seq, key)
        if response is not None:
            return file_row(kind, target, response)
        return fetch_file(client, kind, journal.recorder(seq, key), target)

    block: list[dict[str, Any]] = []

    def commit() -> None:
        done = progress.done + len(block)
        parts.write(progress.parts, table_from_rows(kind.table, block))
        write_raw_part(snapshot, kind.table, progress.parts, journal.records_before(done))
        progress.parts += 1
        progress.done = done
        context.checkpoint()
        # Only once the checkpoint counts the part: a kill before leaves its responses to replay.
        journal.forget_before(done)
        block.clear()

    total = to_fetch = 0
    for i, target in enumerate(kind.targets(snapshot.models)):
        total += 1
        reusable = previous and previous.can_reuse(kind.row_key(target), target.sha, target.last_modified)
        if i >= progress.done and not reusable:
            to_fetch += 1
    client.pacer("resolvers").plan(to_fetch)
    bar = progress_bar(
        total=total, initial=progress.done, unit=kind.unit, desc=kind.table, mininterval=1, delay=1
    )
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=kind.unit) as pool:
            try:
                for row in ordered_map(pool, work, todo, window=workers * 4):
                    block.append(row)
                    bar.update(1)
                    if len(block) >= PART_ROWS:
                        commit()
            except BaseException:
                # Leave queued downloads unstarted; what was committed stays committed.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            if block:
                commit()
    finally:
        journal.close()
        bar.close()
    journal.remove()
    progress.finished = True
    context.checkpoint()
