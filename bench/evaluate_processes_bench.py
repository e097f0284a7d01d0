"""The cost of isolating each model in a process: children of the fork server against fresh interpreters.

    python -m bench.evaluate_processes_bench [--models 8]

`--models` tiny text classifiers (the tests' forced BERT, one example each) and one 20-row dataset are
served by the Hub simulator, and `hubmine evaluate` measures every model twice in this process: first
with each model's process spawned, a fresh interpreter that imports torch, transformers, datasets and
the metric libraries itself (the baseline), then as it runs, forked from the fork server that imported
them once. The fork server's own start is part of the second figure. Both must give the same rows.
Prints one JSON object; writes bench/results/evaluate_processes.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path

from hubsim import Registry
from pipeline.evaluate import executors, results
from pipeline.evaluate.plan import Selection
from pipeline.evaluate.run import run_evaluate
from pipeline.evaluate.runner import Options
from tests.hub_serving import serving
from tests.test_evaluate_units import claim_row, write_snapshot
from tests.tiny_repos import sentiment_dataset, text_classifier

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
DATASET_ID = "bench/sentiment"


def timed_run(data_dir: Path, models: dict[str, str]) -> tuple[float, list[tuple[str, float | None]]]:
    """(seconds, (model, measured) rows) of one evaluate run over `models` in a new data directory."""
    claims = [claim_row(model_id, dataset_id=DATASET_ID, dataset_split="test") for model_id in models]
    snapshot = write_snapshot(data_dir, dict(models), claims)
    started = time.perf_counter()
    result = run_evaluate(data_dir, None, Selection(), Options(device="cpu"))
    seconds = time.perf_counter() - started
    assert result.statuses["measured"] == len(models), result.summary_line()
    table = results.read(snapshot)
    assert table is not None
    return seconds, sorted(zip(table["model_id"].to_pylist(), table["measured"].to_pylist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    args = parser.parse_args()
    registry = Registry()
    sentiment_dataset(registry, DATASET_ID)
    ids = [f"bench/classifier-{k}" for k in range(args.models)]
    models = {model_id: text_classifier(registry, model_id).sha for model_id in ids}
    fork_server = executors._fork_server
    with tempfile.TemporaryDirectory() as folder, serving(registry, Path(folder) / "caches"):
        executors._fork_server = lambda: multiprocessing.get_context("spawn")  # the baseline
        try:
            spawn_s, spawn_rows = timed_run(Path(folder) / "spawn", models)
        finally:
            executors._fork_server = fork_server
        forked_s, forked_rows = timed_run(Path(folder) / "forked", models)
    assert spawn_rows == forked_rows, (spawn_rows, forked_rows)
    figures = {
        "models": args.models,
        "spawn_s": round(spawn_s, 1),
        "spawn_s_per_model": round(spawn_s / args.models, 2),
        "fork_server_s": round(forked_s, 1),
        "fork_server_s_per_model": round(forked_s / args.models, 2),
        "speedup": round(spawn_s / forked_s, 1),
        "cores": os.cpu_count(),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evaluate_processes.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
