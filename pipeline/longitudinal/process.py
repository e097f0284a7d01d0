"""Process metrics per model and period: PRIME's four, on PRIME's daily time base, and the Hub's own series.

Each model's series runs from the period of its first commit to the period holding `until` (the
snapshot's start), or, for a model this run did not list, to the start of the snapshot of the run that
last did (`listed.parquet`): what happened since is unknown, not quiet. The last period, cut there, is
`partial`.

PRIME's metrics (docs/definitions.md gives each definition and where hubmine departs from PRIME):

- `productivity`: lines changed (git numstat, added plus deleted, merges left out) over the repository's
  age in days; PRIME's daily values summed over the period;
- `bus_factor`: authors (by email) whose changed lines in the period exceed 80% of the period's;
  `developer_count`: distinct authors in the period;
- `issue_spoilage`: the number of issues (discussions that are not pull requests) open on each day,
  averaged over the period's days;
- `issue_density`: each day's open issues over the tree's size that day in thousands of lines, averaged
  over the period's days.

The Hub's series keep their own names: `commits`, `readme_churn` and `authors` (active authors, from the
commits API), `open_discussions` and `open_pull_requests` at the period end, `mean_open_age`, and
`days_since_last_commit`. Open intervals come from each discussion's status-change events, reopenings
included. A value that cannot be known is null, with the reason in `discussions_unknown` or
`lines_unknown`; never 0.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline.longitudinal.discussions import CLOSED, OPEN
from pipeline.longitudinal.history_store import listed_until, merge_write, remedy
from pipeline.longitudinal.lines import listed_since
from pipeline.store.damage import reading
from pipeline.store.layout import DataDir

TABLE = "process"
PERIODS = ("week", "month")
REGISTRY = "*"
README_TITLE = re.compile(r"readme|model[ _-]*card", re.IGNORECASE)
DAY_S = 86400.0
# PRIME's bus factor: an author counts who made more than this share of the period's changed lines.
BUS_FACTOR_SHARE = 0.8
NO_GIT = "git history not read: run hubmine history --git"
LINE_METRICS = (
    "lines_changed",
    "lines_of_code",
    "productivity",
    "bus_factor",
    "developer_count",
    "issue_density",
)
# Models whose commits, lines and discussions are read at once: memory is bounded by this, not the table.
CHUNK_MODELS = 500

Row = dict[str, Any]


def period_start(moment: datetime, period: str) -> datetime:
    """The start of the week (Monday 00:00 UTC) or month (the 1st, 00:00 UTC) holding `moment`."""
    day = day_of(moment)
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: datetime, period: str) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Commit:
    date: datetime
    title: str
    authors: list[str]


@dataclass(frozen=True)
class LineCommit:
    """A commit read from git: its author date and key, lines changed (None on a merge), tree size."""

    date: datetime
    author: str
    changed: int | None
    tree_lines: int | None


@dataclass
class Lines:
    """A model's git history as `lines.parquet` holds it, and up to when it is known."""

    commits: list[LineCommit] = field(default_factory=list)
    known_until: datetime | None = None  # None: known throughout
    unknown: str | None = None  # why values past `known_until` are null


@dataclass(frozen=True)
class Thread:
    """A discussion or pull request and when it was open: (opened, closed or None while open)."""

    pull_request: bool
    created: datetime
    spans: tuple[tuple[datetime, datetime | None], ...]


@dataclass
class Threads:
    items: list[Thread] = field(default_factory=list)
    known_until: datetime | None = None  # None: known throughout
    unknown: str | None = None


def open_spans(
    created: datetime, status: str | None, changed_at: list[datetime] | None, changed_to: list[str] | None
) -> tuple[tuple[datetime, datetime | None], ...] | None:
    """When a discussion was open, from its creation and status changes in time order; None when its
    status changes are not known (its details were never read)."""
    if changed_at is None or changed_to is None:
        return None
    spans: list[tuple[datetime, datetime | None]] = []
    opened: datetime | None = created
    for when, status_to in sorted(zip(changed_at, changed_to, strict=False), key=lambda c: c[0]):
        if status_to in CLOSED and opened is not None:
            spans.append((opened, max(when, opened)))
            opened = None
        elif status_to in OPEN and opened is None:
            opened = max(when, created)
    if opened is not None:
        spans.append((opened, None))
    still_open = bool(spans) and spans[-1][1] is None
    if (status in CLOSED and still_open) or (status in OPEN and not still_open):
        return None  # the list and the events disagree on its status now: the events held are stale
    return tuple(spans)


