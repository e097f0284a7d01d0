"""Analyze a large synthetic metadata-only snapshot and report time and peak memory.

    python -m bench.analyze_bench [--models 1000000] [--dir bench/results/analyze] [--keep]
                                  [--measures-only] [--report]

The snapshot has models.parquet only (an empty cards.parquet: no README was fetched), so the card
stage takes each model's metadata from cardData. Generation runs in one child process and the
analysis in another, so the analysis' peak RSS is its own: `peak_rss_tree_mib` is the largest resident
memory of the analysis process and all its workers together, sampled every 0.1 s; `peak_rss_self_mib`
is getrusage's exact peak of the main process alone. `--measures-only` skips the card stage and writes
parsed_cards.parquet straight from cardData (metadata only, no claims), to time the measures alone.
Writes bench/results/analyze.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.files import write_json
from pipeline.store.layout import DataDir, Snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
SNAPSHOT_ID = "20260101T000000Z"
ROW_GROUP = 50_000

TASKS = [
    ("text-generation", 20), ("text-classification", 12), ("text2text-generation", 5), ("fill-mask", 5),
    ("token-classification", 5), ("automatic-speech-recognition", 5), ("image-classification", 4),
    ("question-answering", 3), ("translation", 3), ("summarization", 2), ("text-to-image", 6),
    ("sentence-similarity", 4), ("feature-extraction", 3), ("reinforcement-learning", 4), (None, 30),
]  # fmt: skip
LIBRARIES = [
    ("transformers", 50), ("diffusers", 6), ("peft", 8), ("sentence-transformers", 4), ("gguf", 4),
    ("stable-baselines3", 3), ("timm", 2), ("keras", 2), (None, 21),
]  # fmt: skip
MODEL_TYPES = [
    ("llama", 18), ("bert", 14), ("mistral", 8), ("qwen2", 8), ("roberta", 6), ("gpt2", 6), ("t5", 5),
    ("whisper", 4), ("vit", 4), ("distilbert", 4), ("wav2vec2", 3), ("xlm-roberta", 3), ("gemma", 3),
]  # fmt: skip
LICENSES = ["apache-2.0", "mit", "other", "cc-by-4.0", "llama3", "openrail", "", "gpl-3.0"]
RELATIONS = [("finetune", 60), ("adapter", 20), ("quantized", 15), ("merge", 5)]


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _dataset(rng: random.Random) -> str:
    # Power-law popularity: a few datasets are declared by many models.
    return f"ds{int(rng.paretovariate(1.2)) % 5000}/data"


def _model(i: int, rng: random.Random, start: datetime, ids: list[str]) -> dict[str, Any]:
    author = f"user{int(rng.paretovariate(1.0)) % 200_000}"
    model_id = f"{author}/model-{i}"
    ids.append(model_id)
    task = _pick(rng, TASKS)
    library = _pick(rng, LIBRARIES)
    tags = [t for t in (library, "pytorch" if rng.random() < 0.7 else None, task) if t]
    tags += [
        t for t, p in (("tf", 0.08), ("jax", 0.04), ("onnx", 0.03), ("safetensors", 0.5)) if rng.random() < p
    ]
    siblings = [".gitattributes", "config.json", "model.safetensors"]
    if rng.random() < 0.7:
        siblings.append("README.md")
    card: dict[str, Any] | None = {} if rng.random() < 0.6 else None
    lic = rng.choice(LICENSES) if rng.random() < 0.5 else None
    if lic is not None:
        tags.append(f"license:{lic}")
        if card is not None:
            card["license"] = lic
    if rng.random() < 0.15:
        names = [_dataset(rng) for _ in range(rng.randint(1, 3))]
        tags += [f"dataset:{n}" for n in names]
        if card is not None:
            card["datasets"] = [*names, ""] if rng.random() < 0.1 else names
    if i > 0 and rng.random() < 0.3:
        # Bases are earlier models: half the popular first thousand, half anywhere, so chains form.
        base = ids[rng.randrange(min(i, 1000))] if rng.random() < 0.5 else ids[rng.randrange(i)]
        relation = _pick(rng, RELATIONS)
        tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
        if relation == "adapter":
            siblings.append("adapter_config.json")
        elif relation == "quantized":
            siblings.append("model.Q4_K_M.gguf")
            tags.append("gguf")
        if card is not None:
            card["base_model"] = [base, ids[rng.randrange(min(i, 1000))]] if relation == "merge" else base
    if card is not None:
        if rng.random() < 0.3:
            card["language"] = ["en"] if rng.random() < 0.8 else "no"
        if rng.random() < 0.08:
            card["model-index"] = [
                {
                    "name": model_id,
                    "results": [
                        {
                            "task": {"type": task or "text-classification"},
                            "dataset": {"type": _dataset(rng), "name": "Eval"},
                            "metrics": [
                                {"type": m, "value": round(rng.random() * 100, 2)}
                                for m in rng.sample(["accuracy", "f1", "wer", "bleu"], rng.randint(1, 3))
                            ],
                        }
                    ],
                }
            ]
        if rng.random() < 0.05:
            card["widget"] = [{"text": "Hello"}]
        if rng.random() < 0.01:
            card["co2_eq_emissions"] = {"emissions": rng.random() * 10, "hardware_used": "8 x A100"}
    config = None
    if rng.random() < 0.65:
        config = {
            "architectures": ["AutoModel"],
            "tokenizer_config": {"bos_token": "<s>", "eos_token": "</s>"},
        }
        if rng.random() < 0.95:
            config["model_type"] = _pick(rng, MODEL_TYPES)
    if rng.random() < 0.02:
        siblings.append("runs/events.out.tfevents.1")
    if rng.random() < 0.2:
        siblings.append("training_args.bin")
    tags.append("region:us")
    return {
        "model_id": model_id,
        "object_id": f"{i:024x}",
        "sha": f"{i:040x}",
        "author": author,
        "created_at": start + timedelta(seconds=rng.randrange(6 * 365 * 86400)),
        "last_modified": start + timedelta(days=2200),
        "pipeline_tag": task,
        "library_name": library,
        "tags": tags,
        "downloads": int(rng.paretovariate(0.9)) - 1,
        "likes": int(rng.paretovariate(1.5)) - 1,
        "gated": "false",
        "private": False,
        "disabled": False,
        "card_data": json.dumps(card) if card is not None else None,
        "config": json.dumps(config) if config is not None else None,
        "siblings": siblings,
    }


def generate(snapshot: Snapshot, n: int, seed: int = 20261126) -> None:
    """Write the synthetic snapshot: models.parquet in row groups, an empty cards.parquet, a manifest."""
    rng = random.Random(seed)
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    ids: list[str] = []
    snapshot.dir.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(snapshot.models, load_schema("models"), compression="zstd") as writer:
        for first in range(0, n, ROW_GROUP):
            rows = [_model(i, rng, start, ids) for i in range(first, min(first + ROW_GROUP, n))]
            writer.write_table(table_from_rows("models", rows))
    pq.write_table(table_from_rows("cards", []), snapshot.cards)
    write_json(snapshot.manifest, {"snapshot_id": SNAPSHOT_ID, "status": "complete"})


def parsed_from_card_data(snapshot: Snapshot) -> None:
    """parsed_cards.parquet with metadata = cardData and no card text (the measures-only stand-in)."""
    path = snapshot.finding("parsed_cards")
    path.parent.mkdir(parents=True, exist_ok=True)
    models = pq.ParquetFile(snapshot.models)
    with pq.ParquetWriter(path, load_schema("parsed_cards"), compression="zstd") as writer:
        for batch in models.iter_batches(batch_size=ROW_GROUP, columns=["model_id", "card_data"]):
            ids, meta = batch.column(0).to_pylist(), batch.column(1).to_pylist()
            rows = [
                {
                    "model_id": m,
                    "card_status": "not_fetched",
                    "has_card": False,
                    "has_card_body": False,
                    "has_front_matter": False,
                    "metadata_source": "card_data" if d else "none",
                    "metadata": d,
                    "n_claims": 0,
                }
                for m, d in zip(ids, meta, strict=True)
            ]
            writer.write_table(table_from_rows("parsed_cards", rows))
    pq.write_table(pa.Table.from_pylist([], schema=load_schema("claims")), snapshot.finding("claims"))


def analyze(data_dir: Path, measures_only: bool, report: bool) -> dict[str, Any]:
    """Run in the child process: analyze (and report), then return times and peak RSS."""
    from pipeline.analyze import measure_snapshot, run_analyze, summary_line

    snapshot = DataDir(data_dir).snapshot(SNAPSHOT_ID)
    started = time.perf_counter()
    if measures_only:
        parsed_from_card_data(snapshot)
        line = summary_line(measure_snapshot(snapshot), snapshot)
    else:
        line = run_analyze(data_dir, SNAPSHOT_ID)
    out: dict[str, Any] = {"analyze_s": round(time.perf_counter() - started, 1), "summary_line": line}
    if report:
        from pipeline.report import run_report

        started = time.perf_counter()
        out["report_line"] = run_report(data_dir, SNAPSHOT_ID, data_dir / "report")
        out["report_s"] = round(time.perf_counter() - started, 1)
    # ru_maxrss is in KiB on Linux. Children: the largest worker process the analysis waited for.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.update(peak_rss_self_mib=round(own), peak_rss_children_mib=round(children))
    out["peak_rss_bound_mib"] = round(own + children)
    return out


def tree_rss_mib(root: int) -> float:
    """Resident memory of process `root` and all its descendants (worker pools included), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
        except (OSError, ValueError):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * resource.getpagesize()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total / 2**20


