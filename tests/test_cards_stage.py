from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.cards import stage
from pipeline.cards.stage import parse_snapshot
from pipeline.errors import SnapshotError
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir, Snapshot
from tests.test_cards_parse import MODEL_INDEX_CARD

FILES = [".gitattributes", "README.md", "config.json"]
MODELS: list[dict[str, Any]] = [
    {"model_id": "org/ok", "card_data": None, "siblings": FILES},
    {"model_id": "org/gated", "card_data": json.dumps({"license": "mit"}), "siblings": FILES},
    {"model_id": "org/no-readme", "card_data": None, "siblings": ["config.json"]},
    {"model_id": "org/not-fetched", "card_data": json.dumps({"license": "mit"}), "siblings": FILES},
    {"model_id": "org/unknown", "card_data": None, "siblings": None},
    {"model_id": "org/bad-yaml", "card_data": json.dumps({"license": "mit"}), "siblings": FILES},
]
CARDS: list[dict[str, Any]] = [
    {"model_id": "org/ok", "status": "ok", "readme": MODEL_INDEX_CARD},
    {"model_id": "org/gated", "status": "gated", "readme": None},
    {"model_id": "org/bad-yaml", "status": "ok", "readme": "---\na: [\n---\n# Body\n"},
]


def make_snapshot(root: Path, cards: list[dict[str, Any]] | None = CARDS) -> Snapshot:
    snapshot = DataDir(root).snapshot("s1")
    write_parquet(snapshot.models, table_from_rows("models", MODELS))
    if cards is not None:
        write_parquet(snapshot.cards, table_from_rows("cards", cards))
    return snapshot


def read_rows(snapshot: Snapshot, name: str) -> dict[str, dict[str, Any]] | list[dict[str, Any]]:
    rows = pq.read_table(snapshot.finding(name)).to_pylist()
    return {row["model_id"]: row for row in rows} if name == "parsed_cards" else rows


def test_parse_snapshot_end_to_end(tmp_path: Path) -> None:
    snapshot = make_snapshot(tmp_path)
    result = parse_snapshot(snapshot, workers=1)
    parsed = read_rows(snapshot, "parsed_cards")
    assert isinstance(parsed, dict)
    assert {mid: row["card_status"] for mid, row in parsed.items()} == {
        "org/ok": "ok",
        "org/gated": "gated",
        "org/no-readme": "no_readme",
        "org/not-fetched": "not_fetched",
        "org/unknown": "not_fetched",
        "org/bad-yaml": "ok",
    }
    assert parsed["org/ok"]["metadata_source"] == "front_matter" and parsed["org/ok"]["n_claims"] == 2
    assert parsed["org/gated"]["metadata_source"] == "card_data" and parsed["org/gated"]["has_card"]
    assert parsed["org/bad-yaml"]["metadata_source"] == "none" and parsed["org/bad-yaml"]["problems"] == [
        "yaml_error"
    ]
    assert (
        parsed["org/unknown"]["readme_listed"] is None and parsed["org/no-readme"]["readme_listed"] is False
    )
    claims = read_rows(snapshot, "claims")
    assert [(c["model_id"], c["metric_type"], c["counts"]) for c in claims] == [
        ("org/ok", "accuracy", True),
        ("org/ok", "f1", True),
    ]
    assert result["models"] == 6 and result["models_with_eval_claims"] == 1
    assert result["claims"] == result["counting_claims"] == 2
    assert result["card_status"] == {"gated": 1, "no_readme": 1, "not_fetched": 2, "ok": 2}
    assert result["metadata_source"] == {"card_data": 2, "front_matter": 1, "none": 3}
    assert result["problems"] == {"yaml_error": 1}
    assert result["join"] == "merge" and result["orphan_cards"] == 0
    assert sorted(p.name for p in snapshot.findings.iterdir()) == [
        "claims.parquet",
        "parsed_cards.parquet",
    ]


def _outputs(snapshot: Path) -> tuple[Any, Any]:
    parsed = read_rows(snapshot, "parsed_cards")
    claims = sorted(read_rows(snapshot, "claims"), key=lambda c: (c["model_id"], c["metric_type"]))
    return parsed, claims


