"""One model's evaluation: check its repo, load it once per task, run it on each claimed split, score.

Whatever goes wrong becomes the rows' status and error; only a hard crash (which the executor
contains) escapes. The function runs wherever the executor puts it: a child process or a Ray worker.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from pipeline.errors import HubmineError, one_line
from pipeline.evaluate import data, loading, results, tasks
from pipeline.evaluate.audio import AudioUndecodable
from pipeline.evaluate.labels import LabelMismatch
from pipeline.evaluate.plan import Claim, ModelJob

Row = dict[str, Any]


@dataclass(frozen=True)
class Options:
    batch_size: int = 32
    max_examples: int | None = None
    device: str = "cpu"
    allow_pickle: bool = False


def resolve_device(device: str) -> str:
    """`auto` as cuda when torch sees a GPU, else cpu; `cuda` without one is a one-line error."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise HubmineError("--device cuda but torch sees no CUDA device; use --device cpu or auto")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, HubmineError) else f"{type(exc).__name__}: {one_line(str(exc))}"


def decided(job: ModelJob) -> list[Row]:
    """Rows of the claims settled without loading anything (unsupported task or metric, bad ids)."""
    settled = [(claim, claim.unrunnable) for claim in job.claims]
    return [results.row(claim, why[0], error=why[1]) for claim, why in settled if why]


def failed(job: ModelJob, message: str) -> list[Row]:
    """Rows of a model whose evaluation died (crash, timeout): its runnable claims are errors."""
    return decided(job) + [results.row(claim, "error", error=message) for claim in job.runnable()]


def evaluate_model(job: ModelJob, options: Options) -> list[Row]:
    """The evaluations rows of every claim of `job`."""
    started = time.monotonic()
    runnable = job.runnable()
    try:
        options = replace(options, device=resolve_device(options.device))
        measured = _run(job, runnable, options) if runnable else []
    except Exception as exc:
        measured = [(claim, "error", {"error": _reason(exc)}) for claim in runnable]
    seconds = round(time.monotonic() - started, 3)
    return decided(job) + [
        results.row(claim, status, seconds=seconds, max_examples=options.max_examples, **fields)
        for claim, status, fields in measured
    ]


def _run(job: ModelJob, claims: list[Claim], options: Options) -> list[tuple[Claim, str, dict[str, Any]]]:
    assert job.sha is not None  # claims without a sha are decided in planning
    try:
        check = loading.check_repo(job.model_id, job.sha, options.allow_pickle)
    except loading.Refused as exc:
        return [(claim, exc.status, {"error": str(exc)}) for claim in claims]
    except Exception as exc:
        return [(claim, "error", {"error": _reason(exc)}) for claim in claims]
    out = []
    by_task: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_task[claim.task or ""].append(claim)
    for task, task_claims in by_task.items():
        try:
            model, processor = loading.load(task, job.model_id, job.sha, check, options.device)
        except Exception as exc:
            out += [(claim, "error", {"error": _reason(exc)}) for claim in task_claims]
            continue
        by_dataset: dict[tuple[str, str | None, str], list[Claim]] = defaultdict(list)
        for claim in task_claims:
            by_dataset[claim.dataset].append(claim)
        for (dataset_id, config, split), split_claims in by_dataset.items():
            out += _measure(task, model, processor, dataset_id, config, split, split_claims, options)
        del model, processor
    return out


def _measure(
    task: str,
    model: Any,
    processor: Any,
    dataset_id: str,
    config: str | None,
    split: str,
    claims: list[Claim],
    options: Options,
) -> list[tuple[Claim, str, dict[str, Any]]]:
    try:
        split_data = data.load_split(dataset_id, config, split, options.max_examples)
        outcome = tasks.run(task, model, processor, split_data, options.batch_size, options.device)
    except data.DatasetUnavailable as exc:
        return [(claim, "dataset_unavailable", {"error": str(exc)}) for claim in claims]
    except (tasks.ColumnsNotFound, AudioUndecodable) as exc:
        return [(claim, "dataset_unavailable", {"error": str(exc)}) for claim in claims]
    except LabelMismatch as exc:
        return [(claim, "label_mismatch", {"error": str(exc), "device": options.device}) for claim in claims]
    except Exception as exc:
        return [(claim, "error", {"error": _reason(exc), "device": options.device}) for claim in claims]
    out = []
    for claim in claims:
        fields: dict[str, Any] = {"n_examples": outcome.n_examples, "device": options.device}
        try:
            out.append((claim, "measured", {**fields, "measured": outcome.score(claim.metric)}))
        except Exception as exc:
            out.append((claim, "error", {**fields, "error": _reason(exc)}))
    return out
