"""The pickle scan against its peers, on a corpus of crafted bypasses and real benign files.

    python -m bench.scan_bench [--peers-python PATH] [--skip-end-to-end]

The corpus: every bypass class of `tests/crafted_pickles.bypass_corpus` (each payload only creates a
canary file in a temporary folder), the real files of `tests/benign_checkpoints.benign_corpus`
(torch, transformers, scikit-learn, numpy, pandas, plain pickles) and two costly files (an opcode
bomb in a zip member named `.data`, a zip of 300,000 entries). Every label is verified first by
loading the file with its loader in a throwaway process: a malicious file counts only if its canary
appeared, a benign one only if it loaded. Then each scanner reads every file in a process of its own
(address space capped at 6 GiB): hubmine's static scan, and the peers picklescan, fickling,
modelscan and modelaudit run by the interpreter of `--peers-python` (else HUBMINE_SCAN_PEERS_PYTHON;
a peer it cannot import is skipped). Last, hubmine end to end: `hubmine risks --scan-pickles` over
the Hub simulator serving each file as a model. Prints the table; writes bench/results/scan.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.benign_checkpoints import benign_corpus
from tests.crafted_pickles import _benign_pickle, _torch_entries, _zip_of, bypass_corpus

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
DRIVER = REPO_ROOT / "bench" / "scan_drivers.py"
PEERS = ("picklescan", "fickling", "modelscan", "modelaudit")
# Benign families looked at while the allowlist was written; the others are held out.
TUNED_FAMILIES = {"torch", "sklearn", "numpy", "pandas", "protocols"}
LOAD_TIMEOUT = 180
SCAN_TIMEOUT = 1800
ADDRESS_SPACE = 6 * 1024**3

# Loads a file as its loader does, in a throwaway process; a malicious payload creates its canary.
LOADER = r"""
import io, sys, tarfile, zipfile
path, loader = sys.argv[1], sys.argv[2]
if loader == "pickle":
    import pickle
    with open(path, "rb") as f:
        pickle.load(f)
elif loader == "torch":
    import torch
    torch.load(path, weights_only=False)
elif loader == "joblib":
    import joblib
    joblib.load(path)
elif loader == "numpy":
    import numpy
    loaded = numpy.load(path, allow_pickle=True)
    for key in getattr(loaded, "files", []):
        loaded[key]
elif loader == "pandas":
    import pandas
    pandas.read_pickle(path)
elif loader.startswith("zip:"):
    import torch
    torch.load(io.BytesIO(zipfile.ZipFile(path).read(loader[4:])), weights_only=False)
elif loader.startswith("tar:"):
    import torch
    with tarfile.open(path) as archive:
        torch.load(io.BytesIO(archive.extractfile(loader[4:]).read()), weights_only=False)
