"""The demo's steps: serve the bundled sample and the tiny models on the simulator, then crawl, analyze,
evaluate, scan pickles and report with the `hubmine` command line, each step as a user would type it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from demo.models import MODELS, model_folder
from hubsim import HubSimulator, Registry
from hubsim.tiny import BINARY, register_model, sentiment_dataset
from pipeline.extras import missing_modules

DEMO_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = DEMO_DIR / "hub2022"
DATASET_ID = "demo/sst2"
# What each tiny model's card claims: accuracy 0.9 on the test split of the tiny dataset, whose rows are
# 15 positive of 20, so the always-positive model measures 0.75.
CLAIMED_ACCURACY = 0.9
# Hub settings a user's shell may hold that would send the steps elsewhere than the simulator.
FOREIGN_SETTINGS = ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def model_card(model_id: str) -> dict[str, object]:
    result = {
        "task": {"type": "text-classification", "name": "Text Classification"},
        "dataset": {"name": DATASET_ID, "type": DATASET_ID, "split": "test"},
        "metrics": [{"type": "accuracy", "value": CLAIMED_ACCURACY, "name": "Accuracy"}],
    }
    return {
        "license": "apache-2.0",
        "datasets": [DATASET_ID],
        "metrics": ["accuracy"],
        "model-index": [{"name": model_id, "results": [result]}],
    }


def demo_registry() -> Registry:
    """The bundled sample's models and cards, the two tiny models and the dataset their cards name."""
    import datasets

    datasets.disable_progress_bars()  # the tiny dataset's one Parquet write needs no bar
    registry = Registry.from_sample(SAMPLE_DIR)
    sentiment_dataset(registry, DATASET_ID, rows=20, positive=15, names=BINARY)
    for model_id in MODELS:
        register_model(
            registry,
            model_id,
            model_folder(model_id),
            pipeline_tag="text-classification",
            card_data=model_card(model_id),
        )
    return registry


def step_environment(endpoint: str, caches: Path) -> dict[str, str]:
    """This environment pointed at the simulator, with the libraries' caches under `caches`."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(caches / "home"),
        HF_HUB_CACHE=str(caches / "hub"),
        HF_DATASETS_CACHE=str(caches / "datasets"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
    )
    return env


def steps(data_dir: Path, report_dir: Path, evaluate: bool) -> list[list[str]]:
    """The `hubmine` command lines of the demo, in order."""
    data = ["--data-dir", str(data_dir)]
    models = [arg for model_id in MODELS for arg in ("--models", model_id)]
    chosen = [
        ["crawl", *data],
        ["analyze", *data],
        ["evaluate", *data, *models, "--device", "cpu"] if evaluate else None,
        ["risks", *data, *models, "--scan-pickles"],
        ["report", *data, "--out", str(report_dir)],
        ["status", *data],
    ]
    return [step for step in chosen if step is not None]


def run_demo(data_dir: Path, report_dir: Path, say: Callable[[str], None] = print) -> Path:
    """Run every step against a fresh `data_dir`; return the report's HTML file."""
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(report_dir, ignore_errors=True)
    evaluate = not missing_modules("evaluate")
    if not evaluate:
        say(
            "demo: skipping `hubmine evaluate`: the evaluate extra is not installed "
            "(`make setup`, or pip install 'hubmine[evaluate]')"
        )
    registry = demo_registry()
    with tempfile.TemporaryDirectory(prefix="hubmine-demo-") as caches, HubSimulator(registry) as sim:
        say(f"demo: the Hub simulator serves {len(registry)} models at {sim.url}")
        env = step_environment(sim.url, Path(caches))
        for args in steps(data_dir, report_dir, evaluate):
            say("demo: $ hubmine " + " ".join(args))
            done = subprocess.run(
                [sys.executable, "-m", "pipeline", *args], env=env, cwd=DEMO_DIR.parent, check=False
            )
            # 3: finished, with some models recorded as failed; the demo goes on as `make run` does.
            if done.returncode not in (0, 3):
                raise SystemExit(f"demo: `hubmine {args[0]}` failed (exit status {done.returncode})")
    say("demo: simulator stopped")
    return report_dir / "report.html"
