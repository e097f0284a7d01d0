"""`hubmine risks`: choose the models, hold the data directory, run the steps asked for, in catalog order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline.errors import SnapshotError, UsageError
from pipeline.hub.caps import BodyCaps
from pipeline.hub.client import HubClient, check_settings
from pipeline.hub.ids import repo_path
from pipeline.risks.catalog import STEPS
from pipeline.risks.registry import RiskContext, Target
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import resolve_snapshot

DEFAULT_TOP = 100


@dataclass
class RisksResult:
    snapshot: Snapshot
    models: int
    lines: list[str] = field(default_factory=list)
    errored_models: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 3 if self.errored_models else 0

    def summary_line(self) -> str:
        return (
            f"risks of {self.models} models of snapshot {self.snapshot.id}: {len(self.lines)} steps, "
            f"{self.errored_models} models with error rows; {self.requests.get('requests.api', 0)} API + "
            f"{self.requests.get('requests.resolvers', 0)} resolver requests, {self.seconds:.1f}s"
        )


def choose_targets(snapshot: Snapshot, top: int | None, models: Sequence[str]) -> list[Target]:
    """`models` (each a Hub name listed in the snapshot), else the `top` most-downloaded models."""
    if models and top is not None:
        raise UsageError("choose models with --top or with --models, not both")
    table = ds.dataset(snapshot.models, format="parquet")
    if models:
        for model_id in models:
            repo_path(model_id)
        wanted = list(dict.fromkeys(models))
        found = table.to_table(
            columns=["model_id", "sha", "siblings"], filter=pc.field("model_id").isin(wanted)
        )
        listed = set(found.column("model_id").to_pylist())
        missing = [model_id for model_id in wanted if model_id not in listed]
        if missing:
            raise SnapshotError(
                f"{', '.join(missing[:5])} not in snapshot {snapshot.id}; choose models it lists"
            )
        order = {model_id: i for i, model_id in enumerate(wanted)}
    else:
        # Read the siblings of the chosen models only: a whole registry's file lists are large.
        ranked = table.to_table(columns=["model_id", "downloads"])
        ranked = ranked.set_column(1, "downloads", pc.fill_null(ranked.column("downloads"), -1))
        ranked = ranked.take(
            pc.sort_indices(ranked, [("downloads", "descending"), ("model_id", "ascending")])
        ).slice(0, top or DEFAULT_TOP)
        chosen = ranked.column("model_id").to_pylist()
        found = table.to_table(
            columns=["model_id", "sha", "siblings"], filter=pc.field("model_id").isin(chosen)
        )
        order = {model_id: i for i, model_id in enumerate(chosen)}
    targets = [Target(row["model_id"], row["sha"], tuple(row["siblings"] or ())) for row in found.to_pylist()]
    return sorted(targets, key=lambda target: order[target.model_id])


def run_risks(
    data_dir: Path,
    snapshot_id: str | None,
    flags: set[str],
    *,
    top: int | None = None,
    models: Sequence[str] = (),
    max_bytes: int | None = None,
    workers: int = 4,
    endpoint: str | None = None,
) -> RisksResult:
    """Run every step whose flag is in `flags` on the chosen models of the snapshot."""
    from pipeline.crawl import resolve_token

    started = time.monotonic()
    steps = [step for step in STEPS if step.flag in flags]
    if not steps:
        names = " ".join(f"--{step.flag}" for step in STEPS)
        raise UsageError(f"nothing to do; turn on at least one of {names}")
    endpoint = check_settings(endpoint)
    data = DataDir(data_dir)
    with holding_lock(data, "risks"):
        snapshot = resolve_snapshot(data, snapshot_id)  # under the lock: a prune cannot take it away
        targets = choose_targets(snapshot, top, models)
        token = resolve_token()
        client = HubClient(endpoint, token, concurrency=workers)
        context = RiskContext(
            data=data,
            snapshot=snapshot,
            targets=targets,
            client=client,
            endpoint=endpoint,
            token=token,
            workers=workers,
            max_bytes=max_bytes or BodyCaps.from_env().pickle.limit,
        )
        result = RisksResult(snapshot, len(targets))
        try:
            for step in steps:
                result.lines.append(step.run(context))
        finally:
            client.close()
    result.errored_models = len(context.errored)
    result.requests = client.stats.snapshot()
    result.seconds = time.monotonic() - started
    return result
