"""`hubmine import`: a snapshot from a dump of model cards (local Parquet files or a Hub dataset), and the
first crawl on top of it, which asks only for the cards of models modified after the dump."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from crawl_helpers import crawl
from hub_serving import serving
from typer.testing import CliRunner

from bench.import_bench import DUMP_SCHEMA, registry_dump, write_dump
from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.cli import app
from pipeline.longitudinal import imports
from pipeline.longitudinal.diff import run_diff
from pipeline.longitudinal.imports import run_import
from pipeline.store.layout import DataDir
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import list_snapshots

pytestmark = pytest.mark.usefixtures("quick_retries")

WHEN = datetime(2024, 3, 1, tzinfo=timezone.utc)


def dump_row(
    model_id: str | None, card: str | None = "---\nlicense: mit\n---\n# A model\n", **extra: Any
) -> dict:
    row = {name: None for name in DUMP_SCHEMA.names}
    row.update(modelId=model_id, card=card, last_modified=WHEN, createdAt=WHEN, downloads=3, likes=1)
    row.update(tags=["transformers"], library_name="transformers", pipeline_tag="text-classification")
    row.update(extra)
    return row


def hostile_dump(folder: Path) -> None:
    """Two files: malformed YAML, a duplicate across files, nulls, an invalid id, a null id, no card."""
    (folder / "sub").mkdir(parents=True)
    first = [
        dump_row("org/good"),
        dump_row("org/bad-yaml", card="---\nlicense: [unclosed\n---\n# Broken\n"),
        dump_row("org/nulls", card=None, downloads=None, likes=None, tags=None, last_modified=None),
        dump_row("../escape"),
        dump_row(None),
    ]
    second = [dump_row("org/good", card="# the second copy"), dump_row("solo-model", card="plain text")]
    pq.write_table(pa.Table.from_pylist(first, schema=DUMP_SCHEMA), folder / "a.parquet")
    pq.write_table(pa.Table.from_pylist(second, schema=DUMP_SCHEMA), folder / "sub" / "b.parquet")


def test_a_local_dump_becomes_a_complete_snapshot_that_analyze_reads(tmp_path: Path) -> None:
    hostile_dump(tmp_path / "dump")
    result = run_import(tmp_path / "data", str(tmp_path / "dump"), snapshot_id="dump")
    counts = result.counts
    assert (counts.rows, counts.models, counts.duplicates) == (7, 4, 1)
    assert (counts.invalid_ids, counts.null_ids) == (1, 1)
    assert counts.invalid_examples == ["../escape"]
    assert dict(counts.cards) == {"ok": 3, "missing": 1}

    models = pq.read_table(result.snapshot.models).to_pylist()
    assert [m["model_id"] for m in models] == ["org/good", "org/bad-yaml", "org/nulls", "solo-model"]
    assert [m["imported_from"] for m in models] == ["a.parquet"] * 3 + ["sub/b.parquet"]
    assert all(m["sha"] is None and m["siblings"] is None and m["card_data"] is None for m in models)
    assert models[2]["downloads"] is None and models[2]["tags"] == [] and models[2]["last_modified"] is None
    assert models[3]["author"] is None
    cards = pq.read_table(result.snapshot.cards).to_pylist()
    assert cards[0]["readme"].startswith("---\nlicense: mit")  # the first copy of a duplicate is kept
    assert [c["status"] for c in cards] == ["ok", "ok", "missing", "ok"]
    assert not any(c["reused"] or c["sha"] for c in cards)

    manifest = json.loads(result.snapshot.manifest.read_text())
    assert manifest["status"] == "complete"
    assert list_snapshots(DataDir(tmp_path / "data"), "complete") == ["dump"]
    assert manifest["source"]["kind"] == "import" and manifest["source"]["rows"] == 7
    assert manifest["source"]["files"] == ["a.parquet", "sub/b.parquet"]
    assert manifest["counts"]["import"]["duplicates"] == 1
    assert manifest["counts"]["import"]["nulls"]["downloads"] == 1
    assert "skipped 1 duplicate, 1 invalid and 1 null ids" in result.summary_line()

    line = run_analyze(tmp_path / "data", None)
    assert line.startswith("analyzed 4 models of snapshot dump")
    parsed = pq.read_table(result.snapshot.finding("parsed_cards")).to_pylist()
    problems = {row["model_id"]: row["problems"] for row in parsed}
    assert "yaml_error" in problems["org/bad-yaml"]
    risks = pq.read_table(result.snapshot.finding("risks"), columns=["siblings_known"]).column(0)
    assert not any(risks.to_pylist())  # no file list: unknown, not empty


def test_a_dump_is_read_in_batches_one_row_group_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "BATCH_ROWS", 7)
    table = pa.Table.from_pylist([dump_row(f"org/m{i}") for i in range(50)], schema=DUMP_SCHEMA)
    write_dump(table, tmp_path / "dump", files=2)
    result = run_import(tmp_path / "data", str(tmp_path / "dump"))
    assert result.counts.models == 50 and result.counts.batches == 8  # 25 rows per file: 4 batches each
    for path in (result.snapshot.models, result.snapshot.cards):
        metadata = pq.ParquetFile(path).metadata
        assert metadata.num_row_groups == 8
        assert max(metadata.row_group(g).num_rows for g in range(8)) == 7


def test_malformed_cards_are_counted_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    rows = [{"modelId": "a/binary", "card": b"\x00\x01"}, {"modelId": "a/latin", "card": b"caf\xe9"}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "x.parquet")
    result = run_import(tmp_path / "data", str(folder))
    assert result.counts.malformed_cards == 2
    cards = pq.read_table(result.snapshot.cards).to_pylist()
    assert [c["status"] for c in cards] == ["error", "ok"] and cards[1]["readme"] == "caf\ufffd"


def test_a_folder_without_parquet_or_model_ids_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    runner = CliRunner()
    out = runner.invoke(app, ["import", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 1 and "holds no .parquet files" in out.output
    (tmp_path / "other").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "other" / "x.parquet")
    out = runner.invoke(app, ["import", str(tmp_path / "other"), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 1 and "no modelId column" in out.output


def test_an_import_is_refused_while_another_run_holds_the_lock(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    pq.write_table(
        pa.Table.from_pylist([dump_row("a/b")], schema=DUMP_SCHEMA), tmp_path / "dump" / "x.parquet"
    )
    runner = CliRunner()
    with holding_lock(DataDir(tmp_path / "data"), "import"):
        out = runner.invoke(app, ["import", str(tmp_path / "dump"), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 1 and "is being imported into by PID" in out.output
    out = runner.invoke(app, ["import", str(tmp_path / "dump"), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 0 and "imported 1 models from 1 rows" in out.output


def test_a_hub_dataset_is_imported_through_datasets(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=30, seed=41)
    table = registry_dump(registry, list(range(30)))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    repo = registry.add_dataset("bots/model-cards", {"data/train-00000-of-00001.parquet": buffer.getvalue()})
    with serving(registry, tmp_path):
        result = run_import(tmp_path / "data", "bots/model-cards")
    assert result.counts.models == 30
    assert result.source["dataset"] == "bots/model-cards" and result.source["revision"] == repo.sha
    models = pq.read_table(result.snapshot.models, columns=["model_id", "imported_from"]).to_pylist()
    assert [m["model_id"] for m in models] == table.column("modelId").to_pylist()
    assert {m["imported_from"] for m in models} == {f"bots/model-cards@{repo.sha}"}
    cards = pq.read_table(result.snapshot.cards, columns=["readme"]).column(0).to_pylist()
    assert cards == table.column("card").to_pylist()  # an empty card is an empty README, as crawled


def test_the_first_crawl_after_an_import_fetches_only_cards_modified_since(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=200, seed=42)
    dumped = [i for i in range(200) if i % 10]  # every tenth model is not in the dump
    dump = registry_dump(registry, dumped)
    write_dump(dump, tmp_path / "dump", files=3)
    run_import(tmp_path / "data", str(tmp_path / "dump"), snapshot_id="imported")
    changed = set(registry.change_shas(fraction=0.1, seed=3))
    with_card = {registry.model_id(i) for i in range(200) if registry.has_readme(i)}
    # Reused: the models whose card the dump holds (an empty one too) and that did not change since.
    dumped_cards = {row["modelId"] for row in dump.to_pylist() if row["card"] is not None}
    expected = with_card - (dumped_cards - changed)
    assert 0 < len(changed & with_card) < len(expected) < len(with_card)
    with HubSimulator(registry) as sim:
        result = crawl(sim.url, tmp_path / "data", snapshot="after")
    manifest = json.loads(result.snapshot.manifest.read_text())
    assert manifest["since"] == "imported"
    cards = pq.read_table(result.snapshot.cards).to_pylist()
    fetched = {c["model_id"] for c in cards if not c["reused"]}
    assert fetched == expected and result.counts["cards_fetched"] == len(expected)
    reused = [c for c in cards if c["reused"]]
    assert len(reused) == len(with_card - expected) > 0
    listed = {m["model_id"]: m["sha"] for m in pq.read_table(result.snapshot.models).to_pylist()}
    assert all(c["sha"] == listed[c["model_id"]] and c["status"] == "ok" for c in reused)
    with HubSimulator(registry) as sim:
        again = crawl(sim.url, tmp_path / "data", snapshot="again")
    assert again.counts["cards_fetched"] == 0  # the reused cards now carry shas
    # A dump has no sha nor file list: a diff takes them as unknown, not as changed.
    diff = run_diff(tmp_path / "data", "imported", "after")
    rows = pq.read_table(DataDir(tmp_path / "data").diff_changes("imported", "after")).to_pylist()
    assert diff.counts["added"] == 20 and diff.counts["removed"] == 0
    assert not any({"sha", "siblings"} & set(r["fields_changed"] or []) for r in rows)
    assert not any(r["formats_added"] for r in rows if r["change"] != "added")
    # The cards edited since the dump are found all the same (a gated one is unknown, not edited).
    edited = {r["model_id"] for r in rows if r["change"] == "card_changed"}
    read = {c["model_id"] for c in cards if c["status"] == "ok"}
    assert changed & dumped_cards & read <= edited <= expected and edited


def test_seen_ids_keep_the_first_of_each_id_across_many_batches() -> None:
    seen, reference = imports.SeenIds(), set()
    for batch in range(60):
        ids = [f"org/m{(batch * 37 + k * 11) % 500}" for k in range(40)] + ["org/again", "org/again"]
        expected = []
        for model_id in ids:
            expected.append(model_id not in reference)
            reference.add(model_id)
        assert seen.first_seen(ids) == expected
    assert len(seen._runs) <= 8  # runs merge as they grow: a handful, not one per batch
    # A batch without a valid id (every row malformed) changes nothing.
    assert seen.first_seen([]) == [] and seen.first_seen(["org/m1", "org/new"]) == [False, True]


def test_an_unreadable_file_stops_the_import_and_leaves_no_snapshot(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    pq.write_table(
        pa.Table.from_pylist([dump_row("a/b")], schema=DUMP_SCHEMA), tmp_path / "dump" / "1.parquet"
    )
    (tmp_path / "dump" / "2.parquet").write_bytes(b"PAR1 not really")
    out = CliRunner().invoke(app, ["import", str(tmp_path / "dump"), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 1 and "cannot read" in out.output and "2.parquet" in out.output
    assert list((tmp_path / "data" / "snapshots").iterdir()) == []


def test_a_bad_dataset_id_or_endpoint_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    out = runner.invoke(app, ["import", "a/../../b", *data])
    assert out.exit_code == 1 and "is not a Hub name" in out.output
    monkeypatch.setenv("HF_ENDPOINT", "ftp://mirror")
    out = runner.invoke(app, ["import", "bots/model-cards", *data])
    assert out.exit_code == 1 and "HF_ENDPOINT" in out.output


def test_a_last_modified_after_the_import_is_stored_null_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    rows = [
        dump_row("org/future", last_modified=datetime(2999, 1, 1, tzinfo=timezone.utc)),
        dump_row("org/past"),
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=DUMP_SCHEMA), folder / "x.parquet")
    result = run_import(tmp_path / "data", str(folder))
    times = {m["model_id"]: m["last_modified"] for m in pq.read_table(result.snapshot.models).to_pylist()}
    assert times == {"org/future": None, "org/past": WHEN}
    assert result.counts.future_last_modified == 1
    assert json.loads(result.snapshot.manifest.read_text())["counts"]["import"]["future_last_modified"] == 1


def test_an_imported_snapshot_and_a_crawled_one_agree_on_every_card(tmp_path: Path) -> None:
    readmes = {
        "org/empty": b"",
        "org/blank": b"  \n\t\n",
        "org/bom": "\ufeff---\nlicense: mit\n---\n# Title\n".encode(),
        "org/crlf": b"---\r\nlicense: mit\r\n---\r\n# Title\r\n",
        "org/latin": b"caf\xe9 \xff",
        "org/plain": b"# A model\n",
    }
    registry = Registry()
    for n, (model_id, readme) in enumerate(readmes.items()):
        registry.add(
            {"id": model_id, "sha": f"{n + 1:040x}", "lastModified": "2024-03-01T00:00:00.000Z"}, readme
        )
    with HubSimulator(registry) as sim:
        crawled = crawl(sim.url, tmp_path / "data", snapshot="crawled")
    write_dump(registry_dump(registry, list(range(len(readmes)))), tmp_path / "dump", files=1)
    imported = run_import(tmp_path / "data", str(tmp_path / "dump"), snapshot_id="imported")

    def cards(snapshot: Any) -> dict[str, tuple[Any, ...]]:
        rows = pq.read_table(snapshot.cards).to_pylist()
        return {row["model_id"]: (row["status"], row["readme"], row["truncated"]) for row in rows}

    assert cards(imported.snapshot) == cards(crawled.snapshot)
    assert cards(imported.snapshot)["org/empty"] == ("ok", "", False)
    run_diff(tmp_path / "data", "imported", "crawled")
    changes = pq.read_table(DataDir(tmp_path / "data").diff_changes("imported", "crawled")).to_pylist()
    assert not [row for row in changes if row["change"] == "card_changed"]
