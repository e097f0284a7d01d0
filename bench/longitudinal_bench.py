"""Time `hubmine diff` on two large synthetic snapshots and report its peak memory.

    python -m bench.longitudinal_bench diff [--models 200000] [--dir bench/results/longitudinal] [--keep]

The old snapshot is analyze_bench's synthetic registry with a 1 KB README per model in cards.parquet;
the new one is the old one changed by a fixed recipe: 1% removed, 0.5% renamed (same object_id),
5% with a new sha (half of them with a new README too), 1% converted from pickle to safetensors
weights, and 2% new models. Generation and the diff run in child processes of their own, so
`peak_rss_mib` (getrusage) is the diff's own.
Writes bench/results/longitudinal.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.analyze_bench import ROW_GROUP, generate
from pipeline import settings
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.files import write_json
from pipeline.store.layout import DataDir, Snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
OLD, NEW = "20260101T000000Z", "20260201T000000Z"
README_BYTES = 1024
CRAWL_ROW_GROUP = 2048
COMMAND = (sys.executable, "-m", "bench.longitudinal_bench", "diff")


def _readme(model_id: str, revision: int) -> str:
    head = f"---\nlicense: mit\n---\n# {model_id}\n\nRevision {revision}.\n"
    return head + "x" * (README_BYTES - len(head))


def _write_cards(snapshot: Snapshot, readmes: dict[str, str]) -> None:
    rows = [{"model_id": m, "sha": None, "status": "ok", "readme": text} for m, text in readmes.items()]
    # Row groups of 2,048 rows, as a crawl writes its tables.
    pq.write_table(
        table_from_rows("cards", rows), snapshot.cards, compression="zstd", row_group_size=CRAWL_ROW_GROUP
    )


def make_pair(data: DataDir, n: int, seed: int = 7) -> dict[str, int]:
    """The two snapshots, and the number of changes of each kind the recipe made."""
    old, new = data.snapshot(OLD), data.snapshot(NEW)
    generate(old, n)
    rng = random.Random(seed)
    models = pq.read_table(old.models).to_pylist()
    readmes = {m["model_id"]: _readme(m["model_id"], 0) for m in models}
    counts = dict.fromkeys(("added", "removed", "renamed", "card_changed", "metadata_changed"), 0)
    kept, new_readmes = [], {}
    for i, model in enumerate(models):
        draw = rng.random()
        row, readme = dict(model), readmes[model["model_id"]]
        if draw < 0.01:
            counts["removed"] += 1
            continue
        if draw < 0.015:
            row["model_id"] = f"moved-{i}/{model['model_id'].split('/')[1]}"
            counts["renamed"] += 1
        elif draw < 0.065:
            row["sha"] = f"{i + 1:040x}"[::-1]
            if draw < 0.04:
                readme = _readme(model["model_id"], 1)
                counts["card_changed"] += 1
            else:
                counts["metadata_changed"] += 1
        elif draw < 0.075:
            # Pickle weights in the old snapshot, safetensors beside them in the new one.
            weights = [s for s in model["siblings"] if s != "model.safetensors"]
            model["siblings"] = [*weights, "pytorch_model.bin"]
            row["siblings"] = [*model["siblings"], "model.safetensors"]
            counts["metadata_changed"] += 1
        kept.append(row)
        new_readmes[row["model_id"]] = readme
    for k in range(n // 50):
        model_id = f"newcomer{k}/model"
        kept.append({**models[k], "model_id": model_id, "object_id": f"new{k:021x}", "sha": f"{k:040x}"})
        new_readmes[model_id] = _readme(model_id, 0)
        counts["added"] += 1
    schema = load_schema("models")
    # The conversions edited the old rows' siblings: write the old snapshot again with them.
    for snapshot, rows in ((old, models), (new, kept)):
        snapshot.dir.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(snapshot.models, schema, compression="zstd") as writer:
            for first in range(0, len(rows), ROW_GROUP):
                writer.write_table(
                    table_from_rows("models", rows[first : first + ROW_GROUP]), row_group_size=CRAWL_ROW_GROUP
                )
    _write_cards(old, readmes)
    _write_cards(new, new_readmes)
    write_json(new.manifest, {"snapshot_id": NEW, "status": "complete", "started_at": "2026-02-01T00:00:00"})
    write_json(old.manifest, {"snapshot_id": OLD, "status": "complete", "started_at": "2026-01-01T00:00:00"})
    return counts


def run_child(data_dir: Path) -> dict[str, Any]:
    """In the child: the diff, its time and peak memory."""
    from pipeline.longitudinal.diff import run_diff

    started = time.perf_counter()
    result = run_diff(data_dir, OLD, NEW)
    return {
        "diff_s": round(time.perf_counter() - started, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "counts": result.counts,
        "summary_line": result.summary_line(),
    }


def _step(step: str, args: argparse.Namespace) -> dict[str, Any]:
    """One step in a child process of its own: a child forked from a large parent would inherit the
    parent's peak in getrusage."""
    child = subprocess.run(
        [*COMMAND, "--step", step, "--dir", str(args.dir), "--models", str(args.models)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=["diff"])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=RESULTS / "longitudinal")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--step", choices=["generate", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "generate":
        print(json.dumps(make_pair(DataDir(args.dir), args.models)))
        return
    if args.step == "measure":
        print(json.dumps(run_child(args.dir)))
        return
    shutil.rmtree(args.dir, ignore_errors=True)
    started = time.perf_counter()
    expected = _step("generate", args)
    generate_s = round(time.perf_counter() - started, 1)
    measured = _step("measure", args)
    out = {
        "scenario": "diff",
        "models": args.models,
        "generate_s": generate_s,
        "models_per_part": settings.DIFF_MODELS_PER_PART.read(),
        **measured,
        "expected_counts": expected,
        "counts_match": measured["counts"] == expected,
        "snapshot_bytes": {
            name: sum(p.stat().st_size for p in (args.dir / "snapshots" / name).rglob("*.parquet"))
            for name in (OLD, NEW)
        },
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    (RESULTS / "longitudinal.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
