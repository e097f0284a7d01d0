"""Shared helpers of the crawl tests: run a crawl against a simulator and compare its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl import CrawlParams, CrawlResult, run_crawl

# Columns that record when something was fetched; they differ between two crawls of the same data.
TIME_COLUMNS = {"fetched_at", "listed_at"}


def crawl(url: str, data_dir: Path, **params: Any) -> CrawlResult:
    snapshot = params.pop("snapshot", None)
    since = params.pop("since", None)
    return run_crawl(data_dir, CrawlParams(**params), snapshot_id=snapshot, since=since, endpoint=url)


def rows(path: Path, drop: set[str] | None = None) -> list[dict[str, Any]]:
    """A table's rows, in file order, without the time columns (and any in `drop`)."""
    table = pq.read_table(path)
    keep = [c for c in table.column_names if c not in TIME_COLUMNS | (drop or set())]
    return table.select(keep).to_pylist()
