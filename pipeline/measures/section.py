"""Typed summary.json sections: dataclasses that write themselves as JSON data and read themselves back.

A section is a plain dataclass deriving from `Section`; its fields are JSON values, other sections,
or lists and string-keyed dicts of them. `from_dict` follows the type hints, so a reader gets typed
objects all the way down instead of nested dictionary paths, and summary.json is checked against
the JSON Schema the same hints give (`pipeline.measures.section_schema`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias, TypeVar, Union

from pipeline.errors import SchemaError

S = TypeVar("S", bound="Section")


@dataclass(frozen=True)
class Range:
    """Bounds of a number field, for its JSON Schema: `Annotated[float, Range(0, 1)]`."""

    minimum: float
    maximum: float


# A share of models, from 0 to 1 (`X | None` where there may be nothing to take a share of).
Share: TypeAlias = Annotated[float, Range(0, 1)]

# How the report shows a headline value.
HeadlineFormat = Literal["count", "share", "score", "number", "detail"]


@dataclass(frozen=True)
class HeadlineItem:
    """One headline number a measure contributes: `key` in summary.json's `headline`, and how the
    report lists it (`label`; a `detail` item is kept in the file but not listed)."""

    key: str
    value: Any
    label: str
    format: HeadlineFormat


def share(count: int | None, total: int | None) -> float | None:
    """`count` of `total` as a share; None when there is nothing to take a share of."""
    return count / total if count is not None and total else None


class Section:
    """Base of every typed summary section."""

    @classmethod
    def from_dict(cls: type[S], data: Any) -> S:
        value: S = _decode(cls, data, cls.__name__)
        return value

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dataclasses.asdict(self)  # type: ignore[call-overload]
        return data

    def headline(self) -> list[HeadlineItem]:
        """What the section contributes to summary.json's `headline`; nothing unless it says so."""
        return []


@dataclass(frozen=True)
class Count(Section):
    """How many models have something, and their share of all models."""

    count: int
    share: Share | None


def _decode(kind: Any, value: Any, where: str) -> Any:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise SchemaError(f"summary: {where} should be an object, not {type(value).__name__}")
        hints = typing.get_type_hints(kind)
        fields = {}
        for field in dataclasses.fields(kind):
            if field.name not in value:
                if field.default is dataclasses.MISSING:
                    raise SchemaError(f"summary: {where}.{field.name} is missing")
                continue
            fields[field.name] = _decode(hints[field.name], value[field.name], f"{where}.{field.name}")
        return kind(**fields)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [arg for arg in args if arg is not type(None)]
        # A dict value goes to the dataclass option (a paper side), anything else to the plain one.
        chosen = next(
            (arg for arg in options if dataclasses.is_dataclass(arg) == isinstance(value, dict)), options[0]
        )
        return _decode(chosen, value, where)
    if origin is list:
        return [_decode(args[0], entry, f"{where}[]") for entry in value]
    if origin is dict:
        return {key: _decode(args[1], entry, f"{where}.{key}") for key, entry in value.items()}
    return value
