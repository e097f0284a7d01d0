"""`hubmine evaluate`: plan the claims, skip those settled before, run the models, append their rows."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.evaluate import executors, results
from pipeline.evaluate.plan import ModelJob, Selection, plan, without
from pipeline.evaluate.runner import Options, Row, resolve_device
from pipeline.progress import progress_bar
from pipeline.store.damage import warn
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import resolve_snapshot


@dataclass
class EvaluateResult:
    snapshot: Snapshot
    skipped: int = 0  # claims settled by an earlier run
    models: int = 0
    errored_models: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, rows: list[Row]) -> None:
        self.models += 1
        self.errored_models += any(row["status"] == "error" for row in rows)
        self.statuses.update(row["status"] for row in rows)

    @property
    def exit_code(self) -> int:
        return 3 if self.errored_models else 0

    def summary_line(self) -> str:
        tried = sum(self.statuses.values())
        counts = ", ".join(
            f"{status} {n}" for status, n in sorted(self.statuses.items()) if status != "measured"
        )
        return (
            f"evaluated {self.models} models of snapshot {self.snapshot.id}: {tried} claims tried, "
            f"{self.statuses['measured']} measured"
            + (f" ({counts})" if counts else "")
            + f", {self.skipped} settled before, in {self.seconds:.0f} s; "
            f"results in {self.snapshot.finding(results.TABLE)}"
        )


def run_evaluate(
    data_dir: Path,
    snapshot_id: str | None,
    selection: Selection,
    options: Options,
    executor: str = "local",
    address: str | None = None,
    gpus_per_model: float = 0,
) -> EvaluateResult:
    started = time.monotonic()
    data = DataDir(data_dir)
    snapshot = resolve_snapshot(data, snapshot_id)
    if executor == "local":
        # Ray workers may have GPUs this machine lacks: there each worker resolves `auto` itself.
        options = replace(options, device=resolve_device(options.device))
    with holding_lock(data, "evaluate"):
        planned = plan(snapshot, selection)
        unknown = sorted(set(selection.models) - {job.model_id for job in planned})
        if unknown:
            warn(f"no claim to evaluate for {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
        settled = results.done(snapshot, options.allow_pickle, options.max_examples)
        jobs = [job for job in (without(job, settled) for job in planned) if job.claims]
        result = EvaluateResult(
            snapshot, skipped=sum(len(j.claims) for j in planned) - sum(len(j.claims) for j in jobs)
        )
        with progress_bar(total=len(jobs), desc="models", unit="model", disable=None) as bar:

            def record(job: ModelJob, rows: list[Row]) -> None:
                results.append(snapshot, rows)
                result.add(rows)
                bar.update()

            if executor == "ray":
                executors.run_ray(jobs, options, record, address, gpus_per_model)
            else:
                executors.run_local(jobs, options, record)
    result.seconds = time.monotonic() - started
    return result
