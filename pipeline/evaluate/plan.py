"""What to evaluate: the snapshot's claims that can be re-measured, grouped so each model loads once.

A claim is taken when it has a canonical `metric` and a dataset (`dataset_id`, else the model-index
`dataset_type`, else `dataset_name`). Its model is evaluated at the sha the snapshot's models.parquet
lists. Claims whose task or metric the evaluator cannot run are kept: they become rows that say so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from pipeline.cards.subject import is_self
from pipeline.errors import SnapshotError
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.store.layout import Snapshot
from pipeline.store.tables import iter_rows

# The claims' task names (model-index task.type, pipeline tags) the evaluator runs, by their aliases.
TASK_ALIASES: dict[str, str] = {
    "text-classification": "text-classification",
    "sentiment-analysis": "text-classification",
    "natural-language-inference": "text-classification",
    "token-classification": "token-classification",
    "named-entity-recognition": "token-classification",
    "ner": "token-classification",
    "image-classification": "image-classification",
    "automatic-speech-recognition": "automatic-speech-recognition",
    "speech-recognition": "automatic-speech-recognition",
    "asr": "automatic-speech-recognition",
    "question-answering": "question-answering",
    "extractive-question-answering": "question-answering",
}
# The canonical metrics each task can measure.
TASK_METRICS: dict[str, frozenset[str]] = {
    "text-classification": frozenset(
        {"accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted", "precision", "recall"}
    ),
    "token-classification": frozenset({"accuracy", "f1", "precision", "recall"}),
    "image-classification": frozenset({"accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted"}),
    "automatic-speech-recognition": frozenset({"wer", "cer"}),
    "question-answering": frozenset({"exact_match", "f1"}),
}
DEFAULT_SPLIT = "test"
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

CLAIM_COLUMNS = (
    "model_id",
    "source",
    "task_type",
    "dataset_id",
    "dataset_type",
    "dataset_name",
    "dataset_config",
    "dataset_split",
    "metric",
    "value",
    "value_unit",
    "subject",
)


@dataclass(frozen=True)
class Claim:
    """One claim to re-measure, with the model's sha and the task and dataset it is run on."""

    model_id: str
    sha: str | None
    source: str
    task_type: str | None
    dataset_id: str
    dataset_config: str | None
    dataset_split: str
    metric: str
    claimed: float | None
    claimed_unit: float | None
    pipeline_tag: str | None = None  # the model's, for --tasks

    @property
    def key(self) -> tuple[str | None, ...]:
        """What makes two claims the same measurement (resume compares these)."""
        return (
            self.model_id,
            self.sha,
            self.source,
            self.task_type,
            self.dataset_id,
            self.dataset_config,
            self.dataset_split,
            self.metric,
        )

    @property
    def dataset(self) -> tuple[str, str | None, str]:
        return (self.dataset_id, self.dataset_config, self.dataset_split)

    @property
    def task(self) -> str | None:
        """The runnable task, or None when the evaluator has no runner for it."""
        return TASK_ALIASES.get(_task_name(self.task_type))

    @property
    def unrunnable(self) -> tuple[str, str] | None:
        """(status, reason) when this claim is decided without loading anything; else None."""
        if self.task is None:
            return "unsupported_task", f"no evaluator for task {self.task_type!r}"
        if self.metric not in TASK_METRICS[self.task]:
            return "unsupported_metric", f"{self.metric} is not measured for {self.task}"
        if not self.sha:
            return "error", "the snapshot lists no sha for this model; crawl again"
        try:
            repo_path(self.model_id)
            revision_segment(self.sha)
        except InvalidHubName as exc:
            return "error", str(exc)
        try:
            repo_path(self.dataset_id)
        except InvalidHubName as exc:
            return "dataset_unavailable", str(exc)
        # Config and split names end up in cache paths: plain names only.
        for what, name in (("config", self.dataset_config), ("split", self.dataset_split)):
            if name is not None and not PLAIN_NAME.fullmatch(name):
                return "dataset_unavailable", f"dataset {what} {name[:60]!r} is not a plain name; not loaded"
        return None


