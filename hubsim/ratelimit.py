"""Fixed-window quotas per bucket, with the Hub's `RateLimit` / `RateLimit-Policy` headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Quotas:
    """Requests allowed per window and bucket (the Hub: 500 API and 3,000 resolver calls per 300 s anonymous).

    `window_s` may be scaled down (seconds instead of minutes) so a benchmark exhausts windows quickly.
    A bucket whose quota is None is not limited.
    """

    api: int | None = 500
    resolvers: int | None = 3000
    window_s: float = 300.0
    pages: int | None = None

    def quota(self, bucket: str) -> int | None:
        return {"api": self.api, "resolvers": self.resolvers, "pages": self.pages}.get(bucket)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    bucket: str
    remaining: int
    reset_s: float  # exact seconds until the window ends
    quota: int
    window_s: float

    def headers(self) -> list[tuple[str, str]]:
        """`t` and `Retry-After` are whole seconds rounded up, as the Hub sends them (and clients parse
        them as integers); `X-Hubsim-RateLimit-Reset` gives the exact remaining time for scaled windows."""
        reset = max(1, math.ceil(self.reset_s))
        out = [
            ("RateLimit", f'"{self.bucket}";r={self.remaining};t={reset}'),
            (
                "RateLimit-Policy",
                f'"fixed window";"{self.bucket}";q={self.quota};w={max(1, math.ceil(self.window_s))}',
            ),
            ("X-Hubsim-RateLimit-Reset", f"{self.reset_s:.3f}"),
        ]
        if not self.allowed:
            out.append(("Retry-After", str(reset)))
        return out


class RateLimiter:
    """Windows start when the limiter is made and follow each other back to back; all clients share them."""

    def __init__(self, quotas: Quotas, clock: Callable[[], float] = time.monotonic) -> None:
        self.quotas = quotas
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._window: dict[str, int] = {}
        self._used: dict[str, int] = {}

    def hit(self, bucket: str) -> Decision | None:
        """Count one request; None when the bucket is not limited."""
        quota = self.quotas.quota(bucket)
        if quota is None:
            return None
        window_s = self.quotas.window_s
        with self._lock:
            elapsed = self._clock() - self._start
            window = int(elapsed // window_s)
            if self._window.get(bucket) != window:
                self._window[bucket] = window
                self._used[bucket] = 0
            allowed = self._used[bucket] < quota
            if allowed:
                self._used[bucket] += 1
            remaining = quota - self._used[bucket]
        reset_s = (window + 1) * window_s - elapsed
        return Decision(allowed, bucket, remaining, reset_s, quota, window_s)
