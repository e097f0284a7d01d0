"""Responses a resumed crawl already has: the final answer the journal holds, used instead of asking again."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.hub.client import BadBody, Response, is_retried
from pipeline.store.journal import Journal


def replayed(
    journal: Journal,
    seq: int,
    key: Sequence[str | None],
    check: Callable[[Response], object] | None = None,
) -> Response | None:
    """The response the journal holds for request `key` at `seq`, if the client would have kept it."""
    record = journal.last_record(seq, key)
    if record is None:
        return None
    try:
        response = Response.from_record(record)
    except (KeyError, ValueError, TypeError):
        return None
    if is_retried(response.status):
        return None
    if response.status == 200 and check is not None:
        try:
            check(response)
        except BadBody:
            return None
    return response
