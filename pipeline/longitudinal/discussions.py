"""Discussions and pull requests of chosen models, from the Hub's discussions API.

`GET /api/models/{id}/discussions?p=N` answers `{"discussions": [...], "count", "start",
"numItemsPerPage"}`, each discussion with `num`, `title`, `status`, `author.name`, `createdAt`,
`isPullRequest` and `numComments` (what huggingface_hub's `get_repo_discussions` reads). A status
changes over time, so every run lists a model's discussions whole and its rows replace the ones held.
Each discussion's details (`/discussions/{num}`) give its status-change events, from which its exact
open intervals follow, reopenings included. The list shows nothing of a discussion closed and reopened
between two runs, so the details of every discussion are read again on every run (bounded per model);
one whose details cannot be read keeps the events held, with the time they were read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline import settings
from pipeline.errors import HubResponseError
from pipeline.hub.caps import BodyCap
from pipeline.hub.client import BadBody, HubClient, Response
from pipeline.hub.ids import InvalidHubName, repo_path
from pipeline.hub.records import int64
from pipeline.longitudinal.history_store import (
    MAX_TITLE,
    Row,
    StepCount,
    in_models,
    merge_write,
    parse_time,
    per_model,
    remedy,
)
from pipeline.risks.maintainers import MAX_AUTHOR_NAME
from pipeline.store.damage import reading
from pipeline.store.layout import DataDir

TABLE = "discussions"
STATUSES = ("open", "closed", "merged", "draft")
CLOSED = ("closed", "merged")
OPEN = ("open", "draft")
# Status changes kept per discussion: a thread closed and reopened more often than this is hostile.
MAX_CHANGES = 1000


def _is_page(response: Response) -> None:
    body = response.json
    if not isinstance(body, dict) or not isinstance(body.get("discussions"), list):
        raise BadBody(f"a discussions page that is not an object with a discussions list from {response.url}")


def _is_details(response: Response) -> None:
    body = response.json
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadBody(f"a discussion that is not an object with an events list from {response.url}")


def discussion_row(model_id: str, item: object, fetched_at: datetime) -> Row | None:
    """A discussions row from one item of a page; None when the item has no number."""
    if not isinstance(item, dict) or int64(item.get("num")) is None:
        return None
    author = item.get("author")
    name = author.get("name") if isinstance(author, dict) else None
    title = item.get("title")
    status = item.get("status")
    return {
        "model_id": model_id,
        "num": item["num"],
        "title": title[:MAX_TITLE] if isinstance(title, str) else None,
        "status": status if status in STATUSES else None,
        "is_pull_request": item.get("isPullRequest") if isinstance(item.get("isPullRequest"), bool) else None,
        "author": name if isinstance(name, str) and len(name) <= MAX_AUTHOR_NAME else None,
        "created_at": parse_time(item.get("createdAt")),
        "num_comments": int64(item.get("numComments")),
        "closed_at": None,
        "changed_at": None,
        "changed_to": None,
        "events_read_at": None,
        "fetched_at": fetched_at,
    }


def status_changes(events: list[object]) -> list[tuple[datetime, str]]:
    """The status changes among a discussion's events, in the order given: (when, new status). An event
    without a known status or a usable date is passed over."""
    changes: list[tuple[datetime, str]] = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "status-change":
            continue
        data = event.get("data")
        status = data.get("status") if isinstance(data, dict) else None
        when = parse_time(event.get("createdAt"))
        if status in STATUSES and when is not None and len(changes) < MAX_CHANGES:
            changes.append((when, status))
    return changes


def closed_at(events: list[object]) -> datetime | None:
    """When a discussion was last closed or merged, from its events; None when it was reopened since or
    no closing is recorded."""
    found = None
    for when, status in status_changes(events):
        found = when if status in CLOSED else None
    return found


@dataclass(frozen=True)
class HeldEvents:
    """What the table holds of one discussion's details."""

    closed_at: datetime | None
    changed_at: list[datetime] | None
    changed_to: list[str] | None
    read_at: datetime | None


@dataclass(frozen=True)
class DetailsBounds:
    cap: BodyCap
    per_model: int


