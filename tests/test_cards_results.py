from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cards import parse_card
from pipeline.cards.metrics import metric_id, normalise_claims
from pipeline.cards.results import MAX_ROWS, RESULTS_LINE, body_claims
from pipeline.cards.sections import find_headings
from pipeline.schemas import table_from_rows
from tests.test_cards_training import TRAINER_CARD

TABLE_HEADER = (
    "| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n|:---:|:---:|:---:|:---:|:---:|\n"
)


def claims(body: str) -> tuple[list[dict[str, Any]], list[str]]:
    return body_claims("m", body, find_headings(body))


def pairs(rows: list[dict[str, Any]], source: str) -> list[tuple[str, float | None]]:
    return [(row["metric_name"], row["value"]) for row in rows if row["source"] == source]


def test_trainer_card_list_and_table_agree() -> None:
    card = parse_card("m", "---\nlicense: mit\n---\n" + TRAINER_CARD, None)
    by_source = {
        source: {row["metric"]: row["value"] for row in card.claims if row["source"] == source}
        for source in ("trainer-results", "trainer-table")
    }
    assert by_source["trainer-results"] == by_source["trainer-table"] == {"loss": 0.4812, "accuracy": 0.91}
    assert not any(row["counts"] for row in card.claims)
    assert {row["not_counted"] for row in card.claims} == {"not_model_index"}
    assert card.to_row()["n_claims"] == 0 and card.to_row()["n_claim_rows"] == 4
    table_from_rows("claims", card.claims)


def test_results_list_edges() -> None:
    body = f"intro\n{RESULTS_LINE}\n- Loss: 0.1234\n- F1: 88.1%\n- Matthews: n/a\n- Wer: 0.3 \n\n- Later: 1\n"
    rows, problems = claims(body)
    assert pairs(rows, "trainer-results") == [
        ("Loss", 0.1234),
        ("F1", 88.1),
        ("Matthews", None),
        ("Wer", 0.3),
    ]
    assert rows[1]["is_percent"] and rows[2]["value_raw"] == '"n/a"'
    assert problems == []
    # A lead-in line ending in ":" and the items right under it (after blank lines or a code block).
    assert claims(f"{RESULTS_LINE} - Loss: 1\n")[0] == []
    # A list after prose is no Trainer list, but a metric list of the card's own.
    assert [row["source"] for row in claims(f"{RESULTS_LINE}\nSome prose.\n- Loss: 1\n")[0]] == ["card-list"]


def test_metric_lists_written_by_hand() -> None:
    body = (
        "## Validation Metrics\n\n- Loss: 0.67\n- Accuracy: 0.59\n- Macro F1: 0.37\n- Samples: 12\n\n"
        "## Training hyperparameters\n\n- loss: 3\n\n```\n- accuracy: 0.1\n```\n"
    )
    rows = claims(body)[0]
    assert [(row["source"], row["metric_name"], row["value"], row["dataset_split"]) for row in rows] == [
        ("card-list", "Loss", 0.67, "validation"),
        ("card-list", "Accuracy", 0.59, "validation"),
        ("card-list", "Macro F1", 0.37, "validation"),
    ]


@pytest.mark.parametrize(
    ("body", "split"),
    [
        ("It achieves the following results on the test set:\n- Loss: 1\n", "test"),
        (
            "It achieves the following results on the evaluation set, being 1,000 verdicts:\n- Loss: 1\n",
            "validation",
        ),
        ("It achieves the following results:\n\n```\nlog\n```\n\n- Loss: 1\n", None),
        ("The model achieves the following results on the dev set:\n- **Loss: 1** (2)\n", "validation"),
    ],
)
def test_lead_in_variants(body: str, split: str | None) -> None:
    rows = claims(body)[0]
    assert [(row["metric_name"], row["value"], row["dataset_split"]) for row in rows] == [
        ("Loss", 1.0, split)
    ]


def test_training_numbers_are_no_claims() -> None:
    body = (
        f"This model is a fine-tuned version of [bert](https://huggingface.co/bert) on the glue dataset.\n"
        f"{RESULTS_LINE}\n- Train Loss: 0.1\n- Validation Loss: 0.2\n- Train Binary Accuracy: 0.9\n"
        "- Validation Binary Accuracy: 0.8\n- Epoch: 4\n"
    )
    card = parse_card("m", body, None)
    assert [(row["metric"], row["value"]) for row in card.claims] == [("loss", 0.2), ("accuracy", 0.8)]
    assert {(row["dataset_name"], row["dataset_split"], row["subject"]) for row in card.claims} == {
        ("glue", "validation", "self")
    }


def test_sacrebleu_score_is_bleu_and_its_parts_are_no_claims() -> None:
    body = f"{RESULTS_LINE}\n- Loss: 0.88\n- Score: 52.22\n- Counts: [1, 2]\n- Bp: 0.97\n- Sys Len: 228361\n"
    card = parse_card("m", body, None)
    assert [(row["metric"], row["value"]) for row in card.claims] == [
        ("loss", 0.88),
        ("bleu", 52.22),
        (None, None),
    ]


