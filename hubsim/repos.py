"""Repository files as the Hub describes them (LFS pointers, tree and paths-info entries, resolve headers),
and the dataset repositories the simulator serves beside its models."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml

from .fields import git_blob_oid, iso_ms, object_id, sha_hex

# What the Hub's default .gitattributes sends to LFS; any file from 10 MB on goes there too.
LFS_SUFFIXES = frozenset(
    {
        ".7z",
        ".arrow",
        ".bin",
        ".bz2",
        ".ckpt",
        ".ftz",
        ".gguf",
        ".gz",
        ".h5",
        ".joblib",
        ".mlmodel",
        ".model",
        ".msgpack",
        ".npy",
        ".npz",
        ".onnx",
        ".ot",
        ".parquet",
        ".pb",
        ".pickle",
        ".pkl",
        ".pt",
        ".pth",
        ".safetensors",
        ".tar",
        ".tflite",
        ".wasm",
        ".xz",
        ".zip",
        ".zst",
    }
)
LFS_MIN_BYTES = 10 * 1024 * 1024
_CONTENT_TYPES = {
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".gitattributes": "text/plain; charset=utf-8",
}

Content = Callable[[str], bytes]


def is_lfs(path: str, size: int) -> bool:
    name = path.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix in LFS_SUFFIXES or size >= LFS_MIN_BYTES


def lfs_pointer(content: bytes) -> bytes:
    """The pointer file git stores in place of an LFS file."""
    sha256 = hashlib.sha256(content).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(content)}\n".encode()


def file_entry(path: str, content: bytes) -> dict[str, Any]:
    """A tree / paths-info entry: the git oid is the pointer's for an LFS file, the size the real one."""
    if not is_lfs(path, len(content)):
        return {"type": "file", "oid": git_blob_oid(content), "size": len(content), "path": path}
    pointer = lfs_pointer(content)
    lfs = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": len(pointer)}
    return {"type": "file", "oid": git_blob_oid(pointer), "size": len(content), "lfs": lfs, "path": path}


