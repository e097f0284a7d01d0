from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cards import ParsedCard, parse_card
from pipeline.cards.parse import PROBLEM_CODES
from pipeline.schemas import table_from_rows
from tests.test_cards_training import TRAINER_CARD
from tests.test_cards_yaml import billion_laughs

MODEL_INDEX_CARD = """---
language: no
license: apache-2.0
datasets:
- emotion
model-index:
- name: distilbert-emotion
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      name: emotion
      type: emotion
      args: default
    metrics:
    - type: accuracy
      value: "92.6%"
      name: Accuracy
    - type: f1
      value: 0.9265
---

# distilbert-emotion
"""


def problems(card: ParsedCard) -> list[str]:
    return card.problems


def test_model_index_card() -> None:
    card = parse_card("org/m", MODEL_INDEX_CARD, None)
    assert card.has_card and card.has_card_body and card.has_front_matter
    assert card.metadata_source == "front_matter"
    assert card.metadata is not None
    assert card.metadata["language"] == "no"
    assert [(c["metric_type"], c["value"], c["is_percent"], c["counts"]) for c in card.claims] == [
        ("accuracy", 92.6, True, True),
        ("f1", 0.9265, False, True),
    ]
    row = card.to_row()
    assert row["card_status"] == "ok"
    assert row["n_claims"] == 2
    assert json.loads(row["metadata"])["language"] == "no"
    table_from_rows("parsed_cards", [row])
    table_from_rows("claims", card.claims)


@pytest.mark.parametrize(
    ("readme", "has_card", "has_body", "has_front_matter", "source", "codes"),
    [
        ("# Title\n\ntext\n", True, True, False, "none", ["no_front_matter"]),
        ("---\n\n---\n", True, False, True, "front_matter", []),
        ("---\n---\n# Body\n", True, True, False, "none", ["unclosed_front_matter"]),
        ("---\n---\nlicense: mit\n---\n", True, False, True, "front_matter", []),
        ("---", True, True, False, "none", ["no_front_matter"]),
        ("---\n", True, True, False, "none", ["unclosed_front_matter"]),
        ("---\nlicense: mit\n---\n  \n", True, False, True, "front_matter", []),
        ("---\r\nlicense: mit\r\n---\r\n# T\r\n", True, True, True, "front_matter", []),
        ("\ufeff---\nlicense: mit\n---\n# T\n", True, True, True, "front_matter", []),
        ("---\na: [b\n---\n# T\n", True, True, True, "none", ["yaml_error"]),
        ("---\n- a\n- b\n---\n# T\n", True, True, True, "none", ["yaml_not_mapping"]),
        ("---\njust text\n---\n", True, False, True, "none", ["yaml_not_mapping"]),
        ("", False, False, False, "none", ["no_front_matter"]),
        (" \n\t\n", False, False, False, "none", ["no_front_matter"]),
    ],
)
def test_readme_edge_cases(
    readme: str, has_card: bool, has_body: bool, has_front_matter: bool, source: str, codes: list[str]
) -> None:
    card = parse_card("m", readme, '{"license": "from-card-data"}')
    assert (card.has_card, card.has_card_body, card.has_front_matter) == (
        has_card,
        has_body,
        has_front_matter,
    )
    assert card.metadata_source == source  # a fetched README never falls back to cardData
    assert card.problems == codes
    table_from_rows("parsed_cards", [card.to_row()])


def test_yaml_error_detail_is_kept() -> None:
    card = parse_card("m", "---\na: [b\n---\n", None)
    assert card.yaml_error is not None and card.yaml_error.startswith("yaml_error: ")


@pytest.mark.parametrize(
    ("yaml_text", "code"),
    [(billion_laughs(), "yaml_alias_bomb"), ("a: " + "[" * 500 + "]" * 500, "yaml_too_deep")],
)
def test_hostile_front_matter(yaml_text: str, code: str) -> None:
    card = parse_card("m", f"---\n{yaml_text}\n---\n# Body\n", None)
    assert code in card.problems
    assert card.metadata is None and card.has_card_body


