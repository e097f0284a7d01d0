"""The cards phase: README.md of every listed model whose siblings list one, pinned to the listed `sha`."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.fetch import FileKind, FileTarget, crawl_files, file_url
from pipeline.hub.records import lists_readme

README = "README.md"

CARDS = FileKind(
    table="cards",
    text_column="readme",
    cap=lambda caps: caps.readme,
    select=lambda siblings: [README] if lists_readme(siblings) else [],
    unit="card",
)


def card_url(endpoint: str, model_id: str, sha: str | None) -> str:
    """The README of `model_id` at `sha`; InvalidHubName when either is no Hub name."""
    return file_url(endpoint, FileTarget(model_id, sha, README))


def crawl_cards(context: CrawlContext) -> None:
    crawl_files(context, CARDS, "cards")


def tally_cards(context: CrawlContext) -> dict[str, Any]:
    """Cards by status, reused and fetched; with an earlier snapshot, cards it had that are gone now."""
    snapshot = context.snapshot
    cards = pq.read_table(snapshot.cards, columns=["model_id", "status", "reused"])
    statuses = Counter(cards.column("status").to_pylist())
    reused = sum(1 for flag in cards.column("reused").to_pylist() if flag)
    counts: dict[str, Any] = {
        "cards": {s: statuses.get(s, 0) for s in ("ok", "missing", "gated", "error")},
        "cards_asked": cards.num_rows,
        "cards_reused": reused,
        "cards_fetched": cards.num_rows - reused,
        "failed_models": statuses.get("error", 0),
    }
    previous = context.previous(CARDS.table)
    if previous is not None:
        missing_now = {
            m for m, s in zip(*cards.select(["model_id", "status"]).columns, strict=True) if s == "missing"
        }
        newly_missing = 0
        for batch in pq.ParquetFile(snapshot.models).iter_batches(columns=["model_id", "siblings"]):
            for model_id, siblings in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                gone = model_id in missing_now or not lists_readme(siblings)
                if gone and previous.status((model_id, None)) == "ok":
                    newly_missing += 1
        counts["cards_newly_missing"] = newly_missing
    return counts
