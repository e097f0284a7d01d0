"""Phase three (`--authors`): is each model's namespace an organization or a user?

Listings name the author but not its kind. One request per distinct namespace to
`/api/organizations/{name}/overview` answers it: 200 is an organization (with its verified flag),
404 a user. Kinds rarely change, so those known from the previous snapshot cost no request.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.fetch import ordered_map
from pipeline.crawl.replay import replayed
from pipeline.errors import DamagedFileError, HubResponseError
from pipeline.hub.client import BadBody, HubClient, Response, utc_now
from pipeline.hub.ids import InvalidHubName, namespace_segment
from pipeline.hub.responses import ResponseSink, public_url
from pipeline.progress import progress_bar
from pipeline.schemas import table_from_rows
from pipeline.store.archive import write_raw_part
from pipeline.store.damage import reading, recrawl_remedy, warn
from pipeline.store.files import write_parquet
from pipeline.store.journal import Journal

KNOWN_KINDS = frozenset({"organization", "user"})


def overview_url(endpoint: str, name: str) -> str:
    """The overview of namespace `name`; InvalidHubName when it is no Hub name."""
    return f"{endpoint}/api/organizations/{namespace_segment(name)}/overview"


def author_row(name: str, response: Response) -> dict[str, Any]:
    row: dict[str, Any] = {
        "author": name,
        "http_status": response.status,
        "fetched_at": response.fetched_at,
        "reused": False,
    }
    if response.status == 200:
        profile = response.json if isinstance(response.json, dict) else {}
        verified = profile.get("isVerified")
        row.update(kind="organization", verified=verified if isinstance(verified, bool) else None)
    elif response.status == 404:
        row["kind"] = "user"
    else:
        row.update(kind="unknown", error=f"HTTP {response.status}")
    return row


def _check_profile(response: Response) -> None:
    if not isinstance(response.json, dict):
        raise BadBody(f"organization overview from {public_url(response.url)} is not a JSON object")


def fetch_author(client: HubClient, archive: ResponseSink, name: str) -> dict[str, Any]:
    """The author row of `name`; a name that is no Hub name is an `unknown` row, never a request."""
    try:
        url = overview_url(client.endpoint, name)
    except InvalidHubName as exc:
        return unknown_row(name, str(exc), None)
    try:
        response = client.get(
            url, bucket="api", cap=client.caps.overview, archive=archive, check=_check_profile
        )
    except HubResponseError as exc:
        return unknown_row(name, str(exc), exc.status)
    return author_row(name, response)


def unknown_row(name: str, error: str, http_status: int | None) -> dict[str, Any]:
    return {
        "author": name,
        "kind": "unknown",
        "error": error,
        "http_status": http_status,
        "fetched_at": utc_now(),
        "reused": False,
    }


def distinct_authors(models_path: Path) -> list[str]:
    """Namespaces of the snapshot's models, in order of first appearance."""
    seen: dict[str, None] = {}
    for batch in pq.ParquetFile(models_path).iter_batches(columns=["author"]):
        for name in batch.column(0).to_pylist():
            if name:
                seen.setdefault(name, None)
    return list(seen)


def previous_authors(path: Path) -> dict[str, dict[str, Any]]:
    """Kinds known from an earlier snapshot; a damaged file there is skipped with a warning."""
    if not path.exists():
        return {}
    try:
        with reading(path, recrawl_remedy()):
            rows = pq.read_table(path).to_pylist()
    except DamagedFileError as exc:
        warn(f"{exc}; asking the Hub again for every namespace")
        return {}
    return {row["author"]: row for row in rows if row["kind"] in KNOWN_KINDS}


def crawl_authors(context: CrawlContext) -> None:
    """Write `authors.parquet` for every namespace of `models.parquet`, unless a run before did.

    The phase is one part: a resumed crawl runs it again, replaying the responses the journal holds.
    """
    client, snapshot, workers = context.client, context.snapshot, context.params.workers
    if snapshot.authors.exists():
        return
    known = previous_authors(context.earlier.authors) if context.earlier else {}
    journal = Journal(snapshot.journal("authors"), committed=0)

    def work(item: tuple[int, str]) -> dict[str, Any]:
        seq, name = item
        if name in known:
            return {**known[name], "reused": True}
        response = replayed(journal, seq, (name,), check=_check_profile)
        if response is not None:
            return author_row(name, response)
        return fetch_author(client, journal.recorder(seq, (name,)), name)

    names = distinct_authors(snapshot.models)
    client.pacer("api").plan(sum(1 for name in names if name not in known))
    rows = []
    try:
        with (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="author") as pool,
            progress_bar(total=len(names), unit="author", desc="authors", mininterval=1, delay=1) as bar,
        ):
            for row in ordered_map(pool, work, enumerate(names), window=workers * 4):
                rows.append(row)
                bar.update(1)
        write_raw_part(snapshot, "authors", 0, journal.records_before(len(names)))
        write_parquet(snapshot.authors, table_from_rows("authors", rows))
    finally:
        journal.close()
    journal.remove()


def tally_authors(context: CrawlContext) -> dict[str, Any]:
    """Namespaces by kind, verified organizations, and kinds reused from the earlier snapshot."""
    authors = pq.read_table(context.snapshot.authors, columns=["kind", "verified", "reused"])
    counts: dict[str, Any] = dict(sorted(Counter(authors.column("kind").to_pylist()).items()))
    counts["verified"] = sum(1 for v in authors.column("verified").to_pylist() if v)
    counts["reused"] = sum(1 for v in authors.column("reused").to_pylist() if v)
    return {"authors": counts}
