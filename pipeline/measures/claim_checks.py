"""Checks on performance claims that need no model run: `findings/claim_checks.parquet`, one row per
finding (docs/definitions.md, "Claim checks").

A claim's key is (dataset, split, metric): the dataset is `dataset_id`, else `dataset_type`, else
`dataset_name`; the split `dataset_split`; the metric the canonical id, else the metric's type or
name. Each is trimmed and compared in lower case; a missing one matches only another missing one. Two
claims of one key naming different configs (glue's cola and sst2) are not compared; one without a
config is compared with any.
Only claims with a numeric value are checked, except by impossible_value, which also reads the value
as written.

Only claims about the card's own model are checked (`subject` self, or null in an older table).

- cross_source_disagreement: one card claims a key unverified in two sources, and no value of the one
  agrees with a value of the other, and no ordinary cause explains it; the closest pair is recorded.
  The Trainer's results list (and the model-index it wrote from the same evaluation) against its
  log table has three ordinary causes, each its own labelled status (claims `list_vs_table`):
  trainer_best_checkpoint (the list equals an earlier row: the checkpoint kept at the end was the
  best, not the last), trainer_table_ends_early (the table stops
  before the epochs or steps trained, so the list's final evaluation is not in it) and
  masked_lm_variance (a masked-language model's numbers within `results.MASKED_LM_TOLERANCE`:
  random masking changes them between evaluation passes; a fill-mask model by its card's metadata,
  or by its Hub pipeline tag in models.parquet).
- self_vs_verified: one card claims a key unverified and in a `verified: true` row; each unverified
  claim is compared with the closest verified value, a finding where they do not agree.
- inherited_from_base: a model's claim set (its distinct (dataset, config, split, metric, value)
  tuples) is non-empty and equal to that of a base it declares as finetune or quantized.
- template_claims: a non-empty claim set shared by at least `TEMPLATE_MODELS` models of at least
  `TEMPLATE_AUTHORS` authors, counting only models with no lineage link to another model of the set
  (an edge between them, or a base they both declare).
- impossible_value: a bounded metric above 100 (value_unit above 1) or below 0; an error rate, loss or
  perplexity below 0; NaN or infinity written as the value.
- unverifiable: evaluated on a training split (the split contains `train`), or without dataset or split.

Two values agree when the finer one, rounded or truncated to the decimals of the coarser one, is the
coarser one (85.3% and 0.8534 agree, 0.85 and 0.86 do not). Values are compared on the 0-1 scale when
both have value_unit, as written when neither has one; a pair with one only is not compared (a bare
WER of 25 beside 0.25 may be either).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.cards.results import MASKED_LM_TOLERANCE
from pipeline.cards.subject import SELF
from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Section, Share, share
from pipeline.schemas import load_schema, table_from_rows
from pipeline.store.damage import open_parquet, table_remedy
from pipeline.store.layout import Snapshot
from pipeline.store.tables import load_json, read_table, write_finding

# Each check and what a finding of it means, in the report's words.
CHECKS = {
    "cross_source_disagreement": "two sources of one card give different values",
    "self_vs_verified": "the author's value differs from the verified one",
    "inherited_from_base": "the same claims as the declared base model",
    "template_claims": "the same claims on unrelated models of several authors",
    "impossible_value": "a value its metric cannot take",
    "unverifiable": "evaluated on a training split, or without dataset or split",
    "trainer_best_checkpoint": "the Trainer's list is an earlier row of its table (the best checkpoint)",
    "trainer_table_ends_early": "the Trainer's table stops before training does",
    "masked_lm_variance": "a masked-language model's numbers vary between evaluation passes",
}
# A Trainer list against its table: the ordinary causes of a difference (claims `list_vs_table`).
ARTEFACTS = {
    "earlier_row": "trainer_best_checkpoint",
    "table_ends_early": "trainer_table_ends_early",
    "masked_lm": "masked_lm_variance",
}
NOT_CONTRADICTIONS = frozenset({"unverifiable", *ARTEFACTS.values()})
BOUNDED = frozenset(
    {"accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted", "precision", "recall", "exact_match"}
    | {"map", "bleu", "rouge1", "rouge2", "rougeL", "rougeLsum"}
)
NON_NEGATIVE = frozenset({"wer", "cer", "loss", "perplexity"})
INHERITED_RELATIONS = ("finetune", "quantized")
TEMPLATE_MODELS = 5
TEMPLATE_AUTHORS = 3
# Claims of one source compared per key: a card repeating one key thousands of times stays linear.
MAX_PER_KEY = 50
# Rows made Python objects at once while claims are compared and claim sets hashed.
SLICE_ROWS = 100_000
_NOT_FINITE = r'^"?\s*[-+]?\.?(nan|inf|infinity)\s*%?\s*"?$'
_REASONS = ("evaluated on a training split", "no dataset", "no split")  # unverifiable
_KEYS = ["model_id", "dataset_key", "split_key", "metric_key"]
_CLAIM_COLUMNS = (
    "model_id",
    "source",
    "dataset_id",
    "dataset_type",
    "dataset_name",
    "dataset_config",
    "dataset_split",
    "metric",
    "metric_type",
    "metric_name",
    "value",
    "value_unit",
    "value_raw",
    "verified",
    "subject",
    "list_vs_table",
)


@dataclass(frozen=True)
class CheckCount(Section):
    findings: int
    models: int


@dataclass(frozen=True)
class VerifiedComparison(Section):
    """Unverified claims compared with a verified claim of the same key."""

    pairs: int
    differing: int
    # Over the pairs compared on the 0-1 scale; null where there are none.
    unit_pairs: int
    mean_abs_difference: float | None
    mean_abs_difference_of_differing: float | None


@dataclass(frozen=True)
class ClaimChecksSection(Section):
    """summary.json `claim_checks`."""

    n_findings: int
    models_with_claims: int
    models_with_findings: int
    share_with_findings: Share | None
    # The same without unverifiable and the Trainer's ordinary causes (ARTEFACTS): real contradictions.
    models_with_other_findings: int
    share_with_other_findings: Share | None
    checks: dict[str, CheckCount]
    # Unverifiable claims by reason (a claim may have several).
    unverifiable_reasons: dict[str, int]
    by_source: dict[str, dict[str, int]]
    self_vs_verified: VerifiedComparison


@dataclass(frozen=True)
class _Pair:
    claim: dict[str, Any]
    other: dict[str, Any]
    value: float
    other_value: float
    unit: bool
    agrees: bool


def _blank_to_null(column: Any) -> Any:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _first(*columns: Any) -> Any:
    return pc.coalesce(*(_blank_to_null(column) for column in columns))


def _key(column: Any) -> Any:
    return pc.fill_null(pc.utf8_lower(column), "")


def _read_claims(snapshot: Snapshot) -> pa.Table:
    """The claim columns the checks read; a column an older claims table lacks reads as null."""
    path = snapshot.finding("claims")
    schema = load_schema("claims")
    wanted = pa.schema([schema.field(name) for name in _CLAIM_COLUMNS])
    if not path.exists():
        return wanted.empty_table()
    present = set(open_parquet(path, table_remedy(path)).schema_arrow.names)
    table = read_table(path, [name for name in _CLAIM_COLUMNS if name in present])
    for field in wanted:
        if field.name not in present:
            table = table.append_column(field.name, pa.nulls(table.num_rows, field.type))
    table = table.select(list(_CLAIM_COLUMNS))
    own = pc.or_kleene(pc.is_null(table["subject"]), pc.equal(table["subject"], SELF))
    return table.filter(own)


def prepare(claims: pa.Table) -> pa.Table:
    """Claims with their labels (dataset, split, metric) and the lower-case keys they match by."""
    dataset = _first(claims["dataset_id"], claims["dataset_type"], claims["dataset_name"])
    split = _blank_to_null(claims["dataset_split"])
    metric = _first(
        claims["metric"], pc.utf8_lower(claims["metric_type"]), pc.utf8_lower(claims["metric_name"])
    )
    return pa.table(
        {
            "model_id": claims["model_id"],
            "source": claims["source"],
            "dataset": dataset,
            "split": split,
            "metric": metric,
            "dataset_key": _key(dataset),
            "config_key": _key(_blank_to_null(claims["dataset_config"])),
            "split_key": _key(split),
            "metric_key": _key(metric),
            "value": claims["value"],
            "value_unit": claims["value_unit"],
            "value_raw": claims["value_raw"],
            "verified": pc.fill_null(claims["verified"], False),
            "list_vs_table": claims["list_vs_table"],
        }
    )


def _claim_rows(claims: pa.Table, mask: Any, check: str, detail: Any) -> pa.Table:
    """One finding per claim where `mask`, its value as written."""
    part = claims.append_column("detail", detail).filter(pc.fill_null(mask, False))
    n = part.num_rows
    schema = load_schema("claim_checks")
    columns = {
        "model_id": part["model_id"],
        "check": pa.array([check] * n, pa.string()),
        "source": part["source"],
        "dataset": part["dataset"],
        "dataset_split": part["split"],
        "metric": part["metric"],
        "value": part["value"],
        "on_unit_scale": pa.array([False] * n, pa.bool_()),
        "detail": part["detail"],
    }
    return pa.table(
        {field.name: columns.get(field.name, pa.nulls(n, field.type)) for field in schema}, schema=schema
    )


def _text(condition: Any, text: str) -> Any:
    return pc.if_else(pc.fill_null(condition, False), pa.scalar(text), pa.scalar(None, pa.string()))


def impossible(claims: pa.Table) -> pa.Table:
    value = claims["value"]
    bounded = pc.is_in(claims["metric"], value_set=pa.array(sorted(BOUNDED)))
    non_negative = pc.is_in(claims["metric"], value_set=pa.array(sorted(NON_NEGATIVE)))
    negative = pc.fill_null(pc.less(value, 0), False)
    above = pc.fill_null(pc.or_kleene(pc.greater(value, 100), pc.greater(claims["value_unit"], 1)), False)
    not_finite = pc.fill_null(
        pc.match_substring_regex(claims["value_raw"], _NOT_FINITE, ignore_case=True), False
    )
    too_high = pc.and_(bounded, above)
    too_low = pc.and_(pc.or_(bounded, non_negative), negative)
    detail = pc.coalesce(
        _text(not_finite, "the value is written as NaN or infinity"),
        _text(too_high, "above the metric's maximum (100, or 1 on the 0-1 scale)"),
        _text(too_low, "below 0, which the metric cannot be"),
    )
    return _claim_rows(claims, pc.or_(not_finite, pc.or_(too_high, too_low)), "impossible_value", detail)


def unverifiable(claims: pa.Table) -> pa.Table:
    numeric = claims.filter(pc.is_valid(claims["value"]))
    train = pc.fill_null(pc.match_substring(numeric["split_key"], "train"), False)
    no_dataset = pc.is_null(numeric["dataset"])
    no_split = pc.is_null(numeric["split"])
    # The detail of each combination of reasons, indexed by the reasons' bits.
    combinations = range(2 ** len(_REASONS))
    details = pa.array(["; ".join(r for bit, r in enumerate(_REASONS) if c >> bit & 1) for c in combinations])
    code = pc.add(
        pc.cast(train, pa.int8()),
        pc.add(pc.multiply(pc.cast(no_dataset, pa.int8()), 2), pc.multiply(pc.cast(no_split, pa.int8()), 4)),
    )
    detail = pc.take(details, pc.fill_null(code, 0))
    return _claim_rows(numeric, pc.or_(train, pc.or_(no_dataset, no_split)), "unverifiable", detail)


def decimals(raw: str | None, value: float) -> int:
    """Decimals of `value` as written (`85.30` -> 2, `1e-3` -> 3, `1200` -> 0); from the number
    itself where the text is not a number."""
    written = load_json(raw)
    text = raw if isinstance(written, int | float) and not isinstance(written, bool) else written
    if isinstance(text, str) and len(text) <= 100:
        try:
            exponent = Decimal(text.strip().rstrip("%").strip()).as_tuple().exponent
        except InvalidOperation:
            exponent = None
        if isinstance(exponent, int):
            return -exponent
    exponent = Decimal(repr(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) else 0


def agree(x: float, x_decimals: int, y: float, y_decimals: int) -> bool:
    """The finer value rounded or truncated to the decimals of the coarser one is the coarser one."""
    (fine, _), (coarse, places) = sorted(((x, x_decimals), (y, y_decimals)), key=lambda v: -v[1])
    step = 10.0**-places
    slack = step * 1e-6  # float noise, never a digit
    if abs(fine - coarse) <= step / 2 + slack:
        return True
    return (fine >= 0) == (coarse >= 0) and 0 <= abs(fine) - abs(coarse) < step - slack


def _places(claim: dict[str, Any], unit: bool) -> int:
    places = decimals(claim["value_raw"], claim["value"])
    # A value scaled from percent to 0-1 has two more decimals on that scale.
    return places + 2 if unit and claim["value"] != claim["value_unit"] else places


def _compare(claim: dict[str, Any], other: dict[str, Any]) -> _Pair | None:
    unit = claim["value_unit"] is not None
    if unit != (other["value_unit"] is not None):
        return None
    column = "value_unit" if unit else "value"
    x, y = claim[column], other[column]
    return _Pair(claim, other, x, y, unit, agree(x, _places(claim, unit), y, _places(other, unit)))


def _same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Claims on two named configs of one dataset (glue's cola and sst2) are about different data; a claim
    that names none may be about either."""
    return a["config_key"] == b["config_key"] or "" in (a["config_key"], b["config_key"])


