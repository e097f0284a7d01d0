from __future__ import annotations

from typing import Any

import pytest

from pipeline.cards.claims import MAX_ROWS, extract_claims, parse_value, to_json


def result(metrics: Any, task: Any = None, dataset: Any = None) -> dict[str, Any]:
    return {
        "task": {"type": "text-classification", "name": "Text Classification"} if task is None else task,
        "dataset": {"type": "glue", "name": "GLUE SST2", "config": "sst2", "split": "validation"}
        if dataset is None
        else dataset,
        "metrics": metrics,
    }


def index(*results: Any, key: str = "model-index") -> dict[str, Any]:
    return {key: [{"name": "m", "results": list(results)}]}


@pytest.mark.parametrize(
    ("raw", "value", "percent"),
    [
        (0.9, 0.9, False),
        (85, 85.0, False),
        ("85.3", 85.3, False),
        ("85.3%", 85.3, True),
        (" 0.9 ", 0.9, False),
        ("1e-3", 0.001, False),
        ("85.3 %", 85.3, True),
        ("+.5", 0.5, False),
        ("85.3 ± 0.2", None, False),
        ("N/A", None, False),
        (True, None, False),
        (float("nan"), None, False),
        ("inf", None, False),
        ([1], None, False),
        (None, None, False),
        (10**400, None, False),
    ],
)
def test_parse_value(raw: Any, value: float | None, percent: bool) -> None:
    assert parse_value(raw) == (value, percent)


def test_well_formed_claims() -> None:
    rows, problems = extract_claims(
        "org/m",
        index(
            result(
                [
                    {"type": "accuracy", "value": "91.2%", "name": "Accuracy", "verified": True},
                    {"type": "f1", "value": 0.9},
                ]
            )
        ),
    )
    assert problems == []
    assert [row["counts"] for row in rows] == [True, True]
    first = rows[0]
    assert first == {
        "model_id": "org/m",
        "source": "model-index",
        "index_key": "model-index",
        "model_name": "m",
        "task_type": "text-classification",
        "task_name": "Text Classification",
        "dataset_type": "glue",
        "dataset_name": "GLUE SST2",
        "dataset_config": "sst2",
        "dataset_split": "validation",
        "metric_type": "accuracy",
        "metric_name": "Accuracy",
        "value": 91.2,
        "value_raw": '"91.2%"',
        "is_percent": True,
        "verified": True,
        "counts": True,
        "not_counted": None,
    }
    assert rows[1]["verified"] is False


@pytest.mark.parametrize(
    ("res", "reason"),
    [
        (result([{"value": 1}]), "metric_type_missing"),
        (result([{"type": " ", "value": 1}]), "metric_type_missing"),
        (result([{"type": "acc", "value": "high"}]), "value_not_numeric"),
        (result([{"type": "acc"}]), "value_not_numeric"),
        (result([{"type": "acc", "value": 1}], task={"name": "x"}), "task_type_missing"),
        (result([{"type": "acc", "value": 1}], dataset={"config": "x"}), "dataset_missing"),
        (result([{"type": "acc", "value": 1}], dataset={"name": "only a name"}), None),
        (result([{"type": "acc", "value": 1}], dataset={"type": "only-a-type"}), None),
    ],
)
def test_counting_rules(res: dict[str, Any], reason: str | None) -> None:
    rows, _ = extract_claims("m", index(res))
    assert rows[0]["not_counted"] == reason
    assert rows[0]["counts"] is (reason is None)


@pytest.mark.parametrize(
    ("metadata", "problem", "n_rows"),
    [
        (
            {"model-index": {"name": "m", "results": [result([{"type": "a", "value": 1}])]}},
            "model_index_wrong_type",
            1,
        ),
        ({"model-index": "text"}, "model_index_wrong_type", 0),
        ({"model-index": ["text"]}, "model_index_entry_wrong_type", 0),
        ({"model-index": [{"name": "m", "results": "text"}]}, "results_wrong_type", 0),
        ({"model-index": [{"name": "m"}]}, "results_missing", 0),
        ({"model-index": [{"name": "m", "results": [[1]]}]}, "result_wrong_type", 0),
        (index(result(None)), "metrics_missing", 0),
        (index(result({"type": "a", "value": 1})), "metrics_wrong_type", 1),
        (index(result(["text", None])), "metric_wrong_type", 0),
        (index(result([{"type": "a", "value": 1}], task="text")), "task_wrong_type", 1),
        (index(result([{"type": "a", "value": 1}], dataset=["x"])), "dataset_wrong_type", 1),
        ({"model-index": None}, "model_index_empty", 0),
        ({"model-index": []}, "model_index_empty", 0),
    ],
)
def test_wrong_types_never_raise_and_never_count(metadata: dict[str, Any], problem: str, n_rows: int) -> None:
    rows, problems = extract_claims("m", metadata)
    assert problem in problems
    assert len(rows) == n_rows
    assert not any(row["counts"] for row in rows)


def test_legacy_model_index_is_read_but_never_counts() -> None:
    rows, problems = extract_claims("m", index(result([{"type": "acc", "value": 1}]), key="model_index"))
    assert problems == ["legacy_model_index"]
    assert rows[0]["index_key"] == "model_index"
    assert rows[0]["counts"] is False
    assert rows[0]["not_counted"] == "legacy_model_index"


def test_odd_scalars_become_text() -> None:
    rows, _ = extract_claims(
        "m",
        index(result([{"type": 1, "value": [0.5], "name": {"a": 1}}], dataset={"type": "d", "split": 2020})),
    )
    assert rows[0]["metric_type"] == "1"
    assert rows[0]["metric_name"] == '{"a": 1}'
    assert rows[0]["dataset_split"] == "2020"
    assert rows[0]["value_raw"] == "[0.5]"
    assert rows[0]["not_counted"] == "value_not_numeric"


def test_nan_and_infinity_keep_their_text_for_the_impossible_value_check() -> None:
    import yaml

    values = yaml.safe_load("[.nan, .inf, -.inf]")  # what a card's YAML front matter loads them as
    rows, _ = extract_claims("m", index(result([{"type": "f1", "value": value} for value in values])))
    assert [row["value_raw"] for row in rows] == ["NaN", "Infinity", "-Infinity"]


def test_to_json_never_raises() -> None:
    assert (
        to_json({"a": float("nan"), 1: [float("inf")], None: True})
        == '{"a": null, "1": [null], "null": true}'
    )
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert to_json(deep) == "null"


def test_model_index_rows_are_capped_with_the_cut_recorded() -> None:
    metrics = [{"type": "accuracy", "value": i} for i in range(MAX_ROWS + 10)]
    rows, problems = extract_claims("org/m", index(result(metrics)))
    assert len(rows) == MAX_ROWS and problems == ["model_index_capped"]