def test_sacrebleu_parts_named_after_the_metric_are_no_claims() -> None:
    log = (
        "| Epoch | Validation Loss | Bleu-score | Bleu-bp |\n|---|---|---|---|\n| 1.0 | 1.9 | 9.94 | 0.23 |\n"
    )
    assert pairs(claims(log)[0], "trainer-table") == [("Validation Loss", 1.9), ("Bleu-score", 9.94)]


def test_a_loss_named_in_more_words_is_a_loss() -> None:
    # Keras names one output's loss after the output; no alias holds every such name.
    body = f"{RESULTS_LINE}\n- Train Loss: -0.12\n- Validation Pooler Output Loss: -0.13\n- Epoch: 2\n"
    card = parse_card("m", body, None)
    assert [(row["metric_name"], row["metric"]) for row in card.claims] == [
        ("Validation Pooler Output Loss", "loss")
    ]


def test_a_table_of_models_with_their_epochs_is_no_training_log() -> None:
    # Rows are different models, each with the epochs and steps it was trained for: a comparison.
    models = (
        "| | model | acc | batch size | epochs | steps | dropout |\n|---|---|---|---|---|---|---|\n"
        "| [org/t5-base](https://huggingface.co/org/t5-base) | T5 | 0.70 | 128 | 1 | 528481 | 0.1 |\n"
        "| [org/t5-large](https://huggingface.co/org/t5-large) | T5 | 0.76 | 64 | 1 | 1120000 | 0.1 |\n"
    )
    assert claims(models) == ([], [])
    named = (
        "| Model | Epochs | Accuracy |\n|---|---|---|\n| bert-base | 3 | 0.8 |\n| bert-large | 2 | 0.9 |\n"
    )
    assert claims(named) == ([], [])


def test_the_trainer_list_takes_its_log_columns_scale() -> None:
    # A WER just above 1 is a fraction when the log's column shows no percent, though the card's
    # model-index gives the test set's WER in percent, far below it.
    card = (
        "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: automatic-speech-recognition}\n"
        "    dataset: {type: common_voice, name: Common Voice}\n    metrics:\n"
        "    - {type: wer, value: 13.89, name: Test WER}\n---\n"
        f"{RESULTS_LINE}\n- Loss: 0.1461\n- Wer: 1.0063\n\n### Training results\n\n"
        "| Training Loss | Epoch | Step | Validation Loss | Wer |\n|---|---|---|---|---|\n"
        "| 2.953 | 0.15 | 1000 | 2.9528 | 1.0 |\n| 0.7784 | 5.0 | 33000 | 0.1460 | 1.0063 |\n"
    )
    wer = [
        (row["source"], row["value_unit"])
        for row in parse_card("m", card, None).claims
        if row["metric"] == "wer"
    ]
    assert wer == [
        ("model-index", pytest.approx(0.1389)),
        ("trainer-results", pytest.approx(1.0063)),
        ("trainer-table", pytest.approx(1.0063)),
    ]


def test_keras_and_pandas_log_tables() -> None:
    keras = (
        "## Training results\n\n"
        "| Train Loss | Validation Loss | Train Accuracy | Validation Accuracy | Epoch |\n"
        "|:---:|:---:|:---:|:---:|:---:|\n| 0.5 | 0.4 | 0.8 | 0.7 | 0 |\n| 0.3 | 0.35 | 0.9 | 0.75 | 1 |\n"
    )
    assert pairs(claims(keras)[0], "trainer-table") == [
        ("Validation Loss", 0.35),
        ("Validation Accuracy", 0.75),
    ]
    pandas = "| epoch | loss | eval_loss | rouge1 |\n|---|---|---|---|\n| 1 | 2.1 | 1.9 | 30.1 |\n"
    assert pairs(claims(pandas)[0], "trainer-table") == [("eval_loss", 1.9), ("rouge1", 30.1)]


def test_table_takes_the_last_row_and_skips_training_columns() -> None:
    body = (
        "### Training results\n\n"
        + TABLE_HEADER
        + "| No log | 1.0 | 5 | 0.7 | 0.8 |\n| 0.2 | 2.0 | 10 | 0.6 | 0.85 |\n"
        "\nafter\n| 9 | 9 | 9 | 9 | 9 |\n"
    )
    rows, _ = claims(body)
    assert pairs(rows, "trainer-table") == [("Validation Loss", 0.6), ("Accuracy", 0.85)]


@pytest.mark.parametrize(
    "body",
    [
        # the training loss only
        "## Training results\n\n| Loss | Epoch | Step |\n|---|---|---|\n| 1 | 2 | 3 |\n",
        "## Training results\n\n" + TABLE_HEADER.split("\n")[0] + "\n| 0.2 | 2.0 | 10 | 0.6 | 0.85 |\n",
        "## Training results\n\n" + TABLE_HEADER + "| 0.2 | 2.0 | 10 | 0.6 |\n",  # ragged last row
        "## Training results\n\n" + TABLE_HEADER,  # no rows
    ],
)
def test_table_outside_the_trainer_structure_gives_nothing(body: str) -> None:
    assert claims(body) == ([], [])


