"""Whose number a claim is (`subject`), the scale decided per card, and where Trainer claims were measured."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.cards import parse_card
from pipeline.schemas import table_from_rows

TRAINER_LEAD = (
    "This model is a fine-tuned version of [bert-base-cased](https://huggingface.co/bert-base-cased)"
)


def rows(body: str, model_id: str = "org/my-bert-ner", source: str = "card-table") -> list[tuple[Any, ...]]:
    card = parse_card(model_id, body, None)
    table_from_rows("claims", card.claims)
    return [
        (row["subject"], row["subject_name"], row["metric"], row["value"])
        for row in card.claims
        if row["source"] == source
    ]


def test_comparison_table_rows_of_other_models_are_other() -> None:
    body = (
        "## Results\n\n| Model | F1 |\n|---|---|\n| mBERT | 88.1 |\n| XLM-R | 90.2 |\n"
        "| my-bert-ner (ours) | 91.3 |\n"
    )
    assert rows(body) == [
        ("other", "mBERT", "f1", 88.1),
        ("other", "XLM-R", "f1", 90.2),
        ("self", "my-bert-ner (ours)", "f1", 91.3),
    ]


def test_row_named_like_the_model_id_is_self() -> None:
    body = "| Model | Accuracy |\n|---|---|\n| org/my-bert-ner | 0.91 |\n| bert-base-cased | 0.89 |\n"
    assert [subject for subject, *_ in rows(body)] == ["self", "other"]


def test_a_task_column_of_model_names_names_models() -> None:
    body = "| Task | Accuracy |\n|---|---|\n| bert-base-cased | 0.89 |\n| roberta-large | 0.93 |\n"
    assert [(subject, name) for subject, name, *_ in rows(body)] == [
        ("other", "bert-base-cased"),
        ("other", "roberta-large"),
    ]


def test_another_models_report_pasted_under_its_name_is_other() -> None:
    body = (
        f"{TRAINER_LEAD} on the conll2003 dataset.\n\n"
        "The results of [bert-base-cased](https://huggingface.co/bert-base-cased) for reference:\n\n"
        "| | precision | recall | f1-score | support |\n|---|---|---|---|---|\n"
        "| PER | 0.9 | 0.9 | 0.9 | 10 |\n| macro avg | 0.8 | 0.8 | 0.85 | 10 |\n"
    )
    assert rows(body) == [("other", "bert-base-cased", "f1_macro", 0.85)]


def test_own_results_table_is_self() -> None:
    body = (
        "## Evaluation results on the CoNLL-2003 test set\n\n| Metric | Value |\n|---|---|\n| F1 | 91.3 |\n"
    )
    card = parse_card("org/m", body, None)
    assert [(r["subject"], r["dataset_name"], r["dataset_split"]) for r in card.claims] == [
        ("self", "CoNLL-2003", "test")
    ]


def test_metric_named_in_the_heading() -> None:
    body = "## WER\n\n| Without LM | With LM |\n|---|---|\n| 11.62 | 9.8 |\n"
    card = parse_card("org/m", body, None)
    assert [(r["metric"], r["metric_name"], r["value_unit"]) for r in card.claims] == [
        ("wer", "Without LM", pytest.approx(0.1162)),
        ("wer", "With LM", pytest.approx(0.098)),
    ]


def test_trainer_claims_carry_the_template_dataset_and_validation_split() -> None:
    body = (
        f"{TRAINER_LEAD} on the conll2003 dataset.\n"
        "It achieves the following results on the evaluation set:\n- Loss: 0.1\n- F1: 0.9\n"
    )
    card = parse_card("org/m", body, None)
    assert {(r["dataset_name"], r["dataset_id"], r["dataset_split"]) for r in card.claims} == {
        ("conll2003", "eriktks/conll2003", "validation")
    }


def test_percent_rouge_from_earlier_log_rows() -> None:
    body = (
        "It achieves the following results on the evaluation set:\n- Loss: 2.1\n- Rouge1: 0.7734\n\n"
        "## Training results\n\n| Training Loss | Epoch | Step | Validation Loss | Rouge1 |\n"
        "|---|---|---|---|---|\n| 3.0 | 1.0 | 10 | 2.5 | 1.2101 |\n| 2.0 | 2.0 | 20 | 2.1 | 0.7734 |\n"
    )
    card = parse_card("org/m", body, None)
    units = {(r["source"], r["metric"]): r["value_unit"] for r in card.claims}
    assert units[("trainer-results", "rouge1")] == pytest.approx(0.007734)
    assert units[("trainer-table", "rouge1")] == pytest.approx(0.007734)


def test_bare_percent_wer_in_the_model_index_takes_the_tables_scale() -> None:
    metadata = (
        "model-index:\n- name: m\n  results:\n  - task: {type: automatic-speech-recognition}\n"
        "    dataset: {type: common_voice, name: CV}\n    metrics:\n    - {type: wer, value: 0.9}\n"
    )
    body = "| Dataset | WER |\n|---|---|\n| CV | 0.9% |\n"
    card = parse_card("org/m", f"---\n{metadata}---\n{body}", None)
    assert {r["source"]: r["value_unit"] for r in card.claims} == {
        "model-index": pytest.approx(0.009),
        "card-table": pytest.approx(0.009),
    }


def test_legacy_model_index_with_a_singular_metric() -> None:
    metadata = (
        "model_index:\n- name: m\n  results:\n  - task: {type: token-classification}\n"
        "    metric: {name: Accuracy, type: accuracy, value: 0.96}\n"
    )
    card = parse_card("org/m", f"---\n{metadata}---\n", None)
    assert [(r["metric"], r["value"], r["counts"], r["subject"]) for r in card.claims] == [
        ("accuracy", 0.96, False, "self")
    ]


@pytest.mark.parametrize(
    ("table", "relation"),
    [
        ("| 0.30 | 1.0 | 10 | 0.20 | 0.90 |\n| 0.20 | 2.0 | 20 | 0.25 | 0.88 |\n", "earlier_row"),
        ("| 0.30 | 1.0 | 10 | 0.30 | 0.80 |\n| 0.20 | 2.0 | 20 | 0.20 | 0.90 |\n", "last_row"),
        ("| 0.30 | 1.0 | 10 | 0.30 | 0.80 |\n| 0.20 | 2.0 | 20 | 0.25 | 0.85 |\n", "table_ends_early"),
    ],
)
def test_list_against_table(table: str, relation: str) -> None:
    body = (
        "It achieves the following results on the evaluation set:\n- Loss: 0.20\n- Accuracy: 0.90\n\n"
        "### Training hyperparameters\n\n- num_epochs: 3\n\n### Training results\n\n"
        "| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n|---|---|---|---|---|\n" + table
    )
    card = parse_card("org/m", body, None)
    assert {r["list_vs_table"] for r in card.claims if r["source"] == "trainer-results"} == {relation}


@pytest.mark.parametrize(
    "body",
    [
        "- " + " " * 200_000 + "x: 1\n",
        "- Accuracy: 0.9\n" * 20_000,
        "It achieves the following results:\n" * 20_000,
        "| Model | F1 |\n|---|---|\n| " + "a/" * 50_000 + " | 0.9 |\n",
        "ours " * 50_000 + "\n\n| Model | F1 |\n|---|---|\n| a | 1 |\n| b | 2 |\n",
        "## " + "WER " * 50_000 + "\n\n| x | y |\n|---|---|\n| 1 | 2 |\n",
    ],
)
def test_hostile_bodies_give_bounded_rows(body: str) -> None:
    card = parse_card("org/m", body, None)
    assert len(card.claims) <= 200 and "internal_error" not in card.problems
    table_from_rows("claims", card.claims)


def test_a_scoring_report_under_an_error_rate_heading_gives_its_err_column() -> None:
    body = (
        "## WER\n\n|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|\n|---|---|---|---|---|---|---|---|---|\n"
        "|decode_asr/dev|530|22510|88.1|4.4|7.4|3.9|15.8|87.4|\n"
        "|decode_asr/test|600|23000|87.0|5.0|8.0|4.0|17.1|88.0|\n"
    )
    card = parse_card("org/m", body, None)
    assert [(r["metric"], r["value"], r["dataset_split"], r["value_unit"]) for r in card.claims] == [
        ("wer", 15.8, "dev", pytest.approx(0.158)),
        ("wer", 17.1, "test", pytest.approx(0.171)),
    ]


def test_an_unnamed_column_of_models_and_a_metric_beside_hyperparameters() -> None:
    body = (
        "## Results\n\n| | **NSMC**<br/>(acc) |\n|---|---|\n| ***electra-ko-base*** | 90.95 |\n"
        "| [XLM-R](https://github.com/x) | 89.49 |\n\n"
        "## Hyperparameters and Validation Perplexity\n\n"
        "| Model Name | Batch Size | Validation Perplexity |\n"
        "|---|---|---|\n| [electra-ko-base][link-a] | 512 | 3.93 |\n| [other-model][link-b] | 512 | 4.25 |\n"
    )
    assert rows(body, "tunib/electra-ko-base") == [
        ("self", "electra-ko-base", "accuracy", 90.95),
        ("other", "XLM-R", "accuracy", 89.49),
        ("self", "electra-ko-base", "perplexity", 3.93),
        ("other", "other-model", "perplexity", 4.25),
    ]


def test_a_training_log_longer_than_a_results_table_gives_its_last_row() -> None:
    rows_ = "".join(f"| 0.{i:03d} | {i}.0 | {10 * i} | 0.{i:03d} | 0.5 |\n" for i in range(1, 80))
    body = (
        "## Training results\n\n| Training Loss | Epoch | Step | Validation Loss | Wer |\n"
        "|---|---|---|---|---|\n" + rows_
    )
    card = parse_card("org/m", body, None)
    assert [(r["metric"], r["value"]) for r in card.claims] == [("loss", 0.079), ("wer", 0.5)]


def test_the_lines_above_a_table_give_its_split_and_say_when_it_compares() -> None:
    test_split = (
        "**Test Result**:\n\nThe WER and CER of the model on the test data.\n\n"
        "| Model | WER |\n|---|---|\n| org/m | 30.1% |\n| other/model | 33.9% |\n"
    )
    card = parse_card("org/m", test_split, None)
    assert [(r["subject"], r["dataset_split"]) for r in card.claims] == [("self", "test"), ("other", "test")]
    unsure = "Compared with the baselines:\n\n| Dataset | F1 |\n|---|---|\n| a | 0.9 |\n| b | 0.8 |\n"
    assert {r["subject"] for r in parse_card("org/m", unsure, None).claims} == {"unknown"}
