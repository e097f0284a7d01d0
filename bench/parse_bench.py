"""Card-parsing benchmark on the real hub2022 READMEs, each figure measured in this one run.

    python -m bench.parse_bench [--sample DIR] [--rounds N] [--copies N]

1. Throughput on one core: `parse_card(...).to_row()` for every README versus what a user would
   write with huggingface_hub (`ModelCard(text)`, `.data`, `model_index_to_eval_results`), in the
   same process, rounds interleaved, best round of each.
2. `parse_snapshot` wall time with 1 and 2 workers on a snapshot built from the sample (its models
   repeated `--copies` times under new ids, so that process start-up is not all that is timed).

Prints a Markdown table (for docs/benchmarks.md) and writes bench/results/parse.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from pipeline.cards import parse_card
from pipeline.cards.stage import parse_snapshot
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLE = REPO_ROOT.parent / "shared" / "hub-sample"


def ours(readmes: list[str]) -> None:
    for text in readmes:
        parse_card("m", text, None).to_row()


def huggingface_hub_baseline(readmes: list[str]) -> None:
    for text in readmes:
        try:
            data = ModelCard(text, ignore_metadata_errors=True).data.to_dict()
            if data.get("model-index"):
                model_index_to_eval_results(data["model-index"])
        except Exception:  # a user's loop skips the cards huggingface_hub cannot read
            continue


def best_seconds(
    functions: dict[str, Callable[[list[str]], None]], readmes: list[str], rounds: int
) -> dict[str, float]:
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            function(readmes)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def build_snapshot(sample: Path, root: Path, copies: int) -> Path:
    with gzip.open(sample / "models.jsonl.gz", "rt") as handle:
        records = [json.loads(line) for line in handle]
    table = pq.read_table(sample / "readmes.parquet")
    readmes = dict(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))
    models, cards = [], []
    for copy in range(copies):
        for record in records:
            model_id = f"{record['id']}-{copy}"
            card_data = record.get("cardData")
            models.append(
                {
                    "model_id": model_id,
                    "card_data": None if card_data is None else json.dumps(card_data),
                    "siblings": [s["rfilename"] for s in record.get("siblings") or []],
                }
            )
            if record["id"] in readmes:
                cards.append({"model_id": model_id, "status": "ok", "readme": readmes[record["id"]]})
    snapshot = DataDir(root).snapshot("bench")
    write_parquet(snapshot.models, table_from_rows("models", models))
    write_parquet(snapshot.cards, table_from_rows("cards", cards))
    return snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    sample = args.sample / "hub2022-sample"
    logging.disable(logging.WARNING)  # huggingface_hub logs a warning per card without metadata

    readmes = pq.read_table(sample / "readmes.parquet").column("readme").to_pylist()
    seconds = best_seconds(
        {"hubmine": ours, "huggingface_hub": huggingface_hub_baseline}, readmes, args.rounds
    )
    rates = {name: len(readmes) / value for name, value in seconds.items()}

    walls: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = build_snapshot(sample, Path(tmp), args.copies)
        models = pq.ParquetFile(snapshot.models).metadata.num_rows
        for workers in (1, 2):
            started = time.perf_counter()
            parse_snapshot(snapshot, workers=workers)
            walls[workers] = time.perf_counter() - started

    results: dict[str, Any] = {
        "cards": len(readmes),
        "rounds": args.rounds,
        "cards_per_s": {name: round(rate) for name, rate in rates.items()},
        "speedup": round(rates["hubmine"] / rates["huggingface_hub"], 2),
        "snapshot_models": models,
        "parse_snapshot_s": {str(workers): round(wall, 2) for workers, wall in walls.items()},
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(f"| measure ({len(readmes)} hub2022 READMEs, one core, best of {args.rounds}) | value |")
    print("| --- | --- |")
    print(f"| hubmine parse_card + to_row | {rates['hubmine']:,.0f} cards/s |")
    baseline = "huggingface_hub ModelCard + data + model_index_to_eval_results"
    print(f"| {baseline} | {rates['huggingface_hub']:,.0f} cards/s |")
    print(f"| ratio | {results['speedup']}x |")
    for workers, wall in walls.items():
        print(f"| parse_snapshot, {models:,} models, {workers} worker(s) | {wall:.2f} s |")
    out = REPO_ROOT / "bench" / "results" / "parse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
