"""The journal: each Hub response on disk the moment it arrives, until the part it belongs to is committed.

Entries are appended as they come (one gzip member each, handed to the OS at once), so a crawl
killed at any point keeps every response it had received and a resumed crawl replays them instead
of asking again. An entry holds `{"seq", "key", "record"}`: `seq` places it among the table's rows
(a card's position among the candidates, a listing page's part number) and `key` names the request
it answers, so a replay never hands a response to another request. When a part is committed its
entries move to the part's archive file and leave the journal.

A kill or a full disk can only cut the end of the file: opening the journal keeps the whole
entries before the first damaged one and cuts the rest off, to be fetched again.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import StorageError
from pipeline.store.files import atomic_path, storage_errors

# The largest entry read back; anything larger is taken for damage (a record holds one capped body).
MAX_ENTRY_BYTES = 256 << 20
_CHUNK = 1 << 20

Key = tuple[str | None, ...]


@dataclass
class _Member:
    offset: int
    length: int


@dataclass
class _Request:
    key: Key
    members: list[_Member] = field(default_factory=list)


def _whole_members(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(length, payload) of each whole gzip member from the start of `handle`, in order; stops at the
    first member that is cut short, corrupt or larger than `MAX_ENTRY_BYTES`."""
    pending = b""
    while True:
        inflater = zlib.decompressobj(wbits=31)
        payload = bytearray()
        length = 0
        while not inflater.eof:
            if not pending:
                pending = handle.read(_CHUNK)
                if not pending:
                    return
            try:
                payload += inflater.decompress(pending, MAX_ENTRY_BYTES + 1 - len(payload))
            except zlib.error:
                return
            if len(payload) > MAX_ENTRY_BYTES:
                return
            rest = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            length += len(pending) - len(rest)
            pending = rest
        yield length, bytes(payload)


def _parse_entry(payload: bytes) -> tuple[int, Key, dict[str, Any]] | None:
    try:
        entry = json.loads(payload)
        seq, key, record = entry["seq"], tuple(entry["key"]), entry["record"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(seq, int) or not isinstance(record, dict):
        return None
    return seq, key, record


@dataclass(frozen=True)
class JournalRecorder:
    """The responses of one request, written to the journal under its `seq` and `key`."""

    journal: Journal
    seq: int
    key: Key

    def write(self, record: Mapping[str, Any]) -> None:
        self.journal.append(self.seq, self.key, record)


class Journal:
    def __init__(self, path: Path, committed: int) -> None:
        """Open (or start) the journal at `path`, keeping only entries of rows from `committed` on."""
        self.path = path
        self._lock = threading.Lock()
        self._requests: dict[int, _Request] = {}
        self._size = 0
        self._failure: StorageError | None = None
        self._closed = False
        with storage_errors(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._recover()
            self._open()
        self.forget_before(committed)

    def _recover(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            for length, payload in _whole_members(handle):
                entry = _parse_entry(payload)
                if entry is None:
                    break
                self._index(*entry[:2], _Member(self._size, length))
                self._size += length
        if self.path.stat().st_size > self._size:
            os.truncate(self.path, self._size)

    def _open(self) -> None:
        self._append_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._read_fd = os.open(self.path, os.O_RDONLY)

    def _close(self) -> None:
        os.close(self._append_fd)
        os.close(self._read_fd)

    def _index(self, seq: int, key: Key, member: _Member) -> None:
        request = self._requests.get(seq)
        if request is None or request.key != key:
            # A seq answers one request; entries left by another request under it are superseded.
            request = self._requests[seq] = _Request(key)
        request.members.append(member)

    def recorder(self, seq: int, key: Sequence[str | None]) -> JournalRecorder:
        """Where the responses of request `key` at `seq` go; refused once a write has failed, so no
        more requests are made whose responses could not be kept."""
        self._raise_failure()
        return JournalRecorder(self, seq, tuple(key))

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise StorageError(str(self._failure))

    def append(self, seq: int, key: Key, record: Mapping[str, Any]) -> None:
        payload = json.dumps({"seq": seq, "key": list(key), "record": record}, ensure_ascii=False)
        # The fastest level: an entry lives only until its part commits, and this runs per response.
        member = gzip.compress(payload.encode("utf-8"), compresslevel=1, mtime=0)
        with self._lock:
            # Whatever part of a failed entry reached the file is a damaged tail: append no more.
            self._raise_failure()
            try:
                with storage_errors(self.path):
                    self._append(member)
            except StorageError as exc:
                self._failure = exc
                raise
            self._index(seq, key, _Member(self._size, len(member)))
            self._size += len(member)

    def _append(self, member: bytes) -> None:
        """Hand `member` to the OS: it then survives the process being killed (not a power cut)."""
        view = memoryview(member)
        while view:
            view = view[os.write(self._append_fd, view) :]

    def _read(self, member: _Member) -> dict[str, Any]:
        with self._lock:
            data = os.pread(self._read_fd, member.length, member.offset)
        entry = _parse_entry(gzip.decompress(data))
        assert entry is not None, "entries are checked when indexed"
        return entry[2]

    def last_record(self, seq: int, key: Sequence[str | None]) -> dict[str, Any] | None:
        """The latest response recorded for request `key` at `seq`, if any."""
        with self._lock:
            request = self._requests.get(seq)
            if request is None or request.key != tuple(key):
                return None
            member = request.members[-1]
        return self._read(member)

    def records_before(self, upto: int) -> Iterator[dict[str, Any]]:
        """Records of every entry with seq < `upto`, by seq, each request's in the order they came."""
        with self._lock:
            members = [m for seq in sorted(self._requests) if seq < upto for m in self._requests[seq].members]
        for member in members:
            yield self._read(member)

    def forget_before(self, upto: int) -> None:
        """Drop the entries with seq < `upto` (their part is committed), rewriting the file without them."""
        with self._lock:
            stale = [seq for seq in self._requests if seq < upto]
            if not stale:
                return
            for seq in stale:
                del self._requests[seq]
            kept = sorted((m for r in self._requests.values() for m in r.members), key=lambda m: m.offset)
            offsets = []
            try:
                with atomic_path(self.path) as tmp, open(tmp, "wb") as out:
                    for member in kept:
                        offsets.append(out.tell())
                        out.write(os.pread(self._read_fd, member.length, member.offset))
            except StorageError as exc:
                self._failure = exc  # the file on disk stays as it was, but no longer matches the index
                raise
            for member, offset in zip(kept, offsets, strict=True):
                member.offset = offset
            self._size = sum(m.length for m in kept)
            self._close()
            with storage_errors(self.path):
                self._open()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

    def remove(self) -> None:
        """Close and delete the journal: every entry is in a committed part."""
        self.close()
        with storage_errors(self.path):
            self.path.unlink(missing_ok=True)