def test_rows_are_capped() -> None:
    body = RESULTS_LINE + "\n" + "".join(f"- M{i}: {i}\n" for i in range(MAX_ROWS + 5))
    rows, problems = claims(body)
    assert len(rows) == MAX_ROWS and problems == ["body_claims_capped"]
    card = parse_card("m", body, None)
    assert "body_claims_capped" in card.problems and len(card.claims) == MAX_ROWS


def test_hostile_lines_are_bounded() -> None:
    long = "|" + " -" * 50_000 + "x"
    header = "## Training results\n\n| Training Loss | Epoch | Step |\n"
    body = f"{header}{long}\n{RESULTS_LINE}\n- {'a' * 10**5}: 1\n"
    assert claims(body) == ([], [])


BODY_TOKENS = [
    RESULTS_LINE,
    "\n",
    "- ",
    ": ",
    "|",
    " Training Loss ",
    " Epoch ",
    " Step ",
    ":-",
    "-",
    "0.5",
    "%",
]
BODY_TOKENS += ["x", "### Training results\n", "```\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(BODY_TOKENS), max_size=60).map("".join))
def test_body_claims_never_raise(body: str) -> None:
    rows, problems = claims(body)
    assert len(rows) <= MAX_ROWS and set(problems) <= {"body_claims_capped"}
    normalise_claims(rows)
    table_from_rows("claims", rows)


@pytest.mark.parametrize(
    ("names", "metric"),
    [
        (("accuracy",), "accuracy"),
        ((None, "Top-1 Accuracy"), "accuracy"),
        (("acc",), "accuracy"),
        (("top1",), "accuracy"),
        (("eval_f1",), "f1"),
        (("f1", "F1 (macro)"), "f1"),
        (("macro-f1",), "f1_macro"),
        (("F1 Micro",), "f1_micro"),
        (("weighted_f1",), "f1_weighted"),
        (("Rougel",), "rougeL"),
        (("rougeLsum",), "rougeLsum"),
        (("Validation Loss",), "loss"),
        (("exact_match",), "exact_match"),
        (("mAP",), "map"),
        (("Matthews Correlation",), None),
        (("TAG_ACC",), "accuracy"),  # spaCy's component scores
        (("ENTS_F",), "f1"),
        (("MORPH_MICRO_F",), "f1_micro"),
        (("DEP_UAS",), None),
        (("SPEED_ACC",), None),
        (("x" * 1000,), None),
        ((5, None), None),
    ],
)
def test_metric_ids(names: tuple[Any, ...], metric: str | None) -> None:
    assert metric_id(*names) == metric


def claim(
    name: str, value: float | None, percent: bool = False, source: str = "model-index"
) -> dict[str, Any]:
    return {"source": source, "metric_type": name, "metric_name": None, "value": value, "is_percent": percent}


def units(*rows: dict[str, Any]) -> list[float | None]:
    normalise_claims(list(rows))
    return [row["value_unit"] for row in rows]


def test_value_units() -> None:
    assert (
        units(claim("accuracy", 85.3), claim("accuracy", 85.3, True), claim("accuracy", 0.853))
        == [pytest.approx(0.853)] * 3
    )
    assert units(claim("loss", 0.4), claim("perplexity", 12.0), claim("gen_len", 0.5)) == [None] * 3
    assert units(claim("accuracy", 185.0), claim("accuracy", -1.0), claim("accuracy", None)) == [None] * 3
    # WER may pass 1 as a fraction and 0.9 may be 0.9%: a bare error rate up to 2 takes its group's
    # scale; alone, one up to 1 is a fraction and one above is null; one above 2 is in percent.
    assert units(claim("wer", 0.25), claim("wer", 1.05)) == [0.25, None]
    assert units(claim("wer", 25.0), claim("cer", 8.0)) == pytest.approx([0.25, 0.08])
    assert units(claim("wer", 12.5), claim("cer", 0.9)) == pytest.approx([0.125, 0.009])
    assert units(claim("wer", 25.0), claim("accuracy", 91.0)) == [0.25, 0.91]
    assert units(claim("cer", 0.8), claim("accuracy", 91.0)) == [pytest.approx(0.008), 0.91]
    assert units(claim("wer", 1.2), claim("accuracy", 0.9)) == [1.2, 0.9]
    assert units(claim("wer", 1.2), claim("accuracy", 0.9, source="trainer-results")) == [None, 0.9]
    assert units(claim("wer", 1.2), claim("cer", 0.4), claim("accuracy", 90.0)) == pytest.approx(
        [0.012, 0.004, 0.9]
    )
    assert units(claim("wer", 23.0), claim("cer", 5.0, True)) == [0.23, 0.05]
