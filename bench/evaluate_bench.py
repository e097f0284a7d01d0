"""The batched evaluator against the loop a user would write: `transformers.pipeline` one example at a time.

    python -m bench.evaluate_bench [--examples 500] [--batch-size 32] [--layers 4] [--hidden 256]

A BERT text classifier (random weights, `--layers` x `--hidden`, about 3 M parameters by default) and a
dataset of `--examples` sentences of 8 to 40 words are served by the Hub simulator. Both sides load
the model and the split from it first, untimed; then the evaluator's batched pass (`tasks.run`, the
tokenizer included) and the pipeline loop are timed over the same examples, and must agree on the
accuracy. The whole `hubmine evaluate` run of that one model (child process, Hub checks, load,
dataset, inference, results file) is timed too. Prints one JSON object; writes
bench/results/evaluate.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import datasets
import torch

from hubsim import Registry
from pipeline.evaluate import data, loading, tasks
from pipeline.evaluate.plan import Selection
from pipeline.evaluate.run import run_evaluate
from pipeline.evaluate.runner import Options
from tests.hub_serving import serving
from tests.test_evaluate_units import claim_row, write_snapshot
from tests.tiny_repos import SPECIAL, WORDS, parquet_bytes, publish, register_dataset

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
MODEL_ID, DATASET_ID = "bench/bert-classifier", "bench/sentences"
LABELS = ("negative", "positive")


def build(registry: Registry, examples: int, layers: int, hidden: int) -> str:
    """Register the model and the dataset; returns the model's sha."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(SPECIAL) + len(WORDS),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden,
        max_position_embeddings=128,
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
    )
    tokenizer = BertTokenizer(vocab={t: i for i, t in enumerate(SPECIAL + WORDS)}, model_max_length=128)
    model = BertForSequenceClassification(config).eval()
    sha = publish(registry, MODEL_ID, model, tokenizer, pipeline_tag="text-classification")
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(8, 40))) for _ in range(examples)]
    labels = [rng.randint(0, 1) for _ in range(examples)]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS)}
    )
    register_dataset(
        registry, DATASET_ID, {"test": parquet_bytes({"text": texts, "label": labels}, features)}, features
    )
    return sha


def pipeline_loop(sha: str, split: Any) -> tuple[float, float]:
    """(seconds, accuracy) of the plain loop: one `pipeline(...)` call per example."""
    from transformers import pipeline

    classify = pipeline("text-classification", model=MODEL_ID, revision=sha, device="cpu")
    names = split.features["label"].names
    started = time.perf_counter()
    predicted = [classify(text)[0]["label"] for text in split["text"]]
    seconds = time.perf_counter() - started
    correct = sum(p == names[gold] for p, gold in zip(predicted, split["label"], strict=True))
    return seconds, correct / len(predicted)


def batched(sha: str, split: Any, batch_size: int) -> tuple[float, float, float]:
    """(seconds, accuracy, GFLOP) of the evaluator's batched pass over the same split; GFLOP counts the
    encoder's matrix products over the split's real (unpadded) tokens, 2 per weight per token."""
    check = loading.check_repo(MODEL_ID, sha, allow_pickle=False)
    model, tokenizer = loading.load("text-classification", MODEL_ID, sha, check, "cpu")
    started = time.perf_counter()
    outcome = tasks.run("text-classification", model, tokenizer, split, batch_size, "cpu")
    seconds = time.perf_counter() - started
    tokens = sum(
        len(ids) for ids in tokenizer(list(split["text"]), truncation=True, max_length=128)["input_ids"]
    )
    weights = sum(p.numel() for name, p in model.bert.encoder.named_parameters() if name.endswith("weight"))
    return seconds, outcome.score("accuracy"), 2 * weights * tokens / 1e9


def whole_command(sha: str, tmp: Path, batch_size: int) -> float:
    write_snapshot(tmp / "data", {MODEL_ID: sha}, [claim_row(MODEL_ID, dataset_id=DATASET_ID)])
    started = time.perf_counter()
    result = run_evaluate(tmp / "data", None, Selection(), Options(batch_size=batch_size, device="cpu"))
    assert result.statuses["measured"] == 1, result.summary_line()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    registry = Registry()
    sha = build(registry, args.examples, args.layers, args.hidden)
    with tempfile.TemporaryDirectory() as folder, serving(registry, Path(folder)) as _:
        split = data.load_split(DATASET_ID, None, "test", None)
        loop_s, loop_accuracy = pipeline_loop(sha, split)
        batch_s, batch_accuracy, gflop = batched(sha, split, args.batch_size)
        command_s = whole_command(sha, Path(folder), args.batch_size)
    assert abs(loop_accuracy - batch_accuracy) < 1e-9, (loop_accuracy, batch_accuracy)
    figures = {
        "examples": args.examples,
        "layers": args.layers,
        "hidden": args.hidden,
        "batch_size": args.batch_size,
        "pipeline_loop_s": round(loop_s, 2),
        "batched_s": round(batch_s, 2),
        "speedup": round(loop_s / batch_s, 1),
        "gflop": round(gflop, 1),
        "batched_gflop_per_s": round(gflop / batch_s),
        "loop_gflop_per_s": round(gflop / loop_s),
        "accuracy": batch_accuracy,
        "hubmine_evaluate_s": round(command_s, 2),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evaluate.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
