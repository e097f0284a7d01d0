"""The eval-results phase: each `.eval_results/*.yaml` file a listed model's siblings name, pinned to the
listed `sha`; part of the card crawl (`--cards`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.fetch import FileKind, crawl_files

FOLDER = ".eval_results/"
SUFFIXES = (".yaml", ".yml")
STATUSES = ("ok", "missing", "gated", "error")
# Models hold a file per benchmark, a handful; a listing naming more is not followed past this many.
MAX_FILES_PER_MODEL = 100


def eval_result_paths(siblings: list[str] | None) -> list[str]:
    """The eval-results files among a model's siblings, in path order, at most `MAX_FILES_PER_MODEL`."""
    found = {s for s in siblings or () if s.startswith(FOLDER) and s.lower().endswith(SUFFIXES)}
    return sorted(found)[:MAX_FILES_PER_MODEL]


EVAL_RESULTS = FileKind(
    table="eval_results",
    text_column="text",
    cap=lambda caps: caps.eval_results,
    select=eval_result_paths,
    unit="file",
)


def crawl_eval_results(context: CrawlContext) -> None:
    crawl_files(context, EVAL_RESULTS, "eval_results")


def tally_eval_results(context: CrawlContext) -> dict[str, Any]:
    """Files by status, reused and fetched."""
    table = pq.read_table(context.snapshot.eval_results, columns=["status", "reused"])
    statuses = Counter(table.column("status").to_pylist())
    reused = sum(1 for flag in table.column("reused").to_pylist() if flag)
    counts: dict[str, int] = {s: statuses.get(s, 0) for s in STATUSES}
    counts.update(files=table.num_rows, reused=reused, fetched=table.num_rows - reused)
    return {"eval_results": counts}
