"""Claims from a model's `.eval_results/*.yaml` files (`eval_results.parquet`), as `claims.parquet` rows.

Each file is a YAML list of results: `{dataset: {id, task_id}, value, date, source: {url, name,
user}, notes, verifyToken}`. A result becomes one claim with `source` `eval-results`:
`dataset_name` and `dataset_id` the dataset's id (`dataset_id` only when it is a valid Hub name),
`task_type` its `task_id`, `verified` a non-empty `verifyToken`, `metric_type`/`metric_name` only
when the result names a metric (`metric`, `metric_name`). These claims are not model-index claims,
so none counts towards `has_eval_claims` (`not_counted` is `not_model_index`).

Files come from the Hub: YAML is read with the card's safe loader, and anything of the wrong type
is skipped with a problem code (`eval_results_<what>`), never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.cards.claims import parse_value, raw_value
from pipeline.cards.errors import CardError
from pipeline.cards.metrics import normalise_claims
from pipeline.cards.subject import SELF
from pipeline.cards.yaml_safe import load_yaml
from pipeline.hub.ids import InvalidHubName, repo_path

SOURCE = "eval-results"
MAX_TEXT = 1000  # longer strings from a result are cut: they name something, they are no prose
MAX_ROWS = 1000  # results read from one file; beyond them `eval_results_capped`


def _text(value: Any) -> str | None:
    """A scalar as text (numbers and dates as written); None for nothing, lists and mappings."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, Mapping)):
        return None
    text = str(value).strip()
    return text[:MAX_TEXT] or None


def _mapping(entry: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any]:
    value = entry.get(key)
    if isinstance(value, Mapping):
        return value
    problems.append(f"eval_results_{key}_missing" if value is None else f"eval_results_{key}_wrong_type")
    return {}


def hub_dataset_id(value: Any) -> str | None:
    """`value` when it is a valid Hub repository name, else None."""
    if not isinstance(value, str):
        return None
    try:
        repo_path(value)
    except InvalidHubName:
        return None
    return value


def _claim(model_id: str, entry: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    dataset = _mapping(entry, "dataset", problems)
    source = entry.get("source") if isinstance(entry.get("source"), Mapping) else {}
    value, percent = parse_value(entry.get("value"))
    if value is None:
        problems.append("eval_results_value_not_numeric")
    token = entry.get("verifyToken")
    return {
        "model_id": model_id,
        "source": SOURCE,
        "task_type": _text(dataset.get("task_id")),
        "dataset_name": _text(dataset.get("id")),
        "metric_type": _text(entry.get("metric")),
        "metric_name": _text(entry.get("metric_name")),
        "value": value,
        "value_raw": raw_value(entry["value"]) if "value" in entry else None,
        "is_percent": percent,
        "verified": isinstance(token, str) and bool(token.strip()),
        "counts": False,
        "not_counted": "not_model_index",
        "source_name": _text(source.get("name")) or _text(source.get("user")),
        "source_url": _text(source.get("url")),
        "claim_date": _text(entry.get("date")),
        "subject": SELF,  # the repository's own results file
    }


def eval_result_claims(model_id: str, text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(claim rows, problem codes) of one eval-results file's text."""
    try:
        data = load_yaml(text)
    except CardError as exc:
        return [], [f"eval_results_{exc.code}"]
    if not isinstance(data, list):
        return [], ["eval_results_empty" if data is None else "eval_results_not_a_list"]
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    if len(data) > MAX_ROWS:
        data = data[:MAX_ROWS]
        problems.append("eval_results_capped")
    for entry in data:
        if isinstance(entry, Mapping):
            rows.append(_claim(model_id, entry, problems))
        else:
            problems.append("eval_results_entry_wrong_type")
    normalise_claims(rows)
    # The file names a Hub dataset itself: keep a namespaced id as it is; a legacy one-part id (`imagenet`)
    # keeps what the resolver made of it (`ILSVRC/imagenet-1k`).
    for row, entry in zip(rows, (e for e in data if isinstance(e, Mapping)), strict=True):
        dataset = entry.get("dataset")
        named = hub_dataset_id(dataset.get("id")) if isinstance(dataset, Mapping) else None
        if named is not None and "/" in named:
            row["dataset_id"] = named
    return rows, problems