def _closest(claims: list[dict[str, Any]], others: list[dict[str, Any]]) -> _Pair | None:
    """An agreeing pair if there is one, else the closest; None when no pair is comparable."""
    pairs = [p for a in claims for b in others if _same_config(a, b) and (p := _compare(a, b)) is not None]
    return min(pairs, key=lambda p: (not p.agrees, abs(p.value - p.other_value)), default=None)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _pair_row(check: str, pair: _Pair, detail: str) -> dict[str, Any]:
    claim = pair.claim
    return {
        "model_id": claim["model_id"],
        "check": check,
        "source": claim["source"],
        "other_source": pair.other["source"],
        "dataset": claim["dataset"],
        "dataset_split": claim["split"],
        "metric": claim["metric"],
        "value": pair.value,
        "other_value": pair.other_value,
        "difference": pair.value - pair.other_value,
        "on_unit_scale": pair.unit,
        "detail": detail,
    }


def _disagreement(pair: _Pair) -> str:
    """The check a differing pair is: an ordinary cause's status, else cross_source_disagreement."""
    if _against_log(pair.claim["source"], pair.other["source"]):
        listed = pair.other if pair.claim["source"] == "trainer-table" else pair.claim
        return ARTEFACTS.get(listed["list_vs_table"] or "", "cross_source_disagreement")
    return "cross_source_disagreement"


