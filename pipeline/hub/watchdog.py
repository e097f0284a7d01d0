"""Says on stderr what the crawl waits for whenever a request goes unanswered for more than a few seconds.

A server that accepts a connection and never answers holds a request for the whole read timeout,
try after try; without a word the crawl would look hung.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.hub.notices import NOTICE_AFTER_S, notice

REPEAT_S = 30.0


@dataclass
class _Waiting:
    url: str
    attempt: int
    attempts: int
    since: float
    told: float | None = None


class Watchdog:
    def __init__(self, notice_after_s: float = NOTICE_AFTER_S, repeat_s: float = REPEAT_S) -> None:
        self._notice_after_s = notice_after_s
        self._repeat_s = repeat_s
        self._waiting: dict[int, _Waiting] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def waiting(self, url: str, attempt: int, attempts: int) -> Iterator[None]:
        """Watch one try of a request to `url` (a public URL) while the block runs."""
        key = next(self._ids)
        with self._lock:
            self._waiting[key] = _Waiting(url, attempt, attempts, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hub-watchdog", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                del self._waiting[key]

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        """Say, in one line, what has waited past the threshold and was not told of lately."""
        with self._lock:
            due = [
                w
                for w in self._waiting.values()
                if now - w.since >= self._notice_after_s
                and (w.told is None or now - w.told >= self._repeat_s)
            ]
            for w in due:
                w.told = now
            others = len(self._waiting) - 1
        if not due:
            return
        oldest = min(due, key=lambda w: w.since)
        more = f"; {others} more requests waiting" if others else ""
        notice(
            f"waiting {now - oldest.since:.0f} s for an answer from {oldest.url} "
            f"(try {oldest.attempt} of {oldest.attempts}){more}"
        )
