"""Tiny real model and dataset repositories served by the Hub simulator, for tests of evaluation.

`serving(registry, tmp)` starts a simulator and points huggingface_hub, transformers and datasets at it
(and their caches at `tmp`); the builders make small but real transformers models and Parquet datasets and
register them file by file. A forced model predicts one label whatever the input, so its score on a
dataset is the share of rows with that label, known in advance.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from hubsim import HubSimulator, Registry
from hubsim.fields import git_blob_oid, sha_hex

# A word-piece vocabulary big enough for the tiny datasets' sentences.
WORDS = [
    *("the", "a", "movie", "film", "was", "is", "and", "it", "this", "that", "very", "not", "good"),
    *("great", "fine", "bad", "awful", "boring", "fun", "plot", "acting", "story", "loved", "hated"),
    *("john", "mary", "paris", "london", "went", "to", "in", "of"),
]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["the movie was great", "a very good film", "loved the acting", "fun and fine story"]
NEGATIVE = ["the movie was bad", "a very boring film", "hated the plot", "awful and not fun"]
BINARY = ("negative", "positive")


@dataclass(frozen=True)
class TinyModel:
    model_id: str
    sha: str
    labels: tuple[str, ...]
    predicted: str | None  # the label a forced model always gives


@dataclass(frozen=True)
class TinyDataset:
    dataset_id: str
    sha: str
    config: str
    split: str
    rows: int
    label_names: tuple[str, ...]


@dataclass(frozen=True)
class TinyPair:
    """A model, a dataset it is claimed on, and the score the model must get there."""

    model: TinyModel
    dataset: TinyDataset
    metric: str
    expected: float


@contextlib.contextmanager
def serving(registry: Registry, tmp: Path) -> Iterator[HubSimulator]:
    """A simulator serving `registry`, with every Hub client in this process pointed at it and every cache
    under `tmp`, until the block ends; all settings are put back afterwards."""
    import datasets.config
    import huggingface_hub.constants as hub_constants
    import huggingface_hub.hf_api

    with HubSimulator(registry) as sim, pytest.MonkeyPatch.context() as mp:
        url = sim.url
        hub_cache, datasets_cache = tmp / "hub", tmp / "datasets"
        for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
            mp.delenv(name, raising=False)
        env = {
            "HF_ENDPOINT": url,
            "HF_HOME": str(tmp / "home"),
            "HF_HUB_CACHE": str(hub_cache),
            "HF_DATASETS_CACHE": str(datasets_cache),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        # The libraries read these once, at import.
        mp.setattr(hub_constants, "ENDPOINT", url)
        mp.setattr(
            hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        mp.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
        mp.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        mp.setattr(hub_constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
        mp.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", True)
        mp.setattr(huggingface_hub.hf_api.api, "endpoint", url)
        mp.setattr(datasets.config, "HF_ENDPOINT", url)
        mp.setattr(datasets.config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}")
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
        mp.setattr(datasets.config, "HF_HUB_OFFLINE", False)
        mp.setattr(datasets.config, "HF_UPDATE_DOWNLOAD_COUNTS", False)
        yield sim


# -- registering ------------------------------------------------------------------------------------


def register_model(
    registry: Registry,
    model_id: str,
    folder: Path,
    *,
    pipeline_tag: str,
    card_data: dict[str, Any] | None = None,
) -> str:
    """Serve every file under `folder` as the model `model_id` at one commit; returns that commit's sha."""
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
    front = yaml.safe_dump(card_data, sort_keys=False) if card_data else ""
    readme = (f"---\n{front}---\n\n" if front else "") + f"# {model_id}\n\nA tiny model for tests.\n"
    files["README.md"] = readme.encode()
    sha = sha_hex("model", model_id, *(f"{p}:{git_blob_oid(c)}" for p, c in sorted(files.items())))
    config = json.loads(files.get("config.json", b"{}"))
    record = {
        "id": model_id,
        "sha": sha,
        "pipeline_tag": pipeline_tag,
        "library_name": "transformers",
        "tags": ["transformers", "safetensors" if "model.safetensors" in files else "pytorch", pipeline_tag],
        "siblings": [{"rfilename": name} for name in sorted(files)],
        "config": {k: config[k] for k in ("architectures", "model_type") if k in config},
    }
    if card_data:
        record["cardData"] = card_data
    registry.add(record, files.pop("README.md"))
    for path, content in files.items():
        registry.set_file(model_id, path, content)
    return sha


def parquet_bytes(columns: dict[str, list[Any]], features: Any) -> bytes:
    """A Parquet file of these columns; the datasets features ride in its schema metadata."""
    import datasets

    buffer = io.BytesIO()
    datasets.Dataset.from_dict(columns, features=features).to_parquet(buffer)
    return buffer.getvalue()


