"""Claim checks on hand-made claims, lineage and models tables: each check found where its rule holds
and not where it fails, the table against its schema, the summary section, and the report's words."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from measures_helpers import build_snapshot

from pipeline.analyze import measure_snapshot
from pipeline.errors import SchemaError
from pipeline.measures import claim_checks
from pipeline.measures import claims as claims_measure
from pipeline.measures.catalog import REGISTRY
from pipeline.measures.claim_checks import CHECKS, ClaimChecksSection, agree, decimals
from pipeline.measures.registry import Context, check_written
from pipeline.measures.summary import load, load_summary, validate
from pipeline.report.build import run_report
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot

SNAPSHOT_ID = "20260101T000000Z"


def claim(
    model_id: str,
    metric: str,
    value: float | None,
    *,
    source: str = "model-index",
    dataset: str | None = "glue",
    split: str | None = "test",
    unit: float | None = None,
    raw: str | None = None,
    percent: bool = False,
    verified: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A claims row; `value_unit` defaults to the value for a 0-1 metric given as a fraction."""
    scaled = metric not in ("loss", "perplexity") and value is not None and 0 <= value <= 1
    return {
        "model_id": model_id,
        "source": source,
        "dataset_type": dataset,
        "dataset_split": split,
        "metric_type": metric,
        "metric": metric,
        "value": value,
        "value_unit": unit if unit is not None or not scaled else value,
        "value_raw": raw if raw is not None else json.dumps(value),
        "is_percent": percent,
        "verified": verified,
        "counts": source == "model-index",
        **fields,
    }


CLAIMS = [
    # Two sources, 0.91 against 85.0 (0.85): they disagree.
    claim("x/cross", "accuracy", 0.91),
    claim("x/cross", "accuracy", 85.0, unit=0.85, raw='"85.0"', source="card-table", dataset_name="GLUE",
          dataset_type=None),
    # The Trainer's list and table, without dataset or split, as written (loss has no 0-1 scale).
    claim("x/trainer", "loss", 0.51, source="trainer-results", dataset=None, split=None),
    claim("x/trainer", "loss", 0.5234, source="trainer-table", dataset=None, split=None),
    # 0.8534 and 85.3% agree (rounding); 0.8539 and 85.3 agree (truncation).
    claim("x/agree", "accuracy", 0.8534),
    claim("x/agree", "accuracy", 85.3, unit=0.853, raw='"85.3%"', percent=True, source="card-table"),
    claim("x/agree", "f1", 0.8539, dataset="squad"),
    claim("x/agree", "f1", 85.3, unit=0.853, raw="85.3", source="card-table", dataset="squad"),
    # One side on the 0-1 scale, the other not: not compared.
    claim("x/scale", "wer", 0.25),
    claim("x/scale", "wer", 25.0, unit=None, raw="25", source="card-table"),
    # Closest values across sources agree (another config's row is no disagreement).
    claim("x/configs", "accuracy", 0.7, dataset_config="mnli"),
    claim("x/configs", "accuracy", 0.9, dataset_config="sst2"),
    claim("x/configs", "accuracy", 0.9, source="card-table"),
    # Two named configs of one dataset are different data: not compared.
    claim("x/two-configs", "accuracy", 0.7, dataset_config="cola"),
    claim("x/two-configs", "accuracy", 0.9, source="card-table", dataset_config="sst2"),
    # Self-reported 0.95 against verified 0.90; 0.9 against a verified 0.9.
    claim("x/verified", "accuracy", 0.95),
    claim("x/verified", "accuracy", 0.9, raw="0.90", verified=True),
    claim("x/verified", "f1", 0.9),
    claim("x/verified", "f1", 0.9, verified=True),
    # A base and what derives from it: the same claim set copied (finetune), by an adapter, changed.
    claim("base/m", "exact_match", 80.0, unit=0.8, dataset="squad", split="validation"),
    claim("base/m", "f1", 88.0, unit=0.88, dataset="squad", split="validation"),
    claim("kid/ft", "exact_match", 80.0, unit=0.8, dataset="squad", split="validation"),
    claim("kid/ft", "f1", 88.0, unit=0.88, dataset="squad", split="validation"),
    claim("kid/adapter", "exact_match", 80.0, unit=0.8, dataset="squad", split="validation"),
    claim("kid/adapter", "f1", 88.0, unit=0.88, dataset="squad", split="validation"),
    claim("kid/changed", "exact_match", 81.0, unit=0.81, dataset="squad", split="validation"),
    claim("kid/changed", "f1", 88.0, unit=0.88, dataset="squad", split="validation"),
    # One claim set on five unrelated models of three authors: a template.
    *(claim(m, "accuracy", 0.77, dataset="imdb") for m in ("t1/a", "t1/b", "t2/c", "t3/d", "t3/e")),
    # Five models, two authors: no template.
    *(claim(m, "accuracy", 0.66, dataset="imdb") for m in ("u1/a", "u1/b", "u1/c", "u2/d", "u2/e")),
    # Six models of four authors, but two share a base: four unrelated ones are too few.
    *(claim(m, "accuracy", 0.55, dataset="imdb") for m in ("v1/a", "v2/b", "v3/c", "v4/d", "v4/e", "v4/f")),
    # Impossible values, and possible ones.
    claim("x/impossible", "accuracy", 105.0, unit=None, raw="105"),
    claim("x/impossible", "wer", -0.1, unit=None, dataset="librispeech"),
    claim("x/impossible", "perplexity", -1.0, dataset="wikitext"),
    claim("x/impossible", "f1", None, raw='"NaN"', dataset="squad"),
    claim("x/possible", "accuracy", 0.95),
    claim("x/possible", "bleu", 45.0, unit=0.45, dataset="wmt16"),
    claim("x/possible", "loss", 2.3, dataset="wikitext"),
    claim("x/possible", "wer", 1.2, unit=1.2, dataset="librispeech"),
    # Unverifiable: a training split; no dataset and no split; a non-numeric value is no claim to check.
    claim("x/unverifiable", "accuracy", 0.99, split="train[:90%]"),
    claim("x/unverifiable", "accuracy", 0.98, dataset=None, split=None, dataset_name="  "),
    claim("x/unverifiable", "f1", None, raw='"No log"', dataset=None, split=None),
]  # fmt: skip


