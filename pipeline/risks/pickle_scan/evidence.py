"""What the scan of one file found, gathered across its members before the verdict is drawn."""

from __future__ import annotations

from dataclasses import dataclass, field

# Member paths kept per file; the scan reads them all.
MAX_LISTED_MEMBERS = 100


@dataclass
class Evidence:
    """Globals imported, layout tricks, bounds hit and breaks, for one file."""

    globals: dict[str, None] = field(default_factory=dict)  # module.name, in first-seen order
    dangerous: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loaders: set[str] = field(default_factory=set)
    members: list[str] = field(default_factory=list)
    loaded: int = 0  # pickles read to their STOP, and arrays read without a pickle

    def merge(self, other: Evidence) -> None:
        """Take in what a trial read found."""
        for qualified in other.globals:
            self.globals.setdefault(qualified, None)
        self.dangerous += other.dangerous
        self.suspicious += other.suspicious
        self.loaders |= other.loaders
        for member in other.members:
            self.add_member(member)
        self.loaded += other.loaded

    def add_global(self, module: str, name: str) -> None:
        self.globals.setdefault(f"{module}.{name}", None)

    def add_member(self, path: str) -> None:
        """Name a pickle or array read inside the file (the file itself, path "", is not listed), once
        for the pickles of one member."""
        if path and self.members[-1:] != [path] and len(self.members) < MAX_LISTED_MEMBERS:
            self.members.append(path)
