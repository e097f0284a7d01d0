"""`findings/summary.json`: every measure's section, the headline, and the comparison with the paper.

The file is checked whenever it is written or read against `schemas/summary.schema.json`, the
envelope, with each section's schema derived from its section class at its key; readers get a typed
`Summary` (`load_summary`) whose sections are the measures' own section classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import jsonschema

from pipeline.errors import SchemaError
from pipeline.measures.architectures import ArchitecturesSection
from pipeline.measures.attributes import AttributesSection
from pipeline.measures.catalog import CARD_STAGE, REGISTRY
from pipeline.measures.comparison import PaperComparison, compare
from pipeline.measures.datasets import DatasetsSection
from pipeline.measures.registry import Registry
from pipeline.measures.section import HeadlineItem, Section
from pipeline.measures.section_schema import section_schema
from pipeline.schemas import SCHEMA_PACKAGE
from pipeline.store.damage import read_json_object, reanalyze_remedy
from pipeline.store.files import write_json
from pipeline.store.layout import Snapshot

SCHEMA_FILE = "summary.schema.json"
S = TypeVar("S", bound=Section)


def find_section(sections: dict[str, Section], kind: type[S]) -> S:
    found = next((section for section in sections.values() if isinstance(section, kind)), None)
    if found is None:
        raise SchemaError(f"the summary has no {kind.__name__}")
    return found


@dataclass(frozen=True)
class Summary:
    """summary.json, typed: the sections by their key (a dotted key nests in the file)."""

    snapshot_id: str
    generated_at: str
    sections: dict[str, Section]
    paper_comparison: PaperComparison
    files: dict[str, str]

    def section(self, kind: type[S]) -> S:
        return find_section(self.sections, kind)

    def headline(self) -> list[HeadlineItem]:
        return [item for section in self.sections.values() for item in section.headline()]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "snapshot_id": self.snapshot_id,
            "generated_at": self.generated_at,
            "headline": {item.key: item.value for item in self.headline()},
            "paper_comparison": self.paper_comparison.to_dict(),
            "files": self.files,
        }
        for key, section in self.sections.items():
            *parents, last = key.split(".")
            place = data
            for parent in parents:
                place = place.setdefault(parent, {})
            place[last] = section.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], registry: Registry = REGISTRY) -> Summary:
        validate(data, registry)
        sections = {}
        for kind, key in registry.section_keys().items():
            place: Any = data
            for part in key.split("."):
                place = place.get(part) if isinstance(place, dict) else None
            if place is not None:
                sections[key] = kind.from_dict(place)
        return cls(
            snapshot_id=data["snapshot_id"],
            generated_at=data["generated_at"],
            sections=sections,
            paper_comparison=PaperComparison.from_dict(data["paper_comparison"]),
            files=data["files"],
        )


def _require(schema: dict[str, Any], name: str) -> None:
    required = schema.setdefault("required", [])
    if name not in required:
        required.append(name)


def summary_schema(registry: Registry = REGISTRY) -> dict[str, Any]:
    """The schema of summary.json as `registry` writes it."""
    return _schema(tuple(_sections(registry).items()), _optional(registry))


def _sections(registry: Registry) -> dict[str, type[Section]]:
    return {key: kind for kind, key in registry.section_keys().items()}


def _optional(registry: Registry) -> frozenset[str]:
    """The card stage is skipped on snapshots whose cards are parsed already (`measure_snapshot`), so its
    section may be absent."""
    return frozenset(m.summary_key for m in registry.measures if m.name == CARD_STAGE)


def _schema(sections: tuple[tuple[str, type[Section]], ...], optional: frozenset[str]) -> dict[str, Any]:
    """The envelope with the schema of each section at its key (a dotted key nests), each required but
    the `optional` ones."""
    schema: dict[str, Any] = json.loads(
        (resources.files(SCHEMA_PACKAGE) / SCHEMA_FILE).read_text(encoding="utf-8")
    )
    schema["properties"]["paper_comparison"] = section_schema(PaperComparison)
    for key, kind in sections:
        *parents, last = key.split(".")
        place = schema
        for parent in parents:
            if key not in optional:
                _require(place, parent)
            place = place["properties"].setdefault(parent, {"type": "object", "properties": {}})
        place["properties"][last] = section_schema(kind)
        if key not in optional:
            _require(place, last)
    return schema


@cache
def _validator(
    sections: tuple[tuple[str, type[Section]], ...], optional: frozenset[str]
) -> jsonschema.protocols.Validator:
    schema = _schema(sections, optional)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(schema)
    return validator


def validate(data: dict[str, Any], registry: Registry = REGISTRY) -> None:
    """Raise SchemaError, naming the first place, when `data` does not match summary.json as `registry`
    writes it."""
    _check(data, _sections(registry), _optional(registry))


def _check(data: dict[str, Any], sections: dict[str, type[Section]], optional: frozenset[str]) -> None:
    error = jsonschema.exceptions.best_match(_validator(tuple(sections.items()), optional).iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        raise SchemaError(f"summary.json does not match {SCHEMA_FILE} at {where}: {error.message}")


def assemble(snapshot: Snapshot, sections: dict[str, Section], registry: Registry = REGISTRY) -> Summary:
    """The summary of the measures' `sections` (by summary key) and the comparison with the paper."""
    return Summary(
        snapshot_id=snapshot.id,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sections=sections,
        paper_comparison=compare(
            snapshot,
            find_section(sections, AttributesSection),
            find_section(sections, ArchitecturesSection),
            find_section(sections, DatasetsSection),
        ),
        files={
            table: str(snapshot.finding(table).relative_to(snapshot.dir))
            for table in registry.finding_tables()
        },
    )


def write(snapshot: Snapshot, summary: Summary) -> None:
    """Validate `summary`, each section against its own class's schema, and write it to
    `findings/summary.json`."""
    data = summary.to_dict()
    _check(data, {key: type(section) for key, section in summary.sections.items()}, frozenset())
    write_json(snapshot.summary, data)


def load(snapshot: Snapshot) -> dict[str, Any]:
    """summary.json as JSON data; FileNotFoundError when there is none, `DamagedFileError` when it does not
    read."""
    return read_json_object(snapshot.summary, reanalyze_remedy(snapshot.id))


def load_summary(snapshot: Snapshot, registry: Registry = REGISTRY) -> Summary:
    """summary.json, checked against its schema, as a typed `Summary`."""
    return Summary.from_dict(load(snapshot), registry)
