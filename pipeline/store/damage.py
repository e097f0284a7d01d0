"""Reading what hubmine wrote: a file that no longer reads becomes one `DamagedFileError` naming it and
what to do, and a damaged file a command can do without is skipped with a one-line warning."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import DamagedFileError
from pipeline.store.layout import SNAPSHOT_TABLES


def recrawl_remedy() -> str:
    return "crawl again with `hubmine crawl` (or restore the file from a backup)"


def reanalyze_remedy(snapshot_id: str) -> str:
    return f"write it again with `hubmine analyze --snapshot {snapshot_id}`"


def table_remedy(path: Path) -> str:
    """What to do about a damaged table of a snapshot: crawl tables come from the Hub, findings from
    `hubmine analyze` (a finding lies in `<snapshot>/findings/`)."""
    return recrawl_remedy() if path.stem in SNAPSHOT_TABLES else reanalyze_remedy(path.parents[1].name)


@contextmanager
def reading(path: Path, remedy: str) -> Iterator[None]:
    """Turn a failure to read or decode `path` (not its absence) into a `DamagedFileError`."""
    try:
        yield
    except (FileNotFoundError, PermissionError):
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        # ArrowInvalid is a ValueError and ArrowIOError an OSError: one line of either is enough.
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DamagedFileError(path, problem[:200], remedy) from exc


def read_json_object(path: Path, remedy: str) -> dict[str, Any]:
    """The JSON object in `path`; FileNotFoundError when it is absent."""
    with reading(path, remedy):
        data = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
    return data


def open_parquet(path: Path, remedy: str) -> pq.ParquetFile:
    """`path` opened as Parquet, its footer checked; FileNotFoundError when it is absent."""
    with reading(path, remedy):
        return pq.ParquetFile(path)


_warned: set[str] = set()


def warn(message: str) -> None:
    """One line on stderr, once per process: lookups that meet the same damaged file say so once."""
    if message not in _warned:
        _warned.add(message)
        print(f"hubmine: warning: {message}", file=sys.stderr)