@dataclass(frozen=True)
class ModelJob:
    """Every claim of one model: it is loaded once (per task) for all of them."""

    model_id: str
    sha: str | None
    claims: tuple[Claim, ...] = field(default_factory=tuple)

    def runnable(self) -> list[Claim]:
        return [claim for claim in self.claims if claim.unrunnable is None]


@dataclass(frozen=True)
class Selection:
    """Which models and tasks the user asked for."""

    models: Sequence[str] = ()
    tasks: Sequence[str] = ()
    sample: int | None = None


def read_claims(snapshot: Snapshot) -> list[Claim]:
    """The snapshot's own-model claims (`subject` self) with a canonical metric and a dataset, each with
    its model's sha and task."""
    claims_path = snapshot.finding("claims")
    if not claims_path.exists():
        raise SnapshotError(
            f"snapshot {snapshot.id!r} has no {claims_path.name}; run `hubmine analyze` first"
        )
    models = {
        model_id: (sha, pipeline_tag)
        for model_id, sha, pipeline_tag in iter_rows(snapshot.models, ("model_id", "sha", "pipeline_tag"))
    }
    found: dict[tuple[str | None, ...], Claim] = {}
    for row in iter_rows(claims_path, CLAIM_COLUMNS):
        values = dict(zip(CLAIM_COLUMNS, row, strict=True))
        dataset = values["dataset_id"] or values["dataset_type"] or values["dataset_name"]
        if not is_self(values["subject"]) or not values["metric"] or not dataset:
            continue
        if values["model_id"] not in models:
            continue
        sha, pipeline_tag = models[values["model_id"]]
        claim = Claim(
            model_id=values["model_id"],
            sha=sha,
            source=values["source"],
            task_type=values["task_type"] or pipeline_tag,
            dataset_id=dataset.strip(),
            dataset_config=values["dataset_config"] or None,
            dataset_split=values["dataset_split"] or DEFAULT_SPLIT,
            metric=values["metric"],
            claimed=values["value"],
            claimed_unit=values["value_unit"],
            pipeline_tag=pipeline_tag,
        )
        found.setdefault(claim.key, claim)  # a claim repeated on a card is measured once
    return list(found.values())


def select(claims: Iterable[Claim], selection: Selection) -> list[ModelJob]:
    """The chosen claims grouped by model, models in id order; `--sample N` keeps N models chosen by a
    hash of their id, so the same snapshot always gives the same sample."""
    wanted_tasks = {_task_name(task) for task in selection.tasks}
    by_model: dict[str, list[Claim]] = {}
    for claim in claims:
        if selection.models and claim.model_id not in selection.models:
            continue
        if wanted_tasks and not wanted_tasks & {_task_name(claim.task_type), _task_name(claim.pipeline_tag)}:
            continue
        by_model.setdefault(claim.model_id, []).append(claim)
    chosen = sorted(by_model)
    if selection.sample is not None:
        chosen = sorted(sorted(chosen, key=_sample_rank)[: selection.sample])
    return [ModelJob(model_id, by_model[model_id][0].sha, tuple(by_model[model_id])) for model_id in chosen]


def plan(snapshot: Snapshot, selection: Selection) -> list[ModelJob]:
    """The models to evaluate and their claims, as `selection` narrows them."""
    return select(read_claims(snapshot), selection)


def without(job: ModelJob, done: set[tuple[str | None, ...]]) -> ModelJob:
    """`job` less the claims already measured (resume)."""
    return replace(job, claims=tuple(claim for claim in job.claims if claim.key not in done))


def _task_name(name: str | None) -> str:
    """A task name as the Hub spells it (`Text Classification`, `text_classification` -> text-classification),
    then as the evaluator calls it where it has an alias."""
    key = "-".join((name or "").strip().lower().replace("_", " ").split())
    return TASK_ALIASES.get(key, key)


def _sample_rank(model_id: str) -> str:
    return hashlib.sha256(model_id.encode("utf-8")).hexdigest()
