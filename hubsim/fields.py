"""Small deterministic helpers shared by the record sources: timestamps, ids, hashes, card text."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

import yaml

# Every model property the Hub accepts in `expand[]` (plus `xetEnabled`, which it also knows).
EXPAND_PROPERTIES: frozenset[str] = frozenset(
    {
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
        "xetEnabled",
    }
)

# Fields of a listing entry when neither `expand[]` nor the legacy flags are given, in served order.
LISTING_FIELDS: tuple[str, ...] = (
    "_id",
    "id",
    "likes",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
# What the legacy `full=true` adds to a listing entry.
FULL_FIELDS: tuple[str, ...] = ("author", "sha", "lastModified", "gated", "disabled", "siblings")


def digest(*parts: object) -> bytes:
    return hashlib.sha1(":".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).digest()


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) drawn from the parts."""
    return int.from_bytes(digest(*parts)[:8], "big") / 2**64


def sha_hex(*parts: object) -> str:
    return digest(*parts).hex()


def iso_ms(ms: int) -> str:
    """The Hub's timestamp format: `2024-02-19T10:57:45.000Z`."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def object_id(model_id: str, created_ms: int) -> str:
    """A Mongo-style 24-hex `_id`: creation seconds, then bytes from the id's hash."""
    return f"{(created_ms // 1000) & 0xFFFFFFFF:08x}" + sha_hex("oid", model_id)[:16]


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def card_from_data(model_id: str, card_data: dict[str, Any] | None) -> str:
    """A model card for a model whose README text is unknown: its cardData as front matter, then a title."""
    body = f"# {model_id.split('/')[-1]}\n\nModel card for `{model_id}`.\n"
    if not card_data:
        return body
    front = yaml.safe_dump(card_data, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"
