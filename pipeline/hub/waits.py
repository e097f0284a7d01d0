"""Every wait a server asks for, bounded: a hostile or broken one could ask for days, or for infinity.

A wait the client must honour (`Retry-After`, or `RateLimit` `t` once the quota is spent) beyond the cap
fails the request at once, with one line: waiting out the cap, only to be told the same again, would
hold a run for the cap over and over. Other times (a window's length, a reset while quota is left)
are only capped.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace

from pipeline import settings
from pipeline.errors import HubResponseError
from pipeline.hub.notices import notice
from pipeline.hub.ratelimit import RESERVE, RateLimitInfo

DEFAULT_MAX_SERVER_WAIT_S = settings.MAX_SERVER_WAIT_S.default


class ServerWaits:
    """Caps the seconds a server asks to wait (`Retry-After`, `RateLimit` t, `RateLimit-Policy` w).

    A cap applied is said on stderr, once per header, not on every response that repeats it.
    """

    def __init__(self, cap_s: float = DEFAULT_MAX_SERVER_WAIT_S) -> None:
        self.cap_s = cap_s
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def seconds(self, value: float, source: str) -> float | None:
        """`value` within [0, cap]; None when it is no number at all (NaN)."""
        if math.isnan(value):
            return None
        if value <= self.cap_s:
            return max(value, 0.0)
        with self._lock:
            first = source not in self._told
            self._told.add(source)
        if first:
            notice(
                f"the server asked to wait {value:g} s ({source}); waiting at most {self.cap_s:g} s "
                "(HUBMINE_MAX_SERVER_WAIT_S)"
            )
        return self.cap_s

    def required(self, value: float, source: str) -> float | None:
        """A wait the client must honour: `value` within [0, cap], None for NaN; beyond the cap,
        HubResponseError at once."""
        if value > self.cap_s:
            raise HubResponseError(
                f"the server asked to wait {value:g} s ({source}), longer than HUBMINE_MAX_SERVER_WAIT_S="
                f"{self.cap_s:g}; try again later, or raise HUBMINE_MAX_SERVER_WAIT_S if the wait is real"
            )
        return self.seconds(value, source)

    def rate_limit(self, info: RateLimitInfo | None) -> RateLimitInfo | None:
        """`info` with its times bounded (a spent quota's reset is required); None when its reset
        time is no number."""
        if info is None:
            return None
        bounded = self.required if info.remaining <= RESERVE else self.seconds
        reset_s = bounded(info.reset_s, "RateLimit t")
        if reset_s is None:
            return None
        window_s = None if info.window_s is None else self.seconds(info.window_s, "RateLimit-Policy w")
        quota = info.quota if window_s and info.quota and info.quota > 0 else None
        return replace(info, reset_s=reset_s, quota=quota, window_s=window_s if quota else None)
