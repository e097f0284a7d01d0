"""Measures on the hand-made fixture snapshot: every edge case checked against hand-worked values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from measures_helpers import MODELS, SNAPSHOT_ID, build_snapshot

from pipeline.measures.attributes import ALL_COLUMNS, metadata_flags
from pipeline.measures.graph import chain_depths
from pipeline.measures.lineage import model_edges, tag_bases
from pipeline.measures.scores import FACTORS
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.tables import non_empty


@pytest.fixture(scope="module")
def snapshot(measured_snapshot: Snapshot) -> Snapshot:
    return measured_snapshot


def _by_model(path: Path) -> dict[str, dict[str, Any]]:
    return {row.pop("model_id"): row for row in pq.read_table(path).to_pylist()}


# The attributes each model has; every other attribute column is false.
EXPECTED_ATTRIBUTES: dict[str, set[str]] = {
    "org/full": set(ALL_COLUMNS),
    # license "" in metadata but a license: tag; dataset only as a tag; front matter without body.
    "r/root": {
        "has_card",
        "has_metadata",
        "has_license",
        "has_datasets",
        "has_architecture",
        "has_pipeline_tag",
    },
    # license "  ", datasets ["", null], model-index [], language [], config without model_type,
    # pipeline_tag "".
    "u/empty": {"has_card", "has_card_body", "has_metadata", "has_sec_uses"},
    # cardData as metadata (README not fetched); datasets ["", "imdb"]; language "no" (Norwegian).
    "u/carddata": {
        "has_metadata",
        "has_license",
        "has_datasets",
        "has_base_model",
        "has_language",
        "has_pipeline_tag",
    },
    "u/nocard": set(),
    # metadata {} is no metadata; model_type "" is no architecture.
    "u/emptymeta": {"has_card", "has_card_body"},
    "a/ft2": {"has_metadata", "has_base_model"},
    "a/ft1": {"has_metadata", "has_base_model"},
    "a/q": {"has_base_model"},
    "a/adp": {"has_metadata", "has_base_model"},
    # base_model as a list.
    "a/merge": {"has_metadata", "has_base_model"},
    "a/rel": {"has_metadata", "has_base_model"},
    # a base_model: tag counts even when it names the model itself.
    "a/self": {"has_base_model"},
    "c/one": {"has_base_model"},
    "c/two": {"has_base_model"},
}


def test_attributes_match_definitions(snapshot: Path) -> None:
    rows = _by_model(snapshot.finding("attributes"))
    assert set(rows) == set(MODELS)
    for model_id, expected in EXPECTED_ATTRIBUTES.items():
        present = {name for name, value in rows[model_id].items() if value}
        assert present == expected, model_id


# (model, base) -> (relation, relation_source, source, base_in_snapshot, depth of model)
EXPECTED_EDGES = {
    ("org/full", "r/root"): ("finetune", "tag", "both", True, 1),
    ("u/carddata", "r/root"): ("finetune", "inferred", "tag", True, 1),
    ("a/ft1", "r/root"): ("finetune", "tag", "both", True, 1),
    ("a/ft2", "a/ft1"): ("finetune", "inferred", "metadata", True, 2),
    ("a/q", "a/ft2"): ("quantized", "inferred", "tag", True, 3),
    ("a/adp", "r/root"): ("adapter", "inferred", "both", True, 1),
    ("a/merge", "a/ft1"): ("merge", "inferred", "metadata", True, 2),
    ("a/merge", "x/external"): ("merge", "inferred", "metadata", False, 2),
    ("a/rel", "r/root"): ("quantized", "metadata", "metadata", True, 1),
    ("c/one", "c/two"): ("finetune", "inferred", "tag", True, None),
    ("c/two", "c/one"): ("finetune", "inferred", "tag", True, None),
}


def test_lineage_edges_relations_and_depths(snapshot: Path) -> None:
    rows = pq.read_table(snapshot.finding("lineage")).to_pylist()
    edges = {
        (r["model_id"], r["base_model"]): (
            r["relation"],
            r["relation_source"],
            r["source"],
            r["base_in_snapshot"],
            r["depth"],
        )
        for r in rows
    }
    assert set(edges) == set(EXPECTED_EDGES)  # a/self names itself: no edge
    for key, expected in EXPECTED_EDGES.items():
        if expected[-1] is None:  # the cycle: any finite depth, cut where the walk meets it
            assert edges[key][:-1] == expected[:-1] and edges[key][-1] in (0, 1)
        else:
            assert edges[key] == expected, key


def test_lineage_summary(snapshot: Path) -> None:
    summary = json.loads((snapshot.summary).read_text())
    lineage = summary["dependencies"]["lineage"]
    assert lineage["n_edges"] == 11
    assert lineage["relations"] == {"finetune": 6, "adapter": 1, "quantized": 2, "merge": 2}
    assert lineage["depth"]["max"] == 3
    assert lineage["depth"]["deepest_chain"] == ["a/q", "a/ft2", "a/ft1", "r/root"]
    top = lineage["families"]["top"][0]
    assert top == {
        "root": "r/root",
        "root_in_snapshot": True,
        "direct_children": 5,
        "descendants": 8,
        "max_depth": 3,
    }
    assert lineage["bases"]["top"][0] == {
        "base_model": "r/root",
        "children": 5,
        "finetune": 3,
        "adapter": 1,
        "quantized": 1,
        "merge": 0,
    }
    # d/pile is declared by r/root only; everything derived from r/root is downstream of it.
    most = summary["dependencies"]["datasets"]["per_model"]["most_downstream"]
    assert most["dataset"] == "d/pile" and most["models"] == 1 and most["downstream_models"] == 9


def test_chain_depths_hand_graph() -> None:
    # 0 <- 1 <- 2 <- 3, 0 <- 4, 3 also from 4 (merge); 5 <-> 6 a cycle; 7 alone.
    parents = [[], [0], [1], [2, 4], [0], [6], [5], []]
    depths = chain_depths(parents)
    assert depths[:5] == [0, 1, 2, 3, 1] and depths[7] == 0
    assert sorted(depths[5:7]) == [0, 1]


def test_tag_bases_and_edges() -> None:
    tags = [
        "base_model:org/a",
        "base_model:finetune:org/a",
        "base_model:adapter:org/b",
        "base_model:quantized:org/c",
        "base_model:merge:org/d",
        "license:mit",
    ]
    assert tag_bases(tags) == [
        ("org/a", None),
        ("org/a", "finetune"),
        ("org/b", "adapter"),
        ("org/c", "quantized"),
        ("org/d", "merge"),
    ]
    edges = model_edges("me/x", tags, ["org/e"], None, adapter=False, quantized=False)
    assert sorted(edges) == [
        ("org/a", "finetune", "tag", "tag"),
        ("org/b", "adapter", "tag", "tag"),
        ("org/c", "quantized", "tag", "tag"),
        ("org/d", "merge", "tag", "tag"),
        ("org/e", "merge", "inferred", "metadata"),
    ]


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b/c", "see the paper", "..", "org/" + "x" * 300])
def test_a_base_that_is_no_hub_id_is_no_edge(name: str) -> None:
    assert model_edges("me/x", [f"base_model:{name}"], [name], None, adapter=False, quantized=False) == []
    # Nor does it make the one real base a merge.
    assert model_edges("me/x", [], [name, "org/base"], None, adapter=False, quantized=False) == [
        ("org/base", "finetune", "inferred", "metadata")
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("  ", False),
        ("mit", True),
        ([], False),
        (["", None], False),
        (["", "x"], True),
        ({}, False),
        ({"a": ""}, False),
        ({"a": 1}, True),
        (0, True),
        (False, True),
    ],
)
def test_non_empty(value: Any, expected: bool) -> None:
    assert non_empty(value) is expected


@pytest.mark.parametrize(
    ("license", "licensed"),
    [
        ("mit", True),
        (["mit", 3], True),
        ([1, True, {"name": "mit"}, None], False),
        ([" ", ["mit"]], False),
        (True, False),
        (2, False),
        ({"name": "mit"}, False),
    ],
)
def test_a_license_must_name_one(license: Any, licensed: bool) -> None:
    has_metadata, has_license, *_ = metadata_flags({"license": license})
    assert has_metadata and has_license is licensed


# The factors each model has (models not listed have none).
EXPECTED_FACTORS: dict[str, set[str]] = {
    "org/full": set(FACTORS) - {"quantized_variants", "framework_support"},
    # pytorch and tf tags; a quantized model (a/rel) names it as base.
    "r/root": {
        "dataset_details",
        "architecture_details",
        "license",
        "quantized_variants",
        "framework_support",
    },
    # a card-table claim; a placeholder "Hardware Type: [More Information Needed]" is no hardware.
    "u/empty": {"performance_table", "documentation"},
    "u/carddata": {"dataset_details", "license"},
    "u/nocard": {"quantized_variants"},
    "u/emptymeta": {"documentation"},
    "a/ft2": {"quantized_variants"},
    "a/q": {"quantized_variants"},
}


def test_factors_and_scores(snapshot: Path) -> None:
    rows = _by_model(snapshot.finding("scores"))
    for model_id in MODELS:
        present = {name[len("factor_") :] for name, value in rows[model_id].items() if value is True}
        assert present == EXPECTED_FACTORS.get(model_id, set()), model_id
    assert rows["org/full"]["provenance_score"] == 1.0
    assert rows["org/full"]["reproducibility_score"] == 1.0
    assert rows["org/full"]["portability_score"] == 6 / 8
    assert rows["r/root"]["provenance_score"] == 2 / 4
    assert rows["r/root"]["portability_score"] == 3 / 8
    assert rows["u/emptymeta"]["reproducibility_score"] == 1 / 5


def test_breakdowns(snapshot: Path) -> None:
    table = pq.read_table(snapshot.finding("breakdowns")).to_pandas()
    assert set(table["dimension"]) == {"task", "library", "author_kind", "year", "popularity_decile"}
    kinds = table[(table["dimension"] == "author_kind") & (table["measure"] == "has_card")]
    got = {row.group: (row.n_models, row.value) for row in kinds.itertuples()}
    # org/full is an organization's (has a card); a/* are a user's (seven models, none with a card).
    assert got == {"organization": (1, 1.0), "user": (7, 0.0), "unknown": (7, 3 / 7)}
    years = table[(table["dimension"] == "year") & (table["measure"] == "has_license")]
    assert dict(zip(years["group"], years["n_models"], strict=True)) == {
        "2020": 1,
        "2021": 1,
        "2024": 1,
        "unknown": 12,
    }
    deciles = table[(table["dimension"] == "popularity_decile") & (table["measure"] == "has_card")]
    assert deciles["n_models"].sum() == 15
    # Fifteen models: position p (0-based, by downloads) is in decile p * 10 // 15 + 1, so the top
    # decile holds only the most downloaded model, r/root, and decile 9 org/full (1000) with one more.
    top = deciles[deciles["group"] == "10"].iloc[0]
    assert top["n_models"] == 1 and top["value"] == 1.0


def test_summary_keys_and_paper_comparison(snapshot: Path) -> None:
    summary = json.loads((snapshot.summary).read_text())
    assert {
        "snapshot_id",
        "generated_at",
        "headline",
        "attributes",
        "claims",
        "scores",
        "dependencies",
        "breakdowns",
        "paper_comparison",
        "files",
    } <= set(summary)
    assert summary["headline"]["n_models"] == 15
    assert summary["attributes"]["present"]["has_license"] == {"count": 3, "share": 3 / 15}
    assert summary["claims"] == {
        "n_claims": 3,
        "by_source": {"model-index": 2, "card-table": 1},
        "n_counting_model_index": 2,
        "by_subject": {"self": 3},
        "self_by_source": {"model-index": 2, "card-table": 1},
        "models_with_self_claims": 2,
        "models_comparing": 0,
        "models_comparing_with_own": 0,
    }
    comparison = summary["paper_comparison"]
    tasks = {row["task"]: row for row in comparison["fig7_claims_by_task"]}
    assert tasks["text-classification"]["paper"] == {"count": 872, "of": 8764, "share": 872 / 8764}
    assert tasks["text-classification"]["snapshot"] == {"count": 1, "of": 1, "share": 1.0}
    # Models without a paper task (and without any task) fall in "all other tasks".
    assert tasks["all other tasks"]["snapshot"]["of"] == 12
    arch = comparison["fig6_architectures"]
    assert arch["paper"]["missing_share"] == 0.344
    assert arch["snapshot"]["top"][0] == {"model_type": "bert", "count": 2, "share": 2 / 15}
    datasets = comparison["fig6_datasets"]
    assert "metric entries" in datasets["note"]
    assert datasets["snapshot_metric_entries"] == [{"dataset": "glue", "entries": 2, "models": 1}]


def test_run_analyze_end_to_end(tmp_path: Path) -> None:
    """With the real card stage: README-based facts from cards.parquet, cardData where no README."""
    pytest.importorskip("pipeline.cards.stage")
    from pipeline.analyze import run_analyze

    snapshot = build_snapshot(tmp_path)
    line = run_analyze(tmp_path, None)
    assert line.startswith(f"analyzed 15 models of snapshot {SNAPSHOT_ID}: ")
    assert str(snapshot.findings) in line
    rows = _by_model(snapshot.finding("attributes"))
    # README "---\nlicense: ''\n---\n": a card without body; the license: tag still counts.
    assert (
        rows["r/root"]["has_card"] and not rows["r/root"]["has_card_body"] and rows["r/root"]["has_license"]
    )
    # No README row: metadata is the Hub's cardData.
    assert rows["u/carddata"]["has_license"] and rows["u/carddata"]["has_datasets"]
    summary = json.loads((snapshot.summary).read_text())
    assert "cards" in summary  # the card stage's counts, passed through


UNFILLED_TEMPLATE = """# Model Card

