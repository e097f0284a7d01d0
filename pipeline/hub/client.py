"""One pooled HTTP client for the Hub: quota pacing, retries with capped backoff, archiving of raw responses.

Retried: 429 (after `Retry-After`), 5xx, timeouts, connection resets, truncated bodies, bodies past
their cap (`BodyCap`) and bodies the caller's `check` rejects (malformed JSON). Everything else is
returned for the caller to judge. Nothing waits without end: each try has a deadline, each request a
deadline over all its tries, and long waits are said on stderr. A stall ends a try early (no byte for
the read timeout, or a body slower than the stall rule) and a request is given up after a few stalled
tries; a wait a server asks for beyond the cap fails the request at once.
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
from typing import Any, BinaryIO

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from pipeline import __version__, settings
from pipeline.errors import HubResponseError, HubUnreachable, one_line
from pipeline.hub.caps import BodyCap, BodyCaps
from pipeline.hub.endpoint import DEFAULT_ENDPOINT, checked_endpoint
from pipeline.hub.notices import NOTICE_AFTER_S, notice
from pipeline.hub.ratelimit import Pacer, parse_rate_limit
from pipeline.hub.responses import ResponseSink, public_url, record_body, response_record
from pipeline.hub.transport import AttemptDeadline, BodyTooLarge, Stalled, StallRule, fetch
from pipeline.hub.waits import ServerWaits
from pipeline.hub.watchdog import Watchdog


class BadBody(ValueError):
    """A 200 response whose body cannot be used (cut or malformed); worth another try."""


def is_retried(status: int) -> bool:
    """Whether the client asks again after a response with this status, rather than returning it."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = settings.MAX_ATTEMPTS.default
    backoff_base_s: float = settings.BACKOFF_S.default
    backoff_cap_s: float = 60.0
    connect_timeout_s: float = 10.0
    # The longest wait for any byte, the first of the answer included (time to first byte).
    read_timeout_s: float = settings.TIMEOUT_S.default
    # One try, from sending to the last byte: a server trickling bytes never trips the read timeout.
    attempt_deadline_s: float = settings.ATTEMPT_DEADLINE_S.default
    # One request over all its tries and the waits between them.
    request_deadline_s: float = settings.REQUEST_DEADLINE_S.default
    max_server_wait_s: float = settings.MAX_SERVER_WAIT_S.default
    # A body slower than this on average over a window has stalled; 10 KB/s is slow but working.
    stall_s: float = settings.STALL_S.default
    stall_bytes_per_s: float = settings.STALL_BYTES_PER_S.default
    # Stalled tries (read timeout, stall, connect timeout) after which a request is given up.
    stall_tries: int = settings.STALL_TRIES.default

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, overridable with HUBMINE_MAX_ATTEMPTS, HUBMINE_BACKOFF_S, HUBMINE_TIMEOUT_S,
        HUBMINE_ATTEMPT_DEADLINE_S, HUBMINE_REQUEST_DEADLINE_S, HUBMINE_MAX_SERVER_WAIT_S,
        HUBMINE_STALL_S, HUBMINE_STALL_BYTES_PER_S and HUBMINE_STALL_TRIES."""
        return cls(
            max_attempts=settings.MAX_ATTEMPTS.read(),
            backoff_base_s=settings.BACKOFF_S.read(),
            read_timeout_s=settings.TIMEOUT_S.read(),
            attempt_deadline_s=settings.ATTEMPT_DEADLINE_S.read(),
            request_deadline_s=settings.REQUEST_DEADLINE_S.read(),
            max_server_wait_s=settings.MAX_SERVER_WAIT_S.read(),
            stall_s=settings.STALL_S.read(),
            stall_bytes_per_s=settings.STALL_BYTES_PER_S.read(),
            stall_tries=settings.STALL_TRIES.read(),
        )

    @property
    def stall_rule(self) -> StallRule:
        return StallRule(self.stall_s, self.stall_bytes_per_s)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before try `attempt + 1`."""
        # As tenacity's wait_random_exponential, which would need a RetryCallState this loop has no use for;
        # urllib3's Retry.get_backoff_time waits nothing before the second try and adds its jitter on top.
        # The exponent is bounded: past ~1,000 tries 2**n no longer converts to a float.
        return random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempt - 1, 64)))


