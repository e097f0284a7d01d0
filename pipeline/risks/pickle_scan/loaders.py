"""Each file read as the loaders that open it read it: a pickle stream (`pickle.load`, legacy
`torch.load`, `joblib.load`), a zip (`torch.load`, `numpy.load` of .npz, .mar and other archives), a
tar (legacy `torch.load`, .nemo), a compressed stream (gzip, bz2, xz, lzma, lz4, zlib: joblib and
compressed pickles) or a `.npy` array, nested to a bounded depth. Formats are told by content."""

from __future__ import annotations

import ast
import re
import tempfile
from dataclasses import dataclass
from typing import IO

import numpy

from pipeline.risks.pickle_scan.archives import list_zip, open_entry, tar_members
from pipeline.risks.pickle_scan.bounds import Broken, Budget
from pipeline.risks.pickle_scan.evidence import Evidence
from pipeline.risks.pickle_scan.formats import HEAD_BYTES, Kind, is_loadable_name, kind_of
from pipeline.risks.pickle_scan.opcodes import Machine
from pipeline.risks.pickle_scan.streams import CHUNK, can_seek, decompressed, skip

# Tensor bytes and text records of a torch zip checkpoint, which torch reads raw, never unpickled.
_TORCH_RAW = re.compile(
    r"(^|/)(data/\d+|version|byteorder|\.format_version|\.storage_alignment|\.data/serialization_id)$"
)
_MAX_NPY_HEADER = 1 << 20
# torch's legacy tar checkpoint: members of records, each a pickle of its arguments then raw bytes.
_LEGACY_RECORDS = ("storages", "tensors")
# Bytes per element of the storage types a legacy `storages` member names.
_STORAGE_ELEMENT_BYTES = {
    "DoubleStorage": 8,
    "FloatStorage": 4,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "LongStorage": 8,
    "IntStorage": 4,
    "ShortStorage": 2,
    "CharStorage": 1,
    "ByteStorage": 1,
    "BoolStorage": 1,
    "ComplexDoubleStorage": 16,
    "ComplexFloatStorage": 8,
}
_PROTO = 0x80


@dataclass
class Walk:
    """One file's scan: its budget and what it found."""

    budget: Budget
    evidence: Evidence


def read_file(stream: IO[bytes], path: str, walk: Walk, depth: int = 0) -> None:
    """Read `stream` (a whole file or archive member, named `path` within the top file) by its content."""
    walk.budget.check_depth(depth)
    kind = kind_of(stream.peek(HEAD_BYTES)[:HEAD_BYTES])  # type: ignore[attr-defined]
    walk.evidence.loaders.add(kind.value)
    if kind is Kind.ZIP and can_seek(stream):
        _read_zip(stream, path, walk, depth)
    elif kind is Kind.ZIP:
        with tempfile.TemporaryFile(prefix="hubmine-scan-") as spool:  # a decompressed zip, to seek in
            while chunk := stream.read(CHUNK):
                spool.write(chunk)
            _read_zip(spool, path, walk, depth)
    elif kind is Kind.TAR:
        for name, member in tar_members(stream, walk.budget):
            if name in _LEGACY_RECORDS:
                _read_legacy_records(member, _join(path, name), name, walk)
            else:
                _read_member(member, _join(path, name), name, walk, depth + 1)
    elif kind is Kind.NPY:
        _read_npy(stream, path, walk)
    elif kind is Kind.PICKLE:
        read_pickles(stream, path, walk)
    else:
        read_file(decompressed(kind, stream, walk.budget), path, walk, depth + 1)


def _join(path: str, name: str) -> str:
    return f"{path}!{name}" if path else name


def _read_zip(source: IO[bytes], path: str, walk: Walk, depth: int) -> None:
    listing = list_zip(source, walk.budget)
    walk.evidence.dangerous += listing.tricks
    for entry in listing.entries:
        member = open_entry(source, entry, walk.budget)
        _read_member(member, _join(path, entry.name), entry.name, walk, depth + 1)


def _read_member(member: IO[bytes], path: str, name: str, walk: Walk, depth: int) -> None:
    """An archive member, chosen by content and name: arrays, nested archives and compressed streams,
    torch's `*.pkl` records, files a loader opens by name, and anything that starts like a pickle. A
    member that breaks is recorded and the next one read: it must not hide the members after it."""
    low = name.lower()
    if _TORCH_RAW.search(low):
        return
    head = member.peek(HEAD_BYTES)[:HEAD_BYTES]  # type: ignore[attr-defined]
    if not head:
        return
    chosen = kind_of(head) is not Kind.PICKLE or head[0] == _PROTO or low.endswith(".pkl")
    if not chosen and not is_loadable_name(low):
        return
    walk.budget.add_member()
    try:
        read_file(member, path, walk, depth)
    except Broken as exc:
        walk.evidence.problems.append(f"{path}: {exc}")