def _child(*args: str) -> dict[str, Any]:
    """Run a child step; sample the memory of its whole process tree while it runs."""
    with subprocess.Popen(
        [sys.executable, "-m", "bench.analyze_bench", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mib(proc.pid))
            time.sleep(0.1)
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{err[-4000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss_tree_mib": round(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=RESULTS / "analyze")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic snapshot")
    parser.add_argument("--measures-only", action="store_true")
    parser.add_argument("--report", action="store_true", help="also time `hubmine report`")
    parser.add_argument("--child", choices=["generate", "analyze"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.dir.resolve()
    snapshot = DataDir(data_dir).snapshot(SNAPSHOT_ID)

    if args.child == "generate":
        started = time.perf_counter()
        generate(snapshot, args.models)
        print(json.dumps({"generate_s": round(time.perf_counter() - started, 1)}))
        return
    if args.child == "analyze":
        print(json.dumps(analyze(data_dir, args.measures_only, args.report)))
        return

    shutil.rmtree(data_dir, ignore_errors=True)
    common = ["--models", str(args.models), "--dir", str(data_dir)]
    result: dict[str, Any] = {"models": args.models, "measures_only": args.measures_only}
    result.update(
        {k: v for k, v in _child("--child", "generate", *common).items() if k != "peak_rss_tree_mib"}
    )
    result["models_parquet_mib"] = round(snapshot.models.stat().st_size / 2**20, 1)
    flags = [*(["--measures-only"] if args.measures_only else []), *(["--report"] if args.report else [])]
    result.update(_child("--child", "analyze", *common, *flags))
    result["machine"] = f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} CPUs"
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "analyze.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
