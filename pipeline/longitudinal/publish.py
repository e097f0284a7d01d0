"""`hubmine publish`: a snapshot's tables as a Hugging Face dataset, one config per table.

The folder is built beside the snapshot (`publish/<ID>/`) and the snapshot itself is only read, so an
upload that fails midway leaves it as it was. The upload is one `create_commit` of every file of the
folder (and the deletion of files a previous publish left that the folder no longer has): the Hub
applies a commit whole or not at all, so a rerun after a failure starts from the last good state, and
a rerun of a finished publish uploads nothing and makes no commit.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from pipeline.errors import HubError
from pipeline.hub.ids import new_repo_path
from pipeline.schemas import SCHEMA_PACKAGE
from pipeline.store.files import storage_errors
from pipeline.store.layout import SNAPSHOT_TABLES, DataDir, Published, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.removal import remove_path
from pipeline.store.snapshot import read_manifest, resolve_snapshot


@dataclass(frozen=True)
class PublishResult:
    snapshot: str
    folder: Path
    tables: dict[str, int]  # rows per table
    repo: str | None = None  # None: a dry run
    commit: str | None = None

    def summary_line(self) -> str:
        tables = ", ".join(f"{name} {rows:,}" for name, rows in self.tables.items())
        if self.repo is None:
            return f"snapshot {self.snapshot} laid out as a dataset ({tables} rows) in {self.folder}"
        where = f"dataset {self.repo} at commit {self.commit}"
        return f"snapshot {self.snapshot} published to {where} ({tables} rows)"


def run_publish(
    data_dir: Path, snapshot_id: str | None, repo: str, *, private: bool = False, dry_run: bool = False
) -> PublishResult:
    """Lay out the snapshot as a dataset folder and, unless `dry_run`, upload it to the dataset `repo`."""
    new_repo_path(repo)  # a name the Hub would refuse (or an option, `--help`) never becomes a URL
    data = DataDir(data_dir)
    with holding_lock(data, "publish"):
        snapshot = resolve_snapshot(data, snapshot_id)
        published = data.published(snapshot.id)
        tables = build_folder(snapshot, published, repo, data.root)
        if dry_run:
            return PublishResult(snapshot.id, published.dir, tables)
        repo_id, commit = upload(published, repo, private=private)
        return PublishResult(snapshot.id, published.dir, tables, repo_id, commit)


def tables_of(snapshot: Snapshot) -> list[tuple[str, Path]]:
    """(name, file) of each table the snapshot has: the crawl's, then its findings."""
    found = [(name, snapshot.table(name)) for name in SNAPSHOT_TABLES if snapshot.table(name).is_file()]
    if snapshot.findings.is_dir():
        found += [(path.stem, path) for path in sorted(snapshot.findings.glob("*.parquet"))]
    return found


def build_folder(snapshot: Snapshot, published: Published, repo: str, root: Path) -> dict[str, int]:
    """Write the dataset folder afresh (built aside, then put in place); rows per table. What it
    replaces is deleted only inside the data directory `root`."""
    building = published.building
    with storage_errors(published.dir):
        remove_path(building.dir, root, ignore_errors=True)
        rows: dict[str, int] = {}
        for name, source in tables_of(snapshot):
            target = building.table(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source, target)
            rows[name] = pq.ParquetFile(target).metadata.num_rows
        building.card.write_text(dataset_card(snapshot, repo, rows), encoding="utf-8")
        remove_path(published.dir, root, ignore_errors=True)
        building.dir.rename(published.dir)
    return rows


def _link_or_copy(source: Path, target: Path) -> None:
    # Snapshot files are replaced by rename, never rewritten in place, so a hard link stays what it was.
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def dataset_card(snapshot: Snapshot, repo: str, rows: dict[str, int]) -> str:
    """README.md: YAML with one config per table, then the crawl's parameters, counts and each schema."""
    manifest = read_manifest(snapshot) or {}
    configs = [
        {"config_name": name, "data_files": [{"split": "train", "path": Published.pattern(name)}]}
        | ({"default": True} if name == "models" else {})
        for name in rows
    ]
    front = {
        "pretty_name": f"hubmine snapshot {snapshot.id}",
        "tags": ["hubmine", "hugging-face-hub", "model-metadata"],
        "configs": configs,
    }
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# hubmine snapshot {snapshot.id}",
        "",
        "Metadata and model cards of models on the Hugging Face Hub, snapshotted by hubmine, and what",
        "hubmine measured on them. The `cards` table holds each model's README as its authors published",
        "it, under that model's own license. One config per table, each a single `train` split:",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'models = load_dataset("{repo}", "models", split="train")',
        "```",
        "",
        "## Crawl",
        "",
        f"- snapshot: `{snapshot.id}`",
        f"- started: {manifest.get('started_at', 'unknown')}",
        f"- finished: {manifest.get('finished_at', 'unknown')}",
        f"- parameters: `{json.dumps(manifest.get('params') or {}, sort_keys=True)}`",
        f"- counts: `{json.dumps(manifest.get('counts') or {}, sort_keys=True)}`",
        f"- versions: `{json.dumps(manifest.get('versions') or {}, sort_keys=True)}`",
        "",
        "## Tables",
    ]
    for name, count in rows.items():
        lines += ["", *_table_section(name, count)]
    return "\n".join(lines) + "\n"


def _table_section(name: str, rows: int) -> list[str]:
    schema = _schema(name)
    what = f"one row per {schema['row']}" if schema.get("row") else "rows"
    lines = [f"### {name}", "", f"{rows:,} rows, {what}.", ""]
    if not schema.get("columns"):
        return [*lines, "(no schema file: see the Parquet schema)"]
    lines += ["| column | type | description |", "|---|---|---|"]
    for column in schema["columns"]:
        doc = str(column.get("doc", "")).replace("|", "\\|")
        lines.append(f"| `{column['name']}` | {column.get('type', '')} | {doc} |")
    return lines


def _schema(table: str) -> dict[str, Any]:
    path = resources.files(SCHEMA_PACKAGE) / f"{table}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def upload(published: Published, repo: str, *, private: bool) -> tuple[str, str]:
    """Create the dataset repo if needed and commit the folder to it in one commit; (repo id, commit)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    local = sorted(p.relative_to(published.dir).as_posix() for p in published.dir.rglob("*") if p.is_file())
    api = HfApi()
    try:
        repo_id = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True).repo_id
        remote = api.list_repo_files(repo_id, repo_type="dataset")
        # Files an earlier publish wrote that this one has not; the owner's other files are left alone.
        stale = [p for p in remote if Published.owns(p) and p not in local]
        operations: list[Any] = [CommitOperationDelete(path_in_repo=p) for p in stale]
        operations += [CommitOperationAdd(path_in_repo=p, path_or_fileobj=published.dir / p) for p in local]
        info = api.create_commit(
            repo_id,
            operations,
            repo_type="dataset",
            commit_message=f"hubmine snapshot {published.dir.name}",
        )
    except Exception as exc:  # any failure of the client or the Hub ends in one line; nothing local changed
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise HubError(
            f"upload to dataset {repo} failed ({message}); the snapshot is untouched: "
            "run the same `hubmine publish` again"
        ) from exc
    return repo_id, info.oid
