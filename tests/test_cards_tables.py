from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cards import parse_card
from pipeline.cards.results import MAX_ROWS, body_claims
from pipeline.cards.sections import find_headings
from pipeline.cards.tables import MAX_TABLE_ROWS, MAX_TABLES, card_table_claims, find_tables, metric_header
from pipeline.schemas import table_from_rows
from tests.test_cards_training import TRAINER_CARD

DEIT = """## Evaluation results

| Model               | ImageNet top-1 accuracy | ImageNet top-5 accuracy | # params | URL |
|---------------------|-------------------------|-------------------------|----------|-----|
| **DeiT-tiny**       | **72.2**                | **91.1**                | **5M**   | https://example.org/a |
| DeiT-small          | 79.9                    | 95.0                    | 22M      | https://example.org/b |
| DeiT-base distilled | 83.4                    | 96.5                    | 87M      | https://example.org/c |
"""


def table_rows(body: str) -> list[tuple[Any, ...]]:
    """(model, dataset, split, metric, value) of the card-table rows of a body."""
    claims, _ = card_table_claims(body, find_headings(body))
    rows = parse_card("m", body, None).claims
    assert len([row for row in rows if row["source"] == "card-table"]) == len(list(claims))
    return [
        (row["model_name"], row["dataset_name"], row["dataset_split"], row["metric"], row["value"])
        for row in rows
        if row["source"] == "card-table"
    ]


def test_deit_table_gives_accuracy_per_model() -> None:
    card = parse_card("m", DEIT, None)
    rows = [row for row in card.claims if row["source"] == "card-table"]
    assert [(row["model_name"], row["metric"], row["value"], row["value_unit"]) for row in rows] == [
        ("DeiT-tiny", "accuracy", 72.2, pytest.approx(0.722)),
        ("DeiT-small", "accuracy", 79.9, pytest.approx(0.799)),
        ("DeiT-base distilled", "accuracy", 83.4, pytest.approx(0.834)),
    ]  # top-5 accuracy is no canonical metric
    assert {(row["dataset_name"], row["dataset_id"], row["metric_name"]) for row in rows} == {
        ("ImageNet", "ILSVRC/imagenet-1k", "ImageNet top-1 accuracy")
    }
    assert {(row["counts"], row["not_counted"]) for row in rows} == {(False, "not_model_index")}
    assert rows[0]["value_raw"] == '"**72.2**"' and card.to_row()["n_claims"] == 0
    table_from_rows("claims", card.claims)


def test_dataset_and_split_columns() -> None:
    body = (
        "| Dataset | Split | Accuracy | F1 |\n|---|---|---|---|\n"
        "| GLUE SST-2 | Validation | 93.1% | 0.93 ± 0.01 |\n| IMDB | test | 95.0 | - |\n"
    )
    assert table_rows(body) == [
        (None, "GLUE SST-2", "validation", "accuracy", 93.1),
        (None, "GLUE SST-2", "validation", "f1", 0.93),
        (None, "IMDB", "test", "accuracy", 95.0),
    ]
    rows = parse_card("m", body, None).claims
    assert [(row["dataset_id"], row["dataset_config"]) for row in rows] == [
        ("nyu-mll/glue", "sst2"),
        ("nyu-mll/glue", "sst2"),
        ("stanfordnlp/imdb", None),
    ]


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("Accuracy", ("accuracy", None, None)),
        ("ImageNet top-1 acc", ("accuracy", "ImageNet", None)),
        ("Dev Accuracy", ("accuracy", None, "dev")),
        ("Test WER (%)", ("wer", None, "test")),
        ("LAMBADA PPL ↓", ("perplexity", "LAMBADA", None)),
        ("**NSMC**<br/>(acc)", ("accuracy", "NSMC", None)),
        ("Training Loss", ("loss", None, "train")),
        ("F1 (macro)", ("f1_macro", None, None)),
        ("ImageNet top-5 accuracy", None),
        ("Avg. accuracy", None),
        ("F1 (DATE)", None),
        ("LOC F1", None),
        ("chrF", None),
        ("BLEU-1", None),
        ("#params", None),
        ("SQuAD F1/EM", None),
    ],
)
def test_metric_headers(header: str, found: tuple[str, str | None, str | None] | None) -> None:
    assert metric_header(header) == found


