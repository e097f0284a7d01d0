"""`make demo`'s steps, as `python -m demo` runs them: the bundled sample and the tiny models served by the
simulator, crawled, analyzed, evaluated, scanned and reported."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from demo.models import MODELS, MODELS_DIR, model_folder
from demo.run import SAMPLE_DIR, run_demo
from pipeline.store.layout import DataDir

pytestmark = pytest.mark.slow


def test_the_bundled_files_are_small_and_complete() -> None:
    with gzip.open(SAMPLE_DIR / "models.jsonl.gz", "rt") as handle:
        assert sum(1 for _ in handle) == 300
    assert pq.ParquetFile(SAMPLE_DIR / "readmes.parquet").metadata.num_rows == 259
    shipped = [p for folder in (SAMPLE_DIR, MODELS_DIR) for p in folder.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in shipped) < 1_000_000
    for model_id, pickle_only in MODELS.items():
        weights = "pytorch_model.bin" if pickle_only else "model.safetensors"
        assert (model_folder(model_id) / weights).is_file()
        assert (model_folder(model_id) / "config.json").is_file()


def test_the_demo_runs_every_step(tmp_path: Path) -> None:
    said: list[str] = []
    report = run_demo(tmp_path / "data", tmp_path / "report", say=said.append)
    assert report == tmp_path / "report" / "report.html" and report.is_file()
    assert said[-1] == "demo: simulator stopped"
    (snapshot_id,) = [p.name for p in DataDir(tmp_path / "data").snapshots.iterdir()]
    snapshot = DataDir(tmp_path / "data").snapshot(snapshot_id)
    assert pq.ParquetFile(snapshot.models).metadata.num_rows == 302
    evaluations = {row["model_id"]: row for row in pq.read_table(snapshot.finding("evaluations")).to_pylist()}
    assert evaluations["demo/bert-sst2"]["status"] == "measured"
    assert evaluations["demo/bert-sst2"]["measured"] == pytest.approx(0.75)
    assert evaluations["demo/bert-sst2-pickle"]["status"] == "pickle_refused"
    scanned = pq.read_table(snapshot.finding("pickle_scan")).to_pylist()
    assert [row["model_id"] for row in scanned] == ["demo/bert-sst2-pickle"]
    html = report.read_text()
    assert "2 claims tried: measured 1, pickle_refused 1." in html
