"""`run_report` writes the Markdown, the self-contained HTML page and valid PNG figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from measures_helpers import SNAPSHOT_ID, build_snapshot

from pipeline.errors import SnapshotError
from pipeline.report import run_report
from pipeline.store.layout import Snapshot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = {
    "claims_by_task",
    "architectures",
    "datasets",
    "attribute_rates",
    "missing_by_decile",
    "missing_by_task",
    "factor_rates",
    "score_distributions",
    "lineage_families",
}


@pytest.fixture(scope="module")
def data_dir(measured_snapshot: Snapshot) -> Path:
    return measured_snapshot.dir.parent.parent


def test_report_files(data_dir: Path, tmp_path: Path) -> None:
    line = run_report(data_dir, None, tmp_path / "out")
    assert SNAPSHOT_ID in line and "9 figures" in line
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
