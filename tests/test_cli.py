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


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "--snapshot", "../../x"],
        ["report", "--snapshot", "../x"],
        ["crawl", "--since", "../x", "--limit", "5"],
        ["crawl", "--snapshot", "..", "--limit", "5"],
    ],
)
def test_snapshot_ids_that_are_not_plain_names_are_refused(tmp_path: Path, args: list[str]) -> None:
    data = tmp_path / "a" / "b" / "data"
    data.mkdir(parents=True)
    result = runner.invoke(app, [*args, "--data-dir", str(data)], env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "must be letters, digits" in result.stderr
    assert [p.name for p in tmp_path.rglob("*")] == ["a", "b", "data"]


@pytest.mark.parametrize(
    ("variable", "value", "accepts"),
    [
        ("HUBMINE_MAX_ATTEMPTS", "abc", "a whole number of at least 1"),
        ("HUBMINE_TIMEOUT_S", "-1", "a number"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, variable: str, value: str, accepts: str) -> None:
    result = runner.invoke(app, ["crawl", "--data-dir", str(tmp_path)], env={variable: value})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"hubmine: error: {variable}={value!r}: set it to {accepts}")
    assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["crawl"], ["analyze"], ["report"]])
def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, command: list[str]) -> None:
    file = tmp_path / "data"
    file.write_text("not a folder")
    result = runner.invoke(
        app, [*command, "--data-dir", str(file)], env={"HF_ENDPOINT": "http://127.0.0.1:9"}
    )
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("hubmine: error: ")
    assert str(file) in result.stderr and "folder" in result.stderr


def test_a_damaged_manifest_is_named_the_same_way_by_every_command(tmp_path: Path) -> None:
    manifest = tmp_path / "snapshots" / "k" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("[1, 2]")
    env = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    for args in (
        ["crawl", "--snapshot", "k"],
        ["crawl", "--resume", "--snapshot", "k"],
        ["analyze", "--snapshot", "k"],
    ):
        result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], env=env)
        assert result.exit_code == 1
        assert result.stderr == (
            f"hubmine: error: {manifest} is damaged (a JSON list, not an object); "
            f"restore it from a backup, or remove {manifest.parent} and crawl again\n"
        )
    result = runner.invoke(app, ["analyze", "--data-dir", str(tmp_path)])
    assert result.stderr.startswith(f"hubmine: warning: skipping snapshot k: {manifest} is damaged")
    assert result.stderr.splitlines()[-1].startswith("hubmine: error: no complete snapshot")


def test_a_report_out_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=30, seed=32)
    with HubSimulator(registry) as sim:
        assert (
            runner.invoke(app, ["crawl", "--data-dir", str(tmp_path)], env={"HF_ENDPOINT": sim.url}).exit_code
            == 0
        )
    assert runner.invoke(app, ["analyze", "--data-dir", str(tmp_path)]).exit_code == 0
    out = tmp_path / "out"
    out.write_text("a file")
    result = runner.invoke(app, ["report", "--data-dir", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert str(out) in result.stderr and "--out must name a folder you can write" in result.stderr


@pytest.mark.parametrize("repo", ["--help", "-x/name", "me/--help", "me/name.", "me/a--b", "me/" + "n" * 97])
def test_publish_refuses_a_name_the_hub_would_not_create(tmp_path: Path, repo: str) -> None:
    result = runner.invoke(
        app, ["publish", "latest", "--repo", repo, "--dry-run", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "not a name the Hub gives a new repository" in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before the data directory is looked at
