"""Runs one scanner over the files of a scan-benchmark manifest and prints one JSON line per file.

    python bench/scan_drivers.py SCANNER MANIFEST

SCANNER is hubmine, picklescan, fickling, modelscan or modelaudit. The peers run under their own
interpreter (a virtual environment of their own), so this file imports nothing of the project at the
top; hubmine's scan is imported only when asked for. Each line: the file, its outcome (`flagged`: the
scanner reports a risk; `clean`: it reports none; `error`: it gives no verdict) and the seconds the
scan took, the scanner's own import left out. A file gets `PER_FILE_SECONDS`.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

Outcome = tuple[str, str]
# A scan of one file that runs longer is stopped and counted as giving no verdict.
PER_FILE_SECONDS = 120


def _out_of_time(signum: int, frame: Any) -> None:
    raise TimeoutError(f"no verdict within {PER_FILE_SECONDS} s")


def _hubmine() -> Callable[[str], Outcome]:
    from pipeline.risks.pickle_scan.verdict import scan

    def judge(path: str) -> Outcome:
        with open(path, "rb") as data:
            verdict = scan(data)
        outcome = {"dangerous": "flagged", "suspicious": "flagged", "safe": "clean"}.get(
            verdict.verdict, "error"
        )
        return outcome, f"{verdict.verdict}: {verdict.reason or ''}"

    return judge


def _picklescan() -> Callable[[str], Outcome]:
    from picklescan.scanner import SafetyLevel, scan_file_path

    def judge(path: str) -> Outcome:
        result = scan_file_path(path)
        risky = [g for g in result.globals if g.safety in (SafetyLevel.Dangerous, SafetyLevel.Suspicious)]
        if result.infected_files or risky:
            return "flagged", ", ".join(f"{g.module}.{g.name}" for g in risky)
        return ("error", "scan error") if result.scan_err else ("clean", "")

    return judge


def _fickling() -> Callable[[str], Outcome]:
    from fickling.loader import scan_file

    def judge(path: str) -> Outcome:
        result = scan_file(path, graceful=True)
        if not result.is_safe:
            return "flagged", result.severity.name
        return ("error", "; ".join(result.errors)[:200]) if result.errors else ("clean", "")

    return judge


def _modelscan() -> Callable[[str], Outcome]:
    from modelscan.modelscan import ModelScan

    def judge(path: str) -> Outcome:
        report = ModelScan().scan(path)
        if report["issues"]:
            return "flagged", report["issues"][0].get("description", "")[:200]
        skipped = report["summary"].get("skipped", {}).get("total_skipped", 0)
        if report["errors"] or skipped or not report["summary"].get("scanned", {}).get("total_scanned"):
            return "error", "skipped or errored"
        return "clean", ""

    return judge


def _modelaudit() -> Callable[[str], Outcome]:
    from modelaudit.core import scan_model_directory_or_file

    def judge(path: str) -> Outcome:
        report = scan_model_directory_or_file(path).model_dump()
        risky = [i for i in report["issues"] if str(i.get("severity")).lower() in ("critical", "warning")]
        if risky:
            return "flagged", risky[0].get("message", "")[:200]
        return (
            ("error", "scan error")
            if report.get("has_errors") or not report.get("success")
            else ("clean", "")
        )

    return judge


SCANNERS: dict[str, Callable[[], Callable[[str], Outcome]]] = {
    "hubmine": _hubmine,
    "picklescan": _picklescan,
    "fickling": _fickling,
    "modelscan": _modelscan,
    "modelaudit": _modelaudit,
}


def main() -> None:
    scanner, manifest = sys.argv[1], sys.argv[2]
    with open(manifest) as handle:
        entries: list[dict[str, Any]] = json.load(handle)
    judge = SCANNERS[scanner]()
    signal.signal(signal.SIGALRM, _out_of_time)
    for entry in entries:
        started = time.perf_counter()
        signal.alarm(PER_FILE_SECONDS)
        try:
            outcome, detail = judge(entry["path"])
        except Exception as exc:  # a peer's crash on a file is its error on that file
            outcome, detail = "error", f"{type(exc).__name__}: {exc}"[:200]
        finally:
            signal.alarm(0)
        seconds = time.perf_counter() - started
        print(json.dumps({"path": entry["path"], "outcome": outcome, "detail": detail, "seconds": seconds}))
        sys.stdout.flush()
    print(json.dumps({"peak_rss_kb": _peak_rss_kb()}))


def _peak_rss_kb() -> int:
    """This process's peak resident memory: Linux's VmHWM starts again at exec, unlike `ru_maxrss`,
    which keeps the peak of the process that forked this one."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main()