"""


def _opcode_bomb_member() -> bytes:
    """A small torch zip whose member `.data` holds a deflated pickle of 12 M opcodes."""
    bomb = b"\x80\x04" + b"N0" * 6_000_000 + b"N."
    return _zip_of([*_torch_entries(_benign_pickle()), ("archive/.data", bomb)], zipfile.ZIP_DEFLATED)


def _many_entries(count: int = 300_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _torch_entries(_benign_pickle()):
            archive.writestr(name, data)
        for n in range(count):
            archive.writestr(f"archive/e{n}", b"")
    return buffer.getvalue()


def build_corpus(folder: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    canaries = folder / "canaries"
    canaries.mkdir()

    def add(
        group: str, name: str, filename: str, data: bytes, loader: str, family: str, **extra: Any
    ) -> None:
        path = folder / group / name / filename
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        entries.append(
            {"group": group, "name": name, "path": str(path), "loader": loader, "family": family, **extra}
        )

    for crafted in bypass_corpus():
        canary = canaries / crafted.name
        family = "opcodes" if crafted.loader == "pickle" else crafted.name.split("_")[0]
        add(
            "malicious",
            crafted.name,
            crafted.filename,
            crafted.build(canary),
            crafted.loader,
            family,
            canary=str(canary),
        )
    for benign in benign_corpus():
        add("benign", benign.name, benign.filename, benign.build(), benign.loader, benign.family)
    add("costly", "opcode_bomb_in_data_member", "pytorch_model.bin", _opcode_bomb_member(), "", "costly")
    add("costly", "zip_of_300k_entries", "pytorch_model.bin", _many_entries(), "", "costly")
    return entries


def verify(entries: list[dict[str, Any]]) -> None:
    """Mark each label verified by loading the file in a throwaway process."""
    for entry in entries:
        if entry["group"] == "costly":
            entry["verified"] = True
            continue
        try:
            done = subprocess.run(
                [sys.executable, "-c", LOADER, entry["path"], entry["loader"]],
                capture_output=True,
                timeout=LOAD_TIMEOUT,
                cwd=Path(entry["path"]).parent,
            )
            loaded = done.returncode == 0
        except subprocess.TimeoutExpired:
            loaded = False
        if entry["group"] == "malicious":
            canary = Path(entry["canary"])
            entry["verified"] = canary.exists()
            canary.unlink(missing_ok=True)
        else:
            entry["verified"] = loaded


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_scanner(scanner: str, python: str, manifest: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Outcomes by path, seconds of scanning and peak memory of one scanner over the corpus."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "NO_ANALYTICS": "1",
    }
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [python, str(DRIVER), scanner, str(manifest)],
            capture_output=True,
            text=True,
            timeout=SCAN_TIMEOUT,
            env=env,
            preexec_fn=_limit_memory,
        )
        lines, stderr = done.stdout.splitlines(), done.stderr
    except subprocess.TimeoutExpired as exc:
        lines, stderr = (exc.stdout or b"").decode().splitlines(), "timed out"
    records = [json.loads(line) for line in lines if line.startswith("{")]
    results = {r["path"]: r for r in records if "path" in r}
    peak = next((r["peak_rss_kb"] for r in records if "peak_rss_kb" in r), None)
    for entry in entries:  # a file the scanner never answered for (a crash or a timeout) has no verdict
        results.setdefault(entry["path"], {"outcome": "error", "detail": "no answer", "seconds": 0.0})
    return {
        "results": results,
        "wall_seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak / 1024) if peak else None,
        "stderr_tail": stderr[-300:] if not records else "",
    }


def _available(python: str, scanner: str) -> bool:
    module = {"picklescan": "picklescan.scanner", "fickling": "fickling.loader"}.get(scanner, f"{scanner}")
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True)
    return done.returncode == 0


def end_to_end(entries: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    """Outcomes of `hubmine risks --scan-pickles` over the Hub simulator, one model per file."""
    import pyarrow.parquet as pq

    from hubsim import HubSimulator, Registry
    from pipeline.risks.run import run_risks
    from pipeline.store.layout import DataDir
    from pipeline.store.snapshot import resolve_snapshot
    from tests.crawl_helpers import crawl

    registry = Registry()
    by_model = {}
    for n, entry in enumerate(entries):
        model_id = f"corpus/file-{n:03d}"
        filename = Path(entry["path"]).name
        registry.add(
            {"id": model_id, "siblings": [{"rfilename": filename}], "downloads": 10_000 - n}, b"# x\n"
        )
        registry.set_file(model_id, filename, Path(entry["path"]).read_bytes())
        by_model[model_id] = entry["path"]
    os.environ["HF_HOME"] = str(folder / "hf-home")
    os.environ.pop("HF_TOKEN", None)
    data_dir = folder / "data"
    with HubSimulator(registry) as sim:
        crawl(sim.url, data_dir, cards=False)
        started = time.perf_counter()
        run_risks(data_dir, None, {"scan-pickles"}, top=len(entries), workers=2, endpoint=sim.url)
        seconds = time.perf_counter() - started
    rows = pq.read_table(resolve_snapshot(DataDir(data_dir), None).finding("pickle_scan")).to_pylist()
    outcome = {"dangerous": "flagged", "suspicious": "flagged", "safe": "clean"}
    results = {
        by_model[row["model_id"]]: {"outcome": outcome.get(row["verdict"], "error"), "detail": row["reason"]}
        for row in rows
    }
    for path in by_model.values():
        results.setdefault(path, {"outcome": "error", "detail": "no row"})
    return {"results": results, "wall_seconds": round(seconds, 2), "peak_rss_mb": None}


def score(entries: list[dict[str, Any]], run: dict[str, Any], held_out: bool = False) -> dict[str, Any]:
    """Counts per group and outcome, over verified files; with `held_out`, over the benign files of
    the families not looked at while the allowlist was written (every bypass class was known)."""
    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for entry in entries:
        tuned = entry["group"] != "benign" or entry["family"] in TUNED_FAMILIES
        if not entry["verified"] or (held_out and tuned):
            continue
        result = run["results"][entry["path"]]
        counts[f"{entry['group']}_{result['outcome']}"] += 1
        seconds["costly" if entry["group"] == "costly" else "corpus"] += result.get("seconds") or 0.0
    return {
        **counts,
        "scan_seconds": round(seconds["corpus"], 3),
        "costly_scan_seconds": round(seconds["costly"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=os.environ.get("HUBMINE_SCAN_PEERS_PYTHON"))
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
        folder = Path(tmp)
        entries = build_corpus(folder)
        verify(entries)
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps(entries))
        runs = {"hubmine": run_scanner("hubmine", sys.executable, manifest, entries)}
        for peer in PEERS:
            if args.peers_python and _available(args.peers_python, peer):
                runs[peer] = run_scanner(peer, args.peers_python, manifest, entries)
        if not args.skip_end_to_end:
            runs["hubmine_end_to_end"] = end_to_end([e for e in entries if e["verified"]], folder)
        groups = Counter(e["group"] for e in entries if e["verified"])
        unverified = [e["name"] for e in entries if not e["verified"]]
        figures = {
            "corpus": dict(groups),
            "unverified": unverified,
            "scanners": {name: score(entries, run) for name, run in runs.items()},
            "held_out": {name: score(entries, run, held_out=True) for name, run in runs.items()},
            "wall_seconds": {name: run["wall_seconds"] for name, run in runs.items()},
            "peak_rss_mb": {name: run["peak_rss_mb"] for name, run in runs.items()},
            "costly": {
                name: {
                    e["name"]: {k: run["results"][e["path"]].get(k) for k in ("outcome", "detail", "seconds")}
                    for e in entries
                    if e["group"] == "costly"
                }
                for name, run in runs.items()
            },
            "outcomes": {
                name: {f"{e['group']}/{e['name']}": run["results"][e["path"]]["outcome"] for e in entries}
                for name, run in runs.items()
            },
            "misses": {
                name: sorted(
                    f"{e['group']}/{e['name']}: {run['results'][e['path']]['outcome']}"
                    for e in entries
                    if e["verified"]
                    and e["group"] != "costly"
                    and run["results"][e["path"]]["outcome"]
                    != ("flagged" if e["group"] == "malicious" else "clean")
                )
                for name, run in runs.items()
            },
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scan.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
