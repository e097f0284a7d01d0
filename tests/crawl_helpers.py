"""Shared helpers of the crawl tests: run a crawl against a simulator and compare its tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl import CrawlParams, CrawlResult, run_crawl
from pipeline.crawl.state import write_manifest
from pipeline.store.layout import DataDir, Snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent

# Columns that record when something was fetched; they differ between two crawls of the same data.
TIME_COLUMNS = {"fetched_at", "listed_at"}


def crawl(url: str, data_dir: Path, **params: Any) -> CrawlResult:
    snapshot = params.pop("snapshot", None)
    since = params.pop("since", None)
    return run_crawl(data_dir, CrawlParams(**params), snapshot_id=snapshot, since=since, endpoint=url)


def unfinished_snapshot(data_dir: Path, snapshot_id: str, endpoint: str) -> Snapshot:
    """A snapshot as a crawl of `endpoint` killed before its first checkpoint leaves it: a manifest and
    nothing else."""
    snapshot = DataDir(data_dir).snapshot(snapshot_id)
    snapshot.dir.mkdir(parents=True)
    write_manifest(
        snapshot, snapshot_id=snapshot_id, status="running", endpoint=endpoint, params=CrawlParams().to_json()
    )
    return snapshot


def rows(path: Path, drop: set[str] | None = None) -> list[dict[str, Any]]:
    """A table's rows, in file order, without the time columns (and any in `drop`)."""
    table = pq.read_table(path)
    keep = [c for c in table.column_names if c not in TIME_COLUMNS | (drop or set())]
    return table.select(keep).to_pylist()


def assert_same_tables(a: Snapshot, b: Snapshot) -> None:
    assert rows(a.models) == rows(b.models)
    assert rows(b.cards) == rows(a.cards)
    assert a.eval_results.exists() == b.eval_results.exists()
    if a.eval_results.exists():
        assert rows(b.eval_results) == rows(a.eval_results)


def files_asked(result: CrawlResult) -> int:
    """Files a crawl resolved or reused: its cards and its eval-results files."""
    return result.counts.get("cards_asked", 0) + result.counts.get("eval_results", {}).get("files", 0)


def cli_crawl(data_dir: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    """`hubmine crawl` in a child process (one a test can kill), against the simulator at `url`."""
    env = {**os.environ, "HF_ENDPOINT": url, "HUBMINE_BACKOFF_S": "0.01"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "crawl", "--data-dir", str(data_dir), *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
