"""Models given as recorded `/api/models/{id}` dicts: a Hub sample directory, or hand-made records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .columns import Columns, gated_code
from .fields import card_from_data, parse_ms, sha_hex, unit

# Newest plausible timestamp for records that carry none (the hub2022 scrape date).
_DEFAULT_MODIFIED_MS = 1_644_883_200_000
_DAY_MS = 86_400_000


class _Unknown:
    """README state of a metadata-only record: the text is not known, so a card is made from cardData."""


UNKNOWN = _Unknown()
Readme = str | bytes | None | _Unknown


class RecordList:
    """Recorded model dicts kept as they are; the registry overlays the fields it tracks itself."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._records: list[dict[str, Any]] = []
        self._readmes: list[Readme] = []
        self._shas: list[str] = []

    def __len__(self) -> int:
        return len(self._records)

    def append(self, record: dict[str, Any], readme: Readme) -> tuple[int, int, int, int, int, int]:
        """Store one record; return its columns (downloads, likes, created, modified, trending, gated)."""
        model_id = str(record.get("id") or record["modelId"])
        self.ids.append(model_id)
        self._records.append(record)
        self._readmes.append(readme)
        self._shas.append(str(record.get("sha") or sha_hex("sha", model_id)))
        likes = int(record.get("likes") or 0)
        modified = (
            parse_ms(record["lastModified"])
            if record.get("lastModified")
            else _DEFAULT_MODIFIED_MS - int(unit("mod", model_id) * 400 * _DAY_MS)
        )
        created = (
            parse_ms(record["createdAt"])
            if record.get("createdAt")
            else modified - int(unit("created", model_id) * 400 * _DAY_MS)
        )
        trending = record.get("trendingScore")
        if trending is None:
            trending = int(likes * unit("trend", model_id))
        return (
            int(record.get("downloads") or 0),
            likes,
            created,
            modified,
            int(trending),
            gated_code(record.get("gated", False)),
        )

    def record(self, i: int) -> dict[str, Any]:
        return self._records[i]

    def base_sha(self, i: int) -> str:
        return self._shas[i]

    def has_readme(self, i: int) -> bool:
        value = self._readmes[i]
        if isinstance(value, _Unknown):
            return any(s.get("rfilename") == "README.md" for s in self._records[i].get("siblings") or [])
        return value is not None

    def readme(self, i: int) -> bytes | None:
        value = self._readmes[i]
        if isinstance(value, _Unknown):
            if not self.has_readme(i):
                return None
            return card_from_data(self.ids[i], self._records[i].get("cardData")).encode("utf-8")
        if isinstance(value, str):
            return value.encode("utf-8")
        return value


def load_sample(directory: Path) -> tuple[RecordList, Columns]:
    """Read a hub-sample data directory (`models.jsonl.gz` plus `readmes.parquet`)."""
    readmes: dict[str, str] = {}
    readme_path = directory / "readmes.parquet"
    if readme_path.exists():
        table = pq.read_table(readme_path, columns=["id", "readme"])
        readmes = dict(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))
    records = RecordList()
    rows = []
    with gzip.open(directory / "models.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            model_id = record.get("id") or record["modelId"]
            readme: Readme
            if model_id in readmes:
                readme = readmes[model_id]
            elif record.pop("_readme_missing", False):
                readme = None
            else:
                readme = UNKNOWN
            rows.append(records.append(record, readme))
    return records, Columns.from_rows(rows)
