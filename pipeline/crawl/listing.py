"""Phase one: page through `/api/models` with the properties the analyses need, one Parquet part per page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from requests.utils import parse_header_links

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.params import CrawlParams
from pipeline.crawl.replay import replayed
from pipeline.errors import HubAuthError, HubResponseError
from pipeline.hub.client import BadBody, Response
from pipeline.hub.endpoint import same_origin
from pipeline.hub.records import LISTING_EXPAND, model_id_of, model_row
from pipeline.hub.responses import public_url
from pipeline.progress import progress_bar
from pipeline.schemas import table_from_rows
from pipeline.store.archive import drop_raw_beyond, write_raw_part
from pipeline.store.journal import Journal
from pipeline.store.parts import PartSet

MAX_PAGE = 1000
MIN_PAGE = 10


@dataclass
class PageSize:
    """Large pages keep requests per model tiny; deep pages with heavy properties time out, so adapt.

    Halve on a timeout, 5xx, cut or oversize body; double back after a few pages in a row go through.
    """

    value: int = MAX_PAGE
    streak: int = 0
    grow_after: int = 3

    def shrink(self, reason: str) -> None:
        if reason in {"timeout", "5xx", "truncated", "connection", "too_large"}:
            self.value = max(MIN_PAGE, self.value // 2)
            self.streak = 0

    def succeeded(self) -> None:
        self.streak += 1
        if self.streak >= self.grow_after and self.value < MAX_PAGE:
            self.value = min(MAX_PAGE, self.value * 2)
            self.streak = 0


def first_page_url(endpoint: str, params: CrawlParams) -> str:
    query: list[tuple[str, str]] = [("sort", params.sort)]
    if params.author:
        query.append(("author", params.author))
    query.extend(("filter", tag) for tag in params.filters)
    query.extend(("expand[]", prop) for prop in LISTING_EXPAND)
    return f"{endpoint}/api/models?{urlencode(query)}"


SKIPPED_ENTRIES = "skipped.listing_entries"  # the client's tally of listing entries that are no model


def with_limit(url: str, limit: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "limit"]
    query.append(("limit", str(limit)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_page_url(response: Response, first_url: str) -> str | None:
    """The `rel="next"` link, if it stays on the listing: same origin and path as the first page.

    Anything else would send the token to another host, or read some other document as a page.
    """
    for link in parse_header_links(response.headers.get("Link", "")):
        if link.get("rel") == "next" and link.get("url"):
            target = urljoin(response.url, link["url"])
            if not same_origin(target, first_url) or urlsplit(target).path != urlsplit(first_url).path:
                raise HubResponseError(
                    f"the listing's next link leaves {public_url(first_url.split('?')[0])} "
                    f"(to {public_url(target)[:200]}); is HF_ENDPOINT a Hub or a mirror of it?"
                )
            return target
    return None


class ListingGuard:
    """Ends a listing that goes round in circles: a next link to a page already read, or page after
    page of models already listed (which a changing cursor could otherwise keep up for ever)."""

    max_stale_pages = 3

    def __init__(self, first_url: str, seen_ids: set[str]) -> None:
        self.seen_pages = {_page(first_url)}
        self.seen_ids = seen_ids
        self.stale_pages = 0

    def new_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows whose model was not listed before, each model once."""
        fresh = []
        for row in rows:
            if row["model_id"] not in self.seen_ids:
                self.seen_ids.add(row["model_id"])
                fresh.append(row)
        return fresh

    def page_read(self, entries: int, new: int, next_url: str | None) -> None:
        """Account for a page of `entries` records, `new` of them new; raise if the listing loops."""
        self.stale_pages = self.stale_pages + 1 if entries and not new else 0
        if self.stale_pages >= self.max_stale_pages:
            raise HubResponseError(
                f"{self.stale_pages} listing pages in a row brought no model not listed before; the server "
                "repeats itself: try again later"
            )
        if next_url is not None:
            if _page(next_url) in self.seen_pages:
                raise HubResponseError(
                    f"the listing's next link points back to a page already read "
                    f"({public_url(next_url)[:200]}); the server loops: try again later"
                )
            self.seen_pages.add(_page(next_url))