def check_settings(endpoint: str | None) -> str:
    """The endpoint to crawl (`endpoint`, else HF_ENDPOINT, else the Hub), checked together with every
    HUBMINE_ setting of the client, so that a bad one stops the crawl before it writes anything."""
    RetryPolicy.from_env()
    BodyCaps.from_env()
    return checked_endpoint(endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)


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
        caps: BodyCaps | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = checked_endpoint(endpoint)
        self.retry = retry or RetryPolicy.from_env()
        self.caps = caps or BodyCaps.from_env()
        self.stats = RequestStats()
        # Every wait goes through these two, so a test can count what the client asked to sleep.
        self._clock = clock
        self._sleep = sleep
        self._waits = ServerWaits(self.retry.max_server_wait_s)
        self._watchdog = Watchdog()
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
        self._watchdog.close()
        self._session.close()

    def pacer(self, bucket: str) -> Pacer:
        with self._pacers_lock:
            if bucket not in self._pacers:
                self._pacers[bucket] = Pacer(clock=self._clock, sleep=self._sleep)
            return self._pacers[bucket]

    def get(
        self,
        url: str | Callable[[], str],
        *,
        bucket: str,
        cap: BodyCap,
        archive: ResponseSink | None = None,
        check: Callable[[Response], object] | None = None,
        on_retry: Callable[[str], None] | None = None,
        sink: BinaryIO | None = None,
        form: Mapping[str, Any] | None = None,
    ) -> Response:
        """GET with pacing and retries; `url` may be a callable, so a retry can ask for a smaller page.

        At most `cap.limit` bytes of the body are read, whatever the server sends. With `sink` (a file
        opened for writing and reading) the body is written there, each try from its start, and the
        response's body is empty. With `form`, the request POSTs it, form-encoded, as the Hub's
        paths-info API asks; it is only for reads, so it is retried like a GET.
        """
        started = self._clock()
        attempt = stalls = 0
        while True:
            attempt += 1
            target = url() if callable(url) else url
            pacer = self.pacer(bucket)
            ticket = pacer.wait()
            self.stats.add(f"requests.{bucket}")
            deadline = min(
                self._clock() + self.retry.attempt_deadline_s, started + self.retry.request_deadline_s
            )
            if sink is not None:
                sink.seek(0)
                sink.truncate()
            try:
                with self._watchdog.waiting(public_url(target), attempt, self.retry.max_attempts):
                    answer = fetch(
                        self._session,
                        target,
                        endpoint=self.endpoint,
                        cap=cap,
                        connect_timeout_s=self.retry.connect_timeout_s,
                        read_timeout_s=self.retry.read_timeout_s,
                        deadline=deadline,
                        clock=self._clock,
                        stall=self.retry.stall_rule,
                        sink=sink,
                        form=form,
                    )
            except requests.RequestException as exc:
                pacer.done(ticket, None)
                reason = _transport_reason(exc)
                self.stats.add(f"failures.{reason}")
                if not self._reached.is_set() and isinstance(exc, requests.ConnectionError) and attempt >= 2:
                    raise HubUnreachable(f"cannot reach {self.endpoint}: {_connection_cause(exc)}") from None
                message = self._failure(exc, reason, target)
                if isinstance(exc, (Stalled, requests.ReadTimeout, requests.ConnectTimeout)):
                    stalls += 1
                    if stalls >= self.retry.stall_tries:
                        raise HubResponseError(
                            f"{message}; the server stalled on {stalls} tries of this request "
                            "(HUBMINE_STALL_TRIES): try again later"
                        ) from None
                self._retry_or_raise(started, attempt, reason, message, None, on_retry)
                continue
            response = Response(
                answer.url, answer.status, answer.headers, answer.body, utc_now(), answer.truncated
            )
            # The response tells about the quota this request counted against, whatever its name.
            try:
                quota = self._waits.rate_limit(parse_rate_limit(response.headers))
            except HubResponseError:
                pacer.done(ticket, None)
                raise
            pacer.done(ticket, quota)
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
                retry_after = self._retry_after(response.headers)
                if response.status == 429 and retry_after is not None:
                    pacer.pause(retry_after)
                reason = "429" if response.status == 429 else "5xx"
                message = f"HTTP {response.status} on {public_url(target)}"
                self._retry_or_raise(
                    started, attempt, reason, message, retry_after, on_retry, response.status
                )
                continue
            if response.status == 200 and check is not None:
                try:
                    check(response)
                except BadBody as exc:
                    self.stats.add("failures.bad_body")
                    self._retry_or_raise(started, attempt, "bad_body", str(exc), None, on_retry, 200)
                    continue
            return response

    def _failure(self, exc: requests.RequestException, reason: str, url: str) -> str:
        if isinstance(exc, BodyTooLarge):
            return str(exc)
        if isinstance(exc, AttemptDeadline):
            return (
                f"no complete answer from {public_url(url)} within {self.retry.attempt_deadline_s:g} s "
                "(HUBMINE_ATTEMPT_DEADLINE_S)"
            )
        if isinstance(exc, Stalled):
            return f"{exc} (HUBMINE_STALL_S, HUBMINE_STALL_BYTES_PER_S)"
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return f"the answer from {public_url(url)} could not be decoded ({one_line(str(exc))[:200]})"
        if isinstance(exc, requests.ReadTimeout):
            return f"no byte from {public_url(url)} in {self.retry.read_timeout_s:g} s (HUBMINE_TIMEOUT_S)"
        return f"{reason} on {public_url(url)}"

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        try:
            seconds = float(headers.get("Retry-After", ""))
        except ValueError:
            return None
        return self._waits.required(seconds, "Retry-After")

    def _retry_or_raise(
        self,
        started: float,
        attempt: int,
        reason: str,
        message: str,
        retry_after: float | None,
        on_retry: Callable[[str], None] | None,
        status: int | None = None,
    ) -> None:
        if attempt >= self.retry.max_attempts:
            raise HubResponseError(f"{message} (gave up after {attempt} tries)", status=status)
        delay = self.retry.backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        elapsed = self._clock() - started
        if elapsed + delay >= self.retry.request_deadline_s:
            raise HubResponseError(
                f"{message} (gave up after {attempt} tries in {elapsed:.0f} s; the limit per request is "
                f"HUBMINE_REQUEST_DEADLINE_S={self.retry.request_deadline_s:g})",
                status=status,
            )
        self.stats.add("retries")
        if on_retry is not None:
            on_retry(reason)
        if delay >= NOTICE_AFTER_S:
            notice(f"{message} (try {attempt} of {self.retry.max_attempts}); trying again in {delay:.0f} s")
        self._sleep(delay)


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, BodyTooLarge):
        return "too_large"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "undecodable"  # a broken compressed stream, or more stacked encodings than are read
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated"
    return "connection"


# A URL's user:password part, should a server's redirect or an exception text carry one.
_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")


def _connection_cause(exc: BaseException) -> str:
    """The root cause of a connection error ("Connection refused"), not urllib3's nested repr."""
    text = _USERINFO.sub("", str(exc))
    cause = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if cause:
        return cause.group(1).strip()
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
