"""What the notebooks share: which snapshot to open, its typed summary, and findings as pandas frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import settings
from pipeline.measures.summary import Summary, load_summary
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import DEFAULT_DATA_DIR, data_dir_from_env, resolve_snapshot

__all__ = ["Summary", "load_finding", "load_summary", "locate_snapshot"]


def notebook_data_dir() -> Path:
    """`$HUBMINE_DATA_DIR`, else the data/ folder of the checkout this package runs from, whatever the
    working directory (Jupyter starts a notebook in its own folder); outside a checkout, data/ here."""
    if settings.DATA_DIR.given():
        return data_dir_from_env()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "notebooks").is_dir():
        return checkout / DEFAULT_DATA_DIR
    return data_dir_from_env()


def locate_snapshot() -> Snapshot:
    """`$HUBMINE_SNAPSHOT_DIR`, else the newest complete snapshot under `notebook_data_dir()`."""
    chosen = settings.SNAPSHOT_DIR.read()
    if chosen:
        return Snapshot(Path(chosen))
    return resolve_snapshot(DataDir(notebook_data_dir()), None)


def load_finding(snapshot: Snapshot, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(snapshot.finding(table), columns=columns)
