"""What `hubmine history` costs per model: requests of a first run and of an incremental second run.

    python -m bench.history_bench [--models 50] [--commits 250] [--discussions 10] [--workers 4]

`--models` synthetic models are served by the Hub simulator, each given about `--commits` commits
(one per card revision) and `--discussions` discussions. After a metadata crawl, `run_history` lists
them all (monthly process metrics); then a fifth of the models get one new commit and it runs again.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hubsim import HubSimulator, Registry
from pipeline.longitudinal.history import run_history
from tests.crawl_helpers import crawl

STATUSES = ("open", "closed", "merged", "draft")


def _registry(models: int, commits: int, discussions: int) -> Registry:
    registry = Registry.synthetic(models, seed=7)
    # Each call gives every model one more card revision, hence one more commit.
    for _ in range(commits - 2):
        registry.change_shas(1.0)
    for i in range(models):
        for k in range(discussions):
            registry.add_discussion(
                registry.model_id(i),
                f"question {k}",
                author=f"user{k % 5}",
                status=STATUSES[(i + k) % 4],
                is_pull_request=(i + k) % 4 >= 2,
                created_ms=1_700_000_000_000 + (i * discussions + k) * 3_600_000,
            )
    return registry


def _run(sim: HubSimulator, data_dir: Path, models: int, workers: int) -> dict[str, Any]:
    sim.reset_counters()
    started = time.perf_counter()
    result = run_history(data_dir, None, top=models, workers=workers, endpoint=sim.url)
    seconds = time.perf_counter() - started
    counts = sim.counters
    return {
        "requests": counts["requests"],
        "commits_requests": counts["commits"],
        "discussions_requests": counts["discussions"],
        "discussion_details_requests": counts["discussion"],
        "requests_per_model": counts["requests"] / models,
        "new_commits": result.commits.rows,
        "discussions": result.discussions.rows,
        "process_rows": result.process_rows,
        "errored_models": len(result.commits.errored | result.discussions.errored),
        "seconds": round(seconds, 2),
        "summary": result.summary_line(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--commits", type=int, default=250)
    parser.add_argument("--discussions", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    registry = _registry(args.models, args.commits, args.discussions)
    held = sum(len(registry.commits(i)) for i in range(args.models))
    with tempfile.TemporaryDirectory() as tmp, HubSimulator(registry) as sim:
        data_dir = Path(tmp) / "data"
        os.environ.pop("HF_TOKEN", None)
        crawl(sim.url, data_dir, cards=False)
        first = _run(sim, data_dir, args.models, args.workers)
        changed = registry.change_shas(0.2, seed=11)
        second = _run(sim, data_dir, args.models, args.workers)
        table_bytes = {p.name: p.stat().st_size for p in sorted((data_dir / "history").glob("*.parquet"))}
    report = {
        "command": f"python -m bench.history_bench --models {args.models} --commits {args.commits} "
        f"--discussions {args.discussions} --workers {args.workers}",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": args.models,
        "commits_served": held,
        "models_with_a_new_commit": len(changed),
        "first_run": first,
        "second_run": second,
        "table_bytes": table_bytes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
