"""Crawl benchmarks against the Hub simulator, each figure a ratio or count measured in this one run.

    python -m bench.crawl_bench [--quick] [metadata cards quota tight recrawl faults sigkill]

Prints a Markdown table (for docs/benchmarks.md) and writes bench/results/crawl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hubsim import Faults, HubSimulator, Quotas, Registry
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.store.layout import DataDir

REPO_ROOT = Path(__file__).resolve().parent.parent
TIME_COLUMNS = {"fetched_at", "listed_at"}

BASELINE = textwrap.dedent(
    """
    import sys
    from huggingface_hub import HfApi, ModelCard
    n = int(sys.argv[1])
    for m in HfApi().list_models(sort="downloads", limit=n):
        try:
            ModelCard.load(m.id)
        except Exception:
            pass
    """
)


def _env(url: str, cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    env.update(
        HF_ENDPOINT=url,
        HF_HUB_CACHE=cache,
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
    )
    return env


def _crawl(url: str, data_dir: Path, **params: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run_crawl(data_dir, CrawlParams(**params), endpoint=url)
    return result, time.perf_counter() - started


def bench_metadata(n: int, work: Path) -> dict[str, Any]:
    """Requests per model and peak memory of a metadata-only crawl (the crawl runs in a child process)."""
    registry = Registry.synthetic(n=n, seed=1)
    with HubSimulator(registry) as sim:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "crawl",
                "--no-cards",
                "--data-dir",
                str(work),
                "--snapshot",
                "meta",
            ],
            cwd=REPO_ROOT,
            env=_env(sim.url, str(work / "cache")),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        api = sim.counters["api"]
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    models = pq.ParquetFile(DataDir(work).snapshot("meta").models).metadata.num_rows
    return {
        "models": models,
        "api_requests": api,
        "requests_per_model": api / models,
        "models_per_request": models / api,
        "peak_rss_mib": round(peak_mib),
        "seconds": round(elapsed, 1),
    }


def bench_cards(n: int, work: Path, latency_s: float = 0.02) -> dict[str, Any]:
    """hubmine's card crawl versus list_models + ModelCard.load, same simulator and latency."""
    registry = Registry.synthetic(n=n, seed=2)
    with HubSimulator(registry, latency_s=latency_s) as sim:
        result, ours = _crawl(sim.url, work / "ours", limit=n, workers=32)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", BASELINE, str(n)],
            env=_env(sim.url, str(work / "hf-cache")),
            check=True,
            stderr=subprocess.DEVNULL,
        )
        baseline = time.perf_counter() - started
    return {
        "models": n,
        "cards": result.counts["cards_asked"],
        "latency_ms": latency_s * 1000,
        "hubmine_s": round(ours, 1),
        "baseline_s": round(baseline, 1),
        "speedup": round(baseline / ours, 1),
    }


def bench_quota(n: int, work: Path, window_s: float, resolvers: int = 3000) -> dict[str, Any]:
    """Cards under a resolver quota (the Hub's anonymous one: 3,000 calls per window), window scaled down."""
    registry = Registry.synthetic(n=n, seed=3)
    quotas = Quotas(api=500, resolvers=resolvers, window_s=window_s)
    with HubSimulator(registry, quotas=quotas) as sim:
        result, elapsed = _crawl(sim.url, work, workers=32)
        throttled = sim.counters["429"]
        calls = sim.counters["resolvers"]
    quota_rate = resolvers / window_s
    rate = calls / elapsed
    return {
        "models": n,
        "quota": f"{resolvers} resolver calls / {window_s:g} s",
        "resolver_requests": calls,
        "responses_429": throttled,
        "seconds": round(elapsed, 1),
        "ideal_s": round(calls / quota_rate, 1),
        "resolver_rate_per_s": round(rate),
        "quota_rate_per_s": round(quota_rate),
        "rate_vs_quota": round(rate / quota_rate, 3),
        "status": result.status,
    }


