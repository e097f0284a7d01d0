"""Import benchmarks: `hubmine import` of a synthetic dump, and the first crawl with and without it.

    python -m bench.import_bench [--rows N] [--models N]

throughput: rows per second and peak memory (max RSS of a child process) of importing a local dump of
`--rows` rows (about 500-byte cards) in 8 Parquet files. first-crawl: requests of a first crawl of a
`--models`-model simulator registry, from nothing and after importing a dump of 90% of its models,
with 5% of the registry's models modified after the dump.

Prints a Markdown table (for docs/benchmarks.md) and writes bench/results/import.json.
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
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hubsim import HubSimulator, Registry
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.hub.records import parse_timestamp
from pipeline.longitudinal.imports import run_import

REPO_ROOT = Path(__file__).resolve().parent.parent

# The dump's columns, as `librarian-bots/model_cards_with_metadata` types them.
DUMP_SCHEMA = pa.schema(
    [
        ("modelId", pa.string()),
        ("author", pa.string()),
        ("last_modified", pa.timestamp("us", tz="UTC")),
        ("downloads", pa.int64()),
        ("likes", pa.int64()),
        ("library_name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("pipeline_tag", pa.string()),
        ("createdAt", pa.timestamp("us", tz="UTC")),
        ("card", pa.large_string()),
    ]
)


def registry_dump(registry: Registry, indices: list[int]) -> pa.Table:
    """The models `indices` of `registry` as a dump holds them: their metadata and card as served now."""
    rows = []
    for i in indices:
        info = registry.model_info(i, siblings=False)
        readme = registry.readme(i)
        rows.append(
            {
                "modelId": info["id"],
                "author": info.get("author"),
                "last_modified": parse_timestamp(info["lastModified"]),
                "downloads": info.get("downloads"),
                "likes": info.get("likes"),
                "library_name": info.get("library_name"),
                "tags": info.get("tags"),
                "pipeline_tag": info.get("pipeline_tag"),
                "createdAt": parse_timestamp(info["createdAt"]),
                "card": readme.decode("utf-8", "replace") if readme is not None else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=DUMP_SCHEMA)


def write_dump(table: pa.Table, folder: Path, files: int) -> list[Path]:
    """`table` split into `files` Parquet files named as the Hub names a dataset's shards."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    step = -(-table.num_rows // files)
    for k in range(files):
        path = folder / f"train-{k:05d}-of-{files:05d}.parquet"
        pq.write_table(table.slice(k * step, step), path, row_group_size=10_000)
        paths.append(path)
    return paths


def synthetic_dump(rows: int, folder: Path, files: int = 8, card_bytes: int = 500) -> None:
    """`rows` generated dump rows with cards of about `card_bytes`, written a file at a time."""
    rng = np.random.default_rng(0)
    body = "x" * max(0, card_bytes - 60)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // files)
    for k in range(files):
        ids = range(k * per_file, min(rows, (k + 1) * per_file))
        days = rng.integers(0, 700, len(ids))
        table = pa.table(
            {
                "modelId": [f"user{i % 5000}/model-{i}" for i in ids],
                "author": [f"user{i % 5000}" for i in ids],
                "last_modified": [start + timedelta(days=int(d)) for d in days],
                "downloads": rng.integers(0, 10_000, len(ids)),
                "likes": rng.integers(0, 100, len(ids)),
                "library_name": ["transformers"] * len(ids),
                "tags": [["transformers", "pytorch"]] * len(ids),
                "pipeline_tag": ["text-classification"] * len(ids),
                "createdAt": [start] * len(ids),
                "card": [f"---\nlicense: mit\ntags: [m{i}]\n---\n# model-{i}\n{body}" for i in ids],
            },
            schema=DUMP_SCHEMA,
        )
        pq.write_table(table, folder / f"train-{k:05d}-of-{files:05d}.parquet", row_group_size=10_000)


def _peak_kib() -> int:
    """This process's peak RSS. On Linux ru_maxrss keeps the parent's peak across fork and exec, so the
    memory map's own high-water mark (VmHWM) is read instead where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_import(dump: str, data: str) -> None:
    started = time.monotonic()
    result = run_import(Path(data), dump)
    elapsed = time.monotonic() - started
    print(json.dumps({"rows": result.counts.rows, "seconds": elapsed, "peak_mib": _peak_kib() / 1024}))


def throughput(rows: int, work: Path) -> dict[str, Any]:
    dump = work / "dump"
    synthetic_dump(rows, dump)
    dump_bytes = sum(p.stat().st_size for p in dump.iterdir())
    # A child process, so its peak memory is the import's alone.
    code = (
        f"from bench.import_bench import _child_import; _child_import({str(dump)!r}, {str(work / 'data')!r})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["rows_per_s"] = round(figures["rows"] / figures["seconds"])
    figures["dump_mib"] = round(dump_bytes / 2**20, 1)
    return figures


def first_crawl(models: int, work: Path) -> dict[str, Any]:
    """Requests of a first crawl from nothing and after an import of 90% of the models (5% of all
    modified after the dump)."""
    registry = Registry.synthetic(n=models, seed=5)
    dumped = [i for i in range(models) if i % 10]  # every tenth model is left out of the dump
    write_dump(registry_dump(registry, dumped), work / "dump", files=4)
    run_import(work / "imported", str(work / "dump"))
    registry.change_shas(fraction=0.05, seed=6)
    figures: dict[str, Any] = {"models": models, "dumped": len(dumped)}
    with HubSimulator(registry) as sim:
        for name in ("fresh", "imported"):
            sim.reset_counters()
            result = run_crawl(work / name, CrawlParams(), endpoint=sim.url)
            figures[name] = {
                "resolver_requests": result.counts["requests"]["resolvers"],
                "api_requests": result.counts["requests"]["api"],
                "cards_fetched": result.counts["cards_fetched"],
                "cards_reused": result.counts["cards_reused"],
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("HUBMINE_BACKOFF_S", "0.01")
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "throughput": throughput(args.rows, Path(tmp) / "throughput"),
            "first_crawl": first_crawl(args.models, Path(tmp) / "crawl"),
        }
    t, c = results["throughput"], results["first_crawl"]
    print("| Measure | Value |\n|---|---|")
    print(
        f"| import of {t['rows']:,} rows ({t['dump_mib']} MiB Parquet) | {t['seconds']:.1f} s, "
        f"{t['rows_per_s']:,} rows/s, peak RSS {t['peak_mib']:.0f} MiB |"
    )
    for name in ("fresh", "imported"):
        f = c[name]
        print(
            f"| first crawl of {c['models']:,} models, {name} | {f['resolver_requests']:,} resolver + "
            f"{f['api_requests']} API requests, {f['cards_fetched']:,} cards fetched, "
            f"{f['cards_reused']:,} reused |"
        )
    out = REPO_ROOT / "bench" / "results" / "import.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