def test_card_data_when_not_fetched() -> None:
    card = parse_card(
        "m", None, json.dumps({"language": "no", "model-index": [{"name": "x", "results": []}]})
    )
    assert card.metadata_source == "card_data"
    assert not card.has_card and not card.readme_given
    assert card.to_row()["card_status"] == "not_fetched"
    assert parse_card("m", None, {"license": "mit"}).metadata == {"license": "mit"}
    assert parse_card("m", None, None).metadata_source == "none"
    assert parse_card("m", None, "{not json").problems == ["card_data_invalid"]
    assert parse_card("m", None, "[1]").problems == ["card_data_not_mapping"]
    assert parse_card("m", None, 5).problems == ["card_data_wrong_type"]  # type: ignore[arg-type]


def test_bytes_and_binary() -> None:
    assert parse_card("m", "---\nlicense: mit\n---\nhé".encode(), None).metadata == {"license": "mit"}
    bad = parse_card("m", b"---\nlicense: mit\n---\nh\xff", None)
    assert bad.problems == ["invalid_utf8"] and bad.metadata == {"license": "mit"}
    binary = parse_card("m", "\ufeffh\x00e\x00l\x00".encode("utf-16"), None)
    assert "binary_readme" in binary.problems
    assert binary.has_card and binary.metadata is None and binary.headings == []
    assert parse_card("m", 42, None).problems == ["readme_wrong_type"]  # type: ignore[arg-type]


def test_legacy_and_wrong_model_index() -> None:
    legacy = parse_card("m", "---\nmodel_index:\n- name: x\n  results: []\n---\n", None)
    assert "legacy_model_index" in legacy.problems
    wrong = parse_card("m", "---\nmodel-index:\n  name: x\n  results: 5\n---\n", None)
    assert {"model_index_wrong_type", "results_wrong_type"} <= set(wrong.problems)
    assert wrong.to_row()["n_claims"] == 0


def test_trainer_card_structure() -> None:
    card = parse_card("m", "---\ntags:\n- generated_from_trainer\n---\n" + TRAINER_CARD, None)
    assert card.hyperparameters["learning_rate"] == 2e-05
    assert card.framework_versions["transformers"] == "4.17.0.dev0"
    assert card.headings[:3] == ["model", "Training procedure", "Training hyperparameters"]
    assert {"training", "hyperparameters", "evaluation", "software"} <= set(card.sections)
    row = card.to_row()
    assert json.loads(row["hyperparameters"])["seed"] == 42


def test_setext_and_fenced_headings_and_links() -> None:
    body = "Usage\n=====\n\n```\n# Citation\n```\nSee https://arxiv.org/abs/2106.09685 and github.com/a/b\n"
    card = parse_card("m", body, None)
    assert card.headings == ["Usage"]
    assert card.sections == ["how_to_use"]
    assert card.arxiv_ids == ["2106.09685"] and card.github_repos == ["a/b"]


def test_problem_codes_are_documented() -> None:
    samples = [parse_card("m", text, None) for text in ("x", "---\n", "---\na: [\n---\n", b"\x00")]
    for card in samples:
        assert set(card.problems) <= set(PROBLEM_CODES)


# Card-like text: the characters and tokens the parsers branch on.
CARD_TOKENS = [*"-:#=`~ \n\r\t[]{}&*!|>'\"%\ufeffabcno0123456789.", "---\n", "model-index:", "```", "\n- "]
CARD_TEXT = st.lists(st.sampled_from(CARD_TOKENS), max_size=200).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.text(), CARD_TEXT, CARD_TEXT.map(lambda text: f"---\n{text}\n---\n"), st.binary()),
    st.one_of(st.none(), st.text()),
)
def test_parse_card_never_raises(readme: Any, card_data: Any) -> None:
    card = parse_card("m", readme, card_data)
    assert "internal_error" not in card.problems
    table_from_rows("parsed_cards", [card.to_row()])
    table_from_rows("claims", card.claims)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_model_index_shape_never_raises(model_index: Any) -> None:
    card = parse_card("m", None, {"model-index": model_index})
    assert "internal_error" not in card.problems
    table_from_rows("claims", card.claims)


@pytest.mark.parametrize(
    "yaml_text",
    [billion_laughs(levels=12), "a: " + "[" * 999 + "]" * 999, "- " * 999 + "x", "a: &a [*a, *a]"],
)
def test_hostile_yaml_is_bounded_in_work_and_memory(yaml_text: str, yaml_work: Counter[str]) -> None:
    tracemalloc.start()
    card = parse_card("m", f"---\n{yaml_text}\n---\n", None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert yaml_work["composed"] + yaml_work["built"] <= len(yaml_text)
    assert peak < 50 * 2**20
    assert card.metadata is None