def edge(model_id: str, base: str, relation: str = "finetune") -> dict[str, Any]:
    return {
        "model_id": model_id,
        "base_model": base,
        "relation": relation,
        "relation_source": "tag",
        "source": "tag",
        "base_in_snapshot": True,
        "depth": 1,
    }


EDGES = [
    edge("kid/ft", "base/m"),
    edge("kid/adapter", "base/m", "adapter"),
    edge("kid/changed", "base/m", "quantized"),
    edge("v4/e", "shared/base"),
    edge("v4/f", "shared/base", "quantized"),
]


def write_snapshot(data_dir: Path, claims: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Snapshot:
    snapshot = DataDir(data_dir).snapshot(SNAPSHOT_ID)
    write_json(snapshot.manifest, {"snapshot_id": SNAPSHOT_ID, "status": "complete"})
    ids = sorted({row["model_id"] for row in claims} | {"no/claims"})
    models = [{"model_id": m, "author": m.split("/")[0], "tags": [], "siblings": []} for m in ids]
    write_parquet(snapshot.models, table_from_rows("models", models))
    write_parquet(snapshot.finding("claims"), table_from_rows("claims", claims))
    write_parquet(snapshot.finding("lineage"), table_from_rows("lineage", edges))
    return snapshot


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, ClaimChecksSection]:
    snapshot = write_snapshot(tmp_path_factory.mktemp("data"), CLAIMS, EDGES)
    snapshot.findings.mkdir(parents=True, exist_ok=True)
    section = claim_checks.run(_context(snapshot))
    return snapshot, section


def _context(snapshot: Snapshot) -> Context:
    return Context(snapshot, REGISTRY)


