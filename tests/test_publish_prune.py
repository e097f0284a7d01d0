"""`hubmine publish` (a snapshot as a Hub dataset, uploaded to the simulator and loaded back), `hubmine
prune`, and unattended runs: `make recrawl`, the deploy files, and a scheduled run killed halfway."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import datasets
import huggingface_hub.constants
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from crawl_helpers import REPO_ROOT, cli_crawl, crawl
from hub_serving import serving
from measures_helpers import build_snapshot
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.cli import app
from pipeline.errors import BusyError
from pipeline.hub.ids import InvalidHubName
from pipeline.longitudinal.prune import run_prune
from pipeline.longitudinal.publish import run_publish, tables_of
from pipeline.report.build import run_report
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import list_snapshots, read_manifest, resolve_snapshot

runner = CliRunner()
SECRET = "hf_publishsecretXYZ123"


@pytest.fixture
def snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    # The simulator speaks LFS, not Xet; and a token in the environment must reach no file.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    return build_snapshot(tmp_path / "data")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubSimulator]:
    with serving(Registry.synthetic(1, seed=3), tmp_path) as sim:
        yield sim


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card[4:].split("\n---\n", 1)[0])


def test_dry_run_lays_out_every_table_with_a_card_and_no_token(snapshot: Snapshot, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["publish", snapshot.id, "--repo", "me/hub", "--dry-run", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 0, result.output
    folder = DataDir(tmp_path / "data").published(snapshot.id)
    assert str(folder.dir) in result.output
    tables = dict(tables_of(snapshot))
    assert {"models", "cards", "claims", "parsed_cards"} <= set(tables)
    files = {p.relative_to(folder.dir).as_posix() for p in folder.dir.rglob("*") if p.is_file()}
    assert files == {"README.md"} | {f"data/{t}/train-00000-of-00001.parquet" for t in tables}
    for name, source in tables.items():
        assert pq.read_table(folder.table(name)).equals(pq.read_table(source))
    card = folder.card.read_text()
    configs = _front_matter(card)["configs"]
    assert [c["config_name"] for c in configs] == list(tables)
    for config in configs:
        (entry,) = config["data_files"]
        assert entry["split"] == "train"
        assert list(folder.dir.glob(entry["path"])) == [folder.table(config["config_name"])]
    assert "| `model_id` | string |" in card  # the schema, from schemas/models.json
    assert 'load_dataset("me/hub", "models", split="train")' in card
    assert all(SECRET.encode() not in p.read_bytes() for p in folder.dir.rglob("*") if p.is_file())


def test_published_dataset_loads_back_equal_and_a_rerun_commits_nothing(
    snapshot: Snapshot, hub: HubSimulator, tmp_path: Path
) -> None:
    before = _digests(snapshot.dir)
    result = run_publish(tmp_path / "data", None, "me/hub-models", private=True)
    assert hub.counters["lfs"] == 2 * len(tables_of(snapshot))  # each Parquet file sent and verified once
    repo = hub.registry.datasets.get("me/hub-models")
    assert repo is not None and repo.info()["private"] is True
    assert result.commit == repo.sha
    models = datasets.load_dataset("me/hub-models", "models", split="train")
    expected = pq.read_table(snapshot.models)
    assert models.column_names == expected.column_names
    assert models.to_list() == expected.to_pylist()
    claims = datasets.load_dataset("me/hub-models", "claims", split="train")
    assert claims.num_rows == pq.read_table(snapshot.finding("claims")).num_rows
    assert SECRET.encode() not in b"".join(repo.files.values())
    hub.reset_counters()
    again = run_publish(tmp_path / "data", snapshot.id, "me/hub-models")
    assert again.commit == repo.sha == hub.registry.datasets.get("me/hub-models").sha
    assert hub.counters["lfs"] == 0  # no LFS object uploaded again
    assert hub.counters["requests"] <= 8
    assert _digests(snapshot.dir) == before


def test_a_failed_commit_leaves_the_snapshot_intact_and_a_rerun_succeeds(
    snapshot: Snapshot, hub: HubSimulator, tmp_path: Path
) -> None:
    before = _digests(snapshot.dir)
    hub.uploads.fail_commits = 1
    result = runner.invoke(
        app, ["publish", "latest", "--repo", "me/hub", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()[-1:]
    assert line.startswith("hubmine: error: upload to dataset me/hub failed") and "again" in line
    assert hub.registry.datasets.get("me/hub").files == {}  # nothing of the commit landed
    assert _digests(snapshot.dir) == before
    hub.reset_counters()
    result = runner.invoke(
        app, ["publish", "latest", "--repo", "me/hub", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 0, result.output
    assert hub.counters["lfs"] == 0  # the objects uploaded before the failure are not sent again
    assert "data/models/train-00000-of-00001.parquet" in hub.registry.datasets.get("me/hub").files
    assert _digests(snapshot.dir) == before


def test_a_republish_removes_tables_gone_from_the_snapshot_and_keeps_the_owners_files(
    snapshot: Snapshot, hub: HubSimulator, tmp_path: Path
) -> None:
    run_publish(tmp_path / "data", None, "me/hub")
    datasets_store = hub.registry.datasets
    datasets_store.commit("me/hub", {**datasets_store.get("me/hub").files, "NOTES.md": b"mine"}, None)
    snapshot.finding("claims").unlink()
    run_publish(tmp_path / "data", None, "me/hub")
    files = datasets_store.get("me/hub").files
    assert "NOTES.md" in files
    assert not any(path.startswith("data/claims/") for path in files)
    assert "config_name: claims" not in files["README.md"].decode()


def test_publish_refuses_a_held_data_directory_and_a_bad_name(snapshot: Snapshot, tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    with holding_lock(data, "crawl"), pytest.raises(BusyError, match="being crawled"):
        run_publish(data.root, None, "me/hub", dry_run=True)
    with pytest.raises(InvalidHubName, match="not a Hub name"):
        run_publish(data.root, None, "me/../../etc", dry_run=True)


# -- prune ----------------------------------------------------------------------------------------------


def _snapshots(data: DataDir, statuses: dict[str, str]) -> None:
    for hour, (snapshot_id, status) in enumerate(statuses.items()):
        snapshot = data.snapshot(snapshot_id)
        write_json(snapshot.manifest, {"status": status, "started_at": f"2026-01-01T{hour:02d}:00:00+00:00"})
        write_parquet(snapshot.models, pa.table({"model_id": ["a/b"]}))


def _left(data: DataDir) -> list[str]:
    return sorted(p.name for p in data.snapshots.iterdir())


def test_prune_keeps_the_newest_complete_and_what_is_not_complete(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    _snapshots(
        data, {"s1": "complete", "s2": "complete", "s3": "complete", "s4": "complete", "s5": "partial"}
    )
    dry = runner.invoke(app, ["prune", "--keep", "2", "--dry-run", "--data-dir", str(data.root)])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "would delete s1",
        "would delete s2",
        "would delete 2 snapshots, kept 2 complete",
    ]
    assert _left(data) == ["s1", "s2", "s3", "s4", "s5"]
    result = runner.invoke(app, ["prune", "--keep", "2", "--data-dir", str(data.root)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["deleted s1", "deleted s2", "deleted 2 snapshots, kept 2 complete"]
    assert _left(data) == ["s3", "s4", "s5"]
    assert run_prune(data.root, 1).deleted == ["s3"]
    assert run_prune(data.root, 1).deleted == []
    assert _left(data) == ["s4", "s5"]  # the newest complete, and the partial one


def test_prune_keeps_snapshots_a_diff_or_trend_names_unless_forced(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    _snapshots(data, {"s1": "complete", "s2": "complete", "s3": "complete", "s4": "complete"})
    data.diff("s1", "s4").mkdir(parents=True)
    data.trends.mkdir()
    pq.write_table(pa.table({"snapshot": ["s2", "s4"], "value": [1.0, 2.0]}), data.trends / "rates.parquet")
    result = run_prune(data.root, 1)
    assert result.deleted == ["s3"]
    assert result.named == {"s1": ["diffs/s1..s4"], "s2": ["trends/rates.parquet"]}
    assert "kept s1: named by diffs/s1..s4" in result.lines
    assert "2 kept because a diff or trend names them" in result.summary_line()
    assert _left(data) == ["s1", "s2", "s4"]
    forced = runner.invoke(app, ["prune", "--keep", "1", "--force", "--data-dir", str(data.root)])
    assert forced.exit_code == 0, forced.output
    assert "deleted s1 (named by diffs/s1..s4)" in forced.output
    assert _left(data) == ["s4"]


def test_prune_refuses_while_the_data_directory_is_held_and_finishes_a_killed_prune(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    _snapshots(data, {"s1": "complete", "s2": "complete"})
    with holding_lock(data, "crawl"):
        result = runner.invoke(app, ["prune", "--keep", "1", "--data-dir", str(data.root)])
    assert result.exit_code == 1
    assert "is being crawled by PID" in result.output
    assert _left(data) == ["s1", "s2"]
    (data.pruning / "s0" / "raw").mkdir(parents=True)  # what a prune killed while deleting leaves
    run_prune(data.root, 1)
    assert _left(data) == ["s2"]
    assert list(data.pruning.iterdir()) == []


# -- unattended runs ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_retries")
def test_a_scheduled_run_killed_halfway_leaves_earlier_snapshots_readable(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    registry = Registry.synthetic(n=150, seed=61)
    with HubSimulator(registry, latency_s=0.002) as sim:
        crawl(sim.url, data.root, snapshot="s1", workers=2)
        run_analyze(data.root, None)
        before = _digests(data.snapshot("s1").dir)
        registry.change_shas(fraction=0.5, seed=62)
        sim.reset_counters()
        proc = cli_crawl(data.root, sim.url, "--snapshot", "s2", "--workers", "2")
        deadline = time.monotonic() + 120  # a safety net: the kill waits on cards being asked
        while sim.counters["resolvers"] < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert read_manifest(data.snapshot("s2"))["status"] != "complete"
    assert list_snapshots(data, status="complete") == ["s1"]
    assert resolve_snapshot(data, None).id == "s1"
    assert _digests(data.snapshot("s1").dir) == before
    run_analyze(data.root, None)
    assert "s1" in run_report(data.root, None, tmp_path / "report")
    assert (tmp_path / "report").is_dir()
    assert run_prune(data.root, 1).deleted == []  # the lock the killed crawl held is free; s2 is left alone
    assert _left(data) == ["s1", "s2"]


def test_make_recrawl_runs_crawl_analyze_trends_and_report() -> None:
    # `-o setup` lists the steps without installing, whatever file times the checkout left.
    out = subprocess.run(
        ["make", "-n", "-o", "setup", "recrawl", "BIN=bin"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    steps = [line for line in out if "hubmine" in line]
    assert steps[0].startswith("bin/hubmine crawl --limit 1000 || [ $? -eq 3 ]")
    assert steps[1:] == ["bin/hubmine analyze", "bin/hubmine trends", "bin/hubmine report"]


def test_deploy_files_run_make_recrawl_on_a_schedule() -> None:
    deploy = REPO_ROOT / "deploy"
    service = (deploy / "hubmine-recrawl.service").read_text()
    assert "ExecStart=/usr/bin/make recrawl" in service and "Type=oneshot" in service
    assert "OnCalendar=" in (deploy / "hubmine-recrawl.timer").read_text()
    assert "make recrawl" in (deploy / "crontab.example").read_text()
    workflow = yaml.safe_load((deploy / "github-actions-recrawl.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert workflow[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key `on` as True
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make recrawl" in runs and "hubmine publish" in runs
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in job["steps"])
