"""One pooled HTTP client for the Hub: quota pacing, retries with capped backoff, archiving of raw responses.

Retried: 429 (after `Retry-After`), 5xx, timeouts, connection resets, truncated bodies and bodies the
caller's `check` rejects (malformed JSON). Everything else is returned for the caller to judge.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from pipeline import __version__
from pipeline.env import env_number
from pipeline.errors import HubResponseError, HubUnreachable
from pipeline.hub.ratelimit import Pacer, parse_rate_limit
from pipeline.hub.responses import ResponseSink, public_url, record_body, response_record

DEFAULT_ENDPOINT = "https://huggingface.co"


class BadBody(ValueError):
    """A 200 response whose body cannot be used (cut or malformed); worth another try."""


def is_retried(status: int) -> bool:
    """Whether the client asks again after a response with this status, rather than returning it."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, overridable with HUBMINE_MAX_ATTEMPTS, HUBMINE_BACKOFF_S and HUBMINE_TIMEOUT_S."""
        return cls(
            max_attempts=env_number("HUBMINE_MAX_ATTEMPTS", cls.max_attempts, minimum=1),
            backoff_base_s=env_number("HUBMINE_BACKOFF_S", cls.backoff_base_s, minimum=0.0),
            read_timeout_s=env_number("HUBMINE_TIMEOUT_S", cls.read_timeout_s, minimum=0.001),
        )

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before try `attempt + 1`."""
        # The exponent is bounded: past ~1,000 tries 2**n no longer converts to a float.
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempt - 1, 64)))


@dataclass
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    fetched_at: datetime
    truncated: bool = False

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Response:
        """The response a raw record was made from, as far as the record keeps it (its headers)."""
        return cls(
            url=str(record["url"]),
            status=int(record["status"]),
            headers=CaseInsensitiveDict(record.get("headers") or {}),
            body=record_body(record),
            fetched_at=datetime.fromisoformat(record["fetched_at"]),
            truncated=bool(record.get("truncated")),
        )

    @cached_property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            raise BadBody(f"malformed JSON from {public_url(self.url)}: {exc}") from None


@dataclass
class RequestStats:
    """Thread-safe tallies of what the client sent and got back."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self.counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.counts.items()))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class HubClient:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        *,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or RetryPolicy.from_env()
        self.stats = RequestStats()
        self._session = requests.Session()
        # The proxy and CA settings are read from the environment once, here: requests would scan
        # the whole environment again on every request, a large share of a card's CPU time.
        self._session.trust_env = False
        self._session.proxies = requests.utils.get_environ_proxies(self.endpoint)
        env = os.environ
        self._session.verify = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=concurrency + 4, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = f"hubmine/{__version__}"
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._pacers: dict[str, Pacer] = {}
        self._pacers_lock = threading.Lock()
        self._reached = threading.Event()

    def close(self) -> None:
        self._session.close()

    def pacer(self, bucket: str) -> Pacer:
        with self._pacers_lock:
            if bucket not in self._pacers:
                self._pacers[bucket] = Pacer()
            return self._pacers[bucket]

    def get(
        self,
        url: str | Callable[[], str],
        *,
        bucket: str,
        archive: ResponseSink | None = None,
        max_bytes: int | None = None,
        check: Callable[[Response], object] | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> Response:
        """GET with pacing and retries; `url` may be a callable, so a retry can ask for a smaller page."""
        attempt = 0
        while True:
            attempt += 1
            target = url() if callable(url) else url
            pacer = self.pacer(bucket)
            ticket = pacer.wait()
            self.stats.add(f"requests.{bucket}")
            try:
                response = self._send(target, max_bytes)
            except requests.RequestException as exc:
                pacer.done(ticket, None)
                reason = _transport_reason(exc)
                self.stats.add(f"failures.{reason}")
                if not self._reached.is_set() and isinstance(exc, requests.ConnectionError) and attempt >= 2:
                    raise HubUnreachable(f"cannot reach {self.endpoint}: {_connection_cause(exc)}") from None
                self._retry_or_raise(attempt, reason, f"{reason} on {public_url(target)}", None, on_retry)
                continue
            # The response tells about the quota this request counted against, whatever its name.
            pacer.done(ticket, parse_rate_limit(response.headers))
            self._reached.set()
            if archive is not None:
                archive.write(
                    response_record(
                        response.url,
                        response.status,
                        response.headers,
                        response.body,
                        response.fetched_at.isoformat(),
                        attempt,
                        response.truncated,
                    )
                )
            self.stats.add(f"status.{response.status}")
            if is_retried(response.status):
                retry_after = _retry_after(response.headers)
                if response.status == 429 and retry_after is not None:
                    pacer.pause(retry_after)
                reason = "429" if response.status == 429 else "5xx"
                self._retry_or_raise(
                    attempt,
                    reason,
                    f"HTTP {response.status} on {public_url(target)}",
                    retry_after,
                    on_retry,
                    status=response.status,
                )
                continue
            if response.status == 200 and check is not None:
                try:
                    check(response)
                except BadBody as exc:
                    self.stats.add("failures.bad_body")
                    self._retry_or_raise(attempt, "bad_body", str(exc), None, on_retry, status=200)
                    continue
            return response

    def _send(self, url: str, max_bytes: int | None) -> Response:
        with self._session.get(
            url, stream=True, timeout=(self.retry.connect_timeout_s, self.retry.read_timeout_s)
        ) as raw:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            for chunk in raw.iter_content(chunk_size=1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    truncated = True
                    break
            body = b"".join(chunks)
            if truncated:
                body = body[: max_bytes or 0]
            return Response(raw.url, raw.status_code, raw.headers, body, utc_now(), truncated)

    def _retry_or_raise(
        self,
        attempt: int,
        reason: str,
        message: str,
        retry_after: float | None,
        on_retry: Callable[[str], None] | None,
        status: int | None = None,
    ) -> None:
        if attempt >= self.retry.max_attempts:
            raise HubResponseError(f"{message} (gave up after {attempt} tries)", status=status)
        self.stats.add("retries")
        if on_retry is not None:
            on_retry(reason)
        delay = self.retry.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        time.sleep(delay)


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "truncated"
    return "connection"


# The Hub's windows last 5 minutes; a longer (or infinite) Retry-After is not to be believed.
MAX_RETRY_AFTER_S = 300.0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S) if seconds == seconds else None


def _connection_cause(exc: BaseException) -> str:
    """The root cause of a connection error ("Connection refused"), not urllib3's nested repr."""
    text = str(exc)
    cause = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if cause:
        return cause.group(1).strip()
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