def _against_log(source: str, other_source: str) -> bool:
    """The Trainer's final evaluation (its list, or the model-index it wrote) against its log table."""
    return {source, other_source} in ({"trainer-results", "trainer-table"}, {"model-index", "trainer-table"})


def compared(claims: pa.Table) -> tuple[list[dict[str, Any]], VerifiedComparison]:
    """cross_source_disagreement and self_vs_verified findings, and the verified comparisons."""
    numeric = claims.filter(pc.and_(pc.is_valid(claims["value"]), pc.not_equal(claims["metric_key"], "")))
    groups = numeric.group_by(_KEYS).aggregate([("source", "count_distinct"), ("verified", "count_distinct")])
    several = groups.filter(
        pc.or_(
            pc.greater(groups["source_count_distinct"], 1), pc.greater(groups["verified_count_distinct"], 1)
        )
    )
    candidates = numeric.join(several.select(_KEYS), _KEYS, join_type="left semi").sort_by(
        [(key, "ascending") for key in _KEYS]
    )
    rows: list[dict[str, Any]] = []
    differences: list[tuple[float, bool]] = []  # |difference| and agreement of unit-scale pairs
    pairs = differing = 0
    # Rows become Python objects a slice at a time; a group may span two slices.
    candidate_rows = (
        row
        for offset in range(0, candidates.num_rows, SLICE_ROWS)
        for row in candidates.slice(offset, SLICE_ROWS).to_pylist()
    )
    for _, group in itertools.groupby(candidate_rows, key=lambda row: [row[k] for k in _KEYS]):
        own: dict[str, list[dict[str, Any]]] = defaultdict(list)
        verified: list[dict[str, Any]] = []
        for row in group:
            chosen = verified if row["verified"] else own[row["source"]]
            if len(chosen) < MAX_PER_KEY:
                chosen.append(row)
        for first, second in itertools.combinations(sorted(own), 2):
            pair = _closest(own[first], own[second])
            if pair is not None and not pair.agrees:
                detail = f"{first} gives {_number(pair.value)}, {second} {_number(pair.other_value)}"
                rows.append(_pair_row(_disagreement(pair), pair, detail))
        for claim in itertools.chain.from_iterable(own.values()):
            pair = _closest([claim], verified)
            if pair is None:
                continue
            pairs += 1
            differing += not pair.agrees
            if pair.unit:
                differences.append((abs(pair.value - pair.other_value), pair.agrees))
            if not pair.agrees:
                detail = f"claimed {_number(pair.value)}, verified {_number(pair.other_value)}"
                rows.append(_pair_row("self_vs_verified", pair, detail))
    apart = [d for d, agrees in differences if not agrees]
    return rows, VerifiedComparison(
        pairs=pairs,
        differing=differing,
        unit_pairs=len(differences),
        mean_abs_difference=math.fsum(d for d, _ in differences) / len(differences) if differences else None,
        mean_abs_difference_of_differing=math.fsum(apart) / len(apart) if apart else None,
    )


