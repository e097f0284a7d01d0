"""`--scan-status`: what the Hub's own scans (antivirus, pickle imports) say of each model at its sha.

The model at its sha with `securityStatus=true` (a GET) gives the repository's `securityRepoStatus`
(`scansDone`, `filesWithIssues`); `paths-info` at the sha with `expand=true` (a POST of the paths, as
huggingface_hub's `get_paths_info` sends it) gives each weight file's `securityFileStatus` (`status`,
`avScan`, `pickleImportScan`), the fields huggingface_hub reads into `BlobSecurityInfo`. Asking for the
weight files by path costs one request per `PATHS_PER_REQUEST` of them, where the expanded tree would
be paged over every file of the repository. It is asked only for models whose file list names a
weight or pickle file.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import HubError
from pipeline.hub.client import BadBody, Response
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.risks.findings import Row, has_error, measure, tally
from pipeline.risks.pickle_scan.formats import PICKLE_SUFFIXES
from pipeline.risks.registry import RiskContext, RiskStep, Target

TABLE = "scan_status"
WEIGHT_SUFFIXES = (*PICKLE_SUFFIXES, ".safetensors", ".h5", ".msgpack", ".onnx", ".gguf", ".npz", ".npy")
# Weight files asked for in one paths-info request: a checkpoint sharded in thousands of files takes a few.
PATHS_PER_REQUEST = 200


def weight_files(siblings: tuple[str, ...]) -> list[str]:
    return [path for path in siblings if path.lower().endswith(WEIGHT_SUFFIXES)]


def _object(response: Response) -> None:
    if not isinstance(response.json, dict):
        raise BadBody(f"expected a JSON object from {response.url}")


def _list(response: Response) -> None:
    if not isinstance(response.json, list):
        raise BadBody(f"expected a JSON list from {response.url}")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _flagged_paths(repo_status: dict[str, Any]) -> set[str]:
    """Paths in `filesWithIssues`, whose entries are objects with a `path` (or bare paths)."""
    entries = repo_status.get("filesWithIssues")
    paths = set()
    for entry in entries if isinstance(entries, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(path, str):
            paths.add(path)
    return paths


def _file_fields(status: dict[str, Any]) -> Row:
    """The row's columns from one file's `securityFileStatus`."""
    av = _dict(status.get("avScan"))
    pickle = _dict(status.get("pickleImportScan"))
    imports = pickle.get("imports")
    names = [
        f"{entry.get('module')}.{entry.get('name')}"
        for entry in (imports if isinstance(imports, list) else [])
        if isinstance(entry, dict)
        and isinstance(entry.get("module"), str)
        and isinstance(entry.get("name"), str)
    ]
    found = av.get("virusFound")
    level = pickle.get("highestSafetyLevel")
    return {
        "status": status.get("status") if isinstance(status.get("status"), str) else None,
        "av_virus_found": found if isinstance(found, bool) else None,
        "pickle_safety": level if isinstance(level, str) else None,
        "pickle_imports": sorted(names),
    }


def _measure(context: RiskContext, target: Target) -> list[Row]:
    base_row: Row = {"model_id": target.model_id, "sha": target.sha}
    files = weight_files(target.siblings)
    try:
        base = f"{context.endpoint}/api/models/{repo_path(target.model_id)}"
        revision = revision_segment(target.sha or "main")
        info = context.client.get(
            f"{base}/revision/{revision}?securityStatus=true",
            bucket="api",
            cap=context.client.caps.security,
            check=_object,
        )
    except (InvalidHubName, HubError) as exc:
        return [base_row | {"file": None, "error": str(exc)}]
    if info.status != 200:
        return [base_row | {"file": None, "http_status": info.status, "error": f"HTTP {info.status}"}]
    repo_status = _dict(info.json.get("securityRepoStatus"))
    scans_done = repo_status.get("scansDone")
    flagged = _flagged_paths(repo_status)
    base_row |= {"repo_scans_done": scans_done if isinstance(scans_done, bool) else None}
    if not files:
        return [base_row | {"file": None, "repo_flagged": bool(flagged), "http_status": info.status}]
    rows = []
    for path, (http_status, found) in _file_statuses(context, f"{base}/paths-info/{revision}", files).items():
        row = base_row | {"file": path, "repo_flagged": path in flagged, "http_status": http_status}
        rows.append(row | (_file_fields(found) if isinstance(found, dict) else {"error": found}))
    return rows


def _file_statuses(
    context: RiskContext, paths_info_url: str, files: list[str]
) -> dict[str, tuple[int | None, dict[str, Any] | str]]:
    """Per file, the HTTP status of the paths-info request that asked for it and its
    `securityFileStatus`, or why there is none; a failed request fails only the files it asked for."""
    found: dict[str, tuple[int | None, dict[str, Any] | str]] = {}
    for start in range(0, len(files), PATHS_PER_REQUEST):
        chunk = files[start : start + PATHS_PER_REQUEST]
        try:
            answer = context.client.get(
                paths_info_url,
                bucket="api",
                cap=context.client.caps.security,
                check=_list,
                form={"paths": chunk, "expand": "true"},
            )
        except HubError as exc:
            found |= {path: (None, str(exc)) for path in chunk}
            continue
        if answer.status != 200:
            found |= {path: (answer.status, f"HTTP {answer.status} on paths-info") for path in chunk}
            continue
        entries = {
            entry["path"]: _dict(entry.get("securityFileStatus"))
            for entry in answer.json
            if isinstance(entry, dict) and isinstance(entry.get("path"), str)
        }
        for path in chunk:
            found[path] = (200, entries.get(path, "paths-info gave no security status for this file"))
    return found


def run(context: RiskContext) -> str:
    rows, reused = measure(context, TABLE, lambda target: _measure(context, target), unit="model")
    files = [row for row in rows if row["file"] is not None]
    errors = sum(has_error(row) for row in rows)
    flagged = len({row["model_id"] for row in rows if row.get("repo_flagged")})
    return (
        f"scan-status: {len(files)} weight files of {len(context.targets)} models: "
        f"{tally(files, 'status') or 'none'}; {flagged} models flagged by the Hub, {errors} error rows "
        f"({reused} models reused) -> {context.snapshot.finding(TABLE)}"
    )


STEP = RiskStep(
    flag="scan-status",
    help="Ask the Hub what its own scans (antivirus, pickle imports) found in each model's files.",
    table=TABLE,
    run=run,
)
