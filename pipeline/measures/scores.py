"""Provenance, reproducibility and portability scores from the factors of the paper's Table I.

Each factor is one boolean column (`factor_<name>`) and each score is the share of its factors present.
Factors shared by two scores (hardware, environment) are one column counted in both. Detection:

- dataset_details: `has_datasets` (metadata `datasets` or a `dataset:` tag).
- performance_table: a claim that counts from model-index (`has_eval_claims`), or any claim with a
  value parsed from the card's own results about its own model (claims of `subject` self).
- architecture_details: `has_architecture` (`config.model_type`), or an architecture section
  (parsed_cards.sections `architecture`: Architecture, Technical specifications, Model structure).
- training_logs: TensorBoard logs (`runs/` folders, `events.out.tfevents` files, the `tensorboard`
  tag), a Trainer `trainer_state.json`, or a "Training results" heading (the per-epoch table the
  Trainer writes into the card).
- hardware: metadata `co2_eq_emissions.hardware_used`, `hardware_type` or `hardware`, a hardware
  section (Hardware, Compute infrastructure), or card text naming an accelerator (GPU/TPU families
  such as A100, V100, T4, RTX 3090, TPU v3, Gaudi).
- training_config: parsed Trainer hyperparameters, a hyperparameters section, or a training
  arguments file in the repository (training_args.bin/.json, a training or merge config).
- demos: metadata `widget` examples, or a how-to-use section (a runnable usage example).
  Spaces that use the model are not in the snapshot tables, so they do not count.
- documentation: the card has a body (`has_card_body`).
- environment: parsed framework versions, a software section (Framework versions, Requirements,
  Dependencies, Installation, Environment), or a requirements/environment file in the repository
  (requirements.txt, environment.yml, setup.py, pyproject.toml, Dockerfile, conda.yaml).
- latency: card text on latency, throughput, inference speed or tokens/samples per second.
- quantized_variants: the model is quantized (gguf/gptq/awq/... tags or files) or another model of
  the snapshot declares it as base with relation `quantized` (findings/lineage.parquet).
- framework_support: at least two frameworks among the library tags and weight files (PyTorch,
  TensorFlow/Keras, JAX/Flax, ONNX, TFLite, Core ML, OpenVINO, llama.cpp, MLX, transformers.js).
- finetuning_instructions: a heading on fine-tuning or training it yourself, or a training script
  in the repository (train*.py, finetune*.py, run_*.py).
- license: `has_license`.
- cost: metadata `co2_eq_emissions` (a number or its fields), `hours_used` or `training_cost`, or
  card text on GPU/TPU hours, kWh, CO2 emissions, carbon footprint or training cost.

Sections are the card parser's `sections_with_content`: a section counts only when it has content
beyond template fillers; template placeholders ("[More Information Needed]") carry none of the names the text
patterns look for, so an unfilled template does not count as a factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.cards.subject import is_self
from pipeline.measures.lineage import is_quantized
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import HeadlineItem, Section, Share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import (
    derive,
    iter_rows,
    left_join,
    load_json,
    non_empty,
    read_table,
    write_finding,
)

PROVENANCE = ("dataset_details", "performance_table", "architecture_details", "training_logs")
REPRODUCIBILITY = ("hardware", "training_config", "demos", "documentation", "environment")
PORTABILITY = (
    "hardware",
    "latency",
    "quantized_variants",
    "environment",
    "framework_support",
    "finetuning_instructions",
    "license",
    "cost",
)
SCORES = {"provenance": PROVENANCE, "reproducibility": REPRODUCIBILITY, "portability": PORTABILITY}
FACTORS = tuple(dict.fromkeys(PROVENANCE + REPRODUCIBILITY + PORTABILITY))
FACTOR_COLUMNS = tuple(f"factor_{name}" for name in FACTORS)
SCORE_COLUMNS = tuple(f"{name}_score" for name in SCORES)


@dataclass(frozen=True)
class ScoreStats(Section):
    mean: Share | None
    median: Share | None
    # Models per score value (scores are shares of a few factors, so they take few values).
    distribution: dict[str, int]


@dataclass(frozen=True)
class ScoresSection(Section):
    """summary.json `scores`: each factor's share of models and each score's distribution."""

    n_models: int
    factors: dict[str, Share | None]
    score_factors: dict[str, list[str]]
    provenance: ScoreStats
    reproducibility: ScoreStats
    portability: ScoreStats

    def score(self, name: str) -> ScoreStats:
        stats: ScoreStats = getattr(self, name)
        return stats

    def headline(self) -> list[HeadlineItem]:
        return [
            HeadlineItem(f"mean_{name}_score", self.score(name).mean, f"mean {name} score", "score")
            for name in SCORES
        ]


HARDWARE_TEXT = re.compile(
    r"\b(?:nvidia|[ahvp]100|a10g?|a6000|l4|t4|rtx\s?\d{4}|gtx\s?\d{3,4}|tpu(?:\s?v\d)?s?|gpus?"
    r"|mi\d{3}x?|gaudi\d?|habana)\b",
    re.IGNORECASE,
)
LATENCY_TEXT = re.compile(
    r"\b(?:latency|throughput|inference\s(?:speed|time)|tokens?(?:/s\b|\sper\ssecond)"
    r"|(?:samples|images|frames)\sper\ssecond|ms\sper\s(?:token|image|sample))",
    re.IGNORECASE,
)
COST_TEXT = re.compile(
    r"\b(?:[gt]pu[\s-]hours?|kwh|co2(?:eq)?\s(?:emissions?|emitted)|carbon\sfootprint"
    r"|training\scosts?|cost\sof\straining|compute\sbudget)\b",
    re.IGNORECASE,
)
TRAINING_RESULTS_HEADING = re.compile(r"training\s(?:results|logs?)|training\scurves?", re.IGNORECASE)
FINETUNE_HEADING = re.compile(
    r"fine[\s-]?tun|how\sto\strain|train(?:ing)?\s(?:on\s)?your\sown|training\sscript", re.IGNORECASE
)

# Library tags and weight files that mark a framework the model runs in.
FRAMEWORK_TAGS = {
    "pytorch": "pytorch",
    "tf": "tensorflow",
    "tensorflow": "tensorflow",
    "keras": "tensorflow",
    "tf-keras": "tensorflow",
    "jax": "jax",
    "flax": "jax",
    "onnx": "onnx",
    "tflite": "tflite",
    "coreml": "coreml",
    "openvino": "openvino",
    "gguf": "llama.cpp",
    "mlx": "mlx",
    "transformers.js": "transformers.js",
}
FRAMEWORK_FILES = {
    "pytorch_model.bin": "pytorch",
    "tf_model.h5": "tensorflow",
    "flax_model.msgpack": "jax",
    ".onnx": "onnx",
    ".tflite": "tflite",
    ".mlmodel": "coreml",
    ".gguf": "llama.cpp",
}
ENVIRONMENT_FILES = frozenset(
    {"requirements.txt", "environment.yml", "environment.yaml", "setup.py", "pyproject.toml", "dockerfile"}
    | {"conda.yaml", "conda.yml"}
)
CONFIG_FILES = frozenset(
    {"training_args.bin", "training_args.json", "train_config.yaml", "mergekit_config.yml"}
)
SCRIPT_FILE = re.compile(r"(?:^|/)(?:train\w*|finetune\w*|fine_tune\w*|run_\w+)\.py$", re.IGNORECASE)

_MODEL_FACTS = pa.schema(
    [
        ("model_id", pa.string()),
        ("logs_files", pa.bool_()),
        ("config_files", pa.bool_()),
        ("environment_files", pa.bool_()),
        ("script_files", pa.bool_()),
        ("quantized", pa.bool_()),
        ("frameworks", pa.int64()),
    ]
)
_CARD_FACTS = pa.schema(
    [
        ("model_id", pa.string()),
        ("meta_hardware", pa.bool_()),
        ("meta_cost", pa.bool_()),
        ("widget", pa.bool_()),
        ("hyperparameters", pa.bool_()),
        ("framework_versions", pa.bool_()),
        ("training_results_heading", pa.bool_()),
        ("finetune_heading", pa.bool_()),
        ("sec_architecture", pa.bool_()),
        ("sec_hardware", pa.bool_()),
        ("sec_software", pa.bool_()),
        ("sec_hyperparameters", pa.bool_()),
        ("sec_how_to_use", pa.bool_()),
    ]
)
_TEXT_FACTS = pa.schema(
    [
        ("model_id", pa.string()),
        ("text_hardware", pa.bool_()),
        ("text_latency", pa.bool_()),
        ("text_cost", pa.bool_()),
    ]
)


def frameworks(tags: list[str], siblings: list[str]) -> set[str]:
    found = {FRAMEWORK_TAGS[tag.lower()] for tag in tags if tag.lower() in FRAMEWORK_TAGS}
    for path in siblings:
        name = path.rsplit("/", 1)[-1].lower()
        found.update(fw for key, fw in FRAMEWORK_FILES.items() if name == key or name.endswith(key))
    return found


def _model_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, tags, siblings = row
    tags, siblings = tags or [], siblings or []
    names = [path.rsplit("/", 1)[-1].lower() for path in siblings]
    return (
        model_id,
        "tensorboard" in tags
        or "trainer_state.json" in names
        or any(path.startswith("runs/") or "events.out.tfevents" in path for path in siblings),
        any(name in CONFIG_FILES for name in names),
        any(name in ENVIRONMENT_FILES for name in names),
        any(SCRIPT_FILE.search(path) for path in siblings),
        is_quantized(tags, siblings),
        len(frameworks(tags, siblings)),
    )


def _json_present(text: str | None) -> bool:
    return non_empty(load_json(text))


def _card_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, metadata, headings, sections_with_content, hyperparameters, framework_versions = row
    meta = load_json(metadata)
    meta = meta if isinstance(meta, dict) else {}
    co2 = meta.get("co2_eq_emissions")
    hardware_used = co2.get("hardware_used") if isinstance(co2, dict) else None
    headings = headings or []
    found = set(sections_with_content or ())
    return (
        model_id,
        any(non_empty(v) for v in (hardware_used, meta.get("hardware_type"), meta.get("hardware"))),
        any(non_empty(v) for v in (co2, meta.get("hours_used"), meta.get("training_cost"))),
        non_empty(meta.get("widget")),
        _json_present(hyperparameters),
        _json_present(framework_versions),
        any(TRAINING_RESULTS_HEADING.search(h) for h in headings),
        any(FINETUNE_HEADING.search(h) for h in headings),
        "architecture" in found,
        "hardware" in found,
        "software" in found,
        "hyperparameters" in found,
        "how_to_use" in found,
    )


def _text_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, readme = row
    text = readme or ""
    return (
        model_id,
        bool(HARDWARE_TEXT.search(text)),
        bool(LATENCY_TEXT.search(text)),
        bool(COST_TEXT.search(text)),
    )


def _quantized_bases(snapshot: Snapshot) -> pa.Array:
    lineage = read_table(snapshot.finding("lineage"), ["base_model", "relation"])
    quantized = lineage.filter(pc.equal(lineage.column("relation"), "quantized"))
    return pc.unique(quantized.column("base_model").combine_chunks())


def _claimed_models(snapshot: Snapshot) -> pa.Array:
    """Models with a claim that counts, or with a value taken from the card's own results about itself
    (`subject` self: a comparison table's rows of other models do not count)."""
    claimed = {
        model_id
        for model_id, source, value, counts, subject in iter_rows(
            snapshot.finding("claims"), ["model_id", "source", "value", "counts", "subject"]
        )
        if is_self(subject) and (counts or (source != "model-index" and value is not None))
    }
    return pa.array(sorted(claimed), pa.string())


def _any(table: pa.Table, *names: str) -> pa.ChunkedArray:
    result = pc.fill_null(table.column(names[0]), False)
    for name in names[1:]:
        result = pc.or_(result, pc.fill_null(table.column(name), False))
    return result


def build(snapshot: Snapshot) -> pa.Table:
    attributes = read_table(
        snapshot.finding("attributes"),
        [
            "model_id",
            "has_datasets",
            "has_eval_claims",
            "has_architecture",
            "has_license",
            "has_card_body",
        ],
    )
    models = derive(snapshot.models, ["model_id", "tags", "siblings"], _MODEL_FACTS, _model_facts)
    cards = derive(
        snapshot.finding("parsed_cards"),
        [
            "model_id",
            "metadata",
            "headings",
            "sections_with_content",
            "hyperparameters",
            "framework_versions",
        ],
        _CARD_FACTS,
        _card_facts,
    )
    text = derive(snapshot.cards, ["model_id", "readme"], _TEXT_FACTS, _text_facts)
    t = left_join(left_join(left_join(attributes, models), cards), text)
    ids = t.column("model_id")

    factors = {
        "dataset_details": _any(t, "has_datasets"),
        "performance_table": pc.is_in(ids, value_set=_claimed_models(snapshot)),
        "architecture_details": _any(t, "has_architecture", "sec_architecture"),
        "training_logs": _any(t, "logs_files", "training_results_heading"),
        "hardware": _any(t, "meta_hardware", "sec_hardware", "text_hardware"),
        "training_config": _any(t, "hyperparameters", "sec_hyperparameters", "config_files"),
        "demos": _any(t, "widget", "sec_how_to_use"),
        "documentation": _any(t, "has_card_body"),
        "environment": _any(t, "framework_versions", "sec_software", "environment_files"),
        "latency": _any(t, "text_latency"),
        "quantized_variants": pc.or_(
            _any(t, "quantized"), pc.is_in(ids, value_set=_quantized_bases(snapshot))
        ),
        "framework_support": pc.greater_equal(pc.fill_null(t.column("frameworks"), 0), 2),
        "finetuning_instructions": _any(t, "finetune_heading", "script_files"),
        "license": _any(t, "has_license"),
        "cost": _any(t, "meta_cost", "text_cost"),
    }
    columns: dict[str, Any] = {"model_id": ids}
    columns.update({f"factor_{name}": factors[name] for name in FACTORS})
    for score, members in SCORES.items():
        present = [pc.cast(factors[name], pa.float64()) for name in members]
        total = present[0]
        for column in present[1:]:
            total = pc.add(total, column)
        columns[f"{score}_score"] = pc.divide(total, float(len(members)))
    return pa.table(columns)


def describe(table: pa.Table) -> ScoresSection:
    """Factor shares and the distribution of each score."""
    total = table.num_rows
    stats = {}
    for score in SCORES:
        column = table.column(f"{score}_score")
        values = pc.value_counts(column.combine_chunks()).to_pylist()
        stats[score] = ScoreStats(
            mean=pc.mean(column).as_py(),
            median=pc.approximate_median(column).as_py(),
            distribution={
                f"{v['values']:.3f}": v["counts"] for v in sorted(values, key=lambda v: v["values"])
            },
        )
    return ScoresSection(
        n_models=total,
        factors={
            name: (pc.sum(table.column(f"factor_{name}")).as_py() or 0) / total if total else None
            for name in FACTORS
        },
        score_factors={score: list(members) for score, members in SCORES.items()},
        **stats,
    )


def run(context: Context) -> ScoresSection:
    """Write `findings/scores.parquet`; return factor shares and score distributions."""
    table = build(context.snapshot)
    write_finding(context.snapshot, "scores", table)
    return describe(table)


MEASURE = Measure(
    name="scores",
    run=run,
    summary_key="scores",
    section=ScoresSection,
    reads=("models", "cards", "parsed_cards", "claims", "attributes", "lineage"),
    writes=("scores",),
    rates=FACTOR_COLUMNS + SCORE_COLUMNS,
)