def sibling_entry(path: str, content: bytes) -> dict[str, Any]:
    """A `siblings` item of a repo info asked with `blobs=true`."""
    entry = file_entry(path, content)
    out: dict[str, Any] = {"rfilename": path, "blobId": entry["oid"], "size": entry["size"]}
    if "lfs" in entry:
        lfs = entry["lfs"]
        out["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
    return out


def tree_entries(
    names: Iterable[str], content: Content, path: str, recursive: bool, commit: str
) -> list[dict[str, Any]] | None:
    """`/tree/{rev}/{path}` entries, folders before the files they hold; None when `path` holds nothing."""
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    files = sorted(f for f in names if f.startswith(prefix))
    if prefix and not files:
        return None
    entries: dict[str, dict[str, Any]] = {}
    for name in files:
        parts = name[len(prefix) :].split("/")
        for depth in range(1, len(parts)):
            folder = prefix + "/".join(parts[:depth])
            if depth == 1 or recursive:
                entries.setdefault(folder, folder_entry(folder, commit))
        if len(parts) == 1 or recursive:
            entries[name] = file_entry(name, content(name))
    return list(entries.values())


def folder_entry(folder: str, commit: str) -> dict[str, Any]:
    return {"type": "directory", "oid": sha_hex("tree", commit, folder), "size": 0, "path": folder}


def paths_info(names: Iterable[str], content: Content, paths: list[str], commit: str) -> list[dict[str, Any]]:
    """`POST paths-info` entries for those of `paths` that are a file or a folder; others are left out."""
    files = set(names)
    out = []
    for path in dict.fromkeys(p.strip("/") for p in paths):
        if path in files:
            out.append(file_entry(path, content(path)))
        elif path and any(f.startswith(path + "/") for f in files):
            out.append(folder_entry(path, commit))
    return out


def resolve_headers(path: str, content: bytes, commit: str) -> list[tuple[str, str]]:
    """Headers of a file answer: an LFS file also names its sha256 and size as the CDN's linked resource."""
    name = path.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    entry = file_entry(path, content)
    etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
    headers = [
        ("Content-Type", _CONTENT_TYPES.get(suffix, "application/octet-stream")),
        ("ETag", f'"{etag}"'),
        ("X-Repo-Commit", commit),
        ("Accept-Ranges", "bytes"),
        ("Content-Disposition", f"inline; filename*=UTF-8''{quote(name)}; filename=\"{quote(name)}\";"),
        ("Vary", "Origin, Accept"),
    ]
    if "lfs" in entry:
        headers += [("X-Linked-Etag", f'"{etag}"'), ("X-Linked-Size", str(len(content)))]
    return headers


@dataclass(frozen=True)
class DatasetRepo:
    id: str
    sha: str
    files: dict[str, bytes]
    card_data: dict[str, Any] | None
    created_ms: int
    private: bool = False

    def info(self) -> dict[str, Any]:
        """The `/api/datasets/{id}` body."""
        out: dict[str, Any] = {"_id": object_id(self.id, self.created_ms), "id": self.id}
        if "/" in self.id:
            out["author"] = self.id.split("/", 1)[0]
        out.update(
            sha=self.sha,
            lastModified=iso_ms(self.created_ms),
            private=self.private,
            gated=False,
            disabled=False,
            tags=[],
            downloads=0,
            likes=0,
        )
        if self.card_data is not None:
            out["cardData"] = self.card_data
        out["siblings"] = [{"rfilename": name} for name in sorted(self.files)]
        out["createdAt"] = iso_ms(self.created_ms)
        out["usedStorage"] = sum(len(c) for c in self.files.values())
        return out


class DatasetStore:
    """Dataset repositories by id, each at one commit. Safe to add to while a server reads it."""

    def __init__(self) -> None:
        self._repos: dict[str, DatasetRepo] = {}
        self._lock = threading.Lock()

    def add(self, dataset_id: str, files: dict[str, bytes], card_data: dict[str, Any] | None) -> DatasetRepo:
        """Store a dataset; with `card_data` and no README.md given, the card is that data as front matter."""
        files = dict(files)
        if card_data is not None and "README.md" not in files:
            front = yaml.safe_dump(card_data, sort_keys=False, allow_unicode=True)
            files["README.md"] = f"---\n{front}---\n\n# {dataset_id}\n".encode()
        repo = DatasetRepo(
            dataset_id, _commit_sha(dataset_id, files), files, card_data, int(time.time()) * 1000
        )
        with self._lock:
            if dataset_id in self._repos:
                raise ValueError(f"dataset {dataset_id!r} already exists")
            self._repos[dataset_id] = repo
        return repo

    def create(self, dataset_id: str, *, private: bool = False) -> bool:
        """An empty dataset (`create_repo`); False when `dataset_id` already exists."""
        repo = DatasetRepo(
            dataset_id, _commit_sha(dataset_id, {}), {}, None, int(time.time()) * 1000, private
        )
        with self._lock:
            return self._repos.setdefault(dataset_id, repo) is repo

    def commit(
        self, dataset_id: str, files: dict[str, bytes], card_data: dict[str, Any] | None
    ) -> DatasetRepo:
        """Make `files` the new head of the existing dataset `dataset_id` (a commit replaces every file)."""
        with self._lock:
            old = self._repos[dataset_id]
            sha = _commit_sha(dataset_id, files, old.sha)
            repo = DatasetRepo(dataset_id, sha, dict(files), card_data, old.created_ms, old.private)
            self._repos[dataset_id] = repo
        return repo

    def get(self, dataset_id: str) -> DatasetRepo | None:
        return self._repos.get(dataset_id)


def _commit_sha(dataset_id: str, files: dict[str, bytes], *parent: str) -> str:
    return sha_hex(
        "dataset", dataset_id, *parent, *(f"{p}:{git_blob_oid(c)}" for p, c in sorted(files.items()))
    )
