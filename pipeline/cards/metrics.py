"""Canonical metric ids and values on a 0–1 scale for claim rows (docs/definitions.md, "Claims").

`metric` maps a metric's type or name (`Top-1 Accuracy`, `eval_f1`, `Rougel`) to one id of
`METRICS`, or None. `value_unit` puts the parsed value on the 0–1 scale where the metric has one:
a `%` value is divided by 100; a bare number by 100 when it is above 1 for a metric that cannot
pass 1 as a fraction; WER and CER (which can) take the scale of the claim's siblings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pipeline.cards.dataset_ids import resolve_dataset_ids

_ALIASES: dict[str, tuple[str, ...]] = {
    "accuracy": ("accuracy", "acc", "top 1", "top1", "top 1 accuracy", "top1 accuracy", "top 1 acc", "acc@1"),
    "f1": ("f1", "f1 score", "f score", "f1score"),
    "f1_macro": (
        "f1 macro",
        "macro f1",
        "macro f1 score",
        "f1 score macro",
        "f1 macro score",
        "macro avg f1",
    ),
    "f1_micro": (
        "f1 micro",
        "micro f1",
        "micro f1 score",
        "f1 score micro",
        "f1 micro score",
        "micro avg f1",
    ),
    "f1_weighted": (
        "f1 weighted",
        "weighted f1",
        "weighted f1 score",
        "f1 score weighted",
        "f1 weighted score",
        "weighted avg f1",
    ),
    "precision": ("precision", "prec"),
    "recall": ("recall",),
    "wer": ("wer", "word error rate"),
    "cer": ("cer", "character error rate", "char error rate"),
    "bleu": ("bleu", "sacrebleu", "bleu score"),
    "rouge1": ("rouge1", "rouge 1"),
    "rouge2": ("rouge2", "rouge 2"),
    "rougeL": ("rougel", "rouge l"),
    "rougeLsum": ("rougelsum", "rouge lsum", "rougel sum"),
    "exact_match": ("exact match", "exact", "em"),
    "map": ("map", "mean average precision"),
    "perplexity": ("perplexity", "ppl"),
    "loss": ("loss", "validation loss", "val loss"),
}
METRICS: dict[str, str] = {alias: metric for metric, aliases in _ALIASES.items() for alias in aliases}
UNSCALED = frozenset({"perplexity", "loss"})  # no 0–1 scale: value_unit stays null
MAY_PASS_ONE = frozenset({"wer", "cer"})  # error rates: a fraction above 1 is possible
NAME_CHARS = 100  # longer names are no metric name

_SEPARATORS = re.compile(r"[\s_\-()\[\]:/.]+")
_PREFIX = re.compile(r"^(?:eval|test|validation|val|dev) (?=.)")


def metric_id(*names: Any) -> str | None:
    """The canonical id of the first of `names` (a metric's type, then its name) that has one."""
    for name in names:
        if not isinstance(name, str) or len(name) > NAME_CHARS:
            continue
        key = _SEPARATORS.sub(" ", name.lower()).strip()
        found = METRICS.get(key) or METRICS.get(_PREFIX.sub("", key))
        if found:
            return found
    return None


def _scale(siblings: Iterable[dict[str, Any]]) -> str | None:
    """`percent` or `fraction` as the scaled siblings agree on it; None when they say nothing or differ."""
    seen: set[str] = set()
    for row in siblings:
        metric, value = row["metric"], row["value"]
        if metric is None or metric in UNSCALED or value is None or value <= 0:
            continue
        if row["is_percent"]:
            seen.add("percent")
        elif metric in MAY_PASS_ONE:
            continue  # a bare error rate fits either scale: 0.9 may be 0.9% and 12.5 a fraction over 1
        elif value > 1:
            seen.add("percent")
        elif value < 1:
            seen.add("fraction")
    return seen.pop() if len(seen) == 1 else None


def _unit(row: dict[str, Any], scale: str | None) -> float | None:
    metric, value = row["metric"], row["value"]
    if metric is None or metric in UNSCALED or value is None or value < 0:
        return None
    if row["is_percent"]:
        return value / 100
    if metric in MAY_PASS_ONE:
        # An error rate takes its siblings' scale; alone, one up to 1 is read as a fraction.
        if scale is None:
            return value if value <= 1 else None
        return value / 100 if scale == "percent" else value
    if value <= 1:
        return value
    return value / 100 if value <= 100 else None


def normalise_claims(rows: list[dict[str, Any]]) -> None:
    """Add `metric`, `value_unit` and `dataset_id` (`dataset_ids.py`) to one card's claim rows.

    Siblings are rows of the same source. A row that needs its siblings' scale (bare WER/CER above
    1) gives no evidence of its own, so the scale is read once per source over all of its rows.
    """
    for row in rows:
        row["metric"] = metric_id(row["metric_type"], row["metric_name"])
    scales = {
        source: _scale(row for row in rows if row["source"] == source)
        for source in {r["source"] for r in rows}
    }
    for row in rows:
        row["value_unit"] = _unit(row, scales[row["source"]])
    resolve_dataset_ids(rows)
