"""Byte streams the scan reads: a range of a seekable file, and decompressed streams whose output is
counted against the file's budget. Each is wrapped in `io.BufferedReader` for `read`, `readline` and
`peek`."""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from pipeline.risks.pickle_scan.bounds import Broken, Budget
from pipeline.risks.pickle_scan.formats import Kind

CHUNK = 1 << 20
BUFFER = 1 << 16


class _Range(io.RawIOBase):
    """`length` bytes of `source` from `start`; seeks before every read, so ranges can share a file."""

    def __init__(self, source: IO[bytes], start: int, length: int) -> None:
        self._source, self._start, self._length, self._pos = source, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._length - self._pos)
        if wanted <= 0:
            return 0
        self._source.seek(self._start + self._pos)
        data = self._source.read(wanted)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def file_range(source: IO[bytes], start: int, length: int) -> io.BufferedReader:
    return io.BufferedReader(_Range(source, start, length), BUFFER)


class _Chunks(io.RawIOBase):
    """A stream of the chunks a generator yields, each counted against the budget as it comes."""

    def __init__(self, chunks: Iterator[bytes], budget: Budget) -> None:
        self._chunks, self._budget = chunks, budget
        self._view, self._offset = memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._view):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._budget.add_expanded(len(chunk))
            self._view, self._offset = memoryview(chunk), 0
        count = min(len(buffer), len(self._view) - self._offset)
        buffer[:count] = self._view[self._offset : self._offset + count]
        self._offset += count
        return count


def _zlib_chunks(source: IO[bytes], wbits: int) -> Iterator[bytes]:
    """Inflated output, member after member for gzip (as `gzip.open` reads concatenated members)."""
    decompressor = zlib.decompressobj(wbits)
    pending = b""
    while True:
        if not pending:
            pending = source.read(CHUNK)
            if not pending:
                if not decompressor.eof:
                    raise Broken("compressed stream ends early")
                return
        try:
            out = decompressor.decompress(pending, CHUNK)
        except zlib.error as exc:
            raise Broken(f"compressed stream is damaged: {exc}") from None
        pending = decompressor.unconsumed_tail
        if out:
            yield out
        if decompressor.eof:
            pending = decompressor.unused_data + pending
            if wbits != _GZIP_WBITS or not pending.startswith(b"\x1f\x8b"):
                return
            decompressor = zlib.decompressobj(wbits)


def _stream_chunks(source: IO[bytes], new: Callable[[], Any]) -> Iterator[bytes]:
    """Output of a bz2, lzma or lz4 decompressor, stream after stream."""
    decompressor = new()
    pending = b""
    while True:
        data = b""
        if decompressor.needs_input:
            data, pending = pending or source.read(CHUNK), b""
            if not data:
                raise Broken("compressed stream ends early")
        try:
            out = decompressor.decompress(data, CHUNK)
        except (OSError, EOFError, ValueError, RuntimeError, lzma.LZMAError) as exc:
            raise Broken(f"compressed stream is damaged: {exc}") from None
        if out:
            yield out
        if decompressor.eof:
            rest = (decompressor.unused_data or b"") + pending
            if not rest.strip(b"\x00"):
                return
            decompressor, pending = new(), rest


_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _lz4() -> Any:
    try:
        import lz4.frame
    except ImportError:
        raise Broken("an lz4 stream, and the lz4 package is not installed") from None
    return lz4.frame.LZ4FrameDecompressor()


def decompressed(kind: Kind, source: IO[bytes], budget: Budget) -> io.BufferedReader:
    """The decompressed content of `source`, a stream of `kind`."""
    chunks: Iterator[bytes]
    if kind is Kind.GZIP:
        chunks = _zlib_chunks(source, _GZIP_WBITS)
    elif kind is Kind.ZLIB:
        chunks = _zlib_chunks(source, zlib.MAX_WBITS)
    elif kind is Kind.BZIP2:
        chunks = _stream_chunks(source, bz2.BZ2Decompressor)
    elif kind is Kind.XZ:
        chunks = _stream_chunks(source, lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ))
    elif kind is Kind.LZMA:
        chunks = _stream_chunks(source, lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE))
    elif kind is Kind.LZ4:
        chunks = _stream_chunks(source, _lz4)
    else:
        raise ValueError(kind)
    return io.BufferedReader(_Chunks(chunks, budget), BUFFER)


def raw_deflate(source: IO[bytes], budget: Budget) -> io.BufferedReader:
    """A zip member's deflated data."""
    return io.BufferedReader(_Chunks(_zlib_chunks(source, -zlib.MAX_WBITS), budget), BUFFER)


def can_seek(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable()
    except AttributeError:  # a member of a tar read as a stream
        return False


def skip(stream: IO[bytes], count: int) -> None:
    """Pass over `count` bytes of `stream`; Broken if it ends first."""
    if can_seek(stream):
        start = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        if start + count > end:
            raise Broken(f"stream ends {start + count - end} bytes before the data it announces")
        stream.seek(start + count)
        return
    left = count
    while left > 0:
        data = stream.read(min(left, CHUNK))
        if not data:
            raise Broken(f"stream ends {left} bytes before the data it announces")
        left -= len(data)
