"""`hubmine crawl`: run the registered phases (`pipeline.crawl.phases`) and leave a complete (or resumable)
snapshot."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.crawl.context import CrawlContext
from pipeline.crawl.listing import SKIPPED_ENTRIES
from pipeline.crawl.params import POPULATION_PARAMS, CrawlParams
from pipeline.crawl.phases import Phase, enabled_phases, part_tables
from pipeline.crawl.state import CrawlState, versions, write_manifest
from pipeline.errors import SnapshotError, StorageError
from pipeline.hub.client import HubClient, check_settings, utc_now
from pipeline.hub.responses import public_url
from pipeline.store.files import remove_leftovers, storage_errors
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.parts import PartSet
from pipeline.store.removal import remove_path
from pipeline.store.snapshot import list_snapshots, read_manifest

__all__ = ["CrawlParams", "CrawlResult", "run_crawl"]


@dataclass
class CrawlResult:
    snapshot: Snapshot
    status: str
    counts: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return 3 if self.counts.get("failed_models") else 0

    def summary_line(self) -> str:
        c = self.counts
        cards = c.get("cards", {})
        card_part = ""
        if cards:
            card_part = (
                f", cards {cards.get('ok', 0)} ok / {cards.get('missing', 0)} missing / "
                f"{cards.get('gated', 0)} gated / {cards.get('error', 0)} error "
                f"({c.get('cards_reused', 0)} reused, {c.get('cards_fetched', 0)} fetched)"
            )
        evals = c.get("eval_results", {})
        if evals:
            card_part += (
                f", eval-results files {evals.get('ok', 0)} ok / {evals.get('missing', 0)} missing / "
                f"{evals.get('gated', 0)} gated / {evals.get('error', 0)} error "
                f"({evals.get('reused', 0)} reused, {evals.get('fetched', 0)} fetched)"
            )
        requests = c.get("requests", {})
        return (
            f"snapshot {self.snapshot.id} {self.status}: {c.get('models', 0)} models{card_part}; "
            f"{requests.get('api', 0)} API + {requests.get('resolvers', 0)} resolver requests, "
            f"{requests.get('429', 0)} rate-limited, {self.elapsed_s:.1f}s -> {self.snapshot.dir}"
        )


def resolve_token() -> str | None:
    """HF_TOKEN, else the huggingface_hub login; sent with requests, never written anywhere."""
    token = os.environ.get("HF_TOKEN")
    if token:
        return token
    from huggingface_hub import get_token

    return get_token()


def new_snapshot_id(data: DataDir) -> str:
    base = utc_now().strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 1
    while data.snapshot(candidate).dir.exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _resume_target(data: DataDir, snapshot_id: str | None) -> str:
    if snapshot_id is None:
        complete = set(list_snapshots(data, "complete"))
        unfinished = [s for s in list_snapshots(data) if s not in complete]
        if not unfinished:
            raise SnapshotError(f"no unfinished snapshot to resume under {data.snapshots}")
        return unfinished[-1]
    manifest = read_manifest(data.snapshot(snapshot_id))  # a damaged one says so, and what to do
    if manifest is None:
        raise SnapshotError(f"no snapshot {snapshot_id!r} to resume under {data.snapshots}")
    if manifest.get("status") == "complete":
        raise SnapshotError(f"snapshot {snapshot_id!r} is already complete")
    return snapshot_id


def _check_resumable(
    snapshot: Snapshot,
    manifest: dict[str, Any],
    endpoint: str,
    params: CrawlParams,
    set_by_user: frozenset[str],
) -> None:
    """Refuse to continue `snapshot` against another endpoint, or with parameters set_by_user on this command
    line that differ from those it was started with: the result would mix two populations."""
    crawled_from = manifest.get("endpoint")
    if crawled_from and crawled_from != public_url(endpoint):
        raise SnapshotError(
            f"snapshot {snapshot.id!r} was crawled from {crawled_from}, not {public_url(endpoint)}; "
            f"resume it with HF_ENDPOINT={crawled_from}, or start a new crawl without --resume"
        )
    started = CrawlParams.from_json(manifest.get("params") or {})
    differ = [
        name
        for name in sorted(set_by_user)
        if name in POPULATION_PARAMS and getattr(params, name) != getattr(started, name)
    ]
    if differ:
        was = ", ".join(f"{name} {getattr(started, name)!r}" for name in differ)
        raise SnapshotError(
            f"snapshot {snapshot.id!r} was started with {was}; resume it without "
            f"{', '.join(_flag(name) for name in differ)}, or start a new crawl without --resume"
        )


def _flag(param: str) -> str:
    return "--filter" if param == "filters" else f"--{param}"


def _previous_snapshot(data: DataDir, since: str | None, current: str) -> str | None:
    if since is not None:
        if read_manifest(data.snapshot(since)) is None:
            raise SnapshotError(f"--since: no snapshot {since!r} under {data.snapshots}")
        return since
    complete = [s for s in list_snapshots(data, "complete") if s != current]
    return complete[-1] if complete else None


def _answered(client: HubClient) -> bool:
    """Whether any response at all came back to this crawl's client."""
    return any(key.startswith("status.") for key in client.stats.snapshot())


def _merged_requests(before: dict[str, int], client: HubClient) -> dict[str, int]:
    merged = Counter(before)
    merged.update(client.stats.snapshot())
    return dict(sorted(merged.items()))


