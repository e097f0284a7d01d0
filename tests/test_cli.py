"""The command line: exit codes and one-line errors, as a user meets them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app

runner = CliRunner()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["crawl", "--sort", "bogus", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_no_snapshot_is_one_line_and_exit_1(tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, [command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("hubmine: error: no complete snapshot")


def test_crawl_analyze_report_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry.synthetic(n=120, seed=31)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    with HubSimulator(registry) as sim:
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        crawled = runner.invoke(app, ["crawl", "--data-dir", "data", "--snapshot", "s1", "--limit", "100"])
    assert crawled.exit_code == 0, crawled.output
    assert crawled.output.strip().splitlines()[-1].startswith("snapshot s1 complete: 100 models")
    analyzed = runner.invoke(app, ["analyze", "--data-dir", "data"])
    assert analyzed.exit_code == 0, analyzed.output
    assert "analyzed 100 models of snapshot s1" in analyzed.output
    reported = runner.invoke(app, ["report", "--data-dir", "data"])
    assert reported.exit_code == 0, reported.output
    assert (tmp_path / "reports" / "s1" / "report.html").exists()
    assert (tmp_path / "reports" / "s1" / "report.md").exists()