def bench_sigkill(n: int, work: Path, workers: int = 16, kill_at: float = 0.4) -> dict[str, Any]:
    """SIGKILL a child crawl once it has asked for `kill_at` of its files (READMEs and eval-results
    files), then `--resume` it."""
    registry = Registry.synthetic(n=n, seed=8)
    with HubSimulator(registry, latency_s=0.005) as sim:
        clean, _ = _crawl(sim.url, work / "clean", workers=workers)
        readmes = clean.counts["cards_asked"]
        files = readmes + clean.counts["eval_results"]["files"]
        sim.reset_counters()
        data_dir = work / "killed"
        env = {**_env(sim.url, str(work / "cache")), "HUBMINE_BACKOFF_S": "0.05"}
        args = [
            sys.executable,
            "-m",
            "pipeline",
            "crawl",
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
        ]
        child = subprocess.Popen(
            [*args, "--snapshot", "s1"],
            cwd=REPO_ROOT,
            env=env,
            stderr=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while (
            sim.counters["resolvers"] < kill_at * files
            and child.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        child.kill()
        child.wait()
        before_kill = sim.counters["resolvers"]
        subprocess.run([*args, "--resume"], cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        both_runs = sim.counters["resolvers"]
    resumed = DataDir(data_dir).snapshot("s1")
    same = all(
        _rows(clean.snapshot.table(name)) == _rows(resumed.table(name))
        for name in ("models", "cards", "eval_results")
    )
    return {
        "models": n,
        "readmes": readmes,
        "eval_results_files": files - readmes,
        "workers": workers,
        "requests_before_kill": before_kill,
        "requests_after_resume": both_runs - before_kill,
        "requests_both_runs": both_runs,
        "bound": files + workers,
        "within_bound": both_runs <= files + workers,
        "tables_equal": same,
    }


def bench_recrawl(n: int, work: Path, fractions: tuple[float, ...] = (0.001, 0.01, 0.1)) -> dict[str, Any]:
    """Crawl once, then again after each share of the models got a new sha and README: the requests
    of each re-crawl as a function of how much changed."""
    registry = Registry.synthetic(n=n, seed=4)
    runs = []
    with HubSimulator(registry) as sim:
        _crawl(sim.url, work)
        for i, fraction in enumerate(fractions):
            changed = registry.change_shas(fraction=fraction, seed=5 + i)
            sim.reset_counters()
            result, elapsed = _crawl(sim.url, work)
            file_requests = sim.counters["resolvers"]
            runs.append(
                {
                    "changed_share": fraction,
                    "changed_models": len(changed),
                    "api_requests": sim.counters["api"],
                    "file_requests": file_requests,
                    "requests_per_changed_model": round(file_requests / len(changed), 3),
                    "cards_reused": result.counts["cards_reused"],
                    "seconds": round(elapsed, 1),
                }
            )
    return {"models": n, "runs": runs}


def _rows(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path)
    return table.select([c for c in table.column_names if c not in TIME_COLUMNS]).to_pylist()


def bench_faults(n: int, work: Path, rate: float = 0.1) -> dict[str, Any]:
    registry = Registry.synthetic(n=n, seed=6)
    with HubSimulator(registry) as sim:
        clean, clean_s = _crawl(sim.url, work / "clean", workers=32)
    faults = Faults(rate=rate, seed=7, kinds=("5xx", "reset", "truncate", "bad_json", "slow"))
    with HubSimulator(registry, faults=faults) as sim:
        faulty, faulty_s = _crawl(sim.url, work / "faulty", workers=32)
        injected = sim.counters["faults"]
    same = all(
        _rows(clean.snapshot.table(name)) == _rows(faulty.snapshot.table(name))
        for name in ("models", "cards")
    )
    return {
        "models": n,
        "fault_rate": rate,
        "faults_injected": injected,
        "tables_equal": same,
        "failed_models": faulty.counts["failed_models"],
        "clean_s": round(clean_s, 1),
        "faulty_s": round(faulty_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=["metadata", "cards", "quota", "tight", "recrawl", "faults", "sigkill"],
    )
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke run.")
    args = parser.parse_args()
    os.environ.setdefault("HUBMINE_BACKOFF_S", "0.05")
    scale = 10 if args.quick else 1
    runs: dict[str, Callable[[Path], dict[str, Any]]] = {
        "metadata": lambda w: bench_metadata(200_000 // scale, w),
        "cards": lambda w: bench_cards(5_000 // scale, w),
        "quota": lambda w: bench_quota(30_000 // scale, w, window_s=5.0),
        "tight": lambda w: bench_quota(3_000 // scale, w, window_s=2.0, resolvers=300),
        "sigkill": lambda w: bench_sigkill(3_000 // scale, w),
        "recrawl": lambda w: bench_recrawl(20_000 // scale, w),
        "faults": lambda w: bench_faults(10_000 // scale, w),
    }
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    for name in args.scenarios:
        with tempfile.TemporaryDirectory(prefix=f"hubmine-bench-{name}-") as tmp:
            results[name] = runs[name](Path(tmp))
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    out = REPO_ROOT / "bench" / "results" / "crawl.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
