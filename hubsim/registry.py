"""The simulated Hub's state: which models exist, their current revision, cards, gating and renames."""

from __future__ import annotations

import bisect
import html
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .columns import GATED_CODES, Columns, gated_code
from .fields import digest, iso_ms, object_id, sha_hex, unit
from .git import GitRepo
from .repos import DatasetRepo, DatasetStore, sibling_entry
from .sample import RecordList, load_sample
from .synthetic import SyntheticSource

SORT_KEYS: tuple[str, ...] = ("downloads", "likes", "lastModified", "createdAt", "trendingScore")
_SORT_ALIASES = {
    "last_modified": "lastModified",
    "created_at": "createdAt",
    "trending_score": "trendingScore",
}

# Fields the registry computes itself rather than copying from a stored record.
_OWN_FIELDS = frozenset(
    {
        "_id",
        "id",
        "modelId",
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "downloads",
        "downloadsAllTime",
        "likes",
        "gated",
        "private",
        "disabled",
        "siblings",
        "trendingScore",
        "_readme_missing",
    }
)
_COMMIT_TITLES = ("Upload model", "Update README.md", "Add weights", "Update config.json", "Upload folder")


class Source(Protocol):
    ids: list[str]

    def __len__(self) -> int: ...
    def record(self, i: int) -> dict[str, Any]: ...
    def base_sha(self, i: int) -> str: ...
    def has_readme(self, i: int) -> bool: ...
    def readme(self, i: int) -> bytes | None: ...


@dataclass(frozen=True)
class Commit:
    sha: str
    version: int  # card revision served at this commit
    date_ms: int
    title: str


