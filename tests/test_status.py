"""Snapshots a user can see: `hubmine status`, no snapshot from a crawl that got no answer, and a resume
that refuses to mix endpoints or parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app

runner = CliRunner()


def _crawl(data: Path, url: str, *args: str) -> object:
    return runner.invoke(app, ["crawl", "--data-dir", str(data), *args], env={"HF_ENDPOINT": url})


def test_status_lists_each_snapshot(tmp_path: Path) -> None:
    with HubSimulator(Registry.synthetic(n=30, seed=7)) as sim:
        assert _crawl(tmp_path, sim.url, "--snapshot", "a", "--limit", "20").exit_code == 0
        assert _crawl(tmp_path, sim.url, "--snapshot", "b", "--no-cards").exit_code == 0
    assert runner.invoke(app, ["analyze", "--data-dir", str(tmp_path), "--snapshot", "a"]).exit_code == 0
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header, first, second = result.output.splitlines()
    assert header.split()[:5] == ["SNAPSHOT", "STATE", "MODELS", "CARDS", "SIZE"]
    assert first.split()[:4] == ["a", "complete,", "analyzed", "20"]
    assert sim.url in first and first.endswith("--limit 20 --sort downloads --cards")
    assert second.split()[:4] == ["b", "complete", "30", "-"]
    assert second.endswith(" --sort downloads --no-cards")
    assert "KB" in first or "MB" in first


def test_status_of_an_empty_data_dir_says_how_to_start(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output == (
        f"no snapshots under {tmp_path / 'snapshots'}; run `hubmine crawl` (or `make demo`)\n"
    )


def test_a_crawl_without_any_answer_leaves_no_snapshot(tmp_path: Path) -> None:
    result = _crawl(tmp_path, "http://127.0.0.1:9", "--limit", "5")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "HF_ENDPOINT" in result.stderr and "make demo" in result.stderr
    assert list((tmp_path / "snapshots").iterdir()) == []


@pytest.fixture
def interrupted(tmp_path: Path) -> tuple[Path, str]:
    """A data directory holding a partial snapshot `p` crawled with --limit 20, and the simulator's URL."""
    with HubSimulator(Registry.synthetic(n=40, seed=8)) as sim:
        assert _crawl(tmp_path, sim.url, "--snapshot", "p", "--limit", "20").exit_code == 0
        url = sim.url
    manifest = tmp_path / "snapshots" / "p" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"complete"', '"partial"', 1))
    return tmp_path, url


def test_resume_refuses_another_endpoint(interrupted: tuple[Path, str]) -> None:
    data, url = interrupted
    with HubSimulator(Registry.synthetic(n=40, seed=8)) as other:
        result = _crawl(data, other.url, "--resume")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert f"snapshot 'p' was crawled from {url}, not {other.url}" in result.stderr
    assert f"resume it with HF_ENDPOINT={url}" in result.stderr


def test_resume_refuses_other_parameters(interrupted: tuple[Path, str]) -> None:
    data, url = interrupted
    result = _crawl(data, url, "--resume", "--limit", "30")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "snapshot 'p' was started with limit 20; resume it without --limit" in result.stderr


def test_progress_off_a_terminal_is_whole_status_lines(tmp_path: Path) -> None:
    with HubSimulator(Registry.synthetic(n=30, seed=9)) as sim:
        result = runner.invoke(
            app, ["crawl", "--data-dir", str(tmp_path)], env={"HF_ENDPOINT": sim.url, "HUBMINE_STATUS_S": "0"}
        )
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("hubmine: models: ")]


def test_an_imported_snapshot_names_its_dump(tmp_path: Path) -> None:
    manifest = tmp_path / "snapshots" / "dump" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    source = {"kind": "import", "dataset": "org/cards", "revision": "abc123"}
    manifest.write_text(json.dumps({"status": "complete", "source": source, "counts": {"models": 7}}))
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1]
    assert row.split()[:4] == ["dump", "complete", "7", "-"]
    assert row.endswith("import of org/cards at revision abc123  -")
