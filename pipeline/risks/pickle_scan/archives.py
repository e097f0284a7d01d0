"""Zip archives read the way torch's reader (miniz) reads them, entry by entry from the central
directory, with every place where Python's `zipfile` would read the archive differently recorded as a
layout trick; and tar archives read as `tarfile` streams them."""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from pipeline.risks.pickle_scan.bounds import Broken, Budget, OverBound
from pipeline.risks.pickle_scan.streams import file_range, raw_deflate

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_MAX_COMMENT = 0xFFFF
_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _DATA_DESCRIPTOR, _UTF8 = 0x1, 0x8, 0x800
_FULL32 = 0xFFFFFFFF


@dataclass
class ZipEntry:
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    local_offset: int
    data_offset: int = 0


@dataclass
class ZipListing:
    entries: list[ZipEntry]
    tricks: list[str]  # where zipfile and torch would read the archive differently


def _end_record(source: IO[bytes], file_size: int) -> tuple[int, int, int, int]:
    """(entries, central directory size, its offset as recorded, where it really starts)."""
    tail_size = min(file_size, _EOCD.size + _MAX_COMMENT)
    source.seek(file_size - tail_size)
    tail = source.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise Broken("no zip end-of-directory record: the archive is cut off or damaged")
    _, _, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    record_at = file_size - tail_size + at
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        _, _, zip64_at, _ = _ZIP64_LOCATOR.unpack_from(tail, locator_at)
        source.seek(zip64_at)
        record = source.read(_ZIP64_EOCD.size)
        if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
            _, _, _, _, _, _, _, entries, cd_size, cd_offset = _ZIP64_EOCD.unpack(record)
            record_at = zip64_at
    start = record_at - cd_size
    if start < 0 or cd_offset > start:
        raise Broken("the zip directory points outside the file")
    return entries, cd_size, cd_offset, start


def _zip64_fields(extra: bytes, entry: ZipEntry) -> None:
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, at)
        if tag == 1:
            values = list(struct.unpack_from(f"<{min(size, len(extra) - at - 4) // 8}Q", extra, at + 4))
            for field in ("size", "compressed", "local_offset"):
                if getattr(entry, field) == _FULL32 and values:
                    setattr(entry, field, values.pop(0))
            return
        at += 4 + size


def _name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & _UTF8 else "cp437", "replace")


def list_zip(source: IO[bytes], budget: Budget) -> ZipListing:
    """The entries of the zip archive `source` as torch finds them, checked against their local headers."""
    file_size = source.seek(0, io.SEEK_END)
    count, cd_size, cd_offset, cd_start = _end_record(source, file_size)
    if count > budget.limits.members:
        raise OverBound(f"a zip of {count} entries, more than {budget.limits.members}")
    shift = cd_start - cd_offset  # bytes before the archive, as zipfile allows
    directory = file_range(source, cd_start, cd_size)
    entries: list[ZipEntry] = []
    tricks: list[str] = []
    for _ in range(count):
        header = directory.read(_CENTRAL.size)
        if len(header) < _CENTRAL.size or header[:4] != b"PK\x01\x02":
            raise Broken("the zip directory breaks off before its last entry")
        fields = _CENTRAL.unpack(header)
        flags, method, _, _, crc, compressed, size, name_len, extra_len, comment_len = fields[3:13]
        raw_name = directory.read(name_len)
        extra = directory.read(extra_len)
        directory.read(comment_len)
        entry = ZipEntry(_name(raw_name, flags), raw_name, flags, method, crc, compressed, size, fields[16])
        _zip64_fields(extra, entry)
        budget.add_member()
        entries.append(entry)
    if directory.read(4) == b"PK\x01\x02":
        tricks.append("the zip directory holds more entries than its end record counts")
    for entry in entries:
        tricks += _check_local(source, entry, shift)
    return ZipListing(entries, tricks + _name_clashes(entries))


def _check_local(source: IO[bytes], entry: ZipEntry, shift: int) -> list[str]:
    source.seek(shift + entry.local_offset)
    header = source.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise Broken(f"zip entry {entry.name!r} has no local header where the directory points")
    _, _, flags, method, _, _, crc, compressed, size, name_len, extra_len = _LOCAL.unpack(header)
    local_name = source.read(name_len)
    entry.data_offset = shift + entry.local_offset + _LOCAL.size + name_len + extra_len
    tricks = []
    if local_name != entry.raw_name:
        tricks.append(f"zip entry {entry.name!r} is named {_name(local_name, flags)!r} in its local header")
    if method != entry.method:
        tricks.append(f"zip entry {entry.name!r} has another compression method in its local header")
    if (flags | entry.flags) & _ENCRYPTED:
        tricks.append(f"zip entry {entry.name!r} is flagged encrypted")
    described = (flags | entry.flags) & _DATA_DESCRIPTOR
    sizes = (crc, compressed, size)
    if not described and _FULL32 not in sizes and sizes != (entry.crc, entry.compressed, entry.size):
        tricks.append(f"zip entry {entry.name!r} has other sizes or checksum in its local header")
    return tricks


def _name_clashes(entries: list[ZipEntry]) -> list[str]:
    """Names that appear twice, or differ only in case: torch's lookup ignores case and takes one of
    them, while a reader by exact name takes another."""
    seen: dict[str, str] = {}
    tricks = []
    for entry in entries:
        key = entry.name.lower()
        if key in seen:
            same = seen[key] == entry.name
            what = "appears twice" if same else f"differs only in case from {seen[key]!r}"
            tricks.append(f"zip entry {entry.name!r} {what}")
        else:
            seen[key] = entry.name
    return tricks


def open_entry(source: IO[bytes], entry: ZipEntry, budget: Budget) -> IO[bytes]:
    """The content of a zip entry, as torch reads it (stored or deflated; the checksum is not checked)."""
    data = file_range(source, entry.data_offset, entry.compressed)
    if entry.method == _STORED:
        return data
    if entry.method == _DEFLATED:
        return raw_deflate(data, budget)
    raise Broken(f"zip entry {entry.name!r} uses compression method {entry.method}, which torch cannot read")


def tar_members(stream: IO[bytes], budget: Budget) -> Iterator[tuple[str, IO[bytes]]]:
    """Each regular file of a tar stream, in order; a name that repeats is read each time."""
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                budget.add_member()
                if not member.isfile():
                    continue
                content = archive.extractfile(member)
                if content is not None:
                    yield member.name, content
    except tarfile.TarError as exc:
        raise Broken(f"the tar archive is damaged: {exc}") from None
