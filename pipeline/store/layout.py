"""The one place that names the files and folders of a data directory and of its snapshots.

```
DIR/
  hubmine.lock      while a crawl or an analysis writes to DIR
  snapshots/<ID>/
    manifest.json   state.json
    models.parquet  cards.parquet  eval_results.parquet  authors.parquet
    raw/<kind>-<part>.jsonl.gz      raw/journal-<kind>.jsonl.gz
    parts/<table>/part-<n>.parquet
    findings/<table>.parquet        findings/summary.json
  history/commits.parquet  history/discussions.parquet  history/lines.parquet  history/listed.parquet
  history/process.parquet
  diffs/<OLD>..<NEW>/changes.parquet  diffs/<OLD>..<NEW>/summary.json
  trends/rates.parquet  trends/formats.parquet  trends/growth.parquet  trends/concentration.parquet
  publish/<ID>/     README.md  data/<table>/train-00000-of-00001.parquet   (a snapshot as a Hub dataset)
  pruning/<ID>/     a snapshot being deleted by `hubmine prune`
```

Every other module asks a `DataDir` or a `Snapshot` for a path instead of spelling one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SnapshotError

# Snapshot ids become folder names: no separators, no dot segments, nothing a shell or URL mangles.
SNAPSHOT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Tables a crawl writes at the top of a snapshot, by table (schema) name.
SNAPSHOT_TABLES = ("models", "cards", "eval_results", "authors")
# Tables `hubmine history` writes under `history/`, across snapshots, by table (schema) name.
HISTORY_TABLES = ("commits", "discussions", "lines", "listed", "process")
# Tables `hubmine trends` writes under `trends/`, by table name (schema `trend_<name>`).
TREND_TABLES = ("rates", "formats", "growth", "concentration")


@dataclass(frozen=True)
class Snapshot:
    """The files of one snapshot directory."""

    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def state(self) -> Path:
        """The crawl's checkpoint, present only while a crawl is unfinished."""
        return self.dir / "state.json"

    def table(self, name: str) -> Path:
        """A crawl table (`SNAPSHOT_TABLES`) or, for any other name, a finding."""
        return self.dir / f"{name}.parquet" if name in SNAPSHOT_TABLES else self.finding(name)

    @property
    def models(self) -> Path:
        return self.table("models")

    @property
    def cards(self) -> Path:
        return self.table("cards")

    @property
    def eval_results(self) -> Path:
        return self.table("eval_results")

    @property
    def authors(self) -> Path:
        return self.table("authors")

    @property
    def raw(self) -> Path:
        """The raw archive: every Hub response as received."""
        return self.dir / "raw"

    def raw_part(self, kind: str, part: int) -> Path:
        """The raw responses of one committed part of `kind` (a crawl phase: `listing`, `cards`, ...)."""
        return self.raw / f"{kind}-{part:06d}.jsonl.gz"

    def raw_parts(self, kind: str) -> list[Path]:
        """Every committed raw archive file of `kind`, in part order."""
        return sorted(self.raw.glob(f"{kind}-[0-9]*.jsonl.gz"))

    def journal(self, kind: str) -> Path:
        """Responses of `kind` not yet in a committed part, appended as they arrive."""
        return self.raw / f"journal-{kind}.jsonl.gz"

    @property
    def parts_root(self) -> Path:
        return self.dir / "parts"

    def parts(self, table: str) -> Path:
        """Committed parts of `table` while a crawl writes it."""
        return self.parts_root / table

    def part(self, table: str, index: int) -> Path:
        """Committed part `index` of `table`."""
        return self.parts(table) / f"part-{index:06d}.parquet"

    @property
    def findings(self) -> Path:
        return self.dir / "findings"

    def finding(self, table: str) -> Path:
        return self.findings / f"{table}.parquet"

    @property
    def summary(self) -> Path:
        return self.findings / "summary.json"


@dataclass(frozen=True)
class Published:
    """A snapshot laid out as a Hub dataset repository: its card and one folder of Parquet per table."""

    dir: Path

    @property
    def card(self) -> Path:
        return self.dir / "README.md"

    @staticmethod
    def pattern(table: str) -> str:
        """The repository path pattern of `table`'s files (the card's `data_files`)."""
        return f"data/{table}/*.parquet"

    def table(self, table: str) -> Path:
        return self.dir / "data" / table / "train-00000-of-00001.parquet"

    @property
    def building(self) -> Published:
        """Where the folder is built before it replaces this one."""
        return Published(self.dir.with_name(f".{self.dir.name}.building"))

    @staticmethod
    def owns(repo_path: str) -> bool:
        """Whether a file of the dataset repository is one a publish writes (so may replace or remove)."""
        return repo_path == "README.md" or repo_path.startswith("data/")


@dataclass(frozen=True)
class DataDir:
    """The files of a data directory: its snapshots, and what is computed across them."""

    root: Path

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def lock(self) -> Path:
        """Held (flock) by the run that writes to this data directory; names it for the next run."""
        return self.root / "hubmine.lock"

    def snapshot(self, snapshot_id: str) -> Snapshot:
        """The snapshot `snapshot_id`; an id that is not a plain name is refused, never made a path."""
        if not SNAPSHOT_ID.fullmatch(snapshot_id) or set(snapshot_id) <= {"."}:
            raise SnapshotError(f"snapshot id {snapshot_id!r} must be letters, digits, '.', '_' or '-'")
        return Snapshot(self.snapshots / snapshot_id)

    @property
    def diffs(self) -> Path:
        return self.root / "diffs"

    def diff(self, old: str, new: str) -> Path:
        """The folder comparing snapshot `old` with snapshot `new` (both checked as snapshot ids)."""
        return self.diffs / f"{self.snapshot(old).id}..{self.snapshot(new).id}"

    def diff_changes(self, old: str, new: str) -> Path:
        return self.diff(old, new) / "changes.parquet"

    def diff_summary(self, old: str, new: str) -> Path:
        return self.diff(old, new) / "summary.json"

    @property
    def trends(self) -> Path:
        return self.root / "trends"

    def trend(self, table: str) -> Path:
        """A trend table (`TREND_TABLES`) across the snapshots."""
        return self.trends / f"{table}.parquet"

    @property
    def history(self) -> Path:
        return self.root / "history"

    def history_table(self, table: str) -> Path:
        """A repository-history table (`HISTORY_TABLES`): commits, discussions, lines, process metrics."""
        return self.history / f"{table}.parquet"

    def published(self, snapshot_id: str) -> Published:
        """Where `hubmine publish` lays out snapshot `snapshot_id` as a Hub dataset."""
        return Published(self.root / "publish" / self.snapshot(snapshot_id).id)

    @property
    def pruning(self) -> Path:
        """Snapshots `hubmine prune` has taken out of `snapshots/` and is deleting."""
        return self.root / "pruning"