@pytest.mark.parametrize(
    ("partition_bytes", "workers", "join"),
    [
        (stage.PARTITION_BYTES, 1, "memory"),
        (1, 1, "partitioned:"),
        pytest.param(1, 2, "partitioned:", marks=pytest.mark.slow),  # starts a worker pool
    ],
)
def test_cards_out_of_order_give_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partition_bytes: int, workers: int, join: str
) -> None:
    expected_snapshot = make_snapshot(tmp_path / "a")
    parse_snapshot(expected_snapshot, workers=1)
    orphan = {"model_id": "org/orphan", "status": "ok", "readme": "# x"}
    snapshot = make_snapshot(tmp_path / "b", cards=[orphan, *CARDS[::-1]])
    monkeypatch.setattr(stage, "PARTITION_BYTES", partition_bytes)
    monkeypatch.setattr(stage, "BATCH_ROWS", 2)
    result = parse_snapshot(snapshot, workers=workers)
    assert result["join"].startswith(join)
    assert result["orphan_cards"] == 1
    assert _outputs(snapshot) == _outputs(expected_snapshot)


def test_two_workers_match_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage, "BATCH_ROWS", 2)
    one, two = make_snapshot(tmp_path / "one"), make_snapshot(tmp_path / "two")
    parse_snapshot(one, workers=1)
    assert parse_snapshot(two, workers=2)["workers"] == 2
    assert _outputs(one) == _outputs(two)


def test_metadata_only_snapshot(tmp_path: Path) -> None:
    snapshot = make_snapshot(tmp_path, cards=None)
    result = parse_snapshot(snapshot, workers=1)
    assert result["join"] == "no_cards"
    assert result["card_status"] == {"no_readme": 1, "not_fetched": 5}


def test_missing_models_table(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError):
        parse_snapshot(Snapshot(tmp_path), workers=1)
    assert not list(Snapshot(tmp_path).findings.glob("*.parquet"))


def test_has_card_when_the_readme_was_not_read(tmp_path: Path) -> None:
    """docs/definitions.md: has_card is "a README.md exists and has a non-whitespace character". Without its
    text, the listing (siblings name README.md) or non-empty cardData (read from the README's own
    front matter) says the card exists; a README the Hub answered as missing, or one the listing
    lacks, is no card."""
    models = [
        {"model_id": "o/gated", "card_data": None, "siblings": FILES},
        {"model_id": "o/error", "card_data": None, "siblings": FILES},
        {"model_id": "o/listed", "card_data": None, "siblings": FILES},
        {"model_id": "o/missing", "card_data": None, "siblings": FILES},
        {"model_id": "o/carddata", "card_data": json.dumps({"license": "mit"}), "siblings": None},
        {"model_id": "o/emptydata", "card_data": json.dumps({}), "siblings": None},
        {"model_id": "o/unknown", "card_data": None, "siblings": None},
        {"model_id": "o/no-readme", "card_data": None, "siblings": ["config.json"]},
        {"model_id": "o/blank", "card_data": None, "siblings": FILES},
    ]
    cards = [
        {"model_id": "o/gated", "status": "gated", "readme": None},
        {"model_id": "o/error", "status": "error", "readme": None},
        {"model_id": "o/missing", "status": "missing", "readme": None},
        {"model_id": "o/blank", "status": "ok", "readme": " \n\t\n"},
    ]
    snapshot = DataDir(tmp_path).snapshot("s1")
    write_parquet(snapshot.models, table_from_rows("models", models))
    write_parquet(snapshot.cards, table_from_rows("cards", cards))
    result = parse_snapshot(snapshot, workers=1)
    parsed = read_rows(snapshot, "parsed_cards")
    assert isinstance(parsed, dict)
    assert {mid for mid, row in parsed.items() if row["has_card"]} == {
        "o/gated",
        "o/error",
        "o/listed",
        "o/carddata",
    }
    assert not any(row["has_card_body"] for row in parsed.values())  # no text, no body seen
    assert result["has_card"] == 4
