"""Canonical metric ids and values on a 0–1 scale for claim rows (docs/definitions.md, "Claims").

`metric` maps a metric's type or name (`Top-1 Accuracy`, `eval_f1`, `Rougel`) to one id of
`METRICS`, or None. `value_unit` puts the parsed value on the 0–1 scale where the metric has one, on the scale
`card_scales` decides from all of the card's evidence; `value` and `value_raw` keep the number as
written.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pipeline.cards.dataset_ids import resolve_dataset_ids

_ALIASES: dict[str, tuple[str, ...]] = {
    "accuracy": (
        "accuracy",
        "acc",
        "binary accuracy",
        "categorical accuracy",
        "sparse categorical accuracy",
        "top 1",
        "top1",
        "top 1 accuracy",
        "top1 accuracy",
        "top 1 acc",
        "acc@1",
    ),
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
    "rouge1": ("rouge1", "rouge 1", "rogue1", "rogue 1"),
    "rouge2": ("rouge2", "rouge 2", "rogue2", "rogue 2"),
    "rougeL": ("rougel", "rouge l", "rogue l", "roguel"),
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
# spaCy's scores, one per pipeline component (`TAG_ACC`, `SENTS_F`, `MORPH_MICRO_P`): the component,
# then the score. The attachment scores (`DEP_UAS`, `DEP_LAS`) have no canonical id.
SPACY_COMPONENTS = frozenset({"token", "tag", "pos", "morph", "lemma", "sents", "ents"})
SPACY_SCORES = {"acc": "accuracy", "p": "precision", "r": "recall", "f": "f1"}
SPACY_SCORES |= {"micro p": "precision", "micro r": "recall", "micro f": "f1_micro"}

_SEPARATORS = re.compile(r"[\s_\-()\[\]:/.]+")
_PREFIX = re.compile(r"^(?:eval|test|validation|val|dev) (?=.)")


def metric_id(*names: Any) -> str | None:
    """The canonical id of the first of `names` (a metric's type, then its name) that has one."""
    for name in names:
        if not isinstance(name, str) or len(name) > NAME_CHARS:
            continue
        found = _metric_of(name)
        if found:
            return found
    return None


@lru_cache(maxsize=8192)  # cards repeat their metric names (Loss, Accuracy) card after card
def _metric_of(name: str) -> str | None:
    key = _SEPARATORS.sub(" ", name.lower()).strip()
    return METRICS.get(key) or METRICS.get(_PREFIX.sub("", key)) or _spacy_score(key)[0]


def spacy_component(name: str) -> str | None:
    """The pipeline component a spaCy score name is of ("tag" for `TAG_ACC`), else None."""
    return _spacy_score(_SEPARATORS.sub(" ", name.lower()[:NAME_CHARS]).strip())[1]


def _spacy_score(key: str) -> tuple[str | None, str | None]:
    """(metric, component) of a spaCy score name with separators made spaces ("tag acc"), else Nones."""
    component, _, score = key.partition(" ")
    metric = SPACY_SCORES.get(score)
    return (metric, component) if metric and component in SPACY_COMPONENTS else (None, None)


PERCENT, FRACTION = "percent", "fraction"
# Sources whose rows come from different writers and datasets: a number there is put on the scale
# nearest its group's other numbers of its metric; in any other group (one table, one list, the
# Trainer's list with its log) a metric has one scale, and a percent number makes its column percent.
MIXED_GROUPS = frozenset({"model-index", "eval-results"})
# The Trainer's list and log table: its metrics (`evaluate`'s WER and CER among them) are fractions
# unless its numbers say otherwise, so a WER of 1.3 there is a fraction above 1.
TRAINER_GROUP = "trainer"
MAX_REFERENCES = 20  # claims of one metric a scale is compared with: a card stays linear
ERROR_RATE_PERCENT_ABOVE = 2.0  # a bare WER or CER above it is in percent: a fraction that high is no result


def _own_scale(metric: str | None, value: float | None, percent: bool) -> str | None:
    """The scale one number shows by itself: a `%` sign, or a value its metric cannot take as a fraction."""
    if metric is None or metric in UNSCALED or value is None or value < 0:
        return None
    if percent:
        return PERCENT
    limit = ERROR_RATE_PERCENT_ABOVE if metric in MAY_PASS_ONE else 1.0
    return PERCENT if value > limit else None


def _unit_on(value: float, scale: str) -> float:
    return value / 100 if scale == PERCENT else value


def _nearest(value: float, references: list[float]) -> str:
    """The scale that puts `value` nearest to the card's other claims of its metric."""
    as_fraction = min(abs(value - reference) for reference in references)
    as_percent = min(abs(value / 100 - reference) for reference in references)
    return PERCENT if as_percent < as_fraction else FRACTION


def _group(row: dict[str, Any]) -> Any:
    return row.get("_group") or row["source"]


def card_scales(rows: list[dict[str, Any]]) -> list[str | None]:
    """Each row's scale, decided from all of a card's evidence (docs/definitions.md, "Scale of a claim").

    A number's own evidence decides first: a `%` sign, or a value above 1 (above 2 for an error rate,
    which may pass 1 as a fraction). A log table's last row takes its column's scale (percent when
    an earlier row shows it, else fraction), and so does the number of that metric in the Trainer's list
    above the log. Any other number takes, in order: percent when its group (one
    table, one list, the Trainer's list with its log table and the log column's earlier rows) has a
    self-evident number of its metric, or in the model-index and eval-results (`MIXED_GROUPS`) the
    scale that puts it nearest those numbers; for an error rate, the scale
    of its group's other numbers (a bounded metric below 1 says fraction); the nearest of the same
    metric's self-evident numbers elsewhere in the card; else a fraction when it is at most 1 or in
    the Trainer's group, and no scale otherwise.
    """
    own = [_own_scale(row["metric"], row["value"], row["is_percent"]) for row in rows]
    references: dict[str, list[tuple[Any, float]]] = {}  # self-evident units per metric, a few each
    group_scales: dict[Any, set[str]] = {}
    column_scales: dict[tuple[Any, str], str] = {}  # a log column's scale, for its group's list
    for row, scale in zip(rows, own, strict=True):
        group, metric, value = _group(row), row["metric"], row["value"]
        found = references.setdefault(metric, [])
        column_evidence = [
            (cell, cell_scale)
            for cell, percent in (row.get("_column") or ())
            if (cell_scale := _own_scale(metric, cell, percent))
        ]
        if row.get("_column") is not None and metric is not None:
            column_scales[group, metric] = PERCENT if column_evidence else FRACTION
        evidence = [(value, scale), *column_evidence]
        for number, number_scale in evidence:
            if number_scale and len(found) < MAX_REFERENCES:
                found.append((group, _unit_on(number, number_scale)))
            if number_scale and metric is not None:
                group_scales.setdefault(group, set()).add(number_scale)
        bare_fraction = scale is None and value is not None and 0 < value < 1
        if metric is not None and metric not in UNSCALED | MAY_PASS_ONE and bare_fraction:
            group_scales.setdefault(group, set()).add(FRACTION)
    scales: list[str | None] = []
    for row, scale in zip(rows, own, strict=True):
        metric, value = row["metric"], row["value"]
        if (
            scale is None
            and metric is not None
            and metric not in UNSCALED
            and value is not None
            and value >= 0
        ):
            group = _group(row)
            near = [unit for found_group, unit in references.get(metric, ()) if found_group == group]
            far = [unit for found_group, unit in references.get(metric, ()) if found_group != group]
            found = group_scales.get(group, set()) if metric in MAY_PASS_ONE else set()
            column = row.get("_column")
            if column is not None:  # a log column is its own evidence: its rows share one scale
                percent = any(_own_scale(metric, cell, marked) for cell, marked in column)
                scale = PERCENT if percent else FRACTION
            elif (group, metric) in column_scales:  # the Trainer's list: as its log's column
                scale = column_scales[group, metric]
            elif near and row["source"] in MIXED_GROUPS:
                scale = _nearest(value, near)
            elif near:  # every self-evident number is a percent one
                scale = PERCENT
            elif len(found) == 1:
                scale = next(iter(found))
            elif far:
                scale = _nearest(value, far)
            elif value <= 1 or group == TRAINER_GROUP:
                scale = FRACTION
        scales.append(scale)
    return scales


def _unit(row: dict[str, Any], scale: str | None) -> float | None:
    metric, value = row["metric"], row["value"]
    if scale is None or metric is None or metric in UNSCALED or value is None or value < 0:
        return None
    unit = _unit_on(value, scale)
    return unit if unit <= 1 or metric in MAY_PASS_ONE else None


def normalise_claims(rows: list[dict[str, Any]]) -> None:
    """Add `metric`, `value_unit` and `dataset_id` (`dataset_ids.py`) to one card's claim rows, and
    drop the private keys the extractors left for this step (`_claim`, `_column`)."""
    for row in rows:
        row["metric"] = metric_id(row["metric_type"], row["metric_name"])
    for row, scale in zip(rows, card_scales(rows), strict=True):
        row["value_unit"] = _unit(row, scale)
        row.pop("_claim", None)
        row.pop("_column", None)
    resolve_dataset_ids(rows)
