"""How long `hubmine --help` takes to start, against a baseline checkout, each measured in this one run.

    python -m bench.cli_start_bench --baseline DIR [--rounds N]

DIR is another checkout of hubmine (say, `git archive <commit> | tar -x -C /tmp/base`). Both run
`python -m pipeline --help` in a fresh interpreter of this Python, with their own folder first on the
path, rounds interleaved; the median of each, and their ratio, are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def start_seconds(checkout: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], cwd=checkout, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another hubmine checkout")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"baseline": [], "this checkout": []}
    for _ in range(args.rounds):
        times["baseline"].append(start_seconds(args.baseline))
        times["this checkout"].append(start_seconds(REPO_ROOT))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print("| checkout | median start of `--help` (s) |")
    print("|---|---|")
    for name, median in medians.items():
        print(f"| {name} | {median:.3f} |")
    print(f"\nbaseline / this checkout: {medians['baseline'] / medians['this checkout']:.2f}x")


if __name__ == "__main__":
    main()
