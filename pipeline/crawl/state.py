"""The crawl's checkpoint (`state.json`) and manifest, advanced only once what they describe is on disk."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from pipeline import __version__
from pipeline.store.damage import read_json_object, reading
from pipeline.store.files import write_json
from pipeline.store.layout import Snapshot
from pipeline.store.parts import PartSet
from pipeline.store.snapshot import read_manifest

# Checkpoints written before phases were registered kept one set of fields per phase.
_LEGACY_FIELDS = {
    "listing": ("listing_parts", "listed", "listing_done"),
    "cards": ("card_parts", "cards_done", "cards_finished"),
}


@dataclass
class PhaseProgress:
    """How far one phase got: `parts` committed, holding its first `done` rows; `finished` once all are."""

    parts: int = 0
    done: int = 0
    finished: bool = False


@dataclass
class CrawlState:
    """How far a crawl got: everything before these marks is committed on disk."""

    # The listing's cursor: the page after its last committed part.
    next_url: str | None = None
    phases: dict[str, PhaseProgress] = field(default_factory=dict)
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
            phases = data.pop("phases", {})
            for name, names in _LEGACY_FIELDS.items():
                legacy = [data.pop(key) for key in names if key in data]
                if legacy and name not in phases:
                    phases[name] = dict(zip(("parts", "done", "finished"), legacy, strict=False))
            return cls(**data, phases={name: PhaseProgress(**p) for name, p in phases.items()})

    def phase(self, name: str) -> PhaseProgress:
        return self.phases.setdefault(name, PhaseProgress())

    def save(self, snapshot: Snapshot, requests: dict[str, int], tables: Mapping[str, str]) -> None:
        """Write the checkpoint with `requests`, the tallies of this and earlier runs, and the checksum of
        every part committed since the last one (`tables`: the table each phase writes in parts)."""
        for name, table in tables.items():
            count = self.phase(name).parts
            recorded = self.part_checksums.setdefault(table, [])
            if len(recorded) < count and not snapshot.table(table).exists():
                recorded += PartSet(snapshot, table).checksums(len(recorded), count)
        write_json(snapshot.state, {**asdict(self), "requests": requests})

    def roll_back_damaged_parts(self, snapshot: Snapshot, phase: str, table: str, restart: bool) -> None:
        """Count only the committed parts of `phase` whose bytes are as committed: a damaged one is done
        again, and every part after it (with `restart`, the whole phase)."""
        progress = self.phase(phase)
        if snapshot.table(table).exists():
            return
        good = self._intact_rows(snapshot, table, progress.parts)
        if len(good) < progress.parts:
            if restart:
                good = []
            self.phases[phase] = PhaseProgress(len(good), sum(good), False)
            self.part_checksums[table] = self.part_checksums.get(table, [])[: len(good)]

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
