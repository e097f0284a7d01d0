"""Atomic file writes: a half-written file never carries its final name."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import StorageError

# A file being written is a hidden sibling `.<name>.tmp-<pid>` until it is renamed onto its name.
_TMP_MARK = ".tmp-"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


@contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """Turn a write of `path` refused for space or permission into a `StorageError` that says what to do."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            fix = "free space on its disk"
        elif exc.errno in _NOT_WRITABLE:
            fix = "make the data directory writable"
        else:
            raise
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}; {fix}") from exc


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; on success it is fsynced and renamed onto `path`."""
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")
    try:
        with storage_errors(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
    finally:
        # Best effort: on a read-only disk the leftover cannot go either, and must not hide why.
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


def remove_leftovers(directory: Path) -> None:
    """Delete the temporary files that runs killed mid-write left anywhere under `directory`; call it
    only while holding the data directory's lock, when no write of another run can be in progress."""
    with storage_errors(directory):
        for leftover in directory.rglob(f".*{_TMP_MARK}*"):
            leftover.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else "utf-8") as handle:
        yield handle


def write_json(path: Path, data: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")


def write_parquet(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
