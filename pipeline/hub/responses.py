"""What is kept of each Hub response (the raw record), without credentials, and where it goes.

The client hands every response it receives to a `ResponseSink` before anyone parses it; the crawl
decides what the sink is (a journal on disk, a list in a test).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Response headers worth keeping: pacing, paging, redirects, errors and content identity.
ARCHIVED_HEADERS = (
    "content-type",
    "content-length",
    "date",
    "etag",
    "link",
    "location",
    "ratelimit",
    "ratelimit-policy",
    "retry-after",
    "x-error-code",
    "x-error-message",
    "x-repo-commit",
    "x-request-id",
)
_SECRET_PARAMS = {"token", "access_token", "api_key"}


class ResponseSink(Protocol):
    """Where the client writes the record of each response, as soon as it has it."""

    def write(self, record: Mapping[str, Any]) -> None: ...


def public_url(url: str) -> str:
    """`url` without credentials: no user:password part, no token-like query parameters."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _SECRET_PARAMS]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def response_record(
    url: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    fetched_at: str,
    attempt: int,
    truncated: bool = False,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "url": public_url(url),
        "status": status,
        "headers": {name: headers[name] for name in ARCHIVED_HEADERS if name in headers},
        "fetched_at": fetched_at,
        "attempt": attempt,
    }
    if truncated:
        record["truncated"] = True
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_b64"] = base64.b64encode(body).decode("ascii")
    return record


def record_body(record: Mapping[str, Any]) -> bytes:
    if "body_b64" in record:
        return base64.b64decode(record["body_b64"])
    return str(record.get("body", "")).encode("utf-8")