def _open_at(thread: Thread, moment: datetime) -> bool:
    return any(start < moment and (end is None or end >= moment) for start, end in thread.spans)


class DaySeries:
    """Per-day values from `day0` for `days` days: issues open each day and the tree's size in KLOC."""

    def __init__(self, day0: datetime, days: int, threads: list[Thread], lines: list[LineCommit]) -> None:
        self.day0, self.days = day0, days
        delta = [0] * (days + 1)
        for thread in threads:
            if thread.pull_request:
                continue
            for first, last in self._day_ranges(thread):
                delta[first] += 1
                delta[last + 1] -= 1
        self.open_issues: list[int] = []
        running = 0
        for d in range(days):
            running += delta[d]
            self.open_issues.append(running)
        sizes: dict[int, list[int]] = defaultdict(list)
        for commit in lines:
            if commit.tree_lines is not None:
                index = self.index(commit.date)
                if 0 <= index < days:
                    sizes[index].append(commit.tree_lines)
        # PRIME: the mean size of the day's commits, carried forward over days without one.
        self.kloc: list[float | None] = []
        size: float | None = None
        for d in range(days):
            if d in sizes:
                size = sum(sizes[d]) / len(sizes[d]) / 1000
            self.kloc.append(size)

    def index(self, moment: datetime) -> int:
        return (day_of(moment) - self.day0).days

    def _day_ranges(self, thread: Thread) -> list[tuple[int, int]]:
        """The days a thread was open on (each day it was open at any time, PRIME's closing day included),
        as merged inclusive ranges of day indexes within the series."""
        ranges: list[tuple[int, int]] = []
        for start, end in thread.spans:
            first = max(0, self.index(start))
            last = self.days - 1 if end is None else min(self.days - 1, self.index(end))
            if first > last:
                continue
            if ranges and first <= ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], max(ranges[-1][1], last))
            else:
                ranges.append((first, last))
        return ranges


NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass
class ModelInputs:
    commits: list[Commit] = field(default_factory=list)
    lines: Lines = field(default_factory=lambda: Lines(known_until=NEVER, unknown=NO_GIT))
    threads: Threads = field(default_factory=Threads)


def _known(until: datetime | None, end: datetime) -> bool:
    return until is None or end <= until


def model_series(model_id: str, inputs: ModelInputs, period: str, until: datetime) -> Iterator[Row]:
    """The rows of one model. Nothing when it has no commit before `until`."""
    commits = sorted((c for c in inputs.commits if c.date < until), key=lambda c: c.date)
    git = sorted((c for c in inputs.lines.commits if c.date < until), key=lambda c: c.date)
    if not commits and not git:
        return
    first = min([c.date for c in commits[:1]] + [c.date for c in git[:1]])
    start = period_start(first, period)
    days = DaySeries(
        start, (day_of(until - timedelta(microseconds=1)) - start).days + 1, inputs.threads.items, git
    )
    # PRIME's repository age: from the first commit's day to the last's.
    age = (day_of(git[-1].date) - day_of(git[0].date)).days if git else 0
    git_dates = [c.date for c in git]
    dates = [c.date for c in commits]
    last: datetime | None = None
    while start < until:
        full_end = next_start(start, period)
        end = min(full_end, until)
        in_period = commits[bisect.bisect_left(dates, start) : bisect.bisect_left(dates, end)]
        changed = git[bisect.bisect_left(git_dates, start) : bisect.bisect_left(git_dates, end)]
        if in_period:
            last = in_period[-1].date
        row: Row = {
            "model_id": model_id,
            "period": period,
            "period_start": start,
            "period_end": end,
            "partial": end < full_end,
            "models": 1,
            "commits": len(in_period),
            "readme_churn": sum(1 for c in in_period if README_TITLE.search(c.title)),
            "authors": len({name for c in in_period for name in c.authors}),
            "author_names": {name for c in in_period for name in c.authors},
            "days_since_last_commit": (end - last).total_seconds() / DAY_S if last else None,
        }
        first_day, last_day = days.index(start), days.index(end - timedelta(microseconds=1))
        row |= _thread_values(inputs.threads, first_day, last_day, days, end)
        row |= _line_values(inputs.lines, changed, age, first_day, last_day, days, end, row)
        yield row
        start = full_end


