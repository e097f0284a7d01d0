"""`hubmine diff` and `hubmine trends` on two crawls of the simulator across known changes."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from crawl_helpers import crawl
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline import settings
from pipeline.analyze import run_analyze
from pipeline.cli import app
from pipeline.errors import BusyError
from pipeline.longitudinal import diff
from pipeline.longitudinal.diff import run_diff
from pipeline.longitudinal.trends import run_trends
from pipeline.measures.summary import load_summary
from pipeline.report import run_report
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock

pytestmark = pytest.mark.usefixtures("quick_retries")


def _card_status(data_dir: Path, snapshot: str) -> dict[str, str]:
    table = pq.read_table(DataDir(data_dir).snapshot(snapshot).cards, columns=["model_id", "status"])
    return dict(zip(table["model_id"].to_pylist(), table["status"].to_pylist(), strict=True))


@pytest.fixture(scope="module")
def two_snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("data")
    registry = Registry.synthetic(n=80, seed=41)
    with HubSimulator(registry) as sim:
        crawl(sim.url, data_dir, snapshot="s1", workers=4)
        run_analyze(data_dir, "s1")
        old_ids = set(registry.ids())
        changed = registry.change_shas(fraction=0.1, seed=3)
        untouched = sorted(old_ids - set(changed))
        removed, renamed, converted = untouched[:2], untouched[2], untouched[3]
        for model_id in removed:
            registry.remove(model_id)
        registry.rename(renamed, "renamed-owner/moved-model")
        registry.set_file(converted, "model.safetensors", b"weights")
        added = ["newcomer/model-a", "newcomer/model-b"]
        for model_id in added:
            registry.add({"id": model_id, "siblings": [{"rfilename": "README.md"}]}, b"# new\n")
        crawl(sim.url, data_dir, snapshot="s2", workers=4)
        run_analyze(data_dir, "s2")
    return {
        "data_dir": data_dir,
        "changed": changed,
        "removed": removed,
        "renamed": renamed,
        "converted": converted,
        "added": added,
        "old_cards": _card_status(data_dir, "s1"),
        "old_pickle": pq.read_table(DataDir(data_dir).snapshot("s1").finding("risks")).to_pylist(),
    }


def test_diff_counts_every_kind_of_change(two_snapshots: dict[str, Any]) -> None:
    s = two_snapshots
    result = run_diff(s["data_dir"], "s1", "s2")
    rows = pq.read_table(DataDir(s["data_dir"]).diff_changes("s1", "s2")).to_pylist()
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        by_kind.setdefault(row["change"], set()).add(row["model_id"])
    # A new commit rewrites the card (the simulator appends a revision line): a card read in both
    # snapshots changed; a card missing, gated or failed leaves only the new sha.
    card = {m for m in s["changed"] if s["old_cards"].get(m) == "ok"}
    metadata = (set(s["changed"]) - card) | {s["converted"]}
    assert by_kind == {
        "added": set(s["added"]),
        "removed": set(s["removed"]),
        "renamed": {"renamed-owner/moved-model"},
        "card_changed": card,
        "metadata_changed": metadata,
    }
    assert result.counts == {
        "added": 2,
        "removed": 2,
        "renamed": 1,
        "card_changed": len(card),
        "metadata_changed": len(metadata),
    }
    assert card and len(rows) == sum(result.counts.values())
    rename = next(r for r in rows if r["change"] == "renamed")
    assert rename["old_model_id"] == s["renamed"] and rename["fields_changed"] == []
    assert rename["old_sha"] == rename["new_sha"]
    conversion = next(r for r in rows if r["model_id"] == s["converted"])
    assert conversion["fields_changed"] == ["siblings"] and conversion["formats_added"] == ["safetensors"]
    was_pickle = next(r for r in s["old_pickle"] if r["model_id"] == s["converted"])
    expected = ["pickle->safetensors"] if was_pickle["pickle_only"] else []
    assert conversion["formats_converted"] == expected
    for row in rows:
        if row["change"] == "card_changed":
            assert "readme" in row["fields_changed"] and row["old_sha"] != row["new_sha"]
        if row["model_id"] in s["changed"] and row["change"] == "metadata_changed":
            assert row["fields_changed"] == ["sha"]
    summary = json.loads(DataDir(s["data_dir"]).diff_summary("s1", "s2").read_text())
    assert summary["counts"] == result.counts
    assert set(summary["adoption"]) == {"has_license", "has_model_index", "has_safetensors"}
    safetensors = summary["adoption"]["has_safetensors"]
    # Changed models in both snapshots: card, metadata and the rename.
    assert safetensors["models"] == len(card) + len(metadata) + 1
    assert safetensors["after"] - safetensors["before"] == (0 if "safetensors" in _formats(was_pickle) else 1)


def test_a_registry_diffed_in_parts_gives_the_same_rows(
    two_snapshots: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(two_snapshots["data_dir"])
    run_diff(data.root, "s1", "s2")
    whole = pq.read_table(data.diff_changes("s1", "s2")).to_pylist()
    split, parts = diff._split, []

    def counted(snapshot: Snapshot, folder: Path, n: int) -> None:
        parts.append(n)
        split(snapshot, folder, n)

    monkeypatch.setattr(diff, "_split", counted)
    monkeypatch.setenv(settings.DIFF_MODELS_PER_PART.name, "7")  # 80 models: 12 parts; a rename crosses
    run_diff(data.root, "s1", "s2")
    assert parts == [12, 12]
    assert pq.read_table(data.diff_changes("s1", "s2")).to_pylist() == whole
    renamed = next(r for r in whole if r["change"] == "renamed")
    crc = [zlib.crc32(m.encode()) % 12 for m in (renamed["model_id"], renamed["old_model_id"])]
    assert crc[0] != crc[1]
    assert not list(data.diffs.glob(".parts-*"))  # the parts are removed when done


def _formats(row: dict[str, Any]) -> list[str]:
    return row["weight_formats"] or []


def test_trends_over_two_snapshots(two_snapshots: dict[str, Any]) -> None:
    data_dir = two_snapshots["data_dir"]
    result = run_trends(data_dir)
    assert result.snapshots == ["s1", "s2"] and result.skipped == []
    data = DataDir(data_dir)
    rates = pq.read_table(data.trend("rates")).to_pylist()
    for snapshot in ("s1", "s2"):
        headline = {
            item.key: float(item.value)
            for item in load_summary(data.snapshot(snapshot)).headline()
            if item.format != "detail" and type(item.value) in (int, float)
        }
        assert {r["measure"]: r["value"] for r in rates if r["snapshot"] == snapshot} == headline
    formats = {r["snapshot"]: r for r in pq.read_table(data.trend("formats")).to_pylist()}
    for snapshot in ("s1", "s2"):
        risks = pq.read_table(data.snapshot(snapshot).finding("risks")).to_pylist()
        known = [r for r in risks if r["siblings_known"]]
        assert formats[snapshot]["models"] == len(known)
        assert formats[snapshot]["safetensors"] == sum(r["has_safetensors"] for r in known)
        assert formats[snapshot]["pickle_only"] == sum(r["pickle_only"] for r in known)
    assert formats["s2"]["models"] == formats["s1"]["models"]  # two removed, two added
    concentration = {r["snapshot"]: r for r in pq.read_table(data.trend("concentration")).to_pylist()}
    downloads = sorted(pq.read_table(data.snapshot("s2").models)["downloads"].to_pylist(), reverse=True)
    assert concentration["s2"]["models"] == 80
    assert concentration["s2"]["top1_share"] == pytest.approx(downloads[0] / sum(downloads))
    assert concentration["s2"]["top10_share"] == pytest.approx(sum(downloads[:8]) / sum(downloads))
    growth = pq.read_table(data.trend("growth")).to_pylist()
    assert {r["snapshot"] for r in growth} == {"s2"}
    assert sum(r["created"] for r in growth) == 80 - sum(
        1 for m in pq.read_table(data.snapshot("s2").models)["created_at"].to_pylist() if m is None
    )
    assert growth[-1]["total"] == sum(r["created"] for r in growth)


def test_trends_selection_and_unanalyzed_snapshot(two_snapshots: dict[str, Any], tmp_path: Path) -> None:
    data_dir = two_snapshots["data_dir"]
    result = run_trends(data_dir, ["s2"])
    assert result.snapshots == ["s2"]
    rates = pq.read_table(DataDir(data_dir).trend("rates"))
    assert set(rates["snapshot"].to_pylist()) == {"s2"}
    runner = CliRunner()
    # Given newest first, the snapshots are still taken oldest first.
    args = ["trends", "--data-dir", str(data_dir), "--snapshots", "s2", "--snapshots", "s1"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0 and out.output.startswith("trends of 2 snapshots -> "), out.output
    concentration = pq.read_table(DataDir(data_dir).trend("concentration"))
    assert concentration["snapshot"].to_pylist() == ["s1", "s2"]
    out = runner.invoke(app, ["trends", "--data-dir", str(data_dir), "--snapshots", "../s1"])
    assert out.exit_code == 1 and "snapshot id '../s1' must be letters" in out.output
    # A snapshot without findings is skipped, with one line saying how to analyze it.
    registry = Registry.synthetic(n=5, seed=2)
    with HubSimulator(registry) as sim:
        crawl(sim.url, tmp_path, snapshot="bare", workers=2)
    out = runner.invoke(app, ["trends", "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "skipping snapshot bare: no findings; run `hubmine analyze --snapshot bare`" in out.output
    assert "trends of 0 snapshots (1 without findings skipped)" in out.output


def test_cli_and_lock(two_snapshots: dict[str, Any]) -> None:
    data_dir = two_snapshots["data_dir"]
    runner = CliRunner()
    out = runner.invoke(app, ["diff", "s1", "s2", "--data-dir", str(data_dir)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("diff s1..s2: 2 added, 2 removed, 1 renamed, ")
    out = runner.invoke(app, ["diff", "s1", "nope", "--data-dir", str(data_dir)])
    assert out.exit_code == 1 and "no snapshot 'nope'" in out.output
    data = DataDir(data_dir)
    with holding_lock(data, "crawl"):
        for command in (["diff", "s1", "s2"], ["trends"]):
            out = runner.invoke(app, [*command, "--data-dir", str(data_dir)])
            assert out.exit_code == 1 and "is being crawled by PID" in out.output
        with pytest.raises(BusyError):
            run_diff(data_dir, "s1", "s2")


def test_report_trends_section(two_snapshots: dict[str, Any], tmp_path: Path) -> None:
    data_dir = two_snapshots["data_dir"]
    run_trends(data_dir)
    run_report(data_dir, "s2", tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    section = markdown[markdown.index("## Trends") :]
    assert "2 analyzed snapshots, from s1 to s2." in section
    assert "| measure | s1 | s2 |" in section
    assert "| models | 80 | 80 |" in section
    assert "No trend yet" not in section
    for name in ("trend_rates", "trend_formats", "trend_growth"):
        assert (tmp_path / "out" / "figures" / f"{name}.png").stat().st_size > 5000