def test_training_results_table_is_left_to_trainer_table() -> None:
    rows = parse_card("m", "---\nlicense: mit\n---\n" + TRAINER_CARD, None).claims
    assert {row["source"] for row in rows} == {"trainer-results", "trainer-table"}
    log = (
        "| Epoch | Training Loss | Validation Loss | Accuracy |\n|---|---|---|---|\n| 1 | 0.5 | 0.4 | 0.9 |\n"
    )
    assert table_rows(log) == []


def test_tables_in_code_fences_are_no_tables() -> None:
    table = "| Model | Accuracy |\n|---|---|\n| a | 0.9 |\n"
    body = f"```\n{table}```\n~~~~md\n{table}~~~~\n    | Model | Accuracy |\n    |---|---|\n    | a | 0.9 |\n"
    assert find_tables(body, find_headings(body)) == ([], False)
    assert [row[4] for row in table_rows(body + table)] == [0.9]


def test_hyperparameter_tables_give_nothing() -> None:
    assert table_rows("| Hyperparameter | Value |\n|---|---|\n| loss | 0.5 |\n| accuracy | 1 |\n") == []
    assert table_rows("### Training hyperparameters\n\n| Accuracy | Loss |\n|---|---|\n| 0.9 | 0.1 |\n") == []


def test_metric_per_row_and_report_tables() -> None:
    metric_rows = (
        "| Metric | # Value |\n|---|---|\n| **EM** | **80.9** |\n| test_rouge1 | 25.8 |\n| AUC | 0.9 |\n"
    )
    assert table_rows(metric_rows) == [
        (None, None, None, "exact_match", 80.9),
        (None, None, "test", "rouge1", 25.8),
    ]
    report = (
        "| | precision | recall | f1-score | support |\n|---|---|---|---|---|\n"
        "| PER | 0.9 | 0.8 | 0.85 | 10 |\n| LOC | 0.7 | 0.6 | 0.65 | 12 |\n"
        "| accuracy | | | 0.8 | 22 |\n| macro avg | 0.8 | 0.7 | 0.75 | 22 |\n"
        "| weighted avg | 0.8 | 0.7 | 0.74 | 22 |\n"
    )
    assert table_rows(report) == [
        (None, None, None, "accuracy", 0.8),
        (None, None, None, "f1_macro", 0.75),
        (None, None, None, "f1_weighted", 0.74),
    ]


def test_rows_that_cannot_be_told_apart_are_skipped() -> None:
    # Two rows for one model (told apart by a column that is no label), or several unlabelled rows.
    twins = (
        "| Model | Frames | Top-1 |\n|---|---|---|\n| A | 8 | 70.1 |\n| A | 16 | 71.5 |\n| B | 8 | 69.0 |\n"
    )
    assert table_rows(twins) == []
    assert table_rows("| Accuracy | F1 |\n|---|---|\n| 0.9 | 0.8 |\n| 0.7 | 0.6 |\n") == []
    # A blank dataset cell repeats the one above it; one model is the card's own (no model_name).
    merged = "| Test set | Model | Rouge-1 |\n|---|---|---|\n| CaSum | A | 41.4 |\n| | B | 24.4 |\n"
    assert table_rows(merged) == [
        ("A", "CaSum", "test", "rouge1", 41.4),
        ("B", "CaSum", "test", "rouge1", 24.4),
    ]
    one = "| Model | Average | BLEU |\n|---|---|---|\n| mine | 3 | 30.5 |\n"
    assert table_rows(one) == [(None, None, None, "bleu", 30.5)]
    averaged = "| Dataset | WER |\n|---|---|\n| a | 10.0 |\n| Average | 12.0 |\n"
    assert table_rows(averaged) == [(None, "a", None, "wer", 10.0)]