## How to Get Started with the Model

[More Information Needed]

## Training Details

### Training Hyperparameters

[More Information Needed]

## Technical Specifications [optional]

### Model Architecture and Objective

[More Information Needed]

### Compute Infrastructure

#### Hardware

[More Information Needed]

#### Software

[More Information Needed]
"""

FILLED_TEMPLATE = """# Model Card

## How to Get Started with the Model

Load it with `AutoModel.from_pretrained`.

### Training Hyperparameters

Learning rate 2e-5, batch size 32.

### Model Architecture and Objective

A six-layer encoder.

#### Hardware

One workstation.

#### Software

Python and Transformers.
"""


def test_unfilled_template_sections_are_no_factors(tmp_path: Path) -> None:
    """Scores' sections carry the factor only with content beyond template fillers (scores.py)."""
    from pipeline.analyze import run_analyze
    from pipeline.schemas import table_from_rows
    from pipeline.store.files import write_json, write_parquet

    snapshot = DataDir(tmp_path).snapshot(SNAPSHOT_ID)
    write_json(snapshot.manifest, {"snapshot_id": SNAPSHOT_ID, "status": "complete"})
    ids = ("t/unfilled", "t/filled")
    models = [{"model_id": m, "tags": [], "siblings": ["README.md"], "downloads": 1} for m in ids]
    cards = [
        {"model_id": m, "status": "ok", "readme": text}
        for m, text in zip(ids, (UNFILLED_TEMPLATE, FILLED_TEMPLATE), strict=True)
    ]
    write_parquet(snapshot.models, table_from_rows("models", models))
    write_parquet(snapshot.cards, table_from_rows("cards", cards))
    run_analyze(tmp_path, SNAPSHOT_ID)
    rows = _by_model(snapshot.finding("scores"))
    section_factors = {"demos", "training_config", "architecture_details", "hardware", "environment"}
    present = {m: {f[len("factor_") :] for f, v in rows[m].items() if v is True} for m in ids}
    assert present["t/unfilled"] == {"documentation"}
    assert section_factors | {"documentation"} <= present["t/filled"]


def test_breakdowns_without_authors_table(snapshot: Path, tmp_path: Path) -> None:
    """Without authors.parquet every author is unknown; the fill must not depend on a dtype cast
    pandas is dropping (it warns now and will raise)."""
    import shutil
    import warnings

    from pipeline.measures import breakdowns

    copy = Snapshot(tmp_path / "s")
    shutil.copytree(snapshot.dir, copy.dir)
    copy.authors.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = breakdowns.frame(copy)
    assert set(data["author_kind"]) == {"unknown"}