def _page(url: str) -> str:
    """Which page `url` asks for: the page size is the client's choice (`with_limit`), not the server's."""
    return with_limit(url, MAX_PAGE)


def _check_page(response: Response) -> None:
    if not isinstance(response.json, list):
        raise BadBody(f"listing page from {public_url(response.url)} is not a JSON list")


def raise_for_listing(response: Response, has_token: bool) -> None:
    """One clear line for a listing request the Hub refused."""
    if response.status == 200:
        return
    message = response.headers.get("X-Error-Message") or response.body[:200].decode("utf-8", "replace")
    if response.status in (401, 403):
        if has_token:
            raise HubAuthError(
                f"the Hub refused the token (HTTP {response.status}: {message.strip()}); "
                "check HF_TOKEN or log in again with `hf auth login`"
            )
        raise HubAuthError(f"{public_url(response.url)} needs a token (HTTP {response.status}); set HF_TOKEN")
    raise HubResponseError(
        f"listing failed with HTTP {response.status} at {public_url(response.url)}: {message.strip()}",
        status=response.status,
    )


def crawl_listing(context: CrawlContext) -> None:
    """List models page by page until the listing (or `--limit`) ends, committing a part per page."""
    client, params, state, snapshot = context.client, context.params, context.state, context.snapshot
    progress = state.phase("listing")
    parts = PartSet(snapshot, "models")
    parts.drop_beyond(progress.parts)
    drop_raw_beyond(snapshot, "listing", progress.parts)
    # A page's part number orders its journal entries; the URL asked for names the request.
    journal = Journal(snapshot.journal("listing"), committed=progress.parts)
    page_size = PageSize()
    first_url = first_page_url(client.endpoint, params)
    # After the first committed page, no next URL means the listing has ended, not that it never began.
    url = state.next_url if progress.parts else first_url
    listed_ids = {
        model_id
        for batch in parts.iter_batches(progress.parts, columns=["model_id"])
        for model_id in batch.column(0).to_pylist()
    }
    guard = ListingGuard(url or first_url, listed_ids)
    remaining = lambda: params.limit - progress.done if params.limit else MAX_PAGE  # noqa: E731
    client.pacer("api").plan(math.ceil(remaining() / MAX_PAGE) if params.limit else None)
    bar = progress_bar(
        total=params.limit, initial=progress.done, unit="model", desc="models", mininterval=1, delay=1
    )
    try:
        while url and remaining() > 0:
            page = progress.parts
            response = replayed(journal, page, (url,), check=_check_page)
            if response is None:
                response = client.get(
                    lambda page_url=url: with_limit(page_url, min(page_size.value, remaining())),
                    bucket="api",
                    cap=client.caps.listing,
                    archive=journal.recorder(page, (url,)),
                    check=_check_page,
                    on_retry=page_size.shrink,
                )
            raise_for_listing(response, context.has_token)
            entries = response.json
            listed = [model_row(e, response.fetched_at) for e in entries if model_id_of(e) is not None]
            # Entries that are no model record (not an object, or without an id) are counted, not kept.
            client.stats.add(*[SKIPPED_ENTRIES] * (len(entries) - len(listed)))
            rows = guard.new_rows(listed)[: remaining()]
            url = next_page_url(response, first_url) if entries else None
            guard.page_read(len(entries), len(rows), url)
            parts.write(page, table_from_rows("models", rows))
            write_raw_part(snapshot, "listing", page, journal.records_before(page + 1))
            progress.parts += 1
            progress.done += len(rows)
            state.next_url = url
            context.checkpoint()
            journal.forget_before(progress.parts)
            page_size.succeeded()
            bar.update(len(rows))
    finally:
        journal.close()
        bar.close()
    journal.remove()
    progress.finished = True
    context.checkpoint()
