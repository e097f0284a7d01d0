"""Parquet table schemas, loaded from the schema files under `schemas/` (the single source of truth).

The files ship inside the package as `pipeline.schema_files`, so a plain wheel finds them too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from pipeline.errors import SchemaError

SCHEMA_PACKAGE = "pipeline.schema_files"

_SCALAR_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}


def arrow_type(name: str) -> pa.DataType:
    """Map a schema-file type name (`string`, `list<string>`, ...) to an Arrow type."""
    if name.startswith("list<") and name.endswith(">"):
        return pa.list_(arrow_type(name[5:-1]))
    try:
        return _SCALAR_TYPES[name]
    except KeyError:
        raise SchemaError(f"unknown column type {name!r} in a schema file") from None


@cache
def load_schema(table: str) -> pa.Schema:
    """The Arrow schema of `table`, read from `schemas/<table>.json`."""
    path = resources.files(SCHEMA_PACKAGE) / f"{table}.json"
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"no schema file for table {table!r} in {SCHEMA_PACKAGE}") from None
    fields = [
        pa.field(
            col["name"],
            arrow_type(col["type"]),
            nullable=col.get("nullable", True),
            metadata={"doc": col["doc"]} if "doc" in col else None,
        )
        for col in spec["columns"]
    ]
    return pa.schema(fields, metadata={"table": table})


_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(value: str) -> str:
    """`value` with lone surrogates (JSON may escape them; UTF-8 cannot hold them) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", value)


def _utf8_within(value: Any) -> Any:
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, list):
        return [_utf8_within(item) for item in value]
    if isinstance(value, dict):
        return {key: _utf8_within(item) for key, item in value.items()}
    return value


def table_from_rows(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Build a validated Arrow table of `table`'s schema from row dicts (missing keys become null). A string
    that UTF-8 cannot hold (a lone surrogate from a server's JSON) is stored with U+FFFD in its place."""
    schema = load_schema(table)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    try:
        try:
            built = pa.Table.from_pydict(columns, schema=schema)
        except UnicodeEncodeError:
            built = pa.Table.from_pydict(_utf8_within(columns), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"rows do not fit the {table} schema: {exc}") from None
    return validate(table, built)


def validate(table: str, data: pa.Table) -> pa.Table:
    """Check `data` against `table`'s schema: every column present with its type, no null where forbidden.

    Columns beyond the schema are kept (the contract allows added columns); the schema's come first.
    """
    schema = load_schema(table)
    for field in schema:
        if field.name not in data.column_names:
            raise SchemaError(f"{table}: column {field.name!r} is missing")
        column = data.column(field.name)
        if not column.type.equals(field.type):
            try:
                data = data.set_column(
                    data.column_names.index(field.name), field.name, column.cast(field.type)
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"{table}: column {field.name!r} is {column.type}, expected {field.type}: {exc}"
                ) from None
        if not field.nullable and data.column(field.name).null_count:
            raise SchemaError(f"{table}: column {field.name!r} has nulls")
    extra = [name for name in data.column_names if name not in schema.names]
    ordered = data.select(schema.names + extra)
    return ordered.replace_schema_metadata(schema.metadata)
