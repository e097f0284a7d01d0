"""What one file's scan may cost, counted across all its members and nesting levels."""

from __future__ import annotations

from dataclasses import dataclass, field


class OverBound(Exception):
    """The scan of a file stopped at a bound; the message says which."""


class Broken(Exception):
    """A stream or archive ends or breaks where its loader would fail; the message says where."""


@dataclass(frozen=True)
class Limits:
    # A real checkpoint's pickle holds some 15 opcodes per tensor: this is far beyond any model's.
    opcodes: int = 10_000_000
    # Pickles, arrays and archive entries looked at in one file.
    members: int = 10_000
    # Bytes produced by decompression, across the whole file.
    expanded_bytes: int = 8 * 1024**3
    # Archives and compressed streams inside one another.
    depth: int = 4
    # Objects the memo of one pickle may hold.
    memo: int = 1_000_000


@dataclass
class Budget:
    """What is left of `Limits` while one file is scanned."""

    limits: Limits = field(default_factory=Limits)
    opcodes: int = 0
    members: int = 0
    expanded: int = 0

    def add_opcodes(self, count: int) -> None:
        self.opcodes += count
        if self.opcodes > self.limits.opcodes:
            raise OverBound(f"more than {self.limits.opcodes} pickle opcodes")

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.limits.members:
            raise OverBound(f"more than {self.limits.members} members")

    def add_expanded(self, count: int) -> None:
        self.expanded += count
        if self.expanded > self.limits.expanded_bytes:
            raise OverBound(f"expands past {self.limits.expanded_bytes} bytes")

    def check_depth(self, depth: int) -> None:
        if depth > self.limits.depth:
            raise OverBound(f"archives nested more than {self.limits.depth} deep")
