"""Performance claims from a card's `model-index` metadata, one row per metric (schemas/claims.json).

Shape expected (the Hub's model-index spec): a list of entries `{name, results: [{task: {type,
name}, dataset: {type, name, config, split}, metrics: [{type, name, value, verified}]}]}`.

Reading never raises. Where a container has the wrong type, a problem code is recorded: a
mapping where a list belongs is read as a one-item list (its rows are kept, but do not count);
any other wrong value is skipped. A row `counts` when it meets `has_eval_claims` exactly (see
docs/definitions.md):

- it comes from the `model-index` key, through containers of the right types;
- the metric has a non-empty `type` (a scalar with non-blank text) and a numeric `value`: a
  finite number, or a string that is one number with an optional `%` and surrounding spaces
  (`"85.3"`, `"85.3%"`, `" 0.9 "`, `"1e-3"`); `85.3%` gives 85.3 with `is_percent`;
- its result's `task.type` is non-empty, and its `dataset` has a non-empty `type` or `name`.

`not_counted` names the first rule a row fails. The legacy `model_index` spelling (whose results
may name one metric under a singular `metric:` key) is read into rows with problem
`legacy_model_index`, and they never count: the Hub and huggingface_hub only read
`model-index`, so such a card shows no results on the Hub.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

KEYS = ("model-index", "model_index")
# Unambiguous, so matching is linear; the text is also cut before it: no number is that long.
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
MAX_NUMBER_CHARS = 100
MAX_ROWS = 1000  # model-index rows read from one card; beyond them `model_index_capped`


def parse_value(value: Any) -> tuple[float | None, bool]:
    """(number, is_percent) for a metric value; number None when the value is not numeric."""
    number: float | None = None
    percent = False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            return None, False
    elif isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        if percent:
            text = text[:-1].rstrip()
        if len(text) <= MAX_NUMBER_CHARS and _NUMBER.fullmatch(text):
            number = float(text)
    if number is None or not math.isfinite(number):
        return None, False
    return number, percent


def to_json(value: Any) -> str:
    """JSON text of a loaded YAML/JSON value; never raises.

    NaN and infinities become null, keys that are not strings their JSON text, and a value nested
    too deep for Python's encoder null.
    """
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):
        pass
    except RecursionError:
        return "null"
    try:
        return json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False, default=str)
    except RecursionError:
        return "null"


def raw_value(value: Any) -> str:
    """A claimed value as written, for `value_raw`: JSON text, but NaN and infinities as `NaN`,
    `Infinity`, `-Infinity` (which `to_json` makes null), so a check can still tell them."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    return to_json(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else to_json(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return to_json(value)


def _filled(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and bool(str(value).strip())


def _items(value: Any, name: str, problems: list[str]) -> tuple[list[Any], bool]:
    """The items of a list field and whether it had the right type; a mapping is one item."""
    if isinstance(value, list):
        return value, True
    problems.append(f"{name}_missing" if value is None else f"{name}_wrong_type")
    return ([value] if isinstance(value, Mapping) else []), False


def _field(container: Any, name: str, problems: list[str]) -> Mapping[str, Any]:
    value = container.get(name)
    if isinstance(value, Mapping):
        return value
    if value is not None:
        problems.append(f"{name}_wrong_type")
    return {}


def extract_claims(model_id: str, metadata: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(claim rows, problem codes) from the model-index of `metadata`."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for key in KEYS:
        if key not in metadata:
            continue
        legacy = key != KEYS[0]
        if legacy:
            problems.append("legacy_model_index")
        index = metadata[key]
        if index is None or index == []:
            problems.append("model_index_empty")
            continue
        entries, entries_ok = _items(index, "model_index", problems)
        for entry in entries:
            if not isinstance(entry, Mapping):
                problems.append("model_index_entry_wrong_type")
                continue
            results, results_ok = _items(entry.get("results"), "results", problems)
            for result in results:
                if not isinstance(result, Mapping):
                    problems.append("result_wrong_type")
                    continue
                task = _field(result, "task", problems)
                dataset = _field(result, "dataset", problems)
                found = result.get("metrics")
                if legacy and found is None:  # the legacy form names one metric, under `metric`
                    found = (
                        [result["metric"]]
                        if isinstance(result.get("metric"), Mapping)
                        else result.get("metric")
                    )
                metrics, metrics_ok = _items(found, "metrics", problems)
                base = {
                    "model_id": model_id,
                    "source": "model-index",
                    "index_key": key,
                    "model_name": _text(entry.get("name")),
                    "task_type": _text(task.get("type")),
                    "task_name": _text(task.get("name")),
                    "dataset_type": _text(dataset.get("type")),
                    "dataset_name": _text(dataset.get("name")),
                    "dataset_config": _text(dataset.get("config")),
                    "dataset_split": _text(dataset.get("split")),
                }
                if legacy:
                    structural = "legacy_model_index"
                elif not (entries_ok and results_ok and metrics_ok):
                    structural = "wrong_type"
                else:
                    structural = None
                for metric in metrics:
                    if len(rows) == MAX_ROWS:
                        return rows, [*problems, "model_index_capped"]
                    if not isinstance(metric, Mapping):
                        problems.append("metric_wrong_type")
                        continue
                    value, percent = parse_value(metric.get("value"))
                    reason = structural or _first_failure(
                        ("metric_type_missing", _filled(metric.get("type"))),
                        ("value_not_numeric", value is not None),
                        ("task_type_missing", _filled(task.get("type"))),
                        ("dataset_missing", _filled(dataset.get("type")) or _filled(dataset.get("name"))),
                    )
                    rows.append(
                        base
                        | {
                            "metric_type": _text(metric.get("type")),
                            "metric_name": _text(metric.get("name")),
                            "value": value,
                            "value_raw": raw_value(metric["value"]) if "value" in metric else None,
                            "is_percent": percent,
                            "verified": metric.get("verified") is True,
                            "counts": reason is None,
                            "not_counted": reason,
                        }
                    )
    return rows, problems


def _first_failure(*checks: tuple[str, bool]) -> str | None:
    return next((reason for reason, passed in checks if not passed), None)
