"""What the notebooks share: which snapshot to open, its typed summary, and findings as pandas frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import settings
from pipeline.measures.summary import Summary, load_summary
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import data_dir_from_env, resolve_snapshot

__all__ = ["Summary", "load_finding", "load_summary", "locate_snapshot"]


def locate_snapshot() -> Snapshot:
    """`$HUBMINE_SNAPSHOT_DIR`, else the newest complete snapshot under `$HUBMINE_DATA_DIR` (or data/)."""
    chosen = settings.SNAPSHOT_DIR.read()
    if chosen:
        return Snapshot(Path(chosen))
    return resolve_snapshot(DataDir(data_dir_from_env()), None)


def load_finding(snapshot: Snapshot, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(snapshot.finding(table), columns=columns)
