"""JSON Schema of a summary section, read from its dataclass's type hints.

`int` is a count (never negative), `float` a number, `str` a string, `bool` a boolean, `None` null;
`X | Y` is either, `list[X]` an array, `dict[str, X]` an object of X values, a dataclass an object
whose fields without a default are required, and `Annotated[X, Range(...)]` X within bounds.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any, Union

from pipeline.errors import SchemaError
from pipeline.measures.section import Range

_PLAIN = {int: {"type": "integer", "minimum": 0}, float: {"type": "number"}, str: {"type": "string"}}
_PLAIN |= {bool: {"type": "boolean"}, type(None): {"type": "null"}}


def section_schema(kind: Any) -> dict[str, Any]:
    """The JSON Schema of values of the type `kind`, as `Section.to_dict` writes them."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind, include_extras=True)
        fields = dataclasses.fields(kind)
        return {
            "type": "object",
            "required": [f.name for f in fields if f.default is dataclasses.MISSING],
            "properties": {f.name: section_schema(hints[f.name]) for f in fields},
        }
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        schema = section_schema(args[0])
        for meta in kind.__metadata__:
            if isinstance(meta, Range):
                schema |= dataclasses.asdict(meta)
        return schema
    if origin in (Union, types.UnionType):
        return {"anyOf": [section_schema(arg) for arg in args]}
    if origin is list:
        return {"type": "array", "items": section_schema(args[0])}
    if origin is dict and args[0] is str:
        return {"type": "object", "additionalProperties": section_schema(args[1])}
    if kind in _PLAIN:
        return dict(_PLAIN[kind])
    raise SchemaError(f"a summary section cannot hold {kind!r}: it has no JSON Schema")
