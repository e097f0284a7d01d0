"""Injected failures: a deterministic share of requests fails, and a retried request soon succeeds."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .fields import unit

FAULT_KINDS: tuple[str, ...] = ("5xx", "reset", "truncate", "slow", "bad_json")
SERVER_ERRORS: tuple[int, ...] = (500, 502, 503, 504)


@dataclass(frozen=True)
class Faults:
    """`rate`: share of requests that fail. The same request (method and URL) fails at most
    `max_in_a_row` times in a row, so a client that retries always gets through.

    Kinds: `5xx` (500/502/503/504), `reset` (connection closed with no response), `truncate` (full
    Content-Length, part of the body, then close), `slow` (`slow_s` delay, then a normal answer) and
    `bad_json` (200 with a cut JSON body whose Content-Length matches what is sent; /api/ routes only).
    """

    rate: float = 0.1
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    slow_s: float = 0.5
    max_in_a_row: int = 2

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._in_a_row: dict[str, int] = {}  # only requests that are currently failing

    def decide(self, request_key: str, applicable: tuple[str, ...]) -> str | None:
        """The fault for this attempt of the request, or None. Depends only on seed, request and attempt."""
        kinds = [k for k in self.faults.kinds if k in applicable]
        with self._lock:
            attempt = self._in_a_row.get(request_key, 0)
            seed = self.faults.seed
            if (
                kinds
                and attempt < self.faults.max_in_a_row
                and unit("fault", seed, request_key, attempt) < self.faults.rate
            ):
                self._in_a_row[request_key] = attempt + 1
                return kinds[int(unit("kind", seed, request_key, attempt) * len(kinds))]
            self._in_a_row.pop(request_key, None)
            return None

    def server_error(self, request_key: str) -> int:
        return SERVER_ERRORS[int(unit("status", self.faults.seed, request_key) * len(SERVER_ERRORS))]