def _tally(context: CrawlContext, phases: tuple[Phase, ...], requests: dict[str, int]) -> dict[str, Any]:
    models = pq.ParquetFile(context.snapshot.models).metadata.num_rows
    counts: dict[str, Any] = {
        "models": models,
        "requests": {
            "api": requests.get("requests.api", 0),
            "resolvers": requests.get("requests.resolvers", 0),
            "429": requests.get("status.429", 0),
            "retries": requests.get("retries", 0),
        },
        "failures": {k.split(".", 1)[1]: v for k, v in requests.items() if k.startswith("failures.")},
        "listing_entries_skipped": requests.get(SKIPPED_ENTRIES, 0),
        "api_requests_per_model": round(requests.get("requests.api", 0) / models, 6) if models else None,
        "failed_models": 0,
    }
    for phase in phases:
        if phase.tally is not None and context.snapshot.table(phase.table).exists():
            counts.update(phase.tally(context))
    return counts


def _merge_parts(snapshot: Snapshot, table: str, count: int, unique_key: str | None = None) -> None:
    """A phase's committed parts merged into its table (unless a run killed after the merge did it),
    then dropped."""
    parts = PartSet(snapshot, table)
    if not snapshot.table(table).exists():
        parts.merge(count, snapshot.table(table), unique_key=unique_key)
    parts.remove()


def run_crawl(
    data_dir: Path,
    params: CrawlParams,
    *,
    snapshot_id: str | None = None,
    resume: bool = False,
    since: str | None = None,
    endpoint: str | None = None,
    set_by_user: frozenset[str] = frozenset(),
) -> CrawlResult:
    """Crawl into a new snapshot, or with `resume` continue an unfinished one with the parameters it was
    started with; `set_by_user` names the parameters the user set, which a resumed crawl must not change."""
    # HF_ENDPOINT and the client's settings: a bad one stops the crawl before it writes anything.
    endpoint = check_settings(endpoint)
    data = DataDir(data_dir)
    for named in (snapshot_id, since):
        if named is not None:
            data.snapshot(named)  # refuses an id that is not a plain name, before anything is written
    with holding_lock(data, "crawl"):
        return _run_crawl_holding_lock(data, params, snapshot_id, resume, since, endpoint, set_by_user)


def _run_crawl_holding_lock(
    data: DataDir,
    params: CrawlParams,
    snapshot_id: str | None,
    resume: bool,
    since: str | None,
    endpoint: str,
    set_by_user: frozenset[str],
) -> CrawlResult:
    if resume:
        snapshot_id = _resume_target(data, snapshot_id)
        started = read_manifest(data.snapshot(snapshot_id)) or {}
        _check_resumable(data.snapshot(snapshot_id), started, endpoint, params, set_by_user)
        params = CrawlParams.from_json(started["params"])
    else:
        snapshot_id = snapshot_id or new_snapshot_id(data)
        if data.snapshot(snapshot_id).dir.exists():
            read_manifest(data.snapshot(snapshot_id))  # a damaged one is reported as such, with what to do
            raise SnapshotError(f"snapshot {snapshot_id!r} exists; continue it with --resume")
    snapshot = data.snapshot(snapshot_id)
    with storage_errors(snapshot.dir):
        snapshot.dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(snapshot.dir)
    phases = enabled_phases(params)
    tables = part_tables(phases)
    state = CrawlState.load(snapshot)
    for phase in phases:
        if phase.merge:
            state.roll_back_damaged_parts(snapshot, phase.name, phase.table, phase.restart_on_damage)
    if not resume:
        wants_previous = any(phase.reads_earlier for phase in phases)
        state.since = _previous_snapshot(data, since, snapshot_id) if wants_previous else None
    elif not snapshot.state.exists():
        # Killed before its first checkpoint: the manifest still names the snapshot it builds on.
        state.since = (read_manifest(snapshot) or {}).get("since")

    started = time.monotonic()
    manifest = read_manifest(snapshot) or {}
    write_manifest(
        snapshot,
        snapshot_id=snapshot_id,
        status="running",
        endpoint=public_url(endpoint),
        started_at=manifest.get("started_at") or utc_now().isoformat(),
        finished_at=None,
        params=params.to_json(),
        since=state.since,
        versions=versions(),
    )
    token = resolve_token()
    client = HubClient(endpoint, token, concurrency=params.workers)

    def checkpoint() -> None:
        state.save(snapshot, _merged_requests(state.requests, client), tables)

    context = CrawlContext(client, params, state, data, snapshot, checkpoint, has_token=token is not None)
    try:
        for phase in phases:
            progress = state.phase(phase.name)
            if not progress.finished:
                phase.run(context)
            if phase.merge:
                _merge_parts(snapshot, phase.table, progress.parts, phase.unique_key)
        with contextlib.suppress(FileNotFoundError):
            snapshot.parts_root.rmdir()
    except BaseException as exc:
        if not resume and not _answered(client):
            # Nothing came back (no network, a wrong HF_ENDPOINT): there is nothing to resume.
            with contextlib.suppress(StorageError):  # a refused removal leaves the folder, not this error
                remove_path(snapshot.dir, data.root, ignore_errors=True)
            raise
        # Whatever stopped the crawl, what was committed stays resumable and the manifest says so;
        # on a full or read-only disk that record may not be writable either, and the journal suffices.
        with contextlib.suppress(StorageError):
            checkpoint()
            write_manifest(
                snapshot,
                status="partial",
                finished_at=utc_now().isoformat(),
                error=str(exc) or type(exc).__name__,
                counts={"requests": _merged_requests(state.requests, client)},
            )
        if isinstance(exc, StorageError):
            raise StorageError(f"{exc}, then continue with `hubmine crawl --resume`") from exc
        raise
    finally:
        client.close()

    counts = _tally(context, phases, _merged_requests(state.requests, client))
    write_manifest(snapshot, status="complete", finished_at=utc_now().isoformat(), counts=counts, error=None)
    snapshot.state.unlink(missing_ok=True)
    remove_leftovers(snapshot.dir)
    return CrawlResult(snapshot, "complete", counts, time.monotonic() - started)
