"""Phase two: README.md of every listed model that has one, pinned to the listed `sha`.

Cards are fetched concurrently over the client's connection pool but committed in listing order,
one Parquet part per `CARD_PART_ROWS` models, so a resumed crawl knows exactly where it stopped
and its tables equal those of an uninterrupted crawl. Every response reaches the journal as it
arrives, so a resumed crawl replays the cards fetched after the last commit instead of asking again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq
from tqdm import tqdm

from pipeline.crawl.replay import replayed
from pipeline.crawl.reuse import PreviousCards
from pipeline.crawl.state import CrawlState
from pipeline.errors import HubResponseError, one_line
from pipeline.hub.client import HubClient, Response, utc_now
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.hub.records import lists_readme
from pipeline.hub.responses import ResponseSink
from pipeline.schemas import table_from_rows
from pipeline.store.archive import drop_raw_beyond, write_raw_part
from pipeline.store.journal import Journal
from pipeline.store.layout import Snapshot
from pipeline.store.parts import PartSet

T = TypeVar("T")
R = TypeVar("R")

CARD_PART_ROWS = 1000


def card_url(endpoint: str, model_id: str, sha: str | None) -> str:
    """The README of `model_id` at `sha`; InvalidHubName when either is no Hub name."""
    return f"{endpoint}/{repo_path(model_id)}/resolve/{revision_segment(sha or 'main')}/README.md"


def decode_readme(body: bytes, truncated: bool) -> tuple[str, str | None, str | None]:
    """(status, text, problem) for a README body: binary is an error, bad UTF-8 and oversize are noted."""
    if b"\x00" in body:
        return "error", None, "README is binary (contains NUL bytes)"
    if truncated:
        # The cut may split a multi-byte character; drop that partial tail rather than flag the text.
        for end in range(len(body), max(len(body) - 4, -1), -1):
            try:
                return (
                    "ok",
                    body[:end].decode("utf-8"),
                    f"README cut at {len(body)} bytes (HUBMINE_MAX_README_BYTES)",
                )
            except UnicodeDecodeError:
                continue
    try:
        return "ok", body.decode("utf-8"), None
    except UnicodeDecodeError:
        return "ok", body.decode("utf-8", errors="replace"), "README is not valid UTF-8; bad bytes replaced"


def card_row(model_id: str, sha: str | None, response: Response) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model_id": model_id,
        "sha": sha,
        "fetched_at": response.fetched_at,
        "http_status": response.status,
        "size_bytes": len(response.body),
        "truncated": response.truncated,
        "reused": False,
    }
    if response.status == 200:
        row["status"], row["readme"], row["error"] = decode_readme(response.body, response.truncated)
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


def fetch_card(client: HubClient, archive: ResponseSink, model_id: str, sha: str | None) -> dict[str, Any]:
    """The card row of `model_id`; an id or sha that is no Hub name is an error row, never a request."""
    try:
        url = card_url(client.endpoint, model_id, sha)
    except InvalidHubName as exc:
        return error_row(model_id, sha, str(exc), None)
    try:
        response = client.get(url, bucket="resolvers", cap=client.caps.readme, archive=archive)
    except HubResponseError as exc:
        return error_row(model_id, sha, str(exc), exc.status)
    return card_row(model_id, sha, response)


def error_row(model_id: str, sha: str | None, error: str, http_status: int | None) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "sha": sha,
        "status": "error",
        "error": error,
        "http_status": http_status,
        "fetched_at": utc_now(),
        "reused": False,
    }


def reused_row(previous: dict[str, Any]) -> dict[str, Any]:
    return {**previous, "reused": True}


@dataclass
class Candidate:
    model_id: str
    sha: str | None


def candidates(models_path: Path) -> Iterator[Candidate]:
    """Models whose siblings list a README, in listing order."""
    for batch in pq.ParquetFile(models_path).iter_batches(columns=["model_id", "sha", "siblings"]):
        for model_id, sha, siblings in zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True):
            if lists_readme(siblings):
                yield Candidate(model_id, sha)


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


def count_work(models_path: Path, done: int, previous: PreviousCards | None) -> tuple[int, int]:
    """(candidates in all, READMEs still to download after the first `done` candidates)."""
    total = to_fetch = 0
    for i, candidate in enumerate(candidates(models_path)):
        total += 1
        if i >= done and not (previous and previous.can_reuse(candidate.model_id, candidate.sha)):
            to_fetch += 1
    return total, to_fetch


def crawl_cards(
    client: HubClient,
    state: CrawlState,
    snapshot: Snapshot,
    previous: PreviousCards | None,
    workers: int,
    checkpoint: Callable[[], None],
) -> None:
    """Fetch (or reuse) the card of every candidate after the checkpoint, committing a part per block."""
    models_path = snapshot.models
    parts = PartSet(snapshot, "cards")
    parts.drop_beyond(state.card_parts)
    drop_raw_beyond(snapshot, "cards", state.card_parts)
    journal = Journal(snapshot.journal("cards"), committed=state.cards_done)
    # A candidate's position among all candidates orders its journal entries as its row.
    todo = ((i, c) for i, c in enumerate(candidates(models_path)) if i >= state.cards_done)

    def work(item: tuple[int, Candidate]) -> dict[str, Any]:
        seq, candidate = item
        earlier = previous.reusable(candidate.model_id, candidate.sha) if previous else None
        if earlier is not None:
            return reused_row(earlier)
        key = (candidate.model_id, candidate.sha)
        response = replayed(journal, seq, key)
        if response is not None:
            return card_row(candidate.model_id, candidate.sha, response)
        return fetch_card(client, journal.recorder(seq, key), candidate.model_id, candidate.sha)

    block: list[dict[str, Any]] = []

    def commit() -> None:
        done = state.cards_done + len(block)
        parts.write(state.card_parts, table_from_rows("cards", block))
        write_raw_part(snapshot, "cards", state.card_parts, journal.records_before(done))
        state.card_parts += 1
        state.cards_done = done
        checkpoint()
        # Only once the checkpoint counts the part: a kill before leaves its responses to replay.
        journal.forget_before(done)
        block.clear()

    total, to_fetch = count_work(models_path, state.cards_done, previous)
    client.pacer("resolvers").plan(to_fetch)
    bar = tqdm(total=total, initial=state.cards_done, unit="card", desc="cards", mininterval=1, delay=1)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="card") as pool:
            try:
                for row in ordered_map(pool, work, todo, window=workers * 4):
                    block.append(row)
                    bar.update(1)
                    if len(block) >= CARD_PART_ROWS:
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
    state.cards_finished = True
    checkpoint()
