"""What the notebooks share: which snapshot to open, and its findings as pandas frames."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.measures import summary as summary_file
from pipeline.measures.tables import findings_path
from pipeline.store.snapshot import data_dir_from_env, resolve_snapshot, snapshot_dir

SNAPSHOT_ENV = "HUBMINE_SNAPSHOT_DIR"


def locate_snapshot() -> Path:
    """`$HUBMINE_SNAPSHOT_DIR`, else the newest complete snapshot under `$HUBMINE_DATA_DIR` (or data/)."""
    chosen = os.environ.get(SNAPSHOT_ENV)
    if chosen:
        return Path(chosen)
    data_dir = data_dir_from_env()
    return snapshot_dir(data_dir, resolve_snapshot(data_dir, None))


def load_summary(snapshot: Path) -> dict[str, Any]:
    return summary_file.load(snapshot)


def load_finding(snapshot: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(findings_path(snapshot, table), columns=columns)
