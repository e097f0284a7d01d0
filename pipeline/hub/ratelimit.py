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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.hub.notices import NOTICE_AFTER_S, notice

_PARAM = re.compile(r'"?([A-Za-z_-]+)"?\s*(?:=\s*"?([^;",]*)"?)?')


# Requests a pacer keeps back from a window's count: at this many left, the quota counts as spent.
RESERVE = 2


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
    # Not huggingface_hub's parse_ratelimit_headers: it skips a `t` that is no whole number (`inf`), so a
    # spent quota asking to wait forever would pass unseen, and its policy pattern is quadratic in the header.
    raw = headers.get("RateLimit") or headers.get("ratelimit")
    if not raw:
        return None
    bucket, values = _params(raw)
    try:
        # A negative count means none left; an infinite one is no count (int() raises OverflowError).
        remaining = max(int(float(values["r"])), 0)
        reset_s = float(values["t"])
    except (KeyError, ValueError, OverflowError):
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


@dataclass(frozen=True)
class Ticket:
    """One request let through by a `Pacer`: its place in the send order and when it went."""

    number: int
    sent_at: float


class Pacer:
    """Hands out send times for one bucket so its quota is used to the full without tripping it.

    It keeps an estimate of the current window: how many requests the Hub still accepts in it and
    when it ends at the latest. Each response's `r` counts the requests the Hub had seen when it
    answered, so the estimate subtracts what was sent after that request; responses older than
    the one the estimate rests on say nothing new. `t` is rounded up to whole seconds, so each
    response only bounds the window's end (before receipt + `t`); the tightest bound wins. When
    the work outlasts the window, the remaining requests are spread evenly until that end; when
    the caller's plan (`plan`) fits what is left, they go at once.
    """

    def __init__(
        self,
        reserve: int = RESERVE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # A few requests are kept back for a window whose count the estimate got slightly wrong.
        self._reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._planned: int | None = None
        self._sent = 0
        self._in_flight = 0
        self._quota: int | None = None
        self._window: float | None = None
        self._remaining: int | None = None
        self._remaining_as_of = 0  # the ticket whose response `_remaining` rests on
        self._window_first = 0  # the first ticket sent into the current window
        self._window_end: float | None = None
        self._next_slot = 0.0

    def wait(self) -> Ticket:
        """Block until this bucket may send one more request; hand the ticket back to `done`."""
        with self._lock:
            slot = max(self._clock(), self._next_slot)
            if self._window_end is not None and slot >= self._window_end:
                self._next_window()
            spent = self._remaining is not None and self._remaining <= self._reserve
            if spent and self._window_end is not None:
                # The next window starts once this one has surely ended.
                slot = max(slot, self._window_end)
                self._next_window()
                wait = slot - self._clock()
                if wait >= NOTICE_AFTER_S:
                    notice(f"the rate-limit quota is spent; waiting {wait:.0f} s for the next window")
            if self._remaining is not None:
                self._next_slot = slot + self._interval(slot, self._remaining - self._reserve)
                self._remaining -= 1
            if self._planned:
                self._planned -= 1
            self._sent += 1
            self._in_flight += 1
            ticket = Ticket(self._sent, slot)
        delay = slot - self._clock()
        if delay > 0:
            self._sleep(delay)
        return ticket

    def _interval(self, slot: float, left: int) -> float:
        if left > 0 and self._planned is not None and self._planned <= left:
            return 0.0
        if left > 0 and self._window_end is not None:
            return max(self._window_end - slot, 0.0) / left
        if self._quota and self._window:
            # Until a response says when this window ends, go at the quota's average rate.
            return self._window / max(self._quota - self._reserve, 1)
        return 0.0

    def _next_window(self) -> None:
        # Requests still in flight may land in the new window and count against it.
        self._remaining = None if self._quota is None else self._quota - self._in_flight
        self._remaining_as_of = self._sent
        self._window_first = self._sent + 1
        self._window_end = None

    def done(self, ticket: Ticket, info: RateLimitInfo | None) -> None:
        """Take in what the response to `ticket` said about the quota (None: it said nothing)."""
        with self._lock:
            self._in_flight -= 1
            if info is None:
                return
            if info.quota is not None:
                self._quota, self._window = info.quota, info.window_s
            if ticket.number < self._window_first:
                return  # sent before the current window began: its count is already allowed for
            latest_end = self._clock() + info.reset_s
            # Requests sent after this one were counted after it (or will be).
            remaining = info.remaining - (self._sent - ticket.number)
            if self._remaining is None or self._window_end is None or self._is_later_window(ticket, info):
                self._remaining, self._remaining_as_of = remaining, ticket.number
                self._window_first = ticket.number
                self._window_end = latest_end
                return
            self._window_end = min(self._window_end, latest_end)
            if ticket.number > self._remaining_as_of:
                self._remaining, self._remaining_as_of = remaining, ticket.number

    def _is_later_window(self, ticket: Ticket, info: RateLimitInfo) -> bool:
        """Whether the response to `ticket` was counted in a window after the current one."""
        assert self._window_end is not None and self._remaining is not None
        # `t` is rounded up: the response's window ends after sent_at + t - 1.
        if ticket.sent_at + info.reset_s - 1 >= self._window_end:
            return True
        # A count far above the estimate can only come from a fresh window.
        jump = max(self._quota // 4 if self._quota else 0, 2 * self._in_flight + self._reserve)
        return info.remaining - (self._sent - ticket.number) > self._remaining + jump

    def plan(self, requests: int | None) -> None:
        """Say how many more requests this bucket will need (None: unknown, so always spread)."""
        with self._lock:
            self._planned = requests

    def pause(self, seconds: float) -> None:
        """Hold every sender of this bucket back (after a 429 with Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)
