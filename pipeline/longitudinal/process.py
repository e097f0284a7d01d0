"""PRIME-style process metrics: per model and period, from its commits and discussions.

Each model's series runs from the period of its first commit to the period holding `until` (the
snapshot's start), or, for a model this run did not list, to the start of the snapshot of the run
that last did (`listed.parquet`): what happened since is unknown, not quiet. Counts (`commits`,
`readme_churn`, `authors`) are those of the period, 0 in a quiet one; the state metrics
(`open_discussions`, `issue_spoilage`, `days_since_last_commit`) are taken at the period end, so a
quiet period carries the last state forward, aged by the time passed. The API gives no file list per
commit: README churn counts commits whose title names the README or the model card (`README_TITLE`).
A discussion counts as open from its creation to its closing (`closed_at`, from its status-change
events); one open or draft now, to the end. One closed or merged whose closing date is unknown is not
counted. The registry-wide series (`model_id` `*`) combines the models' rows of each period (README,
"Process metrics").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline.longitudinal.discussions import CLOSED
from pipeline.longitudinal.history import listed_until, merge_write
from pipeline.store.layout import DataDir

TABLE = "process"
PERIODS = ("week", "month")
REGISTRY = "*"
README_TITLE = re.compile(r"readme|model[ _-]*card", re.IGNORECASE)
OPEN = ("open", "draft")
DAY_S = 86400.0
# Models whose commits and discussions are read at once: memory is bounded by this, not the table.
CHUNK_MODELS = 500

Row = dict[str, Any]


def period_start(moment: datetime, period: str) -> datetime:
    """The start of the week (Monday 00:00 UTC) or month (the 1st, 00:00 UTC) holding `moment`."""
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: datetime, period: str) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


@dataclass
class Commit:
    date: datetime
    title: str
    authors: list[str]


@dataclass(frozen=True)
class Span:
    """When a discussion was open: from `opened` to `closed` (None: still open)."""

    opened: datetime
    closed: datetime | None


def model_series(
    model_id: str,
    commits: list[Commit],
    spans: list[Span],
    period: str,
    until: datetime,
) -> Iterator[Row]:
    """The rows of one model: `commits` and `spans` (its discussions) in any order. Nothing when it has
    no commit before `until`."""
    commits = sorted((c for c in commits if c.date < until), key=lambda c: c.date)
    if not commits:
        return
    opened = sorted(s.opened for s in spans)
    # A closing dated before the opening (a hostile server) closes it at once.
    closings = sorted((max(s.closed, s.opened), s.opened) for s in spans if s.closed is not None)
    start = period_start(commits[0].date, period)
    k = n_opened = n_closed = 0
    age_sum = 0.0  # sum of the creation times (seconds) of the discussions open at the period end
    last: datetime | None = None
    while start < until:
        end = min(next_start(start, period), until)
        in_period: list[Commit] = []
        while k < len(commits) and commits[k].date < end:
            in_period.append(commits[k])
            k += 1
        if in_period:
            last = in_period[-1].date
        while n_opened < len(opened) and opened[n_opened] < end:
            age_sum += opened[n_opened].timestamp()
            n_opened += 1
        while n_closed < len(closings) and closings[n_closed][0] < end:
            age_sum -= closings[n_closed][1].timestamp()
            n_closed += 1
        n_open = n_opened - n_closed
        yield {
            "model_id": model_id,
            "period": period,
            "period_start": start,
            "period_end": end,
            "models": 1,
            "commits": len(in_period),
            "readme_churn": sum(1 for c in in_period if README_TITLE.search(c.title)),
            "authors": len({name for c in in_period for name in c.authors}),
            "author_names": {name for c in in_period for name in c.authors},
            "open_discussions": n_open,
            "issue_density": n_open / len(in_period) if in_period else None,
            "issue_spoilage": (n_open * end.timestamp() - age_sum) / n_open / DAY_S if n_open else None,
            "age_sum_days": (n_open * end.timestamp() - age_sum) / DAY_S,
            "days_since_last_commit": (end - last).total_seconds() / DAY_S if last else None,
        }
        start = next_start(start, period)


@dataclass
class RegistryPeriod:
    """The registry's sums over the models' rows of one period."""

    end: datetime  # the latest end of the models' rows (a model known only to mid-period ends earlier)
    models: int = 0
    commits: int = 0
    readme_churn: int = 0
    authors: set[str] = field(default_factory=set)
    open_discussions: int = 0
    age_sum_days: float = 0.0
    days_sum: float = 0.0
    days_models: int = 0

    def add(self, row: Row) -> None:
        self.end = max(self.end, row["period_end"])
        self.models += 1
        self.commits += row["commits"]
        self.readme_churn += row["readme_churn"]
        self.authors |= row["author_names"]
        self.open_discussions += row["open_discussions"]
        self.age_sum_days += row["age_sum_days"]
        if row["days_since_last_commit"] is not None:
            self.days_sum += row["days_since_last_commit"]
            self.days_models += 1

    def row(self, start: datetime, period: str) -> Row:
        n_open = self.open_discussions
        return {
            "model_id": REGISTRY,
            "period": period,
            "period_start": start,
            "period_end": self.end,
            "models": self.models,
            "commits": self.commits,
            "readme_churn": self.readme_churn,
            "authors": len(self.authors),
            "open_discussions": n_open,
            "issue_density": n_open / self.commits if self.commits else None,
            "issue_spoilage": self.age_sum_days / n_open if n_open else None,
            "days_since_last_commit": self.days_sum / self.days_models if self.days_models else None,
        }


def _chunks(data: DataDir) -> Iterator[tuple[dict[str, list[Commit]], dict[str, list[Span]]]]:
    """The commits and discussion spans of the models of `commits.parquet`, `CHUNK_MODELS` at a time."""
    commits_path = data.history_table("commits")
    if not commits_path.exists():
        return
    commits = ds.dataset(commits_path, format="parquet")
    valid = pc.field("commit_id").is_valid() & pc.field("date").is_valid()
    models = sorted(set(commits.to_table(columns=["model_id"], filter=valid).column("model_id").to_pylist()))
    discussions_path = data.history_table("discussions")
    discussions = ds.dataset(discussions_path, format="parquet") if discussions_path.exists() else None
    counted = pc.field("status").isin(list(OPEN))
    columns = ["model_id", "created_at", "status"]
    if discussions is not None and "closed_at" in discussions.schema.names:
        counted = counted | (pc.field("status").isin(list(CLOSED)) & pc.field("closed_at").is_valid())
        columns.append("closed_at")
    counted = counted & pc.field("created_at").is_valid()
    for i in range(0, len(models), CHUNK_MODELS):
        chosen = models[i : i + CHUNK_MODELS]
        in_chunk = pc.field("model_id").isin(chosen)
        by_model: dict[str, list[Commit]] = {}
        table = commits.to_table(columns=["model_id", "date", "title", "authors"], filter=in_chunk & valid)
        for row in table.to_pylist():
            by_model.setdefault(row["model_id"], []).append(
                Commit(row["date"], row["title"] or "", row["authors"] or [])
            )
        spans: dict[str, list[Span]] = {}
        if discussions is not None:
            for row in discussions.to_table(columns=columns, filter=in_chunk & counted).to_pylist():
                closed = row["closed_at"] if row["status"] in CLOSED else None
                spans.setdefault(row["model_id"], []).append(Span(row["created_at"], closed))
        yield by_model, spans


def write_process(data: DataDir, period: str, until: datetime) -> int:
    """Compute the series of every model in `commits.parquet` and the registry's, write `process.parquet`
    (replacing the series of this `period`, keeping the other's); returns the rows written."""
    registry: dict[datetime, RegistryPeriod] = {}
    known_until = listed_until(data)
    written = 0

    def batches() -> Iterator[list[Row]]:
        nonlocal written
        # Written a chunk of models at a time: only the registry's sums are kept across chunks.
        for by_model, spans in _chunks(data):
            rows = []
            for model_id, commits in by_model.items():
                end = min(until, known_until.get(model_id, until))
                for row in model_series(model_id, commits, spans.get(model_id, []), period, end):
                    registry.setdefault(row["period_start"], RegistryPeriod(row["period_end"])).add(row)
                    rows.append(row)
            written += len(rows)
            yield rows
        totals = [registry[start].row(start, period) for start in sorted(registry)]
        written += len(totals)
        yield totals

    merge_write(
        data.history_table(TABLE), TABLE, batches(), lambda held: pc.equal(held.column("period"), period)
    )
    return written
