"""Tiny real model and dataset repositories for the simulator: small transformers models and Parquet
datasets, registered file by file, whose scores are known in advance (a classifier that gives one label
whatever the input, on a dataset whose label shares are fixed).

Serving needs only the core install (`datasets` writes the Parquet files); building a model needs torch
and transformers (the evaluate extra), imported where a model is built.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .fields import git_blob_oid, sha_hex
from .registry import Registry

# A word-piece vocabulary big enough for the tiny datasets' sentences.
WORDS = [
    *("the", "a", "movie", "film", "was", "is", "and", "it", "this", "that", "very", "not", "good"),
    *("great", "fine", "bad", "awful", "boring", "fun", "plot", "acting", "story", "loved", "hated"),
    *("john", "mary", "paris", "london", "went", "to", "in", "of", "where", "did", "go"),
]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["the movie was great", "a very good film", "loved the acting", "fun and fine story"]
NEGATIVE = ["the movie was bad", "a very boring film", "hated the plot", "awful and not fun"]
BINARY = ("negative", "positive")


@dataclass(frozen=True)
class TinyDataset:
    dataset_id: str
    sha: str
    config: str
    split: str
    rows: int
    label_names: tuple[str, ...]


# -- registering ------------------------------------------------------------------------------------


def model_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by its path inside it."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def register_model(
    registry: Registry,
    model_id: str,
    folder: Path,
    *,
    pipeline_tag: str,
    card_data: dict[str, Any] | None = None,
) -> str:
    """Serve every file under `folder` as the model `model_id` at one commit; returns that commit's sha."""
    files = model_files(folder)
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


def parquet_bytes(columns: dict[str, list[Any]], features: Any, *, stored: bool = False) -> bytes:
    """A Parquet file of these columns; the datasets features ride in its schema metadata.

    `stored`: the values are already as Arrow keeps them (audio as {bytes, path}), so the features'
    encoders, which need torchcodec for audio, are not run."""
    import datasets

    buffer = io.BytesIO()
    if stored:
        pq.write_table(pa.table(columns, schema=features.arrow_schema), buffer)
    else:
        datasets.Dataset.from_dict(columns, features=features).to_parquet(buffer)
    return buffer.getvalue()


def register_dataset(
    registry: Registry,
    dataset_id: str,
    splits: dict[str, bytes],
    features: Any,
    config: str = "default",
) -> TinyDataset:
    """Serve Parquet `splits` of one config (see `register_configs`); describes its first split."""
    return register_configs(registry, dataset_id, {config: (splits, features)})[config]


def register_configs(
    registry: Registry, dataset_id: str, configs: dict[str, tuple[dict[str, bytes], Any]]
) -> dict[str, TinyDataset]:
    """Serve each config's Parquet splits as `{split}-00000-of-00001.parquet` under `data/` (config
    `default`) or `{config}/`, with a card whose `dataset_info` and `configs` name the files and the
    features (ClassLabel names included), as the Hub's Parquet datasets have it."""
    import datasets

    files: dict[str, bytes] = {}
    infos, entries = [], []
    for config, (splits, features) in configs.items():
        folder = "data" if config == "default" else config
        files.update({f"{folder}/{split}-00000-of-00001.parquet": data for split, data in splits.items()})
        infos.append({"config_name": config, "features": features._to_yaml_list()})
        paths = [{"split": split, "path": f"{folder}/{split}-*.parquet"} for split in splits]
        entries.append({"config_name": config, "data_files": paths})
    card_data = {"dataset_info": infos[0] if len(infos) == 1 else infos, "configs": entries}
    sha = registry.add_dataset(dataset_id, files, card_data).sha
    out = {}
    for config, (splits, features) in configs.items():
        split = next(iter(splits))
        rows = pq.ParquetFile(io.BytesIO(splits[split])).metadata.num_rows
        # The class names of the label column, or of a tag sequence's items.
        classes = [getattr(f, "feature", f) for f in features.values()]
        names = next((tuple(f.names) for f in classes if isinstance(f, datasets.ClassLabel)), ())
        out[config] = TinyDataset(dataset_id, sha, config, split, rows, names)
    return out


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


# -- building (torch and transformers) -----------------------------------------------------------------


def bert_tokenizer() -> Any:
    from transformers import BertTokenizer

    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS)}
    return BertTokenizer(vocab=vocab, model_max_length=64)


def bert_config(labels: tuple[str, ...], **overrides: Any) -> Any:
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


def force(head: Any, index: int) -> None:
    """Make a classification head (a torch Linear) give `index` whatever its input."""
    import torch

    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[index] = 10.0


def forced_classifier(labels: tuple[str, ...] = BINARY, predicted: str = "positive", **config: Any) -> Any:
    """A tiny BERT sequence classifier that always predicts `predicted`."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(bert_config(labels, **config)).eval()
    force(model.classifier, labels.index(predicted))
    return model


def save_model(folder: Path, model: Any, processor: Any, *, pickle_only: bool = False) -> None:
    """Save a model and its tokenizer or processor as `save_pretrained` does; `pickle_only` swaps
    model.safetensors for pytorch_model.bin (a pickle, as `torch.save` writes it)."""
    import torch

    processor.save_pretrained(folder)
    model.save_pretrained(folder)
    if pickle_only:
        (folder / "model.safetensors").unlink()
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
