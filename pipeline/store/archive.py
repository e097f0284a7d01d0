"""The raw archive: every Hub response, as received, in gzip JSON lines, so parsing can be replayed offline.

One archive file belongs to one committed part of a table; it is written under a temporary name and
renamed when its part is committed, so a crawl killed mid-part leaves no archive that looks finished.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
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
    url: str, status: int, headers: Mapping[str, str], body: bytes, fetched_at: str, attempt: int
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "url": public_url(url),
        "status": status,
        "headers": {name: headers[name] for name in ARCHIVED_HEADERS if name in headers},
        "fetched_at": fetched_at,
        "attempt": attempt,
    }
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_b64"] = base64.b64encode(body).decode("ascii")
    return record


def record_body(record: Mapping[str, Any]) -> bytes:
    if "body_b64" in record:
        return base64.b64decode(record["body_b64"])
    return str(record.get("body", "")).encode("utf-8")


class RecordBuffer:
    """Response records of one piece of concurrent work, held until the caller writes them in commit order."""

    def __init__(self) -> None:
        self.records: list[Mapping[str, Any]] = []

    def write(self, record: Mapping[str, Any]) -> None:
        self.records.append(record)


class RawArchive:
    """Response records for the parts of one table: `<prefix>-<part>.jsonl.gz`, one file per part.

    Records go to the open part's file (thread-safe); `rotate()` commits it under its final name
    when its part is committed and opens the next one.
    """

    def __init__(self, directory: Path, prefix: str, part: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = directory
        self._prefix = prefix
        self._lock = threading.Lock()
        self._open(part)

    def _open(self, part: int) -> None:
        self._path = self._directory / f"{self._prefix}-{part:06d}.jsonl.gz"
        self._tmp = self._path.with_name(f".{self._path.name}.tmp-{os.getpid()}")
        # Held open across many writes and closed by rotate() or close().
        self._file = gzip.open(self._tmp, "wt", encoding="utf-8", compresslevel=5)  # noqa: SIM115
        self._records = 0

    def write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._records += 1

    def _finish(self, keep: bool) -> None:
        self._file.close()
        if keep and self._records:
            os.replace(self._tmp, self._path)
        else:
            self._tmp.unlink(missing_ok=True)

    def rotate(self, next_part: int) -> None:
        with self._lock:
            self._finish(keep=True)
            self._open(next_part)

    def close(self, keep: bool = False) -> None:
        """Commit the open file if `keep`, else drop it (its part was not committed)."""
        with self._lock:
            self._finish(keep)


def read_archive(directory: Path, prefix: str) -> Iterator[dict[str, Any]]:
    """Every record of the committed archive files `<prefix>-*.jsonl.gz` in `directory`, in part order."""
    for path in sorted(directory.glob(f"{prefix}-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
