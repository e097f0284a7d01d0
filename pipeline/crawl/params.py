"""What a crawl was asked to do; stored in the manifest so `--resume` continues the same crawl."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from pipeline.errors import HubmineError


class SortKey(str, Enum):
    """The Hub's listing orders; every one is descending."""

    downloads = "downloads"
    likes = "likes"
    lastModified = "lastModified"
    createdAt = "createdAt"
    trendingScore = "trendingScore"


SORT_KEYS = tuple(key.value for key in SortKey)


# The parameters that decide which models a crawl holds (not how fast it fetches them).
POPULATION_PARAMS = ("limit", "sort", "author", "filters", "cards", "authors")


@dataclass(frozen=True)
class CrawlParams:
    limit: int | None = None
    sort: str = "downloads"
    author: str | None = None
    filters: tuple[str, ...] = field(default_factory=tuple)
    cards: bool = True
    authors: bool = False
    workers: int = 16

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise HubmineError(f"--sort must be one of {', '.join(SORT_KEYS)}, not {self.sort!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["filters"] = list(self.filters)
        return data

    def describe(self) -> str:
        """The population parameters as a user would type them: `--limit 1000 --sort downloads --cards`."""
        words = [f"--limit {self.limit}"] if self.limit else []
        words.append(f"--sort {self.sort}")
        if self.author:
            words.append(f"--author {self.author}")
        words += [f"--filter {tag}" for tag in self.filters]
        words.append("--cards" if self.cards else "--no-cards")
        if self.authors:
            words.append("--authors")
        return " ".join(words)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrawlParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["filters"] = tuple(known.get("filters") or ())
        return cls(**known)
