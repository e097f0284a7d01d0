"""`hubmine history`: the commits and discussions of chosen models, kept across runs under `DIR/history/`.

Commits come from the commits API on `main` (`/api/models/{id}/commits/main`, newest first, pages read
through the same helper as `hubmine risks --maintainers`). A run asks only for what is new: it stops
paging a model once it has met a commit `commits.parquet` already holds and the commits held and new
together reach the listing's total, so a model without new commits costs one request, and a merge that
brings older-dated commits onto `main` is paged through until they are found. Discussions are listed
whole on every run (their status changes), see `pipeline.longitudinal.discussions`; with `--git`, the
lines each commit changed come from a clone, see `pipeline.longitudinal.lines`; process metrics are then
computed from these tables, see `pipeline.longitudinal.process`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.compute as pc

from pipeline import settings
from pipeline.errors import HubResponseError
from pipeline.hub.caps import BodyCap
from pipeline.hub.client import HubClient, check_settings
from pipeline.hub.ids import InvalidHubName
from pipeline.longitudinal.discussions import update_discussions
from pipeline.longitudinal.history_store import (
    LISTED,
    MAX_TITLE,
    Row,
    StepCount,
    held_ids,
    in_models,
    listed_until,
    merge_write,
    parse_time,
    per_model,
)
from pipeline.longitudinal.lines import needing_clone, require_git, update_lines
from pipeline.longitudinal.process import PERIODS, held_periods, write_process
from pipeline.risks.maintainers import authors_of, commit_pages, commits_page_cap
from pipeline.risks.run import choose_targets
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import read_manifest, resolve_snapshot

TABLE = "commits"
MAX_ID = 128


def commit_row(model_id: str, commit: Row, fetched_at: datetime) -> Row | None:
    """A commits row from one item of a commits page; None when the item has no usable id."""
    commit_id = commit.get("id")
    if not isinstance(commit_id, str) or not commit_id or len(commit_id) > MAX_ID:
        return None
    title = commit.get("title")
    return {
        "model_id": model_id,
        "commit_id": commit_id,
        "title": title[:MAX_TITLE] if isinstance(title, str) else None,
        "date": parse_time(commit.get("date")),
        "authors": authors_of(commit),
        "fetched_at": fetched_at,
    }


def fetch_commits(
    client: HubClient, model_id: str, held: set[str], cap: BodyCap, max_pages: int
) -> tuple[list[Row], int]:
    """The model's commits not in `held` (all of them when `held` is empty), and the pages asked; a model
    whose history cannot be listed is one `error` row.

    Paging stops at a held commit only once the held and the new commits together reach the listing's
    total: a merge may have brought older-dated commits in below the newest held one. Without a total the
    listing is read whole."""
    rows: list[Row] = []
    seen: set[str] = set()
    pages = 0
    met_held = False
    try:
        for page in commit_pages(client, model_id, "main", cap, max_pages):
            pages += 1
            fetched_at = datetime.now(timezone.utc)
            for commit in page.commits:
                row = commit_row(model_id, commit, fetched_at)
                if row is None or row["commit_id"] in seen:
                    continue  # no usable id, or repeated by a page that shifted
                seen.add(row["commit_id"])
                if row["commit_id"] in held:
                    met_held = True
                else:
                    rows.append(row)
                if met_held and page.total is not None and len(rows) + len(held) >= page.total:
                    return rows, pages
    except InvalidHubName as exc:
        return [{"model_id": model_id, "error": str(exc)}], pages
    except HubResponseError as exc:
        # The refused page was asked too.
        return [{"model_id": model_id, "error": str(exc)}], pages + 1
    return rows, pages


def commit_bounds() -> tuple[BodyCap, int]:
    return commits_page_cap(), settings.HISTORY_MAX_COMMIT_PAGES.read()


def update_commits(
    data: DataDir, client: HubClient, models: Sequence[str], workers: int
) -> tuple[StepCount, set[str]]:
    """Fetch the commits of `models` not held yet and merge them into `commits.parquet`; also returns the
    models with new commits."""
    path = data.history_table(TABLE)
    held = held_ids(path, models, "commit_id")
    cap, max_pages = commit_bounds()
    done, count = per_model(
        models,
        lambda model_id: fetch_commits(client, model_id, held.get(model_id, set()), cap, max_pages),
        workers,
        "commits",
    )
    # A model's old error row goes whatever this run found; its commits stay.
    merge_write(
        path,
        TABLE,
        [[row for rows in done.values() for row in rows]],
        lambda held_rows: pc.and_(in_models(held_rows, done), held_rows.column("error").is_valid()),
    )
    with_new = {m for m, rows in done.items() if m not in count.errored and rows}
    return count, with_new


@dataclass
class HistoryResult:
    snapshot: Snapshot
    models: int
    period: str
    commits: StepCount
    discussions: StepCount
    lines: StepCount | None
    process_rows: int
    folder: Path
    requests: dict[str, int]
    seconds: float

    @property
    def errored(self) -> set[str]:
        return self.commits.errored | self.discussions.errored | (self.lines.errored if self.lines else set())

    @property
    def exit_code(self) -> int:
        return 3 if self.errored else 0

    def summary_line(self) -> str:
        git = f", {self.lines.requests} git clones" if self.lines is not None else ""
        return (
            f"history of {self.models} models of snapshot {self.snapshot.id}: "
            f"{self.commits.rows} new commits, "
            f"{self.discussions.rows} discussions{git}, {self.process_rows} process rows by {self.period}; "
            f"{len(self.errored)} models with error rows; "
            f"{self.requests.get('requests.api', 0)} API requests, "
            f"{self.seconds:.1f}s -> {self.folder}"
        )


def run_history(
    data_dir: Path,
    snapshot_id: str | None,
    *,
    top: int | None = None,
    models: Sequence[str] = (),
    period: str = "month",
    workers: int = 4,
    endpoint: str | None = None,
    git: bool = False,
) -> HistoryResult:
    """Update the commits and discussions of the chosen models of the snapshot (with `git`, also the lines
    their commits changed, from a clone), then the process metrics of every period held and `period`."""
    from pipeline.crawl import resolve_token

    started = time.monotonic()
    computed_at = datetime.now(timezone.utc)
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    endpoint = check_settings(endpoint)
    if git:
        require_git()
    data = DataDir(data_dir)
    with holding_lock(data, "history"):
        snapshot = resolve_snapshot(data, snapshot_id)  # under the lock: a prune cannot take it away
        chosen = [target.model_id for target in choose_targets(snapshot, top, models)]
        token = resolve_token()
        client = HubClient(endpoint, token, concurrency=workers)
        lines = None
        try:
            commits, with_new = update_commits(data, client, chosen, workers)
            discussions = update_discussions(data, client, chosen, workers)
            if git:
                listed_ok = [m for m in chosen if m not in commits.errored]
                cloned = needing_clone(data, listed_ok, with_new)
                lines = update_lines(data, client, endpoint, token, cloned, workers)
        finally:
            client.close()
        manifest = read_manifest(snapshot) or {}
        until = parse_time(manifest.get("started_at")) or datetime.now(timezone.utc)
        # Known up to this snapshot: models whose commits and discussions were both listed. A run on an
        # older snapshot never takes back what a later one made known.
        known = listed_until(data)
        listed = [m for m in chosen if m not in commits.errored | discussions.errored]
        rows = [
            {"model_id": m, "listed_until": until, "snapshot": snapshot.id}
            for m in listed
            if m not in known or known[m] < until
        ]
        merge_write(
            data.history_table(LISTED),
            LISTED,
            [rows],
            lambda held: in_models(held, [r["model_id"] for r in rows]),
        )
        # Every period held is computed again, so a series of another period is never left behind.
        periods = sorted(held_periods(data) | {period}, key=PERIODS.index)
        process_rows = write_process(data, periods, until, snapshot.id, computed_at)
    return HistoryResult(
        snapshot,
        len(chosen),
        period,
        commits,
        discussions,
        lines,
        process_rows,
        data.history,
        client.stats.snapshot(),
        time.monotonic() - started,
    )
