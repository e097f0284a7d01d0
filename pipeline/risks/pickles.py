"""`--scan-pickles`: every file of each model that a pickle-capable loader reads (`torch.load`,
`pickle.load`, `joblib.load`, `numpy.load`; chosen by `pickle_scan.formats`), downloaded at its sha up to
`--max-bytes` and judged by the static scan of `pickle_scan`: nothing is ever unpickled or loaded.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from typing import IO, Any

from pipeline.crawl.fetch import FileTarget, file_url
from pipeline.errors import HubError
from pipeline.hub.client import Response
from pipeline.hub.ids import InvalidHubName
from pipeline.risks.findings import Row, measure, tally
from pipeline.risks.pickle_scan.bounds import Limits
from pipeline.risks.pickle_scan.formats import loadable_files
from pipeline.risks.pickle_scan.verdict import scan
from pipeline.risks.registry import RiskContext, RiskStep, Target

TABLE = "pickle_scan"
# At most this many files of one model are downloaded, whatever its file list names.
MAX_FILES_PER_MODEL = 100
# Decompressed bytes one file may expand to, as a multiple of --max-bytes.
EXPANSION = 4


def pickle_files(siblings: tuple[str, ...]) -> list[str]:
    """The files of a model that a pickle-capable loader reads, in file-list order."""
    return loadable_files(list(siblings))[0][:MAX_FILES_PER_MODEL]


def limits(max_bytes: int) -> Limits:
    return Limits(expanded_bytes=EXPANSION * max_bytes)


def _scan_file(context: RiskContext, target: Target, path: str) -> Row:
    row: Row = {"model_id": target.model_id, "sha": target.sha, "file": path, "globals": []}
    cap = replace(context.client.caps.pickle, limit=context.max_bytes)
    # The file goes to disk as it arrives: a scan holds a chunk of it in memory, not the whole file.
    with tempfile.TemporaryFile(prefix="hubmine-pickle-") as data:
        try:
            url = file_url(context.endpoint, FileTarget(target.model_id, target.sha, path))
            response = context.client.get(url, bucket="resolvers", cap=cap, sink=data)
        except (InvalidHubName, HubError) as exc:
            return row | {"verdict": "error", "error": str(exc), "reason": str(exc)}
        row |= {"bytes_read": data.tell(), "http_status": response.status}
        return _judge(row, response, data, context)


def _judge(row: Row, response: Response, data: IO[bytes], context: RiskContext) -> Row:
    """The row of a downloaded file: an error when it was refused or cut, else the scan's verdict."""
    cap = context.max_bytes
    if response.status != 200:
        problem = f"HTTP {response.status}"
    elif response.truncated:
        problem = f"larger than {cap} bytes (--max-bytes); not scanned"
    else:
        verdict = scan(data, limits(cap))
        return row | {
            "verdict": verdict.verdict,
            "globals": verdict.globals,
            "reason": verdict.reason,
            "loaders": verdict.loaders,
            "members": verdict.members,
            "error": verdict.reason if verdict.verdict == "error" else None,
        }
    return row | {"verdict": "error", "error": problem, "reason": problem}


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
    help="Download each file a pickle-capable loader reads (up to --max-bytes) and judge it statically.",
    table=TABLE,
    run=run,
)