def _thread_values(threads: Threads, first_day: int, last_day: int, days: DaySeries, end: datetime) -> Row:
    if not _known(threads.known_until, end):
        nulls = dict.fromkeys(("open_discussions", "open_pull_requests", "mean_open_age", "issue_spoilage"))
        return nulls | {"age_sum_days": 0.0, "open_threads": 0, "discussions_unknown": threads.unknown}
    open_now = [t for t in threads.items if _open_at(t, end)]
    ages = sum((end - t.created).total_seconds() for t in open_now) / DAY_S
    period_days = last_day - first_day + 1
    return {
        "open_discussions": sum(1 for t in open_now if not t.pull_request),
        "open_pull_requests": sum(1 for t in open_now if t.pull_request),
        "mean_open_age": ages / len(open_now) if open_now else None,
        "age_sum_days": ages,
        "open_threads": len(open_now),
        "issue_spoilage": sum(days.open_issues[first_day : last_day + 1]) / period_days,
        "discussions_unknown": None,
    }


def _line_values(
    lines: Lines,
    changed: list[LineCommit],
    age: int,
    first_day: int,
    last_day: int,
    days: DaySeries,
    end: datetime,
    row: Row,
) -> Row:
    if not _known(lines.known_until, end):
        return dict.fromkeys(LINE_METRICS) | {"developer_keys": set(), "lines_unknown": lines.unknown}
    by_author: dict[str, int] = defaultdict(int)
    for commit in changed:
        if commit.changed is not None:
            by_author[commit.author] += commit.changed
    total = sum(by_author.values())
    densities = []
    if row["discussions_unknown"] is None:
        for d in range(first_day, last_day + 1):
            kloc = days.kloc[d]
            if kloc:
                densities.append(days.open_issues[d] / kloc)
    kloc_end = days.kloc[last_day]
    return {
        "lines_changed": total,
        "lines_of_code": round(kloc_end * 1000) if kloc_end is not None else None,
        "productivity": total / age if age else None,
        "bus_factor": sum(1 for n in by_author.values() if n > BUS_FACTOR_SHARE * total),
        "developer_count": len({c.author for c in changed}),
        "developer_keys": {c.author for c in changed},
        "issue_density": sum(densities) / len(densities) if densities else None,
        "lines_unknown": None,
    }


@dataclass
class RegistryPeriod:
    """The registry's sums over the models' rows of one period: counts summed over the models where they
    are known, PRIME's ratios averaged over them."""

    end: datetime  # the latest end of the models' rows (a model known only to mid-period ends earlier)
    models: int = 0
    commits: int = 0
    readme_churn: int = 0
    authors: set[str] = field(default_factory=set)
    developers: set[str] = field(default_factory=set)
    days_sum: float = 0.0
    days_models: int = 0
    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    known: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unknown: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    SUMMED = ("open_discussions", "open_pull_requests", "issue_spoilage", "lines_changed", "lines_of_code")
    AVERAGED = ("productivity", "bus_factor", "issue_density")

    def add(self, row: Row) -> None:
        self.end = max(self.end, row["period_end"])
        self.models += 1
        self.commits += row["commits"]
        self.readme_churn += row["readme_churn"]
        self.authors |= row["author_names"]
        if row["days_since_last_commit"] is not None:
            self.days_sum += row["days_since_last_commit"]
            self.days_models += 1
        for group, reason in (("discussions", "discussions_unknown"), ("lines", "lines_unknown")):
            if row[reason] is not None:
                self.unknown[group] += 1
        if row["discussions_unknown"] is None:
            self.sums["age_sum_days"] += row["age_sum_days"]
            self.sums["open_threads"] += row["open_threads"]
        if row["lines_unknown"] is None:
            self.developers |= row["developer_keys"]
        for name in (*self.SUMMED, *self.AVERAGED):
            if row[name] is not None:
                self.sums[name] += row[name]
                self.known[name] += 1

    def row(self, start: datetime, period: str) -> Row:
        out: Row = {
            "model_id": REGISTRY,
            "period": period,
            "period_start": start,
            "period_end": self.end,
            "partial": self.end < next_start(start, period),
            "models": self.models,
            "commits": self.commits,
            "readme_churn": self.readme_churn,
            "authors": len(self.authors),
            "days_since_last_commit": self.days_sum / self.days_models if self.days_models else None,
        }
        for name in self.SUMMED:
            value = self.sums[name] if self.known[name] else None
            out[name] = round(value) if value is not None and name != "issue_spoilage" else value
        for name in self.AVERAGED:
            out[name] = self.sums[name] / self.known[name] if self.known[name] else None
        threads = self.sums["open_threads"]
        out["mean_open_age"] = self.sums["age_sum_days"] / threads if threads else None
        read_lines = self.models - self.unknown["lines"]
        out["developer_count"] = len(self.developers) if read_lines else None
        for group in ("discussions", "lines"):
            n = self.unknown[group]
            out[f"{group}_unknown"] = f"{n} of {self.models} models unknown; left out" if n else None
        return out


