"""What `hubmine risks` costs per model: requests and bytes of `--scan-status` and `--scan-pickles`.

    python -m bench.risks_bench [--models 50] [--workers 4]

`--models` models are served by the Hub simulator, each with a small `torch.save` state dict
(`pytorch_model.bin`, a 64 x 64 linear layer) and a `model.safetensors`; every tenth one's pickle is
a crafted `os.system` payload instead. After a metadata crawl, `run_risks` scans them all with both
steps, then again (every row reused by sha). Prints one JSON object; writes bench/results/risks.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from hubsim import HubSimulator, Registry
from pipeline.risks.run import run_risks
from tests.crafted_pickles import payloads, torch_zip
from tests.crawl_helpers import crawl

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"


def _state_dict() -> bytes:
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(64, 64).state_dict(), buffer)
    return buffer.getvalue()


def _registry(models: int, canary: Path) -> Registry:
    registry = Registry()
    benign, evil = _state_dict(), torch_zip(payloads(canary)["os_system"])
    for n in range(models):
        model_id = f"bench/model-{n:04d}"
        files = {"pytorch_model.bin": evil if n % 10 == 9 else benign, "model.safetensors": b"{}"}
        siblings = [{"rfilename": name} for name in ["README.md", *files]]
        registry.add({"id": model_id, "siblings": siblings, "downloads": 10_000 - n}, b"# bench\n")
        for path, content in files.items():
            registry.set_file(model_id, path, content)
    return registry


def _run(sim: HubSimulator, data_dir: Path, flags: set[str], models: int, workers: int) -> dict[str, Any]:
    sim.reset_counters()
    started = time.perf_counter()
    result = run_risks(data_dir, None, flags, top=models, workers=workers, endpoint=sim.url)
    seconds = time.perf_counter() - started
    counts = sim.counters
    return {
        "seconds": round(seconds, 2),
        "requests_per_model": round(counts["requests"] / models, 2),
        "api_requests_per_model": round(counts["api"] / models, 2),
        "resolver_requests_per_model": round(counts["resolvers"] / models, 2),
        "bytes_per_model": round(sum(n for key, n in counts.items() if key[0] == "bytes_sent") / models),
        "errored_models": result.errored_models,
    }


def scan_figures(models: int, workers: int) -> dict[str, Any]:
    """Per-model cost of each scan step alone, both together, and both again (reused)."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        os.environ["HF_HOME"] = str(tmp / "hf-home")
        os.environ.pop("HF_TOKEN", None)
        canary = tmp / "CANARY"
        with HubSimulator(_registry(models, canary)) as sim:
            figures: dict[str, Any] = {"models": models, "workers": workers}
            for name, flags in (("scan_status", {"scan-status"}), ("scan_pickles", {"scan-pickles"})):
                crawl(sim.url, tmp / name, cards=False)
                figures[name] = _run(sim, tmp / name, flags, models, workers)
            both = {"scan-status", "scan-pickles"}
            crawl(sim.url, tmp / "both", cards=False)
            figures["both"] = _run(sim, tmp / "both", both, models, workers)
            figures["both_again"] = _run(sim, tmp / "both", both, models, workers)
        assert not canary.exists(), "a crafted payload ran"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    figures = {
        "scan": scan_figures(args.models, args.workers),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "risks.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
