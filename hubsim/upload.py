"""The write side of dataset repositories, as huggingface_hub's `create_repo` and `create_commit` use it:
`POST /api/repos/create`, `POST /api/validate-yaml`, `POST /api/datasets/{id}/preupload/{rev}`, the LFS
batch `POST /datasets/{id}.git/info/lfs/objects/batch` with its upload (`PUT`) and verify URLs, and
`POST /api/datasets/{id}/commit/{rev}` (NDJSON: a header line, then `file` lines in base64 and
`lfsFile` lines naming uploaded objects). Commits land in the registry's dataset store, so what was
uploaded is served back by the read routes. Xet storage is not spoken: clients must use LFS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from typing import Any
from urllib.parse import unquote

import yaml

from .fields import git_blob_oid
from .repos import DatasetStore, is_lfs

# Objects the simulator keeps in memory; a larger upload is refused, not stored.
MAX_OBJECT_BYTES = 512 * 1024 * 1024
USER = "hubsim-user"
# Where LFS objects are uploaded (`PUT /hubsim-lfs/{sha256}`) and verified; counted as route `lfs`.
LFS_PREFIX = "hubsim-lfs"


class UploadError(Exception):
    """An upload request the Hub would refuse: answered with `status` and this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Uploads:
    """Uploaded LFS objects by sha256, and the routes that write dataset repositories.

    `fail_commits`: the next N commits answer 500 after everything before them succeeded, as a Hub
    that fails midway would; the uploaded objects stay, so a rerun commits without uploading again."""

    def __init__(self, datasets: DatasetStore) -> None:
        self.datasets = datasets
        self.fail_commits = 0
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def route(self, method: str, segments: list[str], body: bytes, base: str) -> tuple[int, Any] | None:
        """(status, JSON body) for an upload route, None for any other path; `UploadError` when refused."""
        parts = [unquote(s) for s in segments]
        if method == "PUT" and len(parts) == 2 and parts[0] == LFS_PREFIX:
            return self._store_object(parts[1], body)
        if method != "POST":
            return None
        if parts == ["api", "repos", "create"]:
            return self._create(_json_body(body), base)
        if parts == ["api", "validate-yaml"]:
            return 200, {"errors": [], "warnings": []}
        if len(parts) == 3 and parts[0] == LFS_PREFIX and parts[2] == "verify":
            return self._verify(parts[1])
        if parts[:1] == ["datasets"] and parts[-4:] == ["info", "lfs", "objects", "batch"]:
            repo_id = "/".join(parts[1:-4]).removesuffix(".git")
            return self._batch(repo_id, _json_body(body), base)
        if parts[:2] == ["api", "datasets"] and len(parts) >= 5 and parts[-2] in ("preupload", "commit"):
            repo_id, op = "/".join(parts[2:-2]), parts[-2]
            if parts[-1] != "main":
                raise UploadError(404, f"Invalid rev id: {parts[-1]}")
            if op == "preupload":
                return self._preupload(repo_id, _json_body(body))
            return self._commit(repo_id, body, base)
        return None

    def _create(self, payload: dict[str, Any], base: str) -> tuple[int, Any]:
        if payload.get("type") != "dataset":
            raise UploadError(400, "the simulator creates dataset repositories only")
        name, namespace = payload.get("name"), payload.get("organization") or USER
        if not isinstance(name, str) or not name:
            raise UploadError(400, "name is required")
        repo_id = f"{namespace}/{name}"
        private = payload.get("visibility") == "private" or payload.get("private") is True
        url = f"{base}/datasets/{repo_id}"
        if not self.datasets.create(repo_id, private=private):
            # As the Hub: a conflict that still names the repo, which `exist_ok=True` reads.
            return 409, {"error": "You already created this dataset repo", "url": url}
        return 200, {"url": url, "name": repo_id, "id": repo_id}

    def _repo_files(self, repo_id: str) -> dict[str, bytes]:
        repo = self.datasets.get(repo_id)
        if repo is None:
            raise UploadError(404, "Repository not found")
        return repo.files

    def _preupload(self, repo_id: str, payload: dict[str, Any]) -> tuple[int, Any]:
        files = self._repo_files(repo_id)
        out = []
        for item in payload.get("files") or []:
            path, size = str(item.get("path", "")), int(item.get("size", 0))
            lfs = is_lfs(path, size)
            entry: dict[str, Any] = {
                "path": path,
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": False,
            }
            if path in files:
                current = files[path]
                entry["oid"] = hashlib.sha256(current).hexdigest() if lfs else git_blob_oid(current)
            out.append(entry)
        return 200, {"files": out, "commitOid": None}

    def _batch(self, repo_id: str, payload: dict[str, Any], base: str) -> tuple[int, Any]:
        self._repo_files(repo_id)
        objects = []
        for item in payload.get("objects") or []:
            oid, size = str(item.get("oid", "")), int(item.get("size", 0))
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if size > MAX_OBJECT_BYTES:
                entry["error"] = {"code": 422, "message": f"object larger than {MAX_OBJECT_BYTES} bytes"}
            elif oid not in self._objects:
                href = f"{base}/{LFS_PREFIX}/{oid}"
                entry["actions"] = {"upload": {"href": href}, "verify": {"href": f"{href}/verify"}}
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}

    def _store_object(self, oid: str, body: bytes) -> tuple[int, Any]:
        if hashlib.sha256(body).hexdigest() != oid:
            raise UploadError(400, "the uploaded content does not match its sha256")
        with self._lock:
            self._objects[oid] = body
        return 200, {}

    def _verify(self, oid: str) -> tuple[int, Any]:
        if oid not in self._objects:
            raise UploadError(404, f"object {oid} was not uploaded")
        return 200, {"success": True}

    def _commit(self, repo_id: str, body: bytes, base: str) -> tuple[int, Any]:
        files = dict(self._repo_files(repo_id))
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value") or {}
            path = str(value.get("path", ""))
            if key == "file":
                try:
                    files[path] = base64.b64decode(value.get("content", ""), validate=True)
                except binascii.Error as err:
                    raise UploadError(400, f"{path}: content is not base64") from err
            elif key == "lfsFile":
                content = self._objects.get(str(value.get("oid")))
                if content is None:
                    raise UploadError(422, f"{path}: LFS object {value.get('oid')} was not uploaded")
                files[path] = content
            elif key == "deletedFile":
                files.pop(path, None)
            elif key == "deletedFolder":
                files = {p: c for p, c in files.items() if not p.startswith(path.rstrip("/") + "/")}
        with self._lock:
            if self.fail_commits > 0:
                self.fail_commits -= 1
                raise UploadError(500, "Internal Error")
        repo = self.datasets.commit(repo_id, files, _front_matter(files.get("README.md")))
        url = f"{base}/datasets/{repo_id}/commit/{repo.sha}"
        return 200, {"success": True, "commitOid": repo.sha, "commitUrl": url}


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError as err:
        raise UploadError(400, "the body is not JSON") from err
    if not isinstance(payload, dict):
        raise UploadError(400, "the body is not a JSON object")
    return payload


def _front_matter(readme: bytes | None) -> dict[str, Any] | None:
    """The card data of a README's YAML front matter, as the Hub reads it; None without one."""
    text = (readme or b"").decode("utf-8", errors="replace")
    if not text.startswith("---\n"):
        return None
    front, sep, _ = text[4:].partition("\n---")
    data = yaml.safe_load(front) if sep else None
    return data if isinstance(data, dict) else None