def _read_chunk(data: DataDir, chosen: list[str]) -> dict[str, ModelInputs]:
    """The commits, lines and discussions of `chosen` models."""
    inputs: dict[str, ModelInputs] = defaultdict(ModelInputs)
    in_chunk = pc.field("model_id").isin(chosen)
    valid = pc.field("commit_id").is_valid() & pc.field("date").is_valid()
    fetched: dict[str, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    columns = ["model_id", "commit_id", "date", "title", "authors", "fetched_at"]
    for row in _rows(data.history_table("commits"), in_chunk & valid, columns).to_pylist():
        inputs[row["model_id"]].commits.append(Commit(row["date"], row["title"] or "", row["authors"] or []))
        fetched[row["model_id"]].append((row["commit_id"], row["date"], row["fetched_at"]))
    _read_lines(data, chosen, inputs, fetched)
    _read_threads(data, chosen, inputs)
    return inputs


def _read_lines(
    data: DataDir,
    chosen: list[str],
    inputs: dict[str, ModelInputs],
    listed: dict[str, list[tuple[str, datetime, datetime | None]]],
) -> None:
    path = data.history_table("lines")
    if not path.exists():
        return
    table = _rows(path, pc.field("model_id").isin(chosen))
    read: dict[str, Lines] = defaultdict(Lines)
    ids: dict[str, set[str]] = defaultdict(set)
    read_at: dict[str, datetime] = {}
    errors: dict[str, str] = {}
    for row in table.to_pylist():
        model_id = row["model_id"]
        if row["error"] is not None:
            errors[model_id] = row["error"]
            continue
        ids[model_id].add(row["commit_id"])
        if row["read_at"] is not None:
            read_at[model_id] = max(read_at.get(model_id, row["read_at"]), row["read_at"])
        if row["date"] is None:
            continue
        changed = None if row["merge"] else (row["lines_added"] or 0) + (row["lines_deleted"] or 0)
        read[model_id].commits.append(
            LineCommit(row["date"], row["author_key"] or "", changed, row["tree_lines"])
        )
    for model_id in set(ids) | set(errors):
        lines = read[model_id]
        # Commits listed after the clone was read and missing from it: the lines are known up to the first.
        missing = [
            date
            for commit_id, date, fetched_at in listed.get(model_id, [])
            if listed_since(commit_id, fetched_at, ids[model_id], read_at.get(model_id))
        ]
        if model_id in errors and model_id not in ids:
            lines.known_until = NEVER
            lines.unknown = f"git history not read: {errors[model_id]}"
        elif missing:
            lines.known_until = min(missing)
            lines.unknown = f"{len(missing)} commits listed since the git history was read" + (
                f" ({errors[model_id]})" if model_id in errors else "; run hubmine history --git"
            )
        inputs[model_id].lines = lines


def _read_threads(data: DataDir, chosen: list[str], inputs: dict[str, ModelInputs]) -> None:
    path = data.history_table("discussions")
    if not path.exists():
        return
    with reading(path, remedy(path)):
        names = ds.dataset(path, format="parquet").schema.names
    present = [c for c in ("changed_at", "changed_to", "error") if c in names]
    columns = ["model_id", "num", "status", "is_pull_request", "created_at", *present]
    table = _rows(path, pc.field("model_id").isin(chosen), columns)
    listed: set[str] = set()
    errors: dict[str, str] = {}
    unread: dict[str, list[datetime]] = defaultdict(list)
    undated: dict[str, int] = defaultdict(int)
    for row in table.to_pylist():
        model_id = row["model_id"]
        if row.get("error") is not None:
            errors[model_id] = row["error"]
            continue
        listed.add(model_id)
        threads = inputs[model_id].threads
        if row["created_at"] is None:
            undated[model_id] += 1  # cannot be placed in time: every period's count is unknown
            continue
        spans = open_spans(row["created_at"], row["status"], row.get("changed_at"), row.get("changed_to"))
        if spans is None:
            unread[model_id].append(row["created_at"])
            continue
        threads.items.append(Thread(bool(row["is_pull_request"]), row["created_at"], spans))
    for model_id, error in errors.items():
        if model_id not in listed:
            inputs[model_id].threads.known_until = NEVER
            inputs[model_id].threads.unknown = f"discussions not listed: {error}"
    for model_id, created in unread.items():
        inputs[model_id].threads.known_until = min(created)
        inputs[
            model_id
        ].threads.unknown = (
            f"the status changes of {len(created)} discussions are not known (unread, or changed since read)"
        )
    for model_id, count in undated.items():
        inputs[model_id].threads.known_until = NEVER
        inputs[model_id].threads.unknown = f"discussions without a usable creation date: {count}"


def _models(data: DataDir) -> list[str]:
    path = data.history_table("commits")
    if not path.exists():
        return []
    valid = pc.field("commit_id").is_valid() & pc.field("date").is_valid()
    return sorted(_distinct(path, "model_id", valid))


def held_periods(data: DataDir) -> set[str]:
    path = data.history_table(TABLE)
    if not path.exists():
        return set()
    return _distinct(path, "period") & set(PERIODS)


def _rows(path: Path, where: pc.Expression, columns: list[str] | None = None) -> pa.Table:
    """The rows of a history table that `where` keeps; a file that no longer reads is one line saying
    what to do."""
    with reading(path, remedy(path)):
        return ds.dataset(path, format="parquet").to_table(columns=columns, filter=where)


def _distinct(path: Path, column: str, where: pc.Expression | None = None) -> set[str]:
    """The distinct values of one column of a history table, read a batch at a time: memory grows with
    the values, not the rows."""
    found: set[str] = set()
    with reading(path, remedy(path)):
        for batch in ds.dataset(path, format="parquet").to_batches(columns=[column], filter=where):
            found.update(value for value in pc.unique(batch.column(column)).to_pylist() if value is not None)
    return found


PRIVATE = ("author_names", "developer_keys", "age_sum_days", "open_threads")


def write_process(
    data: DataDir, periods: list[str], until: datetime, snapshot: str, computed_at: datetime
) -> int:
    """Compute the series of every model in `commits.parquet` and the registry's for each of `periods`
    (replacing their rows, keeping any other period's), stamped with the run; returns the rows written."""
    registry: dict[str, dict[datetime, RegistryPeriod]] = {period: {} for period in periods}
    known_until = listed_until(data)
    models = _models(data)
    written = 0
    stamp = {"snapshot": snapshot, "computed_at": computed_at}

    def batches() -> Iterator[list[Row]]:
        nonlocal written
        # Written a chunk of models at a time: only the registry's sums are kept across chunks.
        for i in range(0, len(models), CHUNK_MODELS):
            chunk = models[i : i + CHUNK_MODELS]
            inputs = _read_chunk(data, chunk)
            rows = []
            for model_id in chunk:
                end = min(until, known_until.get(model_id, until))
                for period in periods:
                    for row in model_series(model_id, inputs[model_id], period, end):
                        registry[period].setdefault(
                            row["period_start"], RegistryPeriod(row["period_end"])
                        ).add(row)
                        rows.append({k: v for k, v in row.items() if k not in PRIVATE} | stamp)
            written += len(rows)
            yield rows
        totals = [
            by_start[start].row(start, period) | stamp
            for period, by_start in registry.items()
            for start in sorted(by_start)
        ]
        written += len(totals)
        yield totals

    merge_write(
        data.history_table(TABLE),
        TABLE,
        batches(),
        lambda held: pc.is_in(held.column("period"), value_set=pa.array(periods, pa.string())),
    )
    return written
