"""Publish benchmark: a crawled and analyzed snapshot of N simulated models published to the simulator.

    python -m bench.publish_bench [--models N]

Measures `hubmine publish` (a child process, as a user runs it): the dry run that lays out the folder,
the upload (requests by route, bytes, one commit), and a rerun that finds nothing changed. Prints the
figures and writes bench/results/publish.json.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.store.layout import DataDir

REPO_ROOT = Path(__file__).resolve().parent.parent
REPO = "bench/hub-models"


def _publish(url: str, data_dir: Path, *args: str) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    # The simulator speaks LFS, not Xet.
    env.update(HF_ENDPOINT=url, HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    command = [sys.executable, "-m", "pipeline", "publish", "latest", "--repo", REPO, "--data-dir"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, str(data_dir), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip(), round(time.perf_counter() - started, 2)


def _requests(sim: HubSimulator) -> dict[str, int]:
    counts = sim.counters
    return {
        "requests": counts["requests"],
        "api": counts["api"],
        "lfs_put_and_verify": counts["lfs"],
        "other_pages": counts["pages"] - counts["lfs"],
    }


def bench(n: int, work: Path) -> dict[str, Any]:
    data = DataDir(work / "data")
    registry = Registry.synthetic(n=n, seed=7)
    with HubSimulator(registry) as sim:
        run_crawl(data.root, CrawlParams(workers=16), snapshot_id="s1", endpoint=sim.url)
        run_analyze(data.root, None)
        _, dry_s = _publish(sim.url, data.root, "--dry-run")
        folder = data.published("s1").dir
        files = [p for p in folder.rglob("*") if p.is_file()]
        sim.reset_counters()
        line, upload_s = _publish(sim.url, data.root)
        first = _requests(sim)
        sim.reset_counters()
        _, rerun_s = _publish(sim.url, data.root)
        rerun = _requests(sim)
        commit = registry.datasets.get(REPO).sha
    return {
        "models": n,
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "dry_run_seconds": dry_s,
        "upload_seconds": upload_s,
        "upload_requests": first,
        "rerun_seconds": rerun_s,
        "rerun_requests": rerun,
        "summary": line,
        "commit": commit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = bench(args.models, Path(tmp))
    results = {
        "command": f"python -m bench.publish_bench --models {args.models}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).date().isoformat(),
        "publish": figures,
    }
    out = REPO_ROOT / "bench" / "results" / "publish.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
