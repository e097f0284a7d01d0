"""`--scan-pickles`: every pickle-based file of each model, downloaded at its sha up to `--max-bytes` and
read statically by picklescan, which lists the callables the pickles import (inside PyTorch zip archives
too) from their opcodes alone. Nothing is ever unpickled or loaded.
"""

from __future__ import annotations

import logging
import pickletools
import tempfile
import threading
import zipfile
from dataclasses import replace
from typing import IO, Any

from pipeline.crawl.fetch import FileTarget, file_url
from pipeline.errors import HubError, one_line
from pipeline.hub.client import Response
from pipeline.hub.ids import InvalidHubName
from pipeline.risks.findings import Row, measure, tally
from pipeline.risks.registry import RiskContext, RiskStep, Target

TABLE = "pickle_scan"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill")
# At most this many files of one model are downloaded, whatever its file list names.
MAX_FILES_PER_MODEL = 100
# picklescan keeps each opcode of a pickle in memory (about 100 bytes each); a real checkpoint's pickle
# holds some 15 per tensor, so this is far beyond any model's and bounds what a crafted one costs.
MAX_OPCODES = 10_000_000


def pickle_files(siblings: tuple[str, ...]) -> list[str]:
    """The files of a model that hold pickles, in file-list order."""
    return [path for path in siblings if path.lower().endswith(PICKLE_SUFFIXES)][:MAX_FILES_PER_MODEL]


class _Problems(logging.Handler):
    """picklescan says that a file did not parse only in its log; this keeps those lines per thread, so
    each scan sees its own. Import findings ("... FOUND") and the fallback from a PyTorch file without
    the legacy magic number to a plain pickle are not problems."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        message = one_line(record.getMessage()).removeprefix("WARNING: ").removeprefix("ERROR: ")
        if message.endswith("FOUND") or "magic number" in message:
            return
        problems = getattr(self.local, "problems", None)
        if problems is not None:
            problems.append(message)

    def collect(self) -> list[str]:
        self.local.problems = []
        return self.local.problems


_PROBLEMS = _Problems()
_log = logging.getLogger("picklescan")
_log.addHandler(_PROBLEMS)
_log.setLevel(logging.WARNING)
_log.propagate = False


def _opcodes(stream: IO[bytes], budget: int) -> int:
    """How many opcodes the pickles of `stream` hold, counted (not kept) up to `budget` and one more."""
    count = 0
    while count <= budget:
        try:
            for _ in pickletools.genops(stream):
                count += 1
                if count > budget:
                    break
        except Exception:  # a broken pickle ends the count; picklescan reports it
            return count
        if not stream.read(1):
            return count
        stream.seek(-1, 1)
    return count


def too_costly(data: IO[bytes], max_bytes: int) -> str | None:
    """Why picklescan should not be run on the file `data` (read from its start): it keeps every
    opcode of a pickle in memory and reads an archive's members whole, so an archive that expands past
    `max_bytes`, or pickles of more than MAX_OPCODES opcodes, could exhaust memory. None when the scan
    is bounded."""
    from picklescan.relaxed_zipfile import RelaxedZipFile

    data.seek(0)
    if data.read(4) != b"PK\x03\x04":
        data.seek(0)
        count = _opcodes(data, MAX_OPCODES)
    else:
        try:
            with RelaxedZipFile(data) as archive:
                members = archive.infolist()
                expanded = sum(member.file_size for member in members)
                if expanded > max_bytes:
                    return f"archive expands to {expanded} bytes, past --max-bytes ({max_bytes}); not scanned"
                count = 0
                for member in members:
                    with archive.open(member) as stream:
                        if member.filename.endswith(".pkl") or stream.peek(1)[:1] == b"\x80":
                            count += _opcodes(stream, MAX_OPCODES - count)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            return None  # picklescan says what is wrong with the archive
    if count > MAX_OPCODES:
        return f"pickles of more than {MAX_OPCODES} opcodes; not scanned"
    return None


def scan(data: IO[bytes], name: str) -> tuple[str, list[str], str | None]:
    """(verdict, globals, problem) of a whole file (read from its start), by picklescan:
    `dangerous` when any import is known to run code (even in a pickle that then breaks off), else
    `error` when it does not parse, else `suspicious` for imports of unknown safety, else `safe`."""
    from picklescan.scanner import SafetyLevel, scan_bytes

    problems = _PROBLEMS.collect()
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else None
    try:
        data.seek(0)
        result = scan_bytes(data, name, suffix)
    except Exception as exc:  # picklescan raises whatever its parsers raise on a broken file
        reason = one_line(str(exc))[:300] or type(exc).__name__
        return "error", [], f"not a readable pickle or archive: {reason}"
    found = sorted({f"{g.module}.{g.name}" for g in result.globals})
    levels = {g.safety for g in result.globals}
    problem = problems[0][:300] if problems else ("the pickle breaks off" if result.scan_err else None)
    if SafetyLevel.Dangerous in levels:
        return "dangerous", found, problem
    if problem is not None:
        return "error", found, problem
    if SafetyLevel.Suspicious in levels:
        return "suspicious", found, None
    return "safe", found, None


def _scan_file(context: RiskContext, target: Target, path: str) -> Row:
    row: Row = {"model_id": target.model_id, "sha": target.sha, "file": path, "globals": []}
    cap = replace(context.client.caps.pickle, limit=context.max_bytes)
    # The file goes to disk as it arrives: a scan holds a chunk of it in memory, not the whole file.
    with tempfile.TemporaryFile(prefix="hubmine-pickle-") as data:
        try:
            url = file_url(context.endpoint, FileTarget(target.model_id, target.sha, path))
            response = context.client.get(url, bucket="resolvers", cap=cap, sink=data)
        except (InvalidHubName, HubError) as exc:
            return row | {"verdict": "error", "error": str(exc)}
        row |= {"bytes_read": data.tell(), "http_status": response.status}
        return _judge(row, response, data, context)


def _judge(row: Row, response: Response, data: IO[bytes], context: RiskContext) -> Row:
    """The row of a downloaded file: an error when it was refused or cut, else picklescan's verdict."""
    cap = context.max_bytes
    if response.status != 200:
        return row | {"verdict": "error", "error": f"HTTP {response.status}"}
    if response.truncated:
        return row | {"verdict": "error", "error": f"larger than {cap} bytes (--max-bytes); not scanned"}
    costly = too_costly(data, context.max_bytes)
    if costly is not None:
        return row | {"verdict": "error", "error": costly}
    verdict, found, problem = scan(data, row["file"])
    return row | {"verdict": verdict, "globals": found, "error": problem}


def _scan_model(context: RiskContext, target: Target) -> list[Row]:
    return [_scan_file(context, target, path) for path in pickle_files(target.siblings)]


def _is_error(row: dict[str, Any]) -> bool:
    return row["verdict"] == "error"


def run(context: RiskContext) -> str:
    rows, reused = measure(
        context, TABLE, lambda target: _scan_model(context, target), is_error=_is_error, unit="model"
    )
    models = len({row["model_id"] for row in rows})
    counts = tally(rows, "verdict") or "no pickle files"
    return (
        f"scan-pickles: {len(rows)} pickle files of {models} of {len(context.targets)} models: {counts} "
        f"({reused} models reused) -> {context.snapshot.finding(TABLE)}"
    )


STEP = RiskStep(
    flag="scan-pickles",
    help="Download each pickle-based file (up to --max-bytes) and list its imports statically (picklescan).",
    table=TABLE,
    run=run,
)