def register_dataset(
    registry: Registry,
    dataset_id: str,
    splits: dict[str, bytes],
    features: Any,
    config: str = "default",
) -> TinyDataset:
    """Serve Parquet `splits` as `{split}-00000-of-00001.parquet` under `data/` (or `{config}/`) with a card
    whose `dataset_info` and `configs` name the files and the features (ClassLabel names included)."""
    folder = "data" if config == "default" else config
    files = {f"{folder}/{split}-00000-of-00001.parquet": content for split, content in splits.items()}
    info = {"config_name": config, "features": features._to_yaml_list()}
    card_data = {
        "dataset_info": info,
        "configs": [
            {
                "config_name": config,
                "data_files": [{"split": split, "path": f"{folder}/{split}-*.parquet"} for split in splits],
            }
        ],
    }
    repo = registry.add_dataset(dataset_id, files, card_data)
    split = next(iter(splits))
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(io.BytesIO(splits[split])).metadata.num_rows
    names = next((tuple(f.names) for f in features.values() if hasattr(f, "names")), ())
    return TinyDataset(dataset_id, repo.sha, config, split, rows, names)


# -- text classification ----------------------------------------------------------------------------


def _bert_tokenizer(folder: Path) -> Any:
    from transformers import BertTokenizer

    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + list(WORDS)) + "\n")
    tokenizer = BertTokenizer(vocab=str(vocab), model_max_length=64)
    vocab.unlink()
    return tokenizer


def _bert_config(labels: tuple[str, ...], **overrides: Any) -> Any:
    from transformers import BertConfig

    settings: dict[str, Any] = {
        "vocab_size": len(SPECIAL) + len(WORDS),
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "max_position_embeddings": 64,
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }
    settings.update(overrides)
    return BertConfig(**settings)


def _force(head: torch.nn.Linear, index: int) -> None:
    """Make a classification head give `index` whatever its input."""
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[index] = 10.0


def text_classifier(
    registry: Registry,
    model_id: str,
    *,
    labels: tuple[str, ...] = BINARY,
    predicted: str = "positive",
    pickle_only: bool = False,
    remote_code: bool = False,
    fails: bool = False,
    card_data: dict[str, Any] | None = None,
) -> TinyModel:
    """A tiny BERT sequence classifier that always predicts `predicted`.

    Variants: `pickle_only` serves only pytorch_model.bin; `remote_code` needs code from the repo (an
    `auto_map` to its own module and model type); `fails` loads but raises on any input longer than four
    tokens (four position embeddings)."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    config = _bert_config(labels, **({"max_position_embeddings": 4} if fails else {}))
    model = BertForSequenceClassification(config).eval()
    _force(model.classifier, labels.index(predicted))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokenizer = _bert_tokenizer(folder)
        tokenizer.save_pretrained(folder)
        model.save_pretrained(folder)
        if pickle_only:
            (folder / "model.safetensors").unlink()
            torch.save(model.state_dict(), folder / "pytorch_model.bin")
        if remote_code:
            _needs_remote_code(folder)
        sha = register_model(
            registry, model_id, folder, pipeline_tag="text-classification", card_data=card_data
        )
    return TinyModel(model_id, sha, labels, predicted)


def _needs_remote_code(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "tiny-custom-bert"
    config["auto_map"] = {
        "AutoConfig": "modeling_tiny.TinyConfig",
        "AutoModelForSequenceClassification": "modeling_tiny.TinyForSequenceClassification",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    # Never run: loading with trust_remote_code=False must refuse before reading it.
    (folder / "modeling_tiny.py").write_text("raise RuntimeError('remote code must not run in tests')\n")


def sentiment_dataset(
    registry: Registry,
    dataset_id: str,
    *,
    rows: int = 20,
    positive: int = 15,
    names: tuple[str, ...] = BINARY,
    config: str = "default",
) -> TinyDataset:
    """`text` and a `label` ClassLabel with these `names`; `positive` rows have label 1, the rest 0."""
    import datasets

    labels = [1 if k < positive else 0 for k in range(rows)]
    texts = [(NEGATIVE, POSITIVE)[y][k % len(POSITIVE)] for k, y in enumerate(labels)]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(names))}
    )
    test = parquet_bytes({"text": texts, "label": labels}, features)
    return register_dataset(registry, dataset_id, {"test": test}, features, config)


def text_classification_pair(
    registry: Registry, model_id: str = "tiny/bert-sst2", dataset_id: str = "tiny/sst2", **model: Any
) -> TinyPair:
    """A forced-positive classifier and a dataset with 15 of 20 rows positive: accuracy exactly 0.75."""
    data = sentiment_dataset(registry, dataset_id, rows=20, positive=15)
    card = {"datasets": [dataset_id], "metrics": ["accuracy"]}
    tiny = text_classifier(registry, model_id, predicted="positive", card_data=card, **model)
    return TinyPair(tiny, data, "accuracy", 15 / 20)