class Registry:
    """All models the simulator serves. Safe to change while a server reads it."""

    def __init__(self) -> None:
        self._parts: list[Source] = []
        self._offsets: list[int] = []
        self._added: RecordList | None = None
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._cols = Columns.empty()
        self._version = np.zeros(0, dtype=np.uint32)
        self._readme_override: dict[int, bytes | None] = {}
        self._files: dict[int, dict[str, bytes]] = {}
        self.datasets = DatasetStore()
        self._redirects: dict[str, str] = {}
        self._orders: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}
        self._namespaces: set[str] | None = None
        self._accounts: dict[str, tuple[str, bool]] = {}
        self._security: dict[tuple[int, str], dict[str, Any]] = {}
        self._git: dict[int, GitRepo] = {}
        self._discussions: dict[int, list[dict[str, Any]]] = {}
        self._removed: set[int] = set()
        self._lock = threading.RLock()

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_sample(cls, directory: Path) -> Registry:
        """A registry holding a hub-sample data directory (hub2022-sample, hub2024-sample)."""
        records, columns = load_sample(Path(directory))
        reg = cls()
        reg._attach(records, columns)
        reg._added = records
        return reg

    @classmethod
    def synthetic(cls, n: int, seed: int = 0, templates: Path | None = None) -> Registry:
        """`n` generated models; with `templates` (a sample directory) they borrow its records' shapes
        and cards."""
        template_records = load_sample(Path(templates))[0] if templates is not None else None
        source = SyntheticSource(n, seed, template_records)
        reg = cls()
        reg._attach(source, source.columns)
        for i in source.eval_results_models:
            reg.set_file(source.ids[i], *source.eval_results(i))
        return reg

    def _attach(self, source: Source, columns: Columns) -> None:
        start = len(self._ids)
        self._parts.append(source)
        self._offsets.append(start)
        self._ids.extend(source.ids)
        for k, model_id in enumerate(source.ids):
            if model_id in self._index:
                raise ValueError(f"duplicate model id {model_id!r}")
            self._index[model_id] = start + k
        self._cols = self._cols.concat(columns) if len(self._cols) else columns
        self._version = np.concatenate([self._version, np.zeros(len(source), dtype=np.uint32)])
        self._orders.clear()
        self._namespaces = None

    # -- changes ----------------------------------------------------------------------------------

    def add(self, record: dict[str, Any], readme: bytes | None) -> None:
        """Add one hand-made model (a dict shaped like an `/api/models/{id}` response, `id` required)."""
        with self._lock:
            model_id = str(record.get("id") or record["modelId"])
            if model_id in self._index or model_id in self._redirects:
                raise ValueError(f"model {model_id!r} already exists")
            if self._added is None or self._parts[-1] is not self._added:
                self._added = RecordList()
                self._parts.append(self._added)
                self._offsets.append(len(self._ids))
            row = self._added.append(dict(record), readme)
            self._index[model_id] = len(self._ids)
            self._ids.append(model_id)
            self._cols = self._cols.concat(Columns.from_rows([row]))
            self._version = np.append(self._version, np.uint32(0))
            self._namespaces = None
            self._orders.clear()

    def change_shas(self, fraction: float = 0.01, seed: int = 1) -> list[str]:
        """Give that share of models a new commit (new sha, lastModified now, changed card).

        Returns the changed ids."""
        with self._lock:
            n = len(self._ids)
            k = min(n, round(fraction * n))
            chosen = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
            version = self._version.copy()
            version[chosen] += 1
            modified = self._cols.modified_ms.copy()
            modified[chosen] = np.maximum(int(time.time()) * 1000, modified[chosen] + 1000)
            self._version = version
            self._cols.modified_ms = modified
            self._orders.pop("lastModified", None)
            return [self._ids[i] for i in chosen.tolist()]

    def rename(self, old_id: str, new_id: str) -> None:
        """Move a model to a new id; the old id then answers 307 to the new one."""
        with self._lock:
            i = self._index.get(old_id)
            if i is None:
                raise KeyError(old_id)
            if new_id in self._index:
                raise ValueError(f"model {new_id!r} already exists")
            del self._index[old_id]
            self._index[new_id] = i
            self._ids[i] = new_id
            self._redirects.pop(new_id, None)
            for source, target in list(self._redirects.items()):
                if target == old_id:
                    self._redirects[source] = new_id
            self._redirects[old_id] = new_id
            self._namespaces = None

    def remove(self, model_id: str) -> None:
        """Delete a model: it leaves the listing and its id answers 404."""
        with self._lock:
            self._removed.add(self._must(model_id))
            del self._index[model_id]
            self._orders.clear()
            self._namespaces = None

    def set_gated(self, model_id: str, gated: bool | str) -> None:
        """Gate a model (`True` means "auto"; "manual" also accepted) or ungate it with `False`."""
        with self._lock:
            i = self._must(model_id)
            values = self._cols.gated.copy()
            values[i] = gated_code(gated)
            self._cols.gated = values

    def set_readme(self, model_id: str, content: bytes | None) -> None:
        """Replace a model's README.md; `None` removes the file (and its sibling entry)."""
        with self._lock:
            self._readme_override[self._must(model_id)] = content

    def set_security(self, model_id: str, path: str, status: dict[str, Any]) -> None:
        """The Hub's scan result of one file (`securityFileStatus`: status, avScan, pickleImportScan)."""
        with self._lock:
            self._security[self._must(model_id), path] = dict(status)

    def security(self, i: int, path: str) -> dict[str, Any]:
        """A file's `securityFileStatus`: as set, else safe with no virus and no pickle imports."""
        return self._security.get((i, path)) or {
            "status": "safe",
            "avScan": {"virusFound": False, "virusNames": None},
            "pickleImportScan": None,
        }

    def set_file(self, model_id: str, path: str, content: bytes) -> None:
        """Give a model a file (served at every revision) with this content; README.md goes to set_readme."""
        if path == "README.md":
            self.set_readme(model_id, content)
            return
        with self._lock:
            self._files.setdefault(self._must(model_id), {})[path] = bytes(content)

    def set_git_repo(
        self, model_id: str, bare_repo: Path, *, partial_clone: bool = True, clonable: bool = True
    ) -> None:
        """Serve the bare repository `bare_repo` over git smart HTTP as `model_id`, whose commits route then
        lists its history; `partial_clone=False` refuses `--filter`, `clonable=False` answers 403."""
        with self._lock:
            self._git[self._must(model_id)] = GitRepo(Path(bare_repo), partial_clone, clonable)

    def git_repo(self, i: int) -> GitRepo | None:
        return self._git.get(i)

    def add_discussion(
        self,
        model_id: str,
        title: str,
        *,
        author: str = "hubsim-user",
        status: str = "open",
        is_pull_request: bool = False,
        created_ms: int | None = None,
        closed_ms: int | None = None,
        num_comments: int = 1,
    ) -> int:
        """Open a discussion (or pull request) on a model; one `closed` or `merged` is given a status change
        at `closed_ms` (a day after its creation by default). Returns its number."""
        created = int(time.time() * 1000) if created_ms is None else created_ms
        with self._lock:
            items = self._discussions.setdefault(self._must(model_id), [])
            num = len(items) + 1
            items.append(
                {
                    "num": num,
                    "title": title,
                    "author": author,
                    "status": "open",
                    "isPullRequest": is_pull_request,
                    "createdAt": iso_ms(created),
                    "numComments": num_comments,
                    "events": [_discussion_event(num, 0, "comment", created, author, title)],
                }
            )
        if status != "open":
            self.set_discussion_status(
                model_id, num, status, closed_ms if closed_ms is not None else created + 86_400_000, author
            )
        return num

    def set_discussion_status(
        self, model_id: str, num: int, status: str, at_ms: int | None = None, author: str = "hubsim-user"
    ) -> None:
        """Change a discussion's status (`open`, `closed`, `merged`, `draft`), recording the change as the
        Hub does: a `status-change` event in its details."""
        at = int(time.time() * 1000) if at_ms is None else at_ms
        with self._lock:
            item = self._discussions[self._must(model_id)][num - 1]
            item["status"] = status
            item["events"].append(
                _discussion_event(num, len(item["events"]), "status-change", at, author, status)
            )

    def discussions(self, i: int) -> list[dict[str, Any]]:
        """The model's discussions, newest first (as the Hub lists them), without their events."""
        with self._lock:
            items = reversed(self._discussions.get(i, []))
            return [{k: v for k, v in item.items() if k != "events"} for item in items]

    def discussion(self, i: int, num: int) -> dict[str, Any] | None:
        """One discussion with its events (comments and status changes), oldest first."""
        with self._lock:
            items = self._discussions.get(i, [])
            if not 1 <= num <= len(items):
                return None
            return {**items[num - 1], "events": [dict(e) for e in items[num - 1]["events"]]}

    def add_dataset(
        self, dataset_id: str, files: dict[str, bytes], card_data: dict[str, Any] | None = None
    ) -> DatasetRepo:
        """Add a dataset repository holding `files` (path to content) at one commit."""
        return self.datasets.add(dataset_id, files, card_data)

    def set_account(self, name: str, kind: str, verified: bool = False) -> None:
        """Make `name` an organization (`kind="org"`, optionally verified) or a user (`kind="user"`)."""
        if kind not in ("org", "user"):
            raise ValueError(f"kind must be 'org' or 'user', not {kind!r}")
        with self._lock:
            self._accounts[name] = (kind, verified and kind == "org")

    # -- lookups ----------------------------------------------------------------------------------

    def account(self, name: str) -> tuple[str, bool] | None:
        """(kind, verified) of the namespace `name`, or None when no model lives under it.

        About a third of namespaces are organizations and a tenth of those verified, drawn from the name.
        """
        with self._lock:
            if name in self._accounts:
                return self._accounts[name]
            if self._namespaces is None:
                self._namespaces = {m.split("/", 1)[0] for m in self._ids if "/" in m}
            if name not in self._namespaces:
                return None
        if unit("org", name) < 1 / 3:
            return "org", unit("verified", name) < 0.1
        return "user", False

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> list[str]:
        return list(self._ids)

    def index_of(self, model_id: str) -> int | None:
        return self._index.get(model_id)

    def redirect_of(self, model_id: str) -> str | None:
        return self._redirects.get(model_id)

    def model_id(self, i: int) -> str:
        return self._ids[i]

    def gated(self, i: int) -> bool | str:
        return GATED_CODES[int(self._cols.gated[i])]

    def version(self, i: int) -> int:
        return int(self._version[i])

    def sha(self, i: int, version: int | None = None) -> str:
        v = self.version(i) if version is None else version
        source, local = self._locate(i)
        base = source.base_sha(local)
        return base if v == 0 else sha_hex("rev", base, v)

    def readme(self, i: int, version: int | None = None) -> bytes | None:
        if i in self._readme_override:
            text = self._readme_override[i]
        else:
            source, local = self._locate(i)
            text = source.readme(local)
        v = self.version(i) if version is None else version
        if text is None or v == 0:
            return text
        return text + f"\n\nRevision {v} of this card.\n".encode()

    def has_readme(self, i: int) -> bool:
        if i in self._readme_override:
            return self._readme_override[i] is not None
        source, local = self._locate(i)
        return source.has_readme(local)

    def commits(self, i: int) -> list[Commit]:
        """The model's history, newest first: a few early commits, then one per card revision."""
        model_id = self._ids[i]
        created = int(self._cols.created_ms[i])
        modified = max(int(self._cols.modified_ms[i]), created)
        current = self.version(i)
        early = digest("history", model_id)[0] % 3
        total = early + current + 1
        out: list[Commit] = []
        for step in range(total - 1, -1, -1):
            date = created + (modified - created) * step // max(total - 1, 1)
            if step >= early:
                v = step - early
                title = _COMMIT_TITLES[(v + early) % len(_COMMIT_TITLES)] if step else "initial commit"
                out.append(Commit(self.sha(i, v), v, date, title))
            else:
                title = "initial commit" if step == 0 else "Upload model"
                out.append(Commit(sha_hex("early", model_id, step), 0, date, title))
        return out

    def revision(self, i: int, rev: str) -> int | None:
        """The card revision a `rev` (branch `main` or a commit sha) points at, or None if unknown."""
        if rev == "main":
            return self.version(i)
        for commit in self.commits(i):
            if commit.sha == rev:
                return commit.version
        return None

    def siblings(self, i: int) -> list[str]:
        source, local = self._locate(i)
        names = [s["rfilename"] for s in source.record(local).get("siblings") or []]
        extra = self._files.get(i)
        if extra:
            names = sorted(set(names) | extra.keys())
        has = self.has_readme(i)
        if has and "README.md" not in names:
            bisect.insort(names, "README.md")
        elif not has and "README.md" in names:
            names.remove("README.md")
        return names

    def file(self, i: int, path: str, version: int | None = None) -> bytes | None:
        """Content of a file at a revision, or None when the repository has no such file."""
        if path == "README.md":
            return self.readme(i, version)
        extra = self._files.get(i)
        if extra and path in extra:
            return extra[path]
        if path not in self.siblings(i):
            return None
        source, local = self._locate(i)
        config = source.record(local).get("config")
        if path == "config.json" and config:
            return json.dumps(config, indent=2).encode()
        return f"placeholder content of {path} in {self._ids[i]}\n".encode()

    def tags(self, i: int) -> set[str]:
        """What a listing `filter` matches against: tags, pipeline tag and library."""
        source, local = self._locate(i)
        rec = source.record(local)
        out = set(rec.get("tags") or [])
        out.update(v for v in (rec.get("pipeline_tag"), rec.get("library_name")) if v)
        return out

    def model_info(self, i: int, *, blobs: bool = False, siblings: bool = True) -> dict[str, Any]:
        """The `/api/models/{id}` body: the stored record with the registry's own fields laid over it.

        `siblings=False` skips the file list, which listings without it do not need.
        """
        source, local = self._locate(i)
        rec = source.record(local)
        model_id = self._ids[i]
        created = int(self._cols.created_ms[i])
        # The _id comes from the id the model was made with: it survives renames, as on the Hub.
        out: dict[str, Any] = {"_id": rec.get("_id") or object_id(source.ids[local], created), "id": model_id}
        out["private"] = False
        for key in ("pipeline_tag", "library_name"):
            if rec.get(key) is not None:
                out[key] = rec[key]
        out["tags"] = rec.get("tags") or []
        out["downloads"] = int(self._cols.downloads[i])
        out["likes"] = int(self._cols.likes[i])
        out["modelId"] = model_id
        if "/" in model_id:
            out["author"] = model_id.split("/", 1)[0]
        elif rec.get("author"):
            out["author"] = rec["author"]
        out["sha"] = self.sha(i)
        out["lastModified"] = iso_ms(int(self._cols.modified_ms[i]))
        out["gated"] = self.gated(i)
        out["disabled"] = bool(rec.get("disabled", False))
        for key, value in rec.items():
            if key not in _OWN_FIELDS and key not in out:
                out[key] = value
        if siblings:
            out["siblings"] = self._sibling_entries(i, blobs)
        out["createdAt"] = iso_ms(created)
        return out

    def extra_property(self, i: int, name: str) -> Any:
        """Properties only served through `expand[]`; None when the model has no value for it."""
        if name == "downloadsAllTime":
            return int(self._cols.downloads[i] * (1 + 20 * unit("alltime", self._ids[i])))
        if name == "trendingScore":
            return int(self._cols.trending[i])
        if name == "usedStorage":
            return sum(len(self.file(i, f) or b"") for f in self.siblings(i))
        if name == "spaces":
            return []
        return None

    def _sibling_entries(self, i: int, blobs: bool) -> list[dict[str, Any]]:
        if not blobs:
            return [{"rfilename": name} for name in self.siblings(i)]
        return [sibling_entry(name, self.file(i, name) or b"") for name in self.siblings(i)]

    # -- ordering for listings ------------------------------------------------------------------

    @staticmethod
    def sort_name(sort: str | None) -> str | None:
        """Canonical sort key name; raises ValueError for an unknown one."""
        if sort in (None, ""):
            return None
        name = _SORT_ALIASES.get(sort, sort)  # type: ignore[arg-type]
        if name not in SORT_KEYS:
            raise ValueError(f"Invalid sort parameter: {sort}")
        return name

    def sort_value(self, sort: str | None, i: int) -> int:
        return int(self._key_array(sort)[i])

    def order(self, sort: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Model indices in served order (key descending, index ascending) and their negated keys."""
        with self._lock:
            cached = self._orders.get(sort)
            if cached is None or len(cached[0]) != len(self._ids) - len(self._removed):
                neg = -self._key_array(sort)
                idx = np.lexsort((np.arange(len(neg)), neg))
                if self._removed:
                    idx = idx[~np.isin(idx, list(self._removed))]
                cached = (idx, neg[idx])
                self._orders[sort] = cached
            return cached

    def _key_array(self, sort: str | None) -> np.ndarray:
        c = self._cols
        arrays: dict[str | None, np.ndarray] = {
            "downloads": c.downloads,
            "likes": c.likes,
            "lastModified": c.modified_ms,
            "createdAt": c.created_ms,
            "trendingScore": c.trending,
        }
        return arrays.get(sort, np.zeros(len(self._ids), dtype=np.int64))

    # -- internals ------------------------------------------------------------------------------

    def _must(self, model_id: str) -> int:
        i = self._index.get(model_id)
        if i is None:
            raise KeyError(model_id)
        return i

    def _locate(self, i: int) -> tuple[Source, int]:
        part = bisect.bisect_right(self._offsets, i) - 1
        return self._parts[part], i - self._offsets[part]


def sort_positions(order: tuple[np.ndarray, np.ndarray], key: int, index: int) -> int:
    """Position of the first model served after the one with (`key`, `index`) in this order."""
    idx, neg_keys = order
    lo = int(np.searchsorted(neg_keys, -key, side="left"))
    hi = int(np.searchsorted(neg_keys, -key, side="right"))
    return lo + int(np.searchsorted(idx[lo:hi], index, side="right"))


def _discussion_event(num: int, k: int, kind: str, at_ms: int, author: str, text: str) -> dict[str, Any]:
    """An event of a discussion's details: its opening comment or a status change."""
    if kind == "comment":
        data: dict[str, Any] = {
            "edited": False,
            "hidden": False,
            "latest": {"raw": text, "html": f"<p>{html.escape(text)}</p>", "updatedAt": iso_ms(at_ms)},
        }
    else:
        data = {"status": text}
    return {
        "id": sha_hex("event", str(num), str(k))[:24],
        "type": kind,
        "createdAt": iso_ms(at_ms),
        "author": {"name": author},
        "data": data,
    }
