"""The Hub's model records (listing entries and `/api/models/{id}` bodies) as `models.parquet` rows.

Records come from outside: every field is coerced to its column's type, and a value of the wrong
type becomes null rather than failing the crawl.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from pipeline.schemas import utf8

# The properties the analyses need, asked for with `expand[]` on the listing.
LISTING_EXPAND = (
    "author",
    "sha",
    "lastModified",
    "createdAt",
    "pipeline_tag",
    "library_name",
    "tags",
    "downloads",
    "downloadsAllTime",
    "likes",
    "gated",
    "private",
    "disabled",
    "cardData",
    "config",
    "siblings",
    "safetensors",
)


_INT64 = range(-(2**63), 2**63)


def text(value: Any) -> str | None:
    """A non-empty string as UTF-8 can hold it; None for anything else."""
    return utf8(value) if isinstance(value, str) and value != "" else None


def int64(value: Any) -> int | None:
    """An integer that fits a Parquet int64; None for anything else (booleans included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value in _INT64 else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _strings(value: Any) -> list[str]:
    return [utf8(item) for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return utf8(json.dumps(value, ensure_ascii=False, sort_keys=True))


def parse_timestamp(value: Any) -> datetime | None:
    """The Hub's ISO 8601 times (`2024-02-19T10:57:45.000Z`) as aware UTC datetimes."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        # Near datetime's limits the shift to UTC overflows (0001-01-01T00:00:00+01:00).
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _gated(value: Any) -> str | None:
    # The Hub says false, "auto" or "manual"; keep one string type for the column.
    if isinstance(value, bool):
        return "true" if value else "false"
    return text(value)


def _siblings(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    names = (s.get("rfilename") for s in value if isinstance(s, dict))
    return [utf8(name) for name in names if isinstance(name, str)]


def model_id_of(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    return text(record.get("id")) or text(record.get("modelId"))


def model_row(record: dict[str, Any], listed_at: datetime) -> dict[str, Any]:
    """One `models.parquet` row from a model record whose id is known to be a string."""
    model_id = model_id_of(record)
    author = text(record.get("author"))
    if author is None and model_id and "/" in model_id:
        author = model_id.split("/", 1)[0]
    return {
        "model_id": model_id,
        "object_id": text(record.get("_id")),
        "sha": text(record.get("sha")),
        "author": author,
        "created_at": parse_timestamp(record.get("createdAt")),
        "last_modified": parse_timestamp(record.get("lastModified")),
        "pipeline_tag": text(record.get("pipeline_tag")),
        "library_name": text(record.get("library_name")),
        "tags": _strings(record.get("tags")),
        "downloads": int64(record.get("downloads")),
        "downloads_all_time": int64(record.get("downloadsAllTime")),
        "likes": int64(record.get("likes")),
        "gated": _gated(record.get("gated")),
        "private": _bool(record.get("private")),
        "disabled": _bool(record.get("disabled")),
        "card_data": _json_text(record.get("cardData")),
        "config": _json_text(record.get("config")),
        "siblings": _siblings(record.get("siblings")),
        "safetensors": _json_text(record.get("safetensors")),
        "listed_at": listed_at,
    }


def lists_readme(siblings: list[str] | None) -> bool:
    """Whether the repository has a model card; never ask for a README the listing says is absent."""
    return bool(siblings) and "README.md" in siblings
