"""Quota pacing from the Hub's `RateLimit` / `RateLimit-Policy` headers.

The Hub counts requests in fixed windows per bucket (`api`, `resolvers`, ...) and says, on every
response, how many requests are left (`r`) and how many seconds until the window resets (`t`).
Bursting spends the window in its first seconds and then waits on 429s; spreading the remaining
requests evenly over the time left uses the whole quota without tripping it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

_PARAM = re.compile(r'"?([A-Za-z_-]+)"?\s*(?:=\s*"?([^;",]*)"?)?')


@dataclass(frozen=True)
class RateLimitInfo:
    bucket: str
    remaining: int
    reset_s: float
    quota: int | None = None
    window_s: float | None = None


def _params(header: str) -> tuple[str | None, dict[str, str]]:
    """Split `"api";r=12;t=30` into ("api", {"r": "12", "t": "30"})."""
    name: str | None = None
    values: dict[str, str] = {}
    for item in header.split(";"):
        item = item.strip()
        if not item:
            continue
        match = _PARAM.fullmatch(item)
        if not match:
            continue
        key, value = match.groups()
        if value is None:
            name = key
        else:
            values[key] = value
    return name, values


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """Read `RateLimit` (and `RateLimit-Policy` when present); None when the response has none."""
    raw = headers.get("RateLimit") or headers.get("ratelimit")
    if not raw:
        return None
    bucket, values = _params(raw)
    try:
        remaining = int(float(values["r"]))
        reset_s = float(values["t"])
    except (KeyError, ValueError):
        return None
    quota = window = None
    policy = headers.get("RateLimit-Policy") or headers.get("ratelimit-policy")
    if policy:
        policy_values = _params(policy)[1]
        try:
            quota = int(policy_values["q"])
            window = float(policy_values["w"])
        except (KeyError, ValueError):
            quota = window = None
    return RateLimitInfo(bucket or "api", remaining, reset_s, quota, window)


class Pacer:
    """Hands out send times for one bucket so its remaining quota lasts until the window resets.

    When the caller has said how many requests it still plans (`plan`) and they all fit in what is
    left of the window, they go at once: spreading only pays when the work outlasts the quota.
    """

    def __init__(self, reserve: int = 2) -> None:
        # A few requests are kept back for retries and for requests already in flight.
        self._reserve = reserve
        self._planned: int | None = None
        self._lock = threading.Lock()
        self._remaining: float | None = None
        self._reset_at = 0.0
        self._quota: int | None = None
        self._window: float | None = None
        self._next_slot = 0.0

    def wait(self) -> None:
        """Block until this bucket may send one more request."""
        with self._lock:
            now = time.monotonic()
            if self._remaining is not None and now >= self._reset_at:
                # The window rolled over: assume a fresh quota until a response says otherwise.
                self._remaining = self._quota
                self._reset_at = now + (self._window or 1.0)
            slot = max(now, self._next_slot)
            if self._remaining is not None:
                left = self._remaining - self._reserve
                if left > 0 and self._planned is not None and self._planned <= left:
                    interval = 0.0
                elif left > 0:
                    interval = max(self._reset_at - slot, 0.0) / left
                else:
                    # This window is spent: wait for the next one and spread from its start.
                    slot = max(slot, self._reset_at)
                    interval = self._window / self._quota if self._quota and self._window else 0.0
                self._next_slot = slot + interval
                self._remaining -= 1
            if self._planned:
                self._planned -= 1
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def plan(self, requests: int | None) -> None:
        """Say how many more requests this bucket will need (None: unknown, so always spread)."""
        with self._lock:
            self._planned = requests

    def update(self, info: RateLimitInfo) -> None:
        with self._lock:
            self._remaining = info.remaining
            self._reset_at = time.monotonic() + info.reset_s
            if info.quota is not None:
                self._quota, self._window = info.quota, info.window_s

    def pause(self, seconds: float) -> None:
        """Hold every sender of this bucket back (after a 429 with Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, time.monotonic() + seconds)