def read_pickles(stream: IO[bytes], path: str, walk: Walk) -> None:
    """Every pickle of a stream, each with a fresh memo, as a loop of `pickle.load` (and torch's legacy
    format, five pickles in a row) reads them. The first must be whole; reading stops quietly at the
    first later one that breaks off before unpickling anything that counts (raw tensor data follows a
    legacy checkpoint's pickles)."""
    if not stream.peek(1)[:1]:  # type: ignore[attr-defined]
        walk.evidence.problems.append(f"{path or 'the file'}: empty, nothing to unpickle")
    first = True
    while head := stream.peek(1)[:1]:  # type: ignore[attr-defined]
        walk.budget.add_member()
        found = walk.evidence if first else Evidence()
        try:
            Machine(stream, walk.budget, found).run()
        except Broken as exc:
            if first:
                walk.evidence.problems.append(f"{path or 'the file'}: {exc}")
            elif head[0] == _PROTO:
                walk.evidence.merge(found)  # a pickle by its header: what ran before the break counts
            return
        found.loaded += 1
        if first:
            walk.evidence.add_member(path)
        else:
            walk.evidence.merge(found)
        first = False


def _read_legacy_records(stream: IO[bytes], path: str, name: str, walk: Walk) -> None:
    """`storages` or `tensors` of torch's legacy tar, read as `torch.load` reads them: a pickle of the
    record count, then per record a pickle of its arguments and the raw bytes it announces (a storage:
    an int64 element count and the elements; a tensor: its dimensions, sizes, strides and offset),
    then any pickles after the records."""
    walk.budget.add_member()
    try:
        count = _one_pickle(stream, walk)
        if not isinstance(count, int) or count < 0:
            raise Broken("a record count that is not a count")
        for _ in range(count):
            walk.budget.add_member()
            arguments = _one_pickle(stream, walk)
            if name == "storages":
                skip(stream, _int(stream, 8) * _element_bytes(arguments))
            else:
                skip(stream, 4 + 16 * _int(stream, 4) + 8)
    except Broken as exc:
        walk.evidence.problems.append(f"{path}: {exc}")
        return
    walk.evidence.add_member(path)
    if stream.peek(1)[:1]:  # type: ignore[attr-defined]
        read_pickles(stream, path, walk)


def _one_pickle(stream: IO[bytes], walk: Walk) -> object:
    machine = Machine(stream, walk.budget, walk.evidence)
    machine.run()
    walk.evidence.loaded += 1
    return machine.result


def _int(stream: IO[bytes], size: int) -> int:
    data = stream.read(size)
    if len(data) != size:
        raise Broken("a record ends before its sizes")
    value = int.from_bytes(data, "little", signed=True)
    if value < 0:
        raise Broken("a record of negative size")
    return value


def _element_bytes(arguments: object) -> int:
    storage_type = arguments[2] if isinstance(arguments, tuple) and len(arguments) == 3 else None
    size = _STORAGE_ELEMENT_BYTES.get(getattr(storage_type, "name", ""))
    if size is None:
        raise Broken("a storage record of unknown type")
    return size


def _read_npy(stream: IO[bytes], path: str, walk: Walk) -> None:
    """A `.npy` array: its header, then the pickle `numpy.load(allow_pickle=True)` reads for an array
    of objects."""
    magic = stream.read(8)
    major = magic[6] if len(magic) == 8 else 0
    if major not in (1, 2, 3):
        raise Broken(f"{path or 'the file'}: an .npy of unknown version {major}")
    size = int.from_bytes(stream.read(2 if major == 1 else 4), "little")
    if size > _MAX_NPY_HEADER:
        raise Broken(f"{path or 'the file'}: an .npy header of {size} bytes")
    header = stream.read(size).decode("latin-1" if major < 3 else "utf-8", "replace")
    try:
        fields = ast.literal_eval(header)
        dtype = numpy.lib.format.descr_to_dtype(fields["descr"])
    except (ValueError, TypeError, SyntaxError, KeyError, MemoryError, RecursionError):
        raise Broken(f"{path or 'the file'}: an .npy header numpy cannot read") from None
    walk.evidence.add_member(path)
    if not dtype.hasobject:
        walk.evidence.loaded += 1
        return
    walk.evidence.loaders.add("numpy-object-array")
    read_pickles(stream, path, walk)
