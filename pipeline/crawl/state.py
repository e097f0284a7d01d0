"""The crawl's checkpoint (`state.json`) and manifest, advanced only once what they describe is on disk."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from pipeline import __version__
from pipeline.store.damage import read_json_object, reading
from pipeline.store.files import write_json
from pipeline.store.layout import Snapshot
from pipeline.store.parts import PartSet
from pipeline.store.snapshot import read_manifest


@dataclass
class CrawlState:
    """How far a crawl got: everything before these marks is committed on disk."""

    next_url: str | None = None
    listing_parts: int = 0
    listed: int = 0
    listing_done: bool = False
    card_parts: int = 0
    cards_done: int = 0
    cards_finished: bool = False
    since: str | None = None
    # Checksums of the committed parts of each table, so a part garbled since is fetched again.
    part_checksums: dict[str, list[str]] = field(default_factory=dict)
    # Request tallies of earlier runs of this crawl (before a kill or an interruption).
    requests: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, snapshot: Snapshot) -> CrawlState:
        remedy = (
            f"remove it to crawl snapshot {snapshot.id} again from the start with "
            f"`hubmine crawl --resume --snapshot {snapshot.id}`, or start a new one with `hubmine crawl`"
        )
        try:
            data = read_json_object(snapshot.state, remedy)
        except FileNotFoundError:
            return cls()
        with reading(snapshot.state, remedy):
            return cls(**data)

    def save(self, snapshot: Snapshot, requests: dict[str, int]) -> None:
        """Write the checkpoint with `requests`, the tallies of this and earlier runs, and the checksum of
        every part committed since the last one."""
        for table, count in (("models", self.listing_parts), ("cards", self.card_parts)):
            recorded = self.part_checksums.setdefault(table, [])
            if len(recorded) < count and not snapshot.table(table).exists():
                recorded += PartSet(snapshot, table).checksums(len(recorded), count)
        write_json(snapshot.state, {**asdict(self), "requests": requests})

    def roll_back_damaged_parts(self, snapshot: Snapshot) -> None:
        """Count only the committed parts whose bytes are as committed: a damaged one is done again, and
        every part after it."""
        if not snapshot.models.exists():
            good = self._intact_rows(snapshot, "models", self.listing_parts)
            if len(good) < self.listing_parts:
                # The link to the page after the last good one went with the damaged part: list again.
                self.listing_parts, self.listed, self.next_url, self.listing_done = 0, 0, None, False
                self.part_checksums["models"] = []
        if not snapshot.cards.exists():
            good = self._intact_rows(snapshot, "cards", self.card_parts)
            if len(good) < self.card_parts:
                self.card_parts, self.cards_done, self.cards_finished = len(good), sum(good), False
                self.part_checksums["cards"] = self.part_checksums.get("cards", [])[: len(good)]

    def _intact_rows(self, snapshot: Snapshot, table: str, count: int) -> list[int]:
        # A part the checkpoint holds no checksum for cannot be vouched for: it counts as damaged.
        recorded = self.part_checksums.get(table, [])[:count]
        return PartSet(snapshot, table).intact_rows(recorded)


def versions() -> dict[str, str]:
    found = {"hubmine": __version__, "python": platform.python_version()}
    for package in ("huggingface_hub", "pyarrow", "requests"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_manifest(snapshot: Snapshot, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into the snapshot's manifest and write it atomically."""
    manifest = read_manifest(snapshot) or {}
    manifest.update(fields)
    write_json(snapshot.manifest, manifest)
    return manifest