def claim_sets(claims: pa.Table) -> dict[str, tuple[bytes, int]]:
    """Each model's claim set as (digest, number of distinct claims), models without one left out."""
    numeric = claims.filter(pc.is_valid(claims["value"]))
    text = pc.binary_join_element_wise(
        numeric["dataset_key"],
        numeric["config_key"],
        numeric["split_key"],
        numeric["metric_key"],
        pc.cast(numeric["value"], pa.string()),
        "\x1f",
    )
    ordered = pa.table({"model_id": numeric["model_id"], "claim": text}).sort_by(
        [("model_id", "ascending"), ("claim", "ascending")]
    )
    sets: dict[str, tuple[bytes, int]] = {}
    current: str | None = None
    digest = hashlib.blake2b(digest_size=16)
    count = 0
    last: str | None = None
    for offset in range(0, ordered.num_rows, SLICE_ROWS):
        part = ordered.slice(offset, SLICE_ROWS)
        for model_id, claim in zip(part["model_id"].to_pylist(), part["claim"].to_pylist(), strict=True):
            if model_id != current:
                if current is not None:
                    sets[current] = (digest.digest(), count)
                current, digest, count, last = model_id, hashlib.blake2b(digest_size=16), 0, None
            if claim != last:
                encoded = claim.encode()
                digest.update(len(encoded).to_bytes(8, "big") + encoded)
                count += 1
                last = claim
    if current is not None:
        sets[current] = (digest.digest(), count)
    return sets