def fetch_discussions(
    client: HubClient,
    model_id: str,
    cap: BodyCap,
    max_pages: int,
    held: dict[int, HeldEvents],
    details: DetailsBounds,
) -> tuple[list[Row], int]:
    """Every discussion of the model (at most `max_pages` pages) with its status changes read from its
    details (`held`: number to what is already known, kept for one whose details are not read this time),
    and the requests made; a model whose discussions cannot be listed is one `error` row."""
    rows: list[Row] = []
    seen: set[int] = set()
    pages = 0
    try:
        url = f"{client.endpoint}/api/models/{repo_path(model_id)}/discussions"
        for page in range(max_pages):
            response = client.get(f"{url}?{urlencode({'p': page})}", bucket="api", cap=cap, check=_is_page)
            pages += 1
            if response.status != 200:
                raise HubResponseError(
                    f"HTTP {response.status} on the discussions of {model_id}", response.status
                )
            fetched_at = datetime.now(timezone.utc)
            items = response.json["discussions"]
            for item in items:
                row = discussion_row(model_id, item, fetched_at)
                if row is not None and row["num"] not in seen:  # a page that shifted may repeat one
                    seen.add(row["num"])
                    rows.append(row)
            count, start = int64(response.json.get("count")), int64(response.json.get("start"))
            if not items or count is None or start is None or start + len(items) >= count:
                break
    except (InvalidHubName, HubResponseError) as exc:
        return [{"model_id": model_id, "error": str(exc)}], pages
    asked = 0
    # Newest first, as listed: past the bound, the oldest keep what is held.
    for row in rows:
        events = None
        if asked < details.per_model:
            asked += 1
            events = _events(client, f"{url}/{row['num']}", details.cap)
        if events is not None:
            changes = status_changes(events)
            row["changed_at"] = [when for when, _ in changes]
            row["changed_to"] = [status for _, status in changes]
            row["events_read_at"] = datetime.now(timezone.utc)
            row["closed_at"] = closed_at(events) if row["status"] in CLOSED else None
        elif (known := held.get(row["num"])) is not None:
            row["changed_at"], row["changed_to"] = known.changed_at, known.changed_to
            row["events_read_at"] = known.read_at
            row["closed_at"] = known.closed_at if row["status"] in CLOSED else None
    return rows, pages + asked


def _events(client: HubClient, url: str, cap: BodyCap) -> list[object] | None:
    """One discussion's events; None when its details cannot be read (asked again on the next run)."""
    try:
        response = client.get(url, bucket="api", cap=cap, check=_is_details)
    except HubResponseError:
        return None
    return response.json["events"] if response.status == 200 else None


EVENT_COLUMNS = ("closed_at", "changed_at", "changed_to", "events_read_at")


def held_events(path: Path, models: Sequence[str]) -> dict[str, dict[int, HeldEvents]]:
    """What `path` holds of the details of `models`' discussions: model to number to its events; a table
    written before a column existed reads it as null."""
    if not path.exists():
        return {}
    with reading(path, remedy(path)):
        dataset = ds.dataset(path, format="parquet")
        columns = [c for c in EVENT_COLUMNS if c in dataset.schema.names]
        if not columns:
            return {}
        table = dataset.to_table(
            columns=["model_id", "num", *columns],
            filter=pc.field("model_id").isin(list(models)) & pc.field("num").is_valid(),
        )
    held: dict[str, dict[int, HeldEvents]] = defaultdict(dict)
    for row in table.to_pylist():
        known = HeldEvents(
            row.get("closed_at"), row.get("changed_at"), row.get("changed_to"), row.get("events_read_at")
        )
        held[row["model_id"]][row["num"]] = known
    return held


def update_discussions(data: DataDir, client: HubClient, models: Sequence[str], workers: int) -> StepCount:
    """List the discussions of `models` and put them in `discussions.parquet` in place of those held."""
    cap = BodyCap.of("discussions page", settings.MAX_DISCUSSIONS_PAGE_BYTES)
    max_pages = settings.HISTORY_MAX_DISCUSSION_PAGES.read()
    details = DetailsBounds(
        BodyCap.of("discussion", settings.MAX_DISCUSSION_BYTES),
        settings.HISTORY_MAX_DISCUSSION_DETAILS.read(),
    )
    path = data.history_table(TABLE)
    held = held_events(path, models)
    done, count = per_model(
        models,
        lambda model_id: fetch_discussions(client, model_id, cap, max_pages, held.get(model_id, {}), details),
        workers,
        "discussions",
    )
    listed = [model_id for model_id in done if model_id not in count.errored]
    # A model listed again replaces all its rows; one that failed keeps its old discussions.
    merge_write(
        path,
        TABLE,
        [[row for rows in done.values() for row in rows]],
        lambda held: pc.or_(
            in_models(held, listed),
            pc.and_(in_models(held, count.errored), held.column("error").is_valid()),
        ),
    )
    return count