def test_spacy_component_scores_are_told_apart_by_component() -> None:
    # spaCy's accuracy table: one row per component score, several of one metric; attachment scores
    # have no canonical id and give no claim.
    spacy = (
        "### Accuracy\n\n| Type | Score |\n| --- | --- |\n| `TAG_ACC` | 97.44 |\n| `POS_ACC` | 98.06 |\n"
        "| `MORPH_ACC` | 0.40 |\n| `SENTS_F` | 93.48 |\n| `ENTS_P` | 83.24 |\n| `ENTS_R` | 81.71 |\n"
        "| `MORPH_MICRO_F` | 95.19 |\n| `DEP_UAS` | 92.02 |\n| `DEP_LAS` | 89.91 |\n"
    )
    rows = [row for row in parse_card("m", spacy, None).claims if row["source"] == "card-table"]
    assert [(row["metric_name"], row["metric"], row["value_unit"]) for row in rows] == [
        ("TAG_ACC", "accuracy", pytest.approx(0.9744)),
        ("POS_ACC", "accuracy", pytest.approx(0.9806)),
        ("MORPH_ACC", "accuracy", pytest.approx(0.004)),  # a percent like its neighbours
        ("SENTS_F", "f1", pytest.approx(0.9348)),
        ("ENTS_P", "precision", pytest.approx(0.8324)),
        ("ENTS_R", "recall", pytest.approx(0.8171)),
        ("MORPH_MICRO_F", "f1_micro", pytest.approx(0.9519)),
    ]
    # Rows of one metric that no component tells apart are still dropped.
    assert table_rows("| Metric | Value |\n|---|---|\n| Accuracy | 0.9 |\n| Acc | 0.8 |\n") == []


def test_hostile_tables_are_bounded() -> None:
    header = "| Model | Accuracy |\n|---|---|\n"
    long_table = header + "".join(f"| m{i} | {i} |\n" for i in range(MAX_TABLE_ROWS + 1))
    assert table_rows(long_table) == []
    many = "".join(f"{header}| a{i} | 0.5 |\n| b{i} | 0.6 |\n\n" for i in range(MAX_TABLES + 5))
    body = "# t\n" + many
    rows, problems = body_claims("m", body, find_headings(body))
    assert len(rows) == 2 * MAX_TABLES and problems == ["card_tables_capped"]
    wide = "|" + " a |" * 500 + "\n|" + "---|" * 500 + "\n|" + " 1 |" * 500 + "\n"
    hostile = [
        wide,
        "| Model | Accuracy |\n|---|---|\n| a | 0.9 | extra |\n| b | 0.8\n| c |\n",  # unbalanced pipes
        "<table><tr><td>Accuracy</td></tr><tr><td>0.9</td></tr></table>\n",
        "| Accuracy |\n|" + " -" * 50_000 + "x|\n| 1 |\n",
        "|" * 100_000 + "\n" + "|-" * 50_000 + "\n",
        "| Accuracy |\n|---|\n| " + "9" * 100_000 + " |\n",
    ]
    # Only the one row with as many cells as the header is read.
    assert [table_rows(text) for text in hostile] == [
        [],
        [(None, None, None, "accuracy", 0.8)],
        [],
        [],
        [],
        [],
    ]
    assert table_rows("| Accuracy |\n|---|\n| 1e999 |\n| nan |\n") == []


def test_rows_are_capped_across_tables() -> None:
    body = "".join(
        f"| Model | Accuracy |\n|---|---|\n| a{t} | 1 |\n"
        + "".join(f"| m{t}-{i} | 0.{i} |\n" for i in range(1, 40))
        + "\n"
        for t in range(8)
    )
    rows, problems = body_claims("m", body, find_headings(body))
    assert len(rows) == MAX_ROWS and problems == ["body_claims_capped"]


TOKENS = [
    "|",
    " ",
    "---",
    ":",
    "\n",
    "Accuracy",
    "Model",
    "Dataset",
    "F1",
    "0.9",
    "85%",
    "± 1",
    "**",
    "```\n",
]
TOKENS += ["Epoch", "Metric", "a", "macro avg", "# x\n", "Test", "<br/>", "(acc)", "\\|"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=80).map("".join))
def test_tables_never_raise(body: str) -> None:
    card = parse_card("m", body, None)
    assert "internal_error" not in card.problems and len(card.claims) <= MAX_ROWS
    table_from_rows("claims", card.claims)


def test_labelled_precision_on_the_sample(hub_sample: Path) -> None:
    from bench.claims_bench import labelled_tables, read_readmes, score

    tables = labelled_tables(read_readmes(hub_sample))
    assert len(tables) >= 100
    for name in ("development", "held-out"):
        result = score([table for table in tables if table["set"] == name])
        assert result["precision"] >= 0.9, (name, result)
