"""`run_report` writes the Markdown, the self-contained HTML page and valid PNG figures."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
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
    "trend_rates",
    "trend_formats",
    "trend_growth",
    "history_registry",
    "history_top_models",
}
# Figures a snapshot that was only crawled and analyzed has no data for: no evaluation, trend or history.
WITHOUT_RUNS = {"claims_gap", "trend_rates", "trend_formats", "trend_growth", "history_registry"}
WITHOUT_RUNS |= {"history_top_models"}


@pytest.fixture(scope="module")
def data_dir(measured_snapshot: Snapshot) -> Path:
    return measured_snapshot.dir.parent.parent


def test_report_files(data_dir: Path, tmp_path: Path) -> None:
    line = run_report(data_dir, None, tmp_path / "out", command="hubmine report --out out")
    drawn = FIGURES - WITHOUT_RUNS
    assert SNAPSHOT_ID in line and f"{len(drawn)} figures" in line
    figures = {p.stem: p.read_bytes() for p in (tmp_path / "out" / "figures").glob("*.png")}
    assert set(figures) == drawn
    for data in figures.values():
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000

    markdown = (tmp_path / "out" / "report.md").read_text()
    assert {f"figures/{name}.png" for name in drawn} == set(re.findall(r"\((figures/\w+\.png)\)", markdown))
    # A section without data says so once, and shows no figure.
    assert "## Claimed versus measured\n\nNo claim of this snapshot has been re-measured;" in markdown
    assert "## Trends\n\nNo trend yet: run hubmine trends after analyzing two or more snapshots." in markdown
    assert "| command | hubmine report --out out |" in markdown
    assert "| text-classification | 872 / 8,764 (9.9%) | 1 / 1 (100.0%) |" in markdown
    assert "d/pile, has 9 downstream models" in markdown
    assert "## Repository history\n\nNo repository history yet: run hubmine history" in markdown

    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(drawn)
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


def _figures_drawn(out: Path) -> set[str]:
    """The figures the report drew, each a PNG its Markdown shows; the rest it left out."""
    figures = {p.stem: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert set(figures) <= FIGURES
    assert all(data.startswith(PNG_SIGNATURE) for data in figures.values())
    shown = set(re.findall(r"\(figures/(\w+)\.png\)", (out / "report.md").read_text()))
    assert shown == set(figures)
    return set(figures)


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
    assert "No model in this snapshot makes a performance claim." in markdown
    assert "No model in this snapshot declares a dataset" in markdown
    assert "longest chain" not in markdown and "edges from" not in markdown
    assert "lineage_families" not in _figures_drawn(tmp_path / "out")


def test_report_on_a_snapshot_without_models(tmp_path: Path) -> None:
    _write_models(tmp_path, [])
    line = run_analyze(tmp_path, None)
    assert line.startswith(f"analyzed 0 models of snapshot {SNAPSHOT_ID}: card n/a")
    run_report(tmp_path, None, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "0 models; findings generated" in markdown
    assert "The snapshot has no models" in markdown
    assert "| mean provenance score | n/a |" in markdown
    # Only the paper's side of Fig. 7 has data.
    assert _figures_drawn(tmp_path / "out") == {"claims_by_task"}


def write_risk_tables(snapshot: Snapshot) -> None:
    """Small `hubmine risks` tables: 1 of 2 repositories signed (one not read), 1 of 2 flagged."""
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    tables = {
        "signatures": [
            {"model_id": "org/full", "clone_mode": "blobless", "any_signed": True, "measured_at": when},
            {"model_id": "r/root", "clone_mode": "blobless", "any_signed": False, "measured_at": when},
            {"model_id": "u/empty", "clone_mode": "error", "error": "<script>", "measured_at": when},
        ],
        "scan_status": [
            {"model_id": "r/root", "file": "a.bin", "repo_flagged": True, "pickle_safety": "dangerous"},
            {"model_id": "org/full", "file": None, "repo_flagged": False},
        ],
        "pickle_scan": [
            {"model_id": "r/root", "file": "a.bin", "verdict": "dangerous", "globals": ["os.system"]},
            {"model_id": "r/root", "file": "x.pt", "verdict": "error"},
        ],
        "maintainers": [
            {"model_id": "r/root", "n_authors": 1, "bus_factor": 1, "downstream_models": 9,
             "single_owner_with_dependents": True},
            {"model_id": "org/full", "n_authors": 3, "bus_factor": 2, "downstream_models": 0,
             "single_owner_with_dependents": False},
        ],
    }  # fmt: skip
    for table, rows in tables.items():
        write_parquet(snapshot.finding(table), table_from_rows(table, rows))


def test_risks_section_with_and_without_the_risk_tables(measured_snapshot: Snapshot, tmp_path: Path) -> None:
    copy = DataDir(tmp_path / "data").snapshot(measured_snapshot.id)
    shutil.copytree(measured_snapshot.dir, copy.dir)
    run_report(tmp_path / "data", None, tmp_path / "before")
    markdown = (tmp_path / "before" / "report.md").read_text()
    assert "## Risks" in markdown and "| gguf | 2 | 13.3% |" in markdown
    assert "| organizations verified | 199 / 6,243 (3.19%) | 0 / 1 (0.00%) |" in markdown
    assert "| 132 / 63,182 (0.21%) | not measured: run \\`hubmine risks --signatures\\` |" in markdown
    assert "not measured: run \\`hubmine risks --scan-status\\`" in markdown
    assert "not measured: run \\`hubmine risks --maintainers\\`" in markdown

    write_risk_tables(copy)
    run_report(tmp_path / "data", None, tmp_path / "after")
    rows = [
        "| repositories with a GPG-signed commit | 132 / 63,182 (0.21%) | 1 / 2 (50.00%); 1 not read |",
        "| repositories flagged by the Hub's malware scans | 0 | 1 / 2 (50.00%) |",
        "| weight files the Hub's pickle scan calls dangerous | not in the paper | 1 / 1 (100.00%) |",
        "| pickle files a static scan calls dangerous | not in the paper | 1 / 1 (100.00%) |",
        "| repositories with one author and 5+ downstream models | not in the paper | 1 / 2 (50.00%) |",
    ]
    markdown = (tmp_path / "after" / "report.md").read_text()
    assert all(row in markdown for row in rows)
