"""The verdict on one file, drawn from what its scan found."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from pipeline.risks.pickle_scan.allowlist import Level, level
from pipeline.risks.pickle_scan.bounds import Broken, Budget, Limits, OverBound
from pipeline.risks.pickle_scan.evidence import Evidence
from pipeline.risks.pickle_scan.loaders import Walk, read_file
from pipeline.risks.pickle_scan.streams import file_range

# Globals named in a reason, at most.
_NAMED = 5


@dataclass(frozen=True)
class Verdict:
    verdict: str  # dangerous, suspicious, safe or error
    globals: list[str]
    reason: str | None
    loaders: list[str]
    members: list[str]


def scan(data: IO[bytes], limits: Limits | None = None) -> Verdict:
    """The verdict on a whole file (`data` read from its start), without unpickling anything:
    `dangerous` when a global known to run code, import, reach the network or touch files is imported,
    a global's name is computed while loading, or an archive reads differently in zipfile and torch;
    else `suspicious` when a global is off the allowlist or a bound stopped the scan; else `error`
    when nothing in the file is a pickle or array a loader reads whole; else `safe`."""
    walk = Walk(Budget(limits or Limits()), Evidence())
    size = data.seek(0, io.SEEK_END)
    try:
        read_file(file_range(data, 0, size), "", walk)
    except OverBound as exc:
        walk.evidence.suspicious.append(f"scan stopped: {exc}")
    except Broken as exc:
        walk.evidence.problems.append(str(exc))
    return judge(walk.evidence)


def judge(evidence: Evidence) -> Verdict:
    found = list(evidence.globals)
    levels = {qualified: level(qualified) for qualified in found}
    dangerous = [g for g in found if levels[g] is Level.DANGEROUS]
    unknown = [g for g in found if levels[g] is Level.SUSPICIOUS]
    if evidence.dangerous or dangerous:
        verdict, reason = (
            "dangerous",
            _reason(evidence.dangerous, dangerous, "imports code execution primitives"),
        )
    elif evidence.suspicious or unknown:
        verdict, reason = (
            "suspicious",
            _reason(evidence.suspicious, unknown, "imports globals off the allowlist"),
        )
    elif evidence.problems and not evidence.loaded:
        verdict, reason = "error", evidence.problems[0]
    else:
        verdict, reason = "safe", None
    return Verdict(verdict, sorted(found), reason, sorted(evidence.loaders), evidence.members)


def _reason(causes: list[str], names: list[str], imports: str) -> str:
    parts = list(dict.fromkeys(causes))
    if names:
        shown = ", ".join(names[:_NAMED]) + (
            f" and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
        )
        parts.append(f"{imports}: {shown}")
    return "; ".join(parts)[:500]
