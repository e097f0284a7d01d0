"""The missing-attribute matrix: `findings/attributes.parquet`, one row per model.

Each column's definition is in docs/definitions.md.

Card facts (has_card, has_card_body, sections, claim counts, the metadata mapping) come from
`findings/parsed_cards.parquet`, where "metadata" is already the front matter when the README was
fetched and the Hub's cardData otherwise; tags, config and pipeline_tag come from `models.parquet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Count, HeadlineItem, Section, share
from pipeline.store.layout import Snapshot
from pipeline.store.tables import (
    derive,
    left_join,
    load_json,
    non_empty,
    write_finding,
)

SECTIONS = (
    "uses",
    "limitations",
    "training",
    "hyperparameters",
    "evaluation",
    "environmental_impact",
    "citation",
    "how_to_use",
)
SECTION_COLUMNS = tuple(f"has_sec_{name}" for name in SECTIONS)
ATTRIBUTES = (
    "has_card",
    "has_card_body",
    "has_metadata",
    "has_license",
    "has_datasets",
    "has_base_model",
    "has_language",
    "has_model_index",
    "has_eval_claims",
    "has_architecture",
    "has_pipeline_tag",
)
ALL_COLUMNS = ATTRIBUTES + SECTION_COLUMNS

# Tag prefixes that count as the attribute, as the Hub writes them from the card metadata.
TAG_PREFIXES = {"has_license": "license:", "has_datasets": "dataset:", "has_base_model": "base_model:"}

_MODEL_FACTS = pa.schema(
    [("model_id", pa.string())]
    + [(f"tag_{name}", pa.bool_()) for name in TAG_PREFIXES]
    + [("has_architecture", pa.bool_()), ("has_pipeline_tag", pa.bool_())]
)
_META_KEYS = {"has_license": "license", "has_datasets": "datasets", "has_base_model": "base_model"}
_CARD_FLAGS = (
    "has_card",
    "has_card_body",
    "has_metadata",
    *_META_KEYS,
    "has_language",
    "has_model_index",
    "has_eval_claims",
    *SECTION_COLUMNS,
)
_CARD_FACTS = pa.schema([("model_id", pa.string())] + [(name, pa.bool_()) for name in _CARD_FLAGS])


@dataclass(frozen=True)
class AttributesSection(Section):
    """summary.json `attributes`: the count and share of models with each attribute."""

    n_models: int
    present: dict[str, Count]

    def headline(self) -> list[HeadlineItem]:
        return [
            HeadlineItem("n_models", self.n_models, "models", "count"),
            *(
                HeadlineItem(f"share_{name}", self.present[name].share, f"{label(name)} present", "share")
                for name in ALL_COLUMNS
            ),
        ]


def label(column: str) -> str:
    """`has_sec_how_to_use` -> `how to use`: an attribute or factor column as words."""
    for prefix in ("has_sec_", "has_", "factor_"):
        if column.startswith(prefix):
            return column[len(prefix) :].replace("_", " ")
    return column.replace("_", " ")


def model_type(config: Any) -> str | None:
    """`config.model_type` when it is a non-empty string."""
    value = config.get("model_type") if isinstance(config, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _model_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, tags, config, pipeline_tag = row
    tags = tags or ()
    prefixed = tuple(any(tag.startswith(prefix) for tag in tags) for prefix in TAG_PREFIXES.values())
    return (
        model_id,
        *prefixed,
        model_type(load_json(config)) is not None,
        non_empty(pipeline_tag),
    )


def names_something(value: Any) -> bool:
    """Whether a metadata value that holds names (`license`, `datasets`, `base_model`) holds one: a
    string with a non-whitespace character, or a list with such a string. Numbers, booleans and
    mappings name no license or dataset, in a list or not."""
    if isinstance(value, list):
        return any(isinstance(entry, str) and entry.strip() for entry in value)
    return isinstance(value, str) and bool(value.strip())


def metadata_flags(meta: Any) -> tuple[bool, ...]:
    """has_metadata, license, datasets, base_model, language, model-index from one metadata mapping."""
    if not isinstance(meta, dict) or not meta:
        return (False,) * 6
    model_index = meta.get("model-index")
    return (
        True,
        *(names_something(meta.get(key)) for key in _META_KEYS.values()),
        non_empty(meta.get("language")),
        isinstance(model_index, list) and len(model_index) > 0,
    )


def _card_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    model_id, has_card, has_card_body, metadata, sections, n_claims = row
    found = set(sections or ())
    return (
        model_id,
        bool(has_card),
        bool(has_card_body),
        *metadata_flags(load_json(metadata)),
        bool(n_claims),
        *(name in found for name in SECTIONS),
    )


def build(snapshot: Snapshot) -> pa.Table:
    models = derive(
        snapshot.models, ["model_id", "tags", "config", "pipeline_tag"], _MODEL_FACTS, _model_facts
    )
    cards = derive(
        snapshot.finding("parsed_cards"),
        ["model_id", "has_card", "has_card_body", "metadata", "sections", "n_claims"],
        _CARD_FACTS,
        _card_facts,
    )
    joined = left_join(models, cards)
    columns: dict[str, pa.ChunkedArray] = {"model_id": joined.column("model_id")}
    for name in ALL_COLUMNS:
        if name in TAG_PREFIXES:
            value = pc.or_kleene(joined.column(name), joined.column(f"tag_{name}"))
        else:
            value = joined.column(name)
        # A model parse_cards did not cover has no card facts: false, never null.
        columns[name] = pc.fill_null(value, False)
    return pa.table(columns)


def rates(table: pa.Table) -> AttributesSection:
    total = table.num_rows
    counts = {name: int(pc.sum(table.column(name)).as_py() or 0) for name in ALL_COLUMNS}
    return AttributesSection(
        n_models=total, present={name: Count(n, share(n, total)) for name, n in counts.items()}
    )


def run(context: Context) -> AttributesSection:
    """Write `findings/attributes.parquet`; return the count and share of models with each attribute."""
    table = build(context.snapshot)
    write_finding(context.snapshot, "attributes", table)
    return rates(table)


MEASURE = Measure(
    name="attributes",
    run=run,
    summary_key="attributes",
    section=AttributesSection,
    reads=("models", "parsed_cards"),
    writes=("attributes",),
    rates=ALL_COLUMNS,
)
