"""The crawl's checkpoint (`state.json`) and manifest, advanced only once what they describe is on disk."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from pipeline import __version__
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
    # Request tallies of earlier runs of this crawl (before a kill or an interruption).
    requests: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, snapshot: Snapshot) -> CrawlState:
        try:
            return cls(**json.loads(snapshot.state.read_text()))
        except FileNotFoundError:
            return cls()

    def save(self, snapshot: Snapshot, requests: dict[str, int]) -> None:
        """Write the checkpoint with `requests`, the tallies of this and earlier runs."""
        write_json(snapshot.state, {**asdict(self), "requests": requests})

    def roll_back_damaged_parts(self, snapshot: Snapshot) -> None:
        """Count only the committed parts that still read: a damaged one is done again, and all after it."""
        if not snapshot.models.exists():
            good = PartSet(snapshot.parts("models"), "models").readable_rows(self.listing_parts)
            if len(good) < self.listing_parts:
                # The link to the page after the last good one went with the damaged part: list again.
                self.listing_parts, self.listed, self.next_url, self.listing_done = 0, 0, None, False
        if not snapshot.cards.exists():
            good = PartSet(snapshot.parts("cards"), "cards").readable_rows(self.card_parts)
            if len(good) < self.card_parts:
                self.card_parts, self.cards_done, self.cards_finished = len(good), sum(good), False


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
