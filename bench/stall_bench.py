"""How long `hubmine crawl` takes to end against a hostile endpoint; a slow but working one completes.

    python -m bench.stall_bench [--cases hang,trickle,...] [--card-sizes 4000,8000,80000]

Each case runs `hubmine crawl --no-cards` in a child process, with the client's default settings,
against a local misbehaving server (`tests/hostile_server.py`):

- `refused`: nothing listens on the port;
- `hang`: the connection is accepted and never answered;
- `trickle`: the listing promises a megabyte and sends a byte every 2 s;
- `retry_after`: a 429 asking to wait 10^9 s;
- `ratelimit_inf`: a page whose `RateLimit` says the quota is spent until `t=inf`;
- `slow_start`: three pages, each begun after 25 s (a slow server, not a dead one);
- `slow_body`: three pages of 300 KB sent at 10 KB/s (30 s a page).

Then `parse_card` reads the hostile card of `tests/test_linear_patterns.py` (each line an input that
made a pattern backtrack, `n` characters long) for each of `--card-sizes`: work that grows with `n`
squared or faster is a card that stalls `analyze`.

Prints one JSON object per case (seconds to end, exit status, the error line, stderr lines) and per
card size; writes bench/results/stall.json. The hostile cases must end within 120 s with one error
line; the slow ones must complete.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.cards.parse import parse_card
from tests.hostile_server import HostileHub
from tests.test_linear_patterns import hostile_card

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
TARGET_S = 120.0
ERROR = "hubmine: error:"

# case: (a server to run, or None for a closed port; whether the crawl must complete)
CASES: dict[str, tuple[Callable[[], AbstractContextManager[Any]], bool]] = {
    "refused": (lambda: nullcontext(None), False),
    "hang": (lambda: HostileHub("hang"), False),
    "trickle": (lambda: HostileHub("trickle", trickle_s=2.0), False),
    "retry_after": (lambda: HostileHub("rate_limit", retry_after="1e9"), False),
    "ratelimit_inf": (lambda: HostileHub("rate_limit", rate_limit='"api";r=0;t=inf'), False),
    "slow_start": (lambda: HostileHub("slow", first_byte_s=25.0), True),
    "slow_body": (lambda: HostileHub("slow", piece=1024, trickle_s=0.1, page_bytes=300_000), True),
}


def run_case(name: str) -> dict[str, Any]:
    server, completes = CASES[name]
    with server() as hub, tempfile.TemporaryDirectory(prefix="stall-bench-") as tmp:
        endpoint = hub.url if hub is not None else "http://127.0.0.1:9"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("HUBMINE_", "HF_"))}
        env |= {"HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "crawl", "--no-cards", "--data-dir", tmp],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        requests = len(hub.requests) if hub is not None else None
    lines = done.stderr.splitlines()
    # The progress bar may still hold the line the error is written on.
    errors = [line[line.index(ERROR) :] for line in lines if ERROR in line]
    ended = done.returncode == 1 and len(errors) == 1 and seconds <= TARGET_S
    ok = done.returncode == 0 if completes else ended
    return {
        "case": name,
        "seconds": round(seconds, 1),
        "exit_status": done.returncode,
        "requests": requests,
        "error": errors[0][-300:] if errors else None,  # its end says why; its start names the URL
        "stderr_lines": len(lines),
        "meets_target": ok,
    }


def time_card(size: int) -> dict[str, Any]:
    card = hostile_card(size)
    started = time.perf_counter()
    parsed = parse_card("hostile/card", card, None)
    return {
        "card_size": size,
        "card_chars": len(card),
        "seconds": round(time.perf_counter() - started, 3),
        "problems": parsed.problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases, or none")
    parser.add_argument("--card-sizes", default="4000,8000,80000", help="comma-separated, or none")
    args = parser.parse_args()
    results = []
    for name in filter(None, args.cases.split(",")):
        results.append(run_case(name))
        print(json.dumps(results[-1]), flush=True)
    for size in filter(None, args.card_sizes.split(",")):
        results.append(time_card(int(size)))
        print(json.dumps(results[-1]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.now(timezone.utc).date().isoformat(),
        "results": results,
    }
    (RESULTS / "stall.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
