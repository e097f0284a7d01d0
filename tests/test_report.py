"""`run_report` writes the Markdown, the self-contained HTML page and valid PNG figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from measures_helpers import SNAPSHOT_ID, build_snapshot

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.errors import SnapshotError
from pipeline.report import run_report
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = {
    "claims_by_task",
    "claims_gap",
    "architectures",
    "datasets",
    "attribute_rates",
    "missing_by_decile",
    "missing_by_task",
    "factor_rates",
    "score_distributions",
    "lineage_families",
    "exposure_by_year",
}


@pytest.fixture(scope="module")
def data_dir(measured_snapshot: Snapshot) -> Path:
    return measured_snapshot.dir.parent.parent


def test_report_files(data_dir: Path, tmp_path: Path) -> None:
    line = run_report(data_dir, None, tmp_path / "out")
    assert SNAPSHOT_ID in line and "11 figures" in line
    figures = {p.stem: p.read_bytes() for p in (tmp_path / "out" / "figures").glob("*.png")}
    assert set(figures) == FIGURES
    for data in figures.values():
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000

    markdown = (tmp_path / "out" / "report.md").read_text()
    assert {f"figures/{name}.png" for name in FIGURES} <= set(re.findall(r"\((figures/\w+\.png)\)", markdown))
    assert "| text-classification | 872 / 8,764 (9.9%) | 1 / 1 (100.0%) |" in markdown
    assert "d/pile, has 9 downstream models" in markdown

    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert "figures/" not in page  # self-contained: no links to the PNG files


def test_report_default_folder(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_report(data_dir, SNAPSHOT_ID, None)
    assert (tmp_path / "reports" / SNAPSHOT_ID / "report.html").exists()


def test_report_without_findings(tmp_path: Path) -> None:
    snapshot = build_snapshot(tmp_path)
    (snapshot.finding("parsed_cards")).unlink()
    with pytest.raises(SnapshotError, match="hubmine analyze"):
        run_report(tmp_path, None, tmp_path / "out")


def _figures_drawn(out: Path) -> None:
    figures = {p.stem: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert set(figures) == FIGURES
    assert all(data.startswith(PNG_SIGNATURE) for data in figures.values())


def _write_models(data_dir: Path, rows: list[dict[str, Any]]) -> Snapshot:
    snapshot = DataDir(data_dir).snapshot(SNAPSHOT_ID)
    write_json(snapshot.manifest, {"snapshot_id": SNAPSHOT_ID, "status": "complete"})
    write_parquet(snapshot.models, table_from_rows("models", rows))
    return snapshot


def test_report_on_a_metadata_only_crawl(tmp_path: Path, quick_retries: None) -> None:
    with HubSimulator(Registry.synthetic(n=40, seed=7)) as sim:
        crawled = run_crawl(tmp_path, CrawlParams(cards=False), snapshot_id="s", endpoint=sim.url)
    assert not crawled.snapshot.cards.exists()
    run_analyze(tmp_path, "s")
    run_report(tmp_path, "s", tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "No model card text was read in this snapshot" in markdown
    _figures_drawn(tmp_path / "out")


def test_report_without_lineage_or_claims(tmp_path: Path) -> None:
    models = [{"model_id": f"u/m{i}", "tags": [], "siblings": [], "downloads": i} for i in range(3)]
    _write_models(tmp_path, models)
    run_analyze(tmp_path, None)
    run_report(tmp_path, None, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "No model in this snapshot declares a base model." in markdown
    assert "No model in this snapshot makes a model-index performance claim." in markdown
    assert "No model in this snapshot declares a dataset" in markdown
    assert "longest chain" not in markdown and "edges from" not in markdown
    _figures_drawn(tmp_path / "out")


def test_report_on_a_snapshot_without_models(tmp_path: Path) -> None:
    _write_models(tmp_path, [])
    line = run_analyze(tmp_path, None)
    assert line.startswith(f"analyzed 0 models of snapshot {SNAPSHOT_ID}: card n/a")
    run_report(tmp_path, None, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "0 models; findings generated" in markdown
    assert "The snapshot has no models" in markdown
    assert "| mean provenance score | n/a |" in markdown
    _figures_drawn(tmp_path / "out")