def _set_row(check: str, model_id: str, other: str, detail: str) -> dict[str, Any]:
    return {"model_id": model_id, "check": check, "other_model_id": other, "detail": detail}


def inherited(sets: dict[str, tuple[bytes, int]], lineage: pa.Table) -> list[dict[str, Any]]:
    """inherited_from_base: one finding per edge whose two ends have the same claim set."""
    edges = lineage.filter(pc.is_in(lineage["relation"], value_set=pa.array(INHERITED_RELATIONS)))
    rows = []
    for model_id, base, relation in zip(*(edges[c].to_pylist() for c in edges.column_names), strict=True):
        own, of_base = sets.get(model_id), sets.get(base)
        if own is not None and own == of_base:
            detail = f"the same {_claims_text(own[1])} as its base ({relation})"
            rows.append(_set_row("inherited_from_base", model_id, base, detail))
    return rows


def _claims_text(count: int) -> str:
    return "1 claim" if count == 1 else f"{count:,} claims"


def templates(
    sets: dict[str, tuple[bytes, int]], lineage: pa.Table, authors: dict[str, str]
) -> list[dict[str, Any]]:
    """template_claims: a finding per model of each shared claim set that passes the thresholds."""
    groups: dict[bytes, list[str]] = defaultdict(list)
    for model_id, (digest, _) in sets.items():
        groups[digest].append(model_id)
    large = {digest: members for digest, members in groups.items() if len(members) >= TEMPLATE_MODELS}
    bases: dict[str, set[str]] = defaultdict(set)
    in_large = {model_id for members in large.values() for model_id in members}
    linked = lineage.filter(pc.is_in(lineage["model_id"], value_set=pa.array(sorted(in_large), pa.string())))
    for model_id, base in zip(linked["model_id"].to_pylist(), linked["base_model"].to_pylist(), strict=True):
        bases[model_id].add(base)
    rows = []
    for members in large.values():
        group = set(members)
        shared = Counter(base for model_id in members for base in bases[model_id])
        tied = {m for m in members if any(b in group or shared[b] > 1 for b in bases[m])}
        tied |= {b for m in members for b in bases[m] if b in group}
        free = sorted(group - tied)
        owners = {authors.get(m) or m.split("/")[0] for m in free}
        if len(free) < TEMPLATE_MODELS or len(owners) < TEMPLATE_AUTHORS:
            continue
        count = sets[free[0]][1]
        detail = (
            f"the same {_claims_text(count)} on {len(free):,} unrelated models of {len(owners):,} authors"
        )
        for index, model_id in enumerate(free):
            rows.append(_set_row("template_claims", model_id, free[1 if index == 0 else 0], detail))
    return rows


