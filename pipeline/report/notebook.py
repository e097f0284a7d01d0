"""What the notebooks share: which snapshot to open, its typed summary, and findings as pandas frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import settings
from pipeline.api import default_data_dir
from pipeline.measures.summary import Summary, load_summary
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import resolve_snapshot

__all__ = ["Summary", "load_finding", "load_summary", "locate_snapshot"]


def locate_snapshot() -> Snapshot:
    """`$HUBMINE_SNAPSHOT_DIR`, else the newest complete snapshot under `api.default_data_dir()`."""
    chosen = settings.SNAPSHOT_DIR.read()
    if chosen:
        return Snapshot(Path(chosen))
    return resolve_snapshot(DataDir(default_data_dir()), None)


def load_finding(snapshot: Snapshot, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(snapshot.finding(table), columns=columns)
