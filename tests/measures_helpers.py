"""A hand-made snapshot covering the edge cases of the attribute, score and lineage definitions.

Its parsed_cards and claims tables are written directly (as the card stage would write them), so
the measures are tested on exactly the inputs below; expected values are worked out by hand in the
tests.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.measures.attributes import SECTIONS
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot

SNAPSHOT_ID = "20260101T000000Z"
ALL_SECTIONS = list(SECTIONS)
MODEL_INDEX = [
    {
        "name": "m",
        "results": [
            {
                "task": {"type": "text-classification"},
                "dataset": {"type": "glue", "name": "GLUE"},
                "metrics": [{"type": "accuracy", "value": 0.9}, {"type": "f1", "value": "85.3%"}],
            }
        ],
    }
]


def _when(year: int) -> datetime:
    return datetime(year, 6, 1, tzinfo=timezone.utc)


# model_id -> (models row fields, parsed_cards row fields or None when the card stage has no row)
MODELS: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    # Everything present, README fetched: metadata is the front matter.
    "org/full": (
        {
            "tags": ["transformers", "license:mit", "dataset:squad", "base_model:finetune:r/root"],
            "config": {"model_type": "bert"},
            "pipeline_tag": "text-classification",
            "library_name": "transformers",
            "siblings": ["README.md", "config.json", "runs/events.out.tfevents.1", "requirements.txt"],
            "downloads": 1000,
            "created_at": _when(2021),
        },
        {
            "card_status": "ok",
            "has_card": True,
            "has_card_body": True,
            "has_front_matter": True,
            "metadata_source": "front_matter",
            "metadata": {
                "license": "mit",
                "datasets": ["squad"],
                "base_model": "r/root",
                "language": ["en"],
                "model-index": MODEL_INDEX,
                "widget": [{"text": "hi"}],
                "co2_eq_emissions": {"emissions": 1.5, "hardware_used": "1 x A100"},
            },
            "sections": ALL_SECTIONS,
            "headings": ["Model", "Training results", "Fine-tuning on your data"],
            "hyperparameters": {"learning_rate": 2e-5},
            "framework_versions": {"Transformers": "4.40.0"},
            "n_claims": 2,
        },
    ),
    # The lineage root; front matter only (no body); license only as a tag.
    "r/root": (
        {
            "tags": ["pytorch", "tf", "license:apache-2.0", "dataset:d/pile"],
            "config": {"model_type": "bert"},
            "pipeline_tag": "fill-mask",
            "library_name": "transformers",
            "siblings": ["README.md", "pytorch_model.bin", "tf_model.h5"],
            "downloads": 5000,
            "created_at": _when(2020),
        },
        {
            "card_status": "ok",
            "has_card": True,
            "has_card_body": False,
            "has_front_matter": True,
            "metadata_source": "front_matter",
            "metadata": {"license": ""},
        },
    ),
    # Empty license string, datasets list with only empty entries, model-index empty list.
    "u/empty": (
        {"tags": [], "config": {"architectures": ["X"]}, "pipeline_tag": "", "downloads": 0},
        {
            "card_status": "ok",
            "has_card": True,
            "has_card_body": True,
            "metadata_source": "front_matter",
            "metadata": {"license": "  ", "datasets": ["", None], "model-index": [], "language": []},
            "sections": ["uses"],
        },
    ),
    # README not fetched: the card stage gives the Hub's cardData as metadata.
    "u/carddata": (
        {
            "tags": ["base_model:r/root"],
            "config": None,
            "pipeline_tag": "text-generation",
            "downloads": 3,
            "card_data": {"license": "other", "datasets": ["", "imdb"], "language": "no"},
            "created_at": _when(2024),
        },
        {
            "card_status": "not_fetched",
            "metadata_source": "card_data",
            "metadata": {"license": "other", "datasets": ["", "imdb"], "language": "no"},
        },
    ),
    # No card row at all: every card fact is false.
    "u/nocard": ({"tags": ["gguf"], "siblings": ["model.Q4_K_M.gguf"], "downloads": 7}, None),
    # Empty metadata mapping.
    "u/emptymeta": (
        {"tags": [], "config": {"model_type": ""}},
        {"card_status": "ok", "has_card": True, "has_card_body": True, "metadata": {}},
    ),
    # Lineage: metadata base_model only (relation inferred finetune), chain depth 2.
    "a/ft2": ({"tags": []}, {"metadata": {"base_model": "a/ft1"}}),
    "a/ft1": ({"tags": ["base_model:finetune:r/root"]}, {"metadata": {"base_model": "r/root"}}),
    # Plain base_model tag on a gguf repo: quantized, inferred; depth 3.
    "a/q": ({"tags": ["gguf", "base_model:a/ft2"], "siblings": ["m.gguf"]}, None),
    # Adapter files, base given as URL in metadata and as a tag: one edge, source both.
    "a/adp": (
        {"tags": ["base_model:r/root"], "siblings": ["adapter_config.json"], "library_name": "peft"},
        {"metadata": {"base_model": "https://huggingface.co/r/root"}},
    ),
    # base_model as a list: a merge of a model in the snapshot and one outside it.
    "a/merge": ({"tags": []}, {"metadata": {"base_model": ["a/ft1", "x/external"]}}),
    # Relation from metadata base_model_relation.
    "a/rel": ({"tags": []}, {"metadata": {"base_model": "r/root", "base_model_relation": "quantized"}}),
    # A model naming itself is no edge; a two-model cycle must not hang the depth walk.
    "a/self": ({"tags": ["base_model:a/self"]}, None),
    "c/one": ({"tags": ["base_model:c/two"]}, None),
    "c/two": ({"tags": ["base_model:c/one"]}, None),
}

CLAIMS = [
    {"model_id": "org/full", "source": "model-index", "task_type": "text-classification",
     "dataset_type": "glue", "dataset_name": "GLUE", "metric_type": "accuracy", "value": 0.9,
     "counts": True},
    {"model_id": "org/full", "source": "model-index", "task_type": "text-classification",
     "dataset_type": "glue", "dataset_name": "GLUE", "metric_type": "f1", "value": 85.3, "counts": True},
    {"model_id": "u/empty", "source": "card-table", "dataset_name": "imdb", "metric_type": "accuracy",
     "value": 91.0, "counts": False},
]  # fmt: skip

AUTHORS = [{"author": "org", "kind": "organization"}, {"author": "a", "kind": "user"}]

README = {
    "org/full": "---\nlicense: mit\n---\n# Model\nTrained on 8 V100 GPUs; latency 20 ms; 12 GPU hours.\n",
    "r/root": "---\nlicense: ''\n---\n",
    "u/empty": "# Uses\nHardware Type: [More Information Needed]\n",
    "u/emptymeta": "Some text.",
}


def _model_row(model_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    row = {
        "model_id": model_id,
        "author": model_id.split("/")[0],
        "sha": "0" * 40,
        "tags": [],
        "siblings": ["README.md"],
        "downloads": 1,
        **fields,
    }
    for key in ("config", "card_data"):
        if row.get(key) is not None:
            row[key] = json.dumps(row[key])
    return row


def _card_row(model_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    row = {
        "model_id": model_id,
        "card_status": "ok",
        "has_card": False,
        "has_card_body": False,
        "has_front_matter": False,
        "metadata_source": "front_matter",
        "sections": [],
        "headings": [],
        "n_claims": 0,
        **fields,
    }
    for key in ("metadata", "hyperparameters", "framework_versions"):
        if row.get(key) is not None:
            row[key] = json.dumps(row[key])
    return row


def build_snapshot(data_dir: Path, snapshot_id: str = SNAPSHOT_ID) -> Snapshot:
    """Write the fixture snapshot (manifest, models, cards, parsed_cards, claims); return its folder."""
    snapshot = DataDir(data_dir).snapshot(snapshot_id)
    write_json(snapshot.manifest, {"snapshot_id": snapshot_id, "status": "complete"})
    write_parquet(
        snapshot.models,
        table_from_rows("models", [_model_row(m, fields) for m, (fields, _) in MODELS.items()]),
    )
    cards = [
        {"model_id": m, "status": "ok", "readme": text, "fetched_at": _when(2026)}
        for m, text in README.items()
    ]
    write_parquet(snapshot.cards, table_from_rows("cards", cards))
    parsed = [_card_row(m, card) for m, (_, card) in MODELS.items() if card is not None]
    write_parquet(snapshot.finding("parsed_cards"), table_from_rows("parsed_cards", parsed))
    write_parquet(snapshot.finding("claims"), table_from_rows("claims", CLAIMS))
    write_parquet(snapshot.authors, table_from_rows("authors", AUTHORS))
    return snapshot
