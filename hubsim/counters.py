"""Thread-safe request counters read by tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable


class Counters:
    """`"connections"` counts the TCP connections accepted (keep-alive clients reuse theirs); keys
    counted for each request:

    - `"requests"`: every request that reached the server;
    - the bucket: `"api"`, `"resolvers"`, `"pages"` (anything else);
    - the route: `"listing"`, `"model_info"`, `"commits"`, `"tree"`, `"resolve"`, `"whoami"`, `"other"`;
    - the status as a string (`"200"`, `"307"`, `"429"`, ...) and `(route, status)`, `(bucket, status)`
      with an int status;
    - `"faults"` and `("fault", kind)` for injected faults;
    - `("bytes_sent", route)`: the body bytes sent (route `"git"`: git's smart HTTP).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Hashable] = Counter()

    def add(self, *keys: Hashable) -> None:
        with self._lock:
            self._counts.update(keys)

    def add_amount(self, key: Hashable, amount: int) -> None:
        with self._lock:
            self._counts[key] += amount

    def snapshot(self) -> Counter[Hashable]:
        with self._lock:
            return Counter(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