def _model_column(snapshot: Snapshot, model_ids: list[str], column: str) -> dict[str, str]:
    """`column` of models.parquet for `model_ids`, where it is set."""
    models = read_table(snapshot.models, ["model_id", column])
    models = models.filter(pc.is_in(models["model_id"], value_set=pa.array(model_ids, pa.string())))
    return {
        m: a for m, a in zip(models["model_id"].to_pylist(), models[column].to_pylist(), strict=True) if a
    }


def _masked_lm_variance(snapshot: Snapshot, rows: list[dict[str, Any]]) -> None:
    """Relabel a Trainer list against table difference of a fill-mask model (by its Hub pipeline tag,
    which the card need not state) as masked_lm_variance when within the tolerance."""
    trainer = [
        row
        for row in rows
        if _against_log(row["source"], row["other_source"]) and row["check"] == "cross_source_disagreement"
    ]
    if not trainer:
        return
    tags = _model_column(snapshot, sorted({row["model_id"] for row in trainer}), "pipeline_tag")
    for row in trainer:
        near = abs(row["difference"]) <= MASKED_LM_TOLERANCE * max(abs(row["value"]), abs(row["other_value"]))
        if tags.get(row["model_id"]) == "fill-mask" and near:
            row["check"] = ARTEFACTS["masked_lm"]