def _findings(snapshot: Snapshot) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """check -> model -> its finding rows."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in pq.read_table(snapshot.finding("claim_checks")).to_pylist():
        found[row["check"]][row["model_id"]].append(row)
    return found


def test_table_matches_its_schema(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    snapshot, _ = checked
    check_written(snapshot, claim_checks.MEASURE)
    table = pq.read_table(snapshot.finding("claim_checks"))
    assert table.schema.names[: len(load_schema("claim_checks"))] == load_schema("claim_checks").names
    assert set(table.column("check").to_pylist()) <= set(CHECKS)


def test_cross_source_disagreement(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    found = _findings(checked[0])["cross_source_disagreement"]
    assert set(found) == {"x/cross", "x/trainer"}
    (cross,) = found["x/cross"]
    assert (cross["source"], cross["other_source"]) == ("card-table", "model-index")
    assert cross["on_unit_scale"] and cross["value"] == 0.85 and cross["other_value"] == 0.91
    assert cross["difference"] == pytest.approx(-0.06)
    assert (cross["dataset"], cross["dataset_split"], cross["metric"]) == ("GLUE", "test", "accuracy")
    (trainer,) = found["x/trainer"]
    assert trainer["source"] == "trainer-results" and not trainer["on_unit_scale"]
    assert trainer["difference"] == pytest.approx(-0.0134)
    assert trainer["dataset"] is None and trainer["metric"] == "loss"


def test_self_vs_verified(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    snapshot, section = checked
    found = _findings(snapshot)
    (row,) = found["self_vs_verified"]["x/verified"]
    assert (row["metric"], row["value"], row["other_value"]) == ("accuracy", 0.95, 0.9)
    assert row["difference"] == pytest.approx(0.05)
    assert set(found["self_vs_verified"]) == {"x/verified"}
    # Verified rows are no second source of the card's own claims.
    assert "x/verified" not in found["cross_source_disagreement"]
    verified = section.self_vs_verified
    assert (verified.pairs, verified.differing, verified.unit_pairs) == (2, 1, 2)
    assert verified.mean_abs_difference == pytest.approx(0.025)
    assert verified.mean_abs_difference_of_differing == pytest.approx(0.05)


def test_inherited_from_base(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    found = _findings(checked[0])["inherited_from_base"]
    assert set(found) == {"kid/ft"}  # the adapter is no finetune or quantization; kid/changed differs
    (row,) = found["kid/ft"]
    assert row["other_model_id"] == "base/m" and row["source"] == "model-index"
    assert row["detail"] == "the same 2 claims as its base (finetune)"


def test_template_claims(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    found = _findings(checked[0])["template_claims"]
    members = {"t1/a", "t1/b", "t2/c", "t3/d", "t3/e"}
    assert set(found) == members
    for model_id, (row,) in found.items():
        assert row["other_model_id"] in members - {model_id}
        assert row["detail"] == "the same 1 claim on 5 unrelated models of 3 authors"


def test_impossible_value(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    found = _findings(checked[0])["impossible_value"]
    assert set(found) == {"x/impossible"}
    details = {row["metric"]: row["detail"] for row in found["x/impossible"]}
    assert details == {
        "accuracy": "above the metric's maximum (100, or 1 on the 0-1 scale)",
        "wer": "below 0, which the metric cannot be",
        "perplexity": "below 0, which the metric cannot be",
        "f1": "the value is written as NaN or infinity",
    }


def test_unverifiable(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    found = _findings(checked[0])["unverifiable"]
    assert set(found) == {"x/unverifiable", "x/trainer"}
    details = sorted(row["detail"] for row in found["x/unverifiable"])
    assert details == ["evaluated on a training split", "no dataset; no split"]


def test_ordinary_causes_are_labelled_and_other_models_are_not_checked(tmp_path: Path) -> None:
    def trainer(model_id: str, relation: str) -> list[dict[str, Any]]:
        return [
            claim(model_id, "loss", 0.51, source="trainer-results", list_vs_table=relation, subject="self"),
            claim(model_id, "loss", 0.5234, source="trainer-table", subject="self"),
        ]

    claims = [
        *trainer("y/best", "earlier_row"),
        *trainer("y/early", "table_ends_early"),
        *trainer("y/mlm", "masked_lm"),
        *trainer("y/edited", "differs"),
        *trainer("y/fill-mask", "differs"),  # its Hub pipeline tag says masked-language model
        claim("y/compares", "accuracy", 0.9, subject="self"),
        claim("y/compares", "accuracy", 0.5, source="card-table", subject="other", subject_name="bert"),
        claim("y/compares", "accuracy", 150.0, unit=None, source="card-table", subject="other"),
    ]
    snapshot = write_snapshot(tmp_path, claims, [])
    models = sorted({row["model_id"] for row in claims})
    tags = [{"model_id": m, "pipeline_tag": "fill-mask" if m == "y/fill-mask" else None} for m in models]
    write_parquet(snapshot.models, table_from_rows("models", tags))
    snapshot.findings.mkdir(parents=True, exist_ok=True)
    section = claim_checks.run(_context(snapshot))
    found = {check: sorted(models) for check, models in _findings(snapshot).items()}
    assert found == {
        "trainer_best_checkpoint": ["y/best"],
        "trainer_table_ends_early": ["y/early"],
        "masked_lm_variance": ["y/fill-mask", "y/mlm"],
        "cross_source_disagreement": ["y/edited"],
    }
    assert section.models_with_other_findings == 1


def test_section_counts(checked: tuple[Snapshot, ClaimChecksSection]) -> None:
    _, section = checked
    counts = {name: (c.findings, c.models) for name, c in section.checks.items()}
    assert counts == {
        "cross_source_disagreement": (2, 2),
        "self_vs_verified": (1, 1),
        "inherited_from_base": (1, 1),
        "template_claims": (5, 5),
        "impossible_value": (4, 1),
        "unverifiable": (4, 2),
        "trainer_best_checkpoint": (0, 0),
        "trainer_table_ends_early": (0, 0),
        "masked_lm_variance": (0, 0),
    }
    assert section.n_findings == 17
    assert section.models_with_claims == len({row["model_id"] for row in CLAIMS})
    assert section.models_with_findings == 11
    assert section.share_with_findings == 11 / section.models_with_claims
    assert section.models_with_other_findings == 10  # all but x/unverifiable
    assert section.unverifiable_reasons == {
        "evaluated on a training split": 1,
        "no dataset": 3,
        "no split": 3,
    }
    assert section.by_source["cross_source_disagreement"] == {"card-table": 1, "trainer-results": 1}
    assert section.by_source["unverifiable"] == {"model-index": 2, "trainer-results": 1, "trainer-table": 1}
    assert ClaimChecksSection.from_dict(section.to_dict()) == section


def test_slices_change_nothing(
    checked: tuple[Snapshot, ClaimChecksSection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims become Python objects a slice at a time; groups and claim sets span slices."""
    snapshot, section = checked
    expected = pq.read_table(snapshot.finding("claim_checks"))
    monkeypatch.setattr(claim_checks, "SLICE_ROWS", 2)
    findings, sliced = claim_checks.build(snapshot)
    assert findings.equals(expected) and sliced == section


