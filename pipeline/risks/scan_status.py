"""`--scan-status`: what the Hub's own scans (antivirus, pickle imports) say of each model at its sha.

Two kinds of answers, both GET on the API: the model at its sha with `securityStatus=true` gives the
repository's `securityRepoStatus` (`scansDone`, `filesWithIssues`), and its file tree at the sha with
`expand=true` gives each file's `securityFileStatus` (`status`, `avScan`, `pickleImportScan`), the
fields huggingface_hub reads into `BlobSecurityInfo`. (`paths-info` gives the same per file, but only
to a POST.) The tree is asked only for models whose file list names a weight or pickle file.
"""

from __future__ import annotations

from typing import Any

from pipeline.crawl.listing import next_page_url
from pipeline.errors import HubError
from pipeline.hub.client import BadBody, Response
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.risks.findings import Row, has_error, measure, tally
from pipeline.risks.pickles import PICKLE_SUFFIXES
from pipeline.risks.registry import RiskContext, RiskStep, Target

TABLE = "scan_status"
WEIGHT_SUFFIXES = (*PICKLE_SUFFIXES, ".safetensors", ".h5", ".msgpack", ".onnx", ".gguf", ".npz", ".npy")
# A tree listing of a huge repository is paged; past this many pages the files not seen get an error row.
MAX_TREE_PAGES = 20


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
    statuses, http_status, problem = _file_statuses(context, f"{base}/tree/{revision}", set(files))
    rows = []
    for path in files:
        row = base_row | {"file": path, "repo_flagged": path in flagged, "http_status": http_status}
        if path in statuses:
            rows.append(row | _file_fields(statuses[path]))
        else:
            rows.append(row | {"error": problem or "the file tree gave no security status for this file"})
    return rows


def _file_statuses(
    context: RiskContext, tree_url: str, wanted: set[str]
) -> tuple[dict[str, dict[str, Any]], int | None, str | None]:
    """`securityFileStatus` of each wanted path from the paged tree: (statuses, last HTTP status, problem)."""
    statuses: dict[str, dict[str, Any]] = {}
    first = url = f"{tree_url}?recursive=true&expand=true"
    status = None
    for _ in range(MAX_TREE_PAGES):
        try:
            page = context.client.get(url, bucket="api", cap=context.client.caps.security, check=_list)
        except HubError as exc:
            return statuses, status, str(exc)
        status = page.status
        if status != 200:
            return statuses, status, f"HTTP {status} on the file tree"
        for entry in page.json:
            path = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str) and path in wanted:
                statuses[path] = _dict(entry.get("securityFileStatus"))
        try:
            next_url = next_page_url(page, first)
        except HubError as exc:
            return statuses, status, str(exc)
        if next_url is None or wanted <= statuses.keys():
            return statuses, status, None
        url = next_url
    return statuses, status, f"the file tree has more than {MAX_TREE_PAGES} pages"


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