def _with_sources(rows: list[dict[str, Any]], claims: pa.Table) -> list[dict[str, Any]]:
    """Set-level rows with their model's sources, sorted and joined."""
    flagged = sorted({row["model_id"] for row in rows})
    if not flagged:
        return rows
    part = claims.filter(pc.is_in(claims["model_id"], value_set=pa.array(flagged, pa.string())))
    sources: dict[str, set[str]] = defaultdict(set)
    for model_id, source in zip(part["model_id"].to_pylist(), part["source"].to_pylist(), strict=True):
        sources[model_id].add(source)
    return [row | {"source": ",".join(sorted(sources[row["model_id"]]))} for row in rows]


def build(snapshot: Snapshot) -> tuple[pa.Table, ClaimChecksSection]:
    claims = prepare(_read_claims(snapshot))
    lineage = read_table(snapshot.finding("lineage"), ["model_id", "base_model", "relation"])
    pair_rows, verified = compared(claims)
    sets = claim_sets(claims)
    set_rows = inherited(sets, lineage)
    shared = {d for d, n in Counter(d for d, _ in sets.values()).items() if n >= TEMPLATE_MODELS}
    if shared:
        candidates = sorted(m for m, (d, _) in sets.items() if d in shared)
        set_rows += templates(sets, lineage, _model_column(snapshot, candidates, "author"))
    _masked_lm_variance(snapshot, pair_rows)
    findings = pa.concat_tables(
        [
            table_from_rows("claim_checks", pair_rows + _with_sources(set_rows, claims)),
            impossible(claims),
            unverifiable(claims),
        ]
    ).sort_by([("model_id", "ascending"), ("check", "ascending")])
    return findings, summarize(findings, pc.count_distinct(claims["model_id"]).as_py(), verified)


def summarize(
    findings: pa.Table, models_with_claims: int, verified: VerifiedComparison
) -> ClaimChecksSection:
    per_check = findings.group_by("check").aggregate([("model_id", "count"), ("model_id", "count_distinct")])
    counts = {
        row["check"]: CheckCount(row["model_id_count"], row["model_id_count_distinct"])
        for row in per_check.to_pylist()
    }
    by_source: dict[str, dict[str, int]] = defaultdict(dict)
    for row in findings.group_by(["check", "source"]).aggregate([("model_id", "count")]).to_pylist():
        by_source[row["check"]][row["source"] or "unknown"] = row["model_id_count"]
    with_findings = pc.count_distinct(findings["model_id"]).as_py()
    unverified = pc.equal(findings["check"], "unverifiable")
    ordinary = pc.is_in(findings["check"], value_set=pa.array(sorted(NOT_CONTRADICTIONS)))
    with_others = pc.count_distinct(findings.filter(pc.invert(ordinary))["model_id"]).as_py()
    details = findings.filter(unverified)["detail"]
    return ClaimChecksSection(
        n_findings=findings.num_rows,
        models_with_claims=models_with_claims,
        models_with_findings=with_findings,
        share_with_findings=share(with_findings, models_with_claims),
        models_with_other_findings=with_others,
        share_with_other_findings=share(with_others, models_with_claims),
        checks={check: counts.get(check, CheckCount(0, 0)) for check in CHECKS},
        unverifiable_reasons={
            reason: pc.sum(pc.match_substring(details, reason)).as_py() or 0 for reason in _REASONS
        },
        by_source=dict(by_source),
        self_vs_verified=verified,
    )


def run(context: Context) -> ClaimChecksSection:
    findings, section = build(context.snapshot)
    write_finding(context.snapshot, "claim_checks", findings)
    return section


MEASURE = Measure(
    name="claim_checks",
    run=run,
    summary_key="claim_checks",
    section=ClaimChecksSection,
    reads=("claims", "lineage", "models"),
    writes=("claim_checks",),
)
