"""Claim checks at scale: time and peak memory of `claim_checks.build` on synthetic claims.

    python -m bench.claim_checks_bench [--claims 1000000] [--models 100000] [--baseline DIR]

Writes a snapshot of `--claims` claim rows over `--models` models (three times as many models in
models.parquet, 60,000 lineage edges) into a temporary folder, then runs the checks in a fresh
process and reports its wall time and peak RSS. A fifth of the card-table rows are about other
models (`subject` other) and the Trainer's lists carry each `list_vs_table` status, so the
attribution filter and the ordinary-cause labels are on the measured path. With `--baseline DIR`
(a checkout of the code to compare with) the same snapshot is checked by that code too, back to back,
so the ratio comes from one machine at one time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.parse_bench import REPO_ROOT
from pipeline.schemas import load_schema
from pipeline.store.files import write_json
from pipeline.store.layout import DataDir, Snapshot

SNAPSHOT_ID = "20260101T000000Z"
EDGES = 60_000
SOURCES = ("model-index", "trainer-results", "trainer-table", "card-table")
METRICS = ("accuracy", "f1", "wer", "loss", "rouge1")
RELATIONS = ("last_row", "earlier_row", "table_ends_early", "masked_lm", "differs")
_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipeline.measures import claim_checks
from pipeline.store.layout import DataDir
snapshot = DataDir(Path(sys.argv[1])).snapshot(sys.argv[2])
started = time.perf_counter()
findings, _ = claim_checks.build(snapshot)
print(json.dumps({"seconds": time.perf_counter() - started, "findings": findings.num_rows,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_snapshot(root: Path, claims: int, models: int, seed: int = 7) -> Snapshot:
    rng = random.Random(seed)
    snapshot = DataDir(root).snapshot(SNAPSHOT_ID)
    write_json(snapshot.manifest, {"snapshot_id": SNAPSHOT_ID, "status": "complete"})
    ids = [f"org{i % 5000}/model-{i}" for i in range(3 * models)]
    pq.write_table(
        pa.table(
            {
                "model_id": ids,
                "author": [i.split("/")[0] for i in ids],
                "pipeline_tag": [("fill-mask", "text-classification")[i % 2] for i in range(len(ids))],
            }
        ),
        snapshot.models,
        compression="zstd",
    )
    source = [SOURCES[rng.randrange(4)] for _ in range(claims)]
    subject = ["other" if s == "card-table" and rng.random() < 0.2 else "self" for s in source]
    metric = [METRICS[rng.randrange(5)] for _ in range(claims)]
    value = [round(rng.random(), 4) for _ in range(claims)]
    columns = {
        "model_id": [ids[rng.randrange(models)] for _ in range(claims)],
        "source": source,
        "dataset_name": [f"data{rng.randrange(50)}" for _ in range(claims)],
        "dataset_split": [("test", "validation", None)[rng.randrange(3)] for _ in range(claims)],
        "metric": metric,
        "metric_type": metric,
        "value": value,
        "value_unit": [v if m not in ("loss",) else None for v, m in zip(value, metric, strict=True)],
        "value_raw": [json.dumps(v) for v in value],
        "is_percent": [False] * claims,
        "verified": [rng.random() < 0.01 for _ in range(claims)],
        "counts": [s == "model-index" for s in source],
        "subject": subject,
        "list_vs_table": [RELATIONS[rng.randrange(5)] if s == "trainer-results" else None for s in source],
    }
    schema = load_schema("claims")
    table = pa.table({f.name: columns.get(f.name, pa.nulls(claims, f.type)) for f in schema}, schema=schema)
    snapshot.findings.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, snapshot.finding("claims"), compression="zstd")
    lineage = load_schema("lineage")
    edges = {
        "model_id": [ids[rng.randrange(models)] for _ in range(EDGES)],
        "base_model": [ids[rng.randrange(3 * models)] for _ in range(EDGES)],
        "relation": [("finetune", "quantized", "adapter")[rng.randrange(3)] for _ in range(EDGES)],
        "relation_source": ["tag"] * EDGES,
        "source": ["tag"] * EDGES,
        "base_in_snapshot": [True] * EDGES,
        "depth": [1] * EDGES,
    }
    pq.write_table(
        pa.table({f.name: edges.get(f.name, pa.nulls(EDGES, f.type)) for f in lineage}, schema=lineage),
        snapshot.finding("lineage"),
    )
    return snapshot


def measure(code: Path, root: Path) -> dict[str, float]:
    """The checks run by the code checked out at `code`, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), SNAPSHOT_ID],
        env=env,
        cwd=code,  # `python -c` puts the working folder first on the path
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"the checks failed under {code}: {out.stderr.strip().splitlines()[-1]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_snapshot(root, args.claims, args.models)
        runs = {"this checkout": measure(REPO_ROOT, root)}
        if args.baseline:
            runs["baseline"] = measure(args.baseline, root)
            runs["this checkout, again"] = measure(REPO_ROOT, root)
    for name, run in runs.items():
        print(
            f"claim checks on {args.claims:,} claim rows ({name}): {run['seconds']:.1f} s, "
            f"peak RSS {run['peak_rss_mib']:.0f} MiB, {run['findings']:,} findings"
        )


if __name__ == "__main__":
    main()
