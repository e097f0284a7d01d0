"""`GET /api/models`: query parsing, property selection and keyset cursors.

A cursor names the last model served (its sort key and index), not an offset, so it stays valid when the
client changes `limit` between pages and when models change between requests.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from .fields import EXPAND_PROPERTIES, FULL_FIELDS, LISTING_FIELDS
from .registry import Registry, sort_positions

MAX_LIMIT = 1000
DEFAULT_LIMIT = 1000
_TRUE = {"true", "1", "True", ""}


class BadRequest(ValueError):
    """The query cannot be served; the message goes to the client in a JSON error body."""


@dataclass
class ListingQuery:
    sort: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple[int, int] | None = None
    author: str | None = None
    filters: list[str] = field(default_factory=list)
    search: str | None = None
    expand: list[str] | None = None
    full: bool = False
    config: bool = False
    card_data: bool = False


def expand_values(pairs: list[tuple[str, str]]) -> list[str] | None:
    """`expand[]=a&expand=b` → ["a", "b"]; None when not asked. Unknown properties are a bad request."""
    values = [v for k, v in pairs if k in ("expand", "expand[]")]
    if not values:
        return None
    for k, value in enumerate(values):
        if value not in EXPAND_PROPERTIES:
            allowed = ",".join(sorted(EXPAND_PROPERTIES))
            raise BadRequest(f'"expand[{k}]" must be one of [{allowed}]')
    return values


def parse_query(pairs: list[tuple[str, str]]) -> ListingQuery:
    q = ListingQuery()
    params: dict[str, str] = {}
    for k, v in pairs:
        if k == "filter":
            q.filters.append(v)
        elif k not in ("expand", "expand[]"):
            params[k] = v
    try:
        q.sort = Registry.sort_name(params.get("sort"))
    except ValueError as err:
        raise BadRequest(str(err)) from err
    if "limit" in params:
        try:
            q.limit = max(1, min(MAX_LIMIT, int(params["limit"])))
        except ValueError as err:
            raise BadRequest(f"Invalid limit: {params['limit']}") from err
    q.author = params.get("author") or None
    q.search = params.get("search") or None
    q.full = params.get("full") in _TRUE if "full" in params else False
    q.config = params.get("config") in _TRUE if "config" in params else False
    q.card_data = params.get("cardData") in _TRUE if "cardData" in params else False
    q.expand = expand_values(pairs)
    if q.expand is not None and (q.full or q.config or q.card_data):
        raise BadRequest("expand cannot be combined with full, config or cardData")
    if "cursor" in params:
        q.cursor = decode_cursor(params["cursor"], q.sort)
    return q


def encode_cursor(sort: str | None, key: int, index: int) -> str:
    raw = json.dumps([sort or "", key, index], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str | None) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, key, index = json.loads(raw)
        if (name or None) != sort:
            raise BadRequest("Invalid cursor: it belongs to another sort order")
        return int(key), int(index)
    except (binascii.Error, ValueError, TypeError) as err:
        if isinstance(err, BadRequest):
            raise
        raise BadRequest("Invalid cursor") from err


def project(reg: Registry, i: int, expand: list[str] | None, fields: tuple[str, ...]) -> dict[str, Any]:
    """One model's entry with the asked properties: `_id` and `id`, then `expand` or the given fields."""
    wanted = expand if expand is not None else fields
    info = reg.model_info(i, siblings="siblings" in wanted)
    out: dict[str, Any] = {"_id": info["_id"], "id": info["id"]}
    for name in wanted:
        if name in info:
            out[name] = info[name]
        elif expand is not None:
            value = reg.extra_property(i, name)
            if value is not None:
                out[name] = value
    return out


def list_page(reg: Registry, q: ListingQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the listing and the cursor of the next page (None on the last page).

    Without filters the last page is exact; with filters a full page always offers a next one,
    which may then come back empty, so a page never scans the whole registry ahead.
    """
    order = reg.order(q.sort)
    indices = order[0]
    start = 0 if q.cursor is None else sort_positions(order, *q.cursor)
    filtered = bool(q.author or q.search or q.filters)
    if not filtered:
        chosen = indices[start : start + q.limit].tolist()
        more = start + q.limit < len(indices)
    else:
        chosen = []
        needle = q.search.lower() if q.search else None
        for i in indices[start:].tolist():
            model_id = reg.model_id(i)
            if q.author and not model_id.startswith(q.author + "/"):
                continue
            if needle and needle not in model_id.lower():
                continue
            if q.filters and not set(q.filters) <= reg.tags(i):
                continue
            chosen.append(i)
            if len(chosen) == q.limit:
                break
        more = len(chosen) == q.limit
    fields = LISTING_FIELDS
    if q.full:
        fields += FULL_FIELDS
    if q.config or q.full:
        fields += ("config",)
    if q.card_data or q.full:
        fields += ("cardData",)
    page = [project(reg, i, q.expand, fields) for i in chosen]
    if not more or not chosen:
        return page, None
    last = chosen[-1]
    return page, encode_cursor(q.sort, reg.sort_value(q.sort, last), last)
