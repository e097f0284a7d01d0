"""The per-model numbers a registry keeps in compact arrays (sorting, listing, change tracking)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GATED_CODES: tuple[bool | str, ...] = (False, "auto", "manual")


@dataclass
class Columns:
    downloads: np.ndarray  # int64, last 30 days
    likes: np.ndarray  # int64
    created_ms: np.ndarray  # int64 epoch milliseconds
    modified_ms: np.ndarray  # int64 epoch milliseconds
    trending: np.ndarray  # int64 trendingScore
    gated: np.ndarray  # uint8 index into GATED_CODES

    @classmethod
    def empty(cls) -> Columns:
        i64 = np.zeros(0, dtype=np.int64)
        return cls(i64, i64.copy(), i64.copy(), i64.copy(), i64.copy(), np.zeros(0, dtype=np.uint8))

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, int, int, int, int]]) -> Columns:
        arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
        return cls(
            arr[:, 0].copy(),
            arr[:, 1].copy(),
            arr[:, 2].copy(),
            arr[:, 3].copy(),
            arr[:, 4].copy(),
            arr[:, 5].astype(np.uint8),
        )

    def concat(self, other: Columns) -> Columns:
        return Columns(
            np.concatenate([self.downloads, other.downloads]),
            np.concatenate([self.likes, other.likes]),
            np.concatenate([self.created_ms, other.created_ms]),
            np.concatenate([self.modified_ms, other.modified_ms]),
            np.concatenate([self.trending, other.trending]),
            np.concatenate([self.gated, other.gated]),
        )

    def __len__(self) -> int:
        return len(self.downloads)


def gated_code(value: object) -> int:
    if value in ("auto", "manual"):
        return GATED_CODES.index(value)  # type: ignore[arg-type]
    return 1 if value is True else 0
