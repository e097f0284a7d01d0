"""hubmine's public API for notebooks and scripts: open a data directory, pick a snapshot, read its tables
as pandas or Arrow, and read its summary's sections.

    from pipeline import api

    data = api.open_data()             # $HUBMINE_DATA_DIR, else the checkout's data/, else ./data
    snap = data.snapshot()             # the newest complete snapshot, or data.snapshot("20261207T011543Z")
    models = snap.read("models", columns=["model_id", "downloads"])  # a pandas DataFrame
    claims = snap.arrow("claims")                                     # a pyarrow Table
    snap.section("attributes").n_models                               # a typed summary section
    data.read_history("process")       # tables shared by all snapshots: history/, trends/

Every table name is one of `schemas/*.json`; the crawl's tables (models, cards, eval_results, authors)
and the findings are read the same way. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import settings
from pipeline.errors import SnapshotError
from pipeline.measures.section import Section
from pipeline.measures.summary import Summary, load_summary
from pipeline.schemas import load_schema
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import DEFAULT_DATA_DIR, data_dir_from_env, resolve_snapshot

CRAWL_TABLES = frozenset({"models", "cards", "eval_results", "authors"})
HISTORY_TABLES = frozenset({"commits", "discussions", "listed", "lines", "process"})
TREND_TABLES = frozenset({"trend_rates", "trend_formats", "trend_growth", "trend_concentration"})

__all__ = ["DataDirectory", "SnapshotView", "Summary", "default_data_dir", "open_data"]


def default_data_dir() -> Path:
    """`$HUBMINE_DATA_DIR`; else the data/ folder of the checkout this package runs from, whatever the
    working directory (Jupyter starts a notebook in its own folder); else data/ here, as the CLI."""
    if settings.DATA_DIR.given():
        return data_dir_from_env()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "notebooks").is_dir():
        return checkout / DEFAULT_DATA_DIR
    return data_dir_from_env()


def open_data(path: str | Path | None = None) -> DataDirectory:
    """The data directory at `path`, else `default_data_dir()`."""
    return DataDirectory(DataDir(Path(path) if path is not None else default_data_dir()))


def _known(name: str, tables: frozenset[str] | None = None) -> str:
    """`name` when it names a table of hubmine's (and of `tables`, when given); a name is never a path."""
    if tables is not None and name not in tables:
        raise SnapshotError(f"no table {name!r} here; try one of {', '.join(sorted(tables))}")
    if not (name.isascii() and name.isidentifier()):
        raise SnapshotError(f"{name!r} is no table name; table names are those of schemas/*.json")
    load_schema(name)  # a one-line SchemaError for a name that is no table
    return name


def _read(path: Path, columns: list[str] | None) -> pa.Table:
    if not path.exists():
        raise SnapshotError(f"{path} does not exist yet; run the hubmine command that writes it")
    return pq.read_table(path, columns=columns)


@dataclass(frozen=True)
class SnapshotView:
    """One snapshot's tables and summary, read-only."""

    snapshot: Snapshot

    @property
    def id(self) -> str:
        return self.snapshot.id

    @property
    def path(self) -> Path:
        return self.snapshot.dir

    def arrow(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """A crawl table or a finding of this snapshot as an Arrow table (only `columns`, when given)."""
        name = _known(table)
        path = self.snapshot.table(name) if name in CRAWL_TABLES else self.snapshot.finding(name)
        return _read(path, columns)

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The same as `arrow`, as a pandas DataFrame."""
        return self.arrow(table, columns).to_pandas()

    @cached_property
    def summary(self) -> Summary:
        """findings/summary.json, typed (after `hubmine analyze`)."""
        try:
            return load_summary(self.snapshot)
        except FileNotFoundError:
            raise SnapshotError(
                f"snapshot {self.id!r} has no findings; run `hubmine analyze --snapshot {self.id}`"
            ) from None

    def sections(self) -> dict[str, Section]:
        """The summary's sections by their key (`attributes`, `claims`, `risks.exposure`, ...)."""
        return dict(self.summary.sections)

    def section(self, key: str) -> Section:
        """One summary section by its key; see `sections()` for the keys this snapshot has."""
        sections = self.summary.sections
        if key not in sections:
            raise SnapshotError(f"the summary has no section {key!r}; it has {', '.join(sorted(sections))}")
        return sections[key]


@dataclass(frozen=True)
class DataDirectory:
    """A hubmine data directory: its snapshots, and the tables they share (history, trends)."""

    data: DataDir

    @property
    def path(self) -> Path:
        return self.data.root

    def snapshot_ids(self) -> list[str]:
        """Every snapshot folder's id, oldest first, whatever its state (`hubmine status` tells it)."""
        if not self.data.snapshots.is_dir():
            return []
        return sorted(
            p.name for p in self.data.snapshots.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def snapshot(self, which: str = "latest") -> SnapshotView:
        """The newest complete snapshot (`latest`), or the complete snapshot with that id."""
        return SnapshotView(resolve_snapshot(self.data, None if which == "latest" else which))

    def read_history(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A `hubmine history` table (commits, discussions, listed, lines, process)."""
        return _read(self.data.history_table(_known(table, HISTORY_TABLES)), columns).to_pandas()

    def read_trend(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A `hubmine trends` table (trend_rates, trend_formats, trend_growth, trend_concentration)."""
        return _read(self.data.trend(_known(table, TREND_TABLES)), columns).to_pandas()