@pytest.mark.parametrize(
    ("raw", "value", "expected"),
    [("0.8534", 0.8534, 4), ('"85.3%"', 85.3, 1), ('"1e-3"', 0.001, 3), ("85", 85.0, 0), (None, 0.25, 2)],
)
def test_decimals(raw: str | None, value: float, expected: int) -> None:
    assert decimals(raw, value) == expected


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ((0.8534, 4), (0.853, 3), True),  # rounded
        ((0.8539, 4), (0.853, 3), True),  # truncated
        ((0.8551, 4), (0.853, 3), False),
        ((0.85, 2), (0.86, 2), False),
        ((-0.126, 3), (-0.12, 2), True),  # truncated toward zero
        ((0.9, 1), (0.9, 1), True),
    ],
)
def test_agree(x: tuple[float, int], y: tuple[float, int], expected: bool) -> None:
    assert agree(*x, *y) is expected
    assert agree(*y, *x) is expected


def test_no_claims_to_check(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path, [], [])
    snapshot.findings.mkdir(parents=True, exist_ok=True)
    section = claim_checks.run(_context(snapshot))
    assert pq.read_table(snapshot.finding("claim_checks")).num_rows == 0
    assert section.n_findings == 0 and section.models_with_claims == 0 and section.share_with_findings is None
    assert all(c.findings == 0 for c in section.checks.values())


def test_summary_holds_the_section(measured_snapshot: Snapshot) -> None:
    data = load(measured_snapshot)
    validate(data)
    section = load_summary(measured_snapshot).section(ClaimChecksSection)
    assert section.models_with_claims == 2 and section.checks["unverifiable"].findings == 3
    for path, broken in (
        (("claim_checks", "share_with_findings"), 1.5),
        (("claim_checks", "checks", "template_claims", "models"), -1),
        (("claim_checks", "self_vs_verified"), None),
    ):
        bad = copy.deepcopy(data)
        place = bad
        for key in path[:-1]:
            place = place[key]
        if broken is None:
            del place[path[-1]]
        else:
            place[path[-1]] = broken
        with pytest.raises(SchemaError, match="at claim_checks"):
            validate(bad)


@pytest.mark.parametrize("with_claims", [True, False])
def test_report_section(tmp_path: Path, with_claims: bool) -> None:
    snapshot = build_snapshot(tmp_path / "data")
    if not with_claims:
        write_parquet(snapshot.finding("claims"), table_from_rows("claims", []))
    measure_snapshot(snapshot)
    run_report(tmp_path / "data", SNAPSHOT_ID, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    section = markdown.split("### Checks on the claims")[1].split("###")[0]
    if with_claims:
        assert "Models with at least one finding: 2 of the 2 with claims (100.0%); 0 (0.0%) " in section
        assert (
            "Unverifiable claims by reason: evaluated on a training split: 0, no dataset: 0, no split: 3."
            in section
        )
        assert f"| unverifiable | {CHECKS['unverifiable']} | 3 | 2 |" in section
    else:
        assert "No claims to check: no model in this snapshot makes a performance claim." in section


def test_claims_section_counts_subjects_and_comparison_tables(tmp_path: Path) -> None:
    rows = [
        claim("c/compares", "f1", 0.9, source="card-table", subject="self"),
        claim("c/compares", "f1", 0.8, source="card-table", subject="other", subject_name="mBERT"),
        claim("c/others-only", "f1", 0.7, source="card-table", subject="other", subject_name="XLM-R"),
        claim("c/unsure", "f1", 0.6, source="card-table", subject="unknown"),
        claim("c/own", "accuracy", 0.9),
    ]
    snapshot = write_snapshot(tmp_path, rows, [])
    section = claims_measure.run(_context(snapshot))
    assert section.by_subject == {"self": 2, "other": 2, "unknown": 1}
    assert section.self_by_source == {"card-table": 1, "model-index": 1}
    assert section.n_counting_model_index == 1
    assert (section.models_with_self_claims, section.models_comparing, section.models_comparing_with_own) == (
        2,
        2,
        1,
    )
