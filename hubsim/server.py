"""The HTTP side: a keep-alive server on 127.0.0.1 that answers like the Hub's model API and resolvers."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from . import git
from .counters import Counters
from .faults import FaultInjector, Faults
from .fields import iso_ms, sha_hex
from .listing import BadRequest, expand_values, list_page, parse_query
from .ratelimit import Decision, Quotas, RateLimiter
from .registry import Registry
from .repos import DatasetRepo, paths_info, resolve_headers, tree_entries
from .upload import LFS_PREFIX, MAX_OBJECT_BYTES, UploadError, Uploads

COMMITS_PAGE = 50
DISCUSSIONS_PAGE = 50
_MODEL_OPS = ("revision", "commits", "tree", "paths-info", "discussions")
_DATASET_OPS = ("revision", "tree", "paths-info")
_TRUE = {"true", "1", "True", ""}
_NOT_FOUND = "Sorry, we can't find the page you are looking for."
_MAX_POST_BYTES = 1 << 20
_SEND_CHUNK = 1 << 16


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    is_json: bool = False


def _json(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head = [("Content-Type", "application/json; charset=utf-8"), *(headers or [])]
    if status == 200:
        head.append(("ETag", f'W/"{len(body):x}-{sha_hex(body)[:27]}"'))
    return Response(status, body, head, is_json=True)


def _error(status: int, message: str, code: str | None = None, *, api: bool = True) -> Response:
    headers = [("X-Error-Message", message)]
    if code:
        headers.insert(0, ("X-Error-Code", code))
    if api:
        return _json(status, {"error": message}, headers)
    return Response(
        status, message.encode("utf-8"), [("Content-Type", "text/plain; charset=utf-8"), *headers]
    )


def _redirect(prefix: str, target: str, rest: list[str], query: str) -> Response:
    """307 to the renamed repo `target`, keeping the rest of the path and the query, as the Hub does."""
    path = prefix + quote(target, safe="/") + "".join("/" + s for s in rest)
    location = path + (f"?{query}" if query else "")
    body = f"Temporary Redirect. Redirecting to {path}".encode()
    return Response(307, body, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")])


class HubSimulator:
    """Serves a Registry over HTTP on 127.0.0.1 until closed; use as a context manager.

    - `quotas`: fixed-window rate limits per bucket (None: unlimited, no RateLimit headers).
    - `faults`: injected failures (None: none).
    - `latency_s`: delay added to every request.
    - `valid_tokens`: when set, a Bearer token outside it gets 401 "Invalid credentials in Authorization
      header" on every route; when None every token is accepted.
    - `granted_tokens`: tokens that may read gated repositories' files; other tokens get 403.
    """

    def __init__(
        self,
        registry: Registry,
        quotas: Quotas | None = None,
        faults: Faults | None = None,
        latency_s: float = 0.0,
        valid_tokens: set[str] | None = None,
        granted_tokens: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = registry
        self.limiter = RateLimiter(quotas) if quotas is not None else None
        self.faults = FaultInjector(faults) if faults is not None else None
        self.latency_s = latency_s
        self.valid_tokens = set(valid_tokens) if valid_tokens is not None else None
        self.granted_tokens = set(granted_tokens or ())
        self.uploads = Uploads(registry.datasets)
        self._counters = Counters()
        self._request_ids = itertools.count(1)
        self._server = _Server((host, port), _Handler)
        self._server.sim = self
        self._thread: threading.Thread | None = None
        self.url = f"http://{host}:{self._server.server_address[1]}"

    @property
    def counters(self) -> Counter[Hashable]:
        """A snapshot of the request counters (see `Counters` for the keys); missing keys read 0."""
        return self._counters.snapshot()

    def reset_counters(self) -> None:
        self._counters.reset()

    def start(self) -> HubSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> HubSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the standalone runner)."""
        self._server.serve_forever(poll_interval=0.2)

    def next_request_id(self) -> str:
        return f"Root=1-hubsim-{next(self._request_ids):08x}"

    # -- routing ------------------------------------------------------------------------------

    def token_ok(self, token: str | None) -> bool:
        return token is None or self.valid_tokens is None or token in self.valid_tokens

    def handle(
        self,
        method: str,
        raw_path: str,
        query: str,
        token: str | None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        segments = [s for s in raw_path.split("/") if s]
        pairs = parse_qsl(query, keep_blank_values=True)
        if method in ("POST", "PUT"):
            host = (headers or {}).get("Host")
            try:
                answer = self.uploads.route(method, segments, body, f"http://{host}" if host else self.url)
            except UploadError as err:
                return _error(err.status, str(err))
            if answer is not None:
                return _json(*answer)
        git_path = git.split_git_path([unquote(s) for s in segments]) if segments[:1] != ["api"] else None
        if git_path is not None:
            return self._git(*git_path, method, query, headers or {}, body, token)
        if method == "POST":
            # Only paths-info is asked with POST, its paths sent as a form.
            if "paths-info" not in segments[3:5]:
                return _error(405, "Method not allowed")
            pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        try:
            if segments[:2] == ["api", "datasets"]:
                return self._dataset_route(segments[2:], pairs)
            if segments[:1] == ["datasets"]:
                return self._dataset_resolve(segments[1:])
            if raw_path.rstrip("/") == "/api/models":
                return self._listing(pairs)
            if raw_path.rstrip("/") == "/api/whoami-v2":
                return self._whoami(token)
            if segments[:2] == ["api", "models"]:
                return self._model_route(segments[2:], pairs, query, token)
            if len(segments) == 4 and segments[0] == "api" and segments[3] == "overview":
                return self._overview(segments[1], unquote(segments[2]))
            if "resolve" in segments[1:3]:
                return self._resolve(method, segments, query, token)
        except BadRequest as err:
            return _error(400, str(err))
        return _error(
            404, "Sorry, we can't find the page you are looking for.", api=raw_path.startswith("/api/")
        )

    def _listing(self, pairs: list[tuple[str, str]]) -> Response:
        page, cursor = list_page(self.registry, parse_query(pairs))
        headers = []
        if cursor is not None:
            kept = [(k, v) for k, v in pairs if k != "cursor"] + [("cursor", cursor)]
            headers.append(("Link", f'<{{base}}/api/models?{urlencode(kept)}>; rel="next"'))
        return _json(200, page, headers)

    def _whoami(self, token: str | None) -> Response:
        if token is None:
            return _error(401, "Invalid username or password.")
        return _json(
            200,
            {
                "type": "user",
                "id": sha_hex("user", token)[:24],
                "name": "hubsim-user",
                "fullname": "Hub Simulator User",
                "isPro": False,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "hubsim", "role": "read"}},
            },
        )

    def _overview(self, collection: str, name: str) -> Response:
        """`/api/organizations/{name}/overview` and `/api/users/{name}/overview`."""
        account = self.registry.account(name)
        kind = {"organizations": "org", "users": "user"}.get(collection)
        if kind is None or account is None or account[0] != kind:
            what = "Organization" if collection == "organizations" else "User"
            return _error(404, f"{what} not found")
        profile: dict[str, Any] = {
            "_id": sha_hex("account", name)[:24],
            "avatarUrl": f"/avatars/{sha_hex('avatar', name)[:32]}.svg",
            "fullname": name,
        }
        if kind == "org":
            profile.update(name=name, isVerified=account[1], type="org")
        else:
            profile.update(user=name, type="user", isPro=False)
        return _json(200, profile)

    def _find_repo(self, segments: list[str], ops: tuple[str, ...]) -> tuple[int, str | None, int | None]:
        """How many leading segments form the repo id, and the model index or redirect target."""
        reg = self.registry
        for n in (2, 1):
            if len(segments) < n or (len(segments) > n and segments[n] not in ops):
                continue
            repo_id = "/".join(unquote(s) for s in segments[:n])
            i = reg.index_of(repo_id)
            target = reg.redirect_of(repo_id)
            if i is not None or target is not None:
                return n, target, i
        n = 2 if len(segments) >= 2 and segments[1] not in ops else 1
        return n, None, None

    def _repo_missing(self, token: str | None, *, api: bool) -> Response:
        # Anonymous callers cannot tell a missing repo from a private one: 401; authenticated: 404.
        return _error(404 if token else 401, "Repository not found", "RepoNotFound", api=api)

    def _model_route(
        self, segments: list[str], pairs: list[tuple[str, str]], query: str, token: str | None
    ) -> Response:
        n, target, i = self._find_repo(segments, _MODEL_OPS)
        rest = segments[n:]
        if target is not None:
            return _redirect("/api/models/", target, rest, query)
        if i is None:
            return self._repo_missing(token, api=True)
        reg = self.registry
        if not rest:
            return self._model_info(i, pairs, None)
        if rest == ["discussions"]:
            return self._discussions(i, pairs)
        if len(rest) == 2 and rest[0] == "discussions":
            return self._discussion(i, rest[1])
        op, args = rest[0], [unquote(s) for s in rest[1:]]
        if not args or (op != "tree" and len(args) != 1):
            return _error(404, _NOT_FOUND)
        version = reg.revision(i, args[0])
        if version is None:
            return _error(404, f"Invalid rev id: {args[0]}", "RevisionNotFound")
        if op == "revision":
            return self._model_info(i, pairs, self._commit_sha(i, args[0]))
        if op == "commits":
            return self._commits(i, args[0], pairs)
        sha = self._commit_sha(i, args[0])
        names = reg.siblings(i)

        def content(name: str) -> bytes:
            return reg.file(i, name, version) or b""

        if op == "paths-info":
            entries = paths_info(names, content, [v for k, v in pairs if k == "paths"], sha)
            return _json(200, self._with_security(i, entries, pairs))
        response = _tree(names, content, "/".join(args[1:]), pairs, sha)
        if response.status == 200:
            response = _json(200, self._with_security(i, json.loads(response.body), pairs))
        return response

    def _with_security(
        self, i: int, entries: list[dict[str, Any]], pairs: list[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        """With `expand=true`, each file entry also carries its scan results (`securityFileStatus`)."""
        if dict(pairs).get("expand", "false") not in _TRUE:
            return entries
        return [
            entry | {"securityFileStatus": self.registry.security(i, entry["path"])}
            if entry.get("type") == "file"
            else entry
            for entry in entries
        ]

    def _commit_sha(self, i: int, rev: str) -> str:
        return self.registry.sha(i) if rev == "main" else rev

    def _model_info(self, i: int, pairs: list[tuple[str, str]], sha: str | None) -> Response:
        reg = self.registry
        params = dict(pairs)
        expand = expand_values(pairs)
        info = reg.model_info(i, blobs=params.get("blobs", "false") in _TRUE)
        if sha is not None:
            info["sha"] = sha
        if params.get("securityStatus", "false") in _TRUE:
            flagged = [
                {"path": name, "level": status["status"]}
                for name in reg.siblings(i)
                if (status := reg.security(i, name))["status"] != "safe"
            ]
            info["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": flagged}
        if expand is not None:
            out = {"_id": info["_id"], "id": info["id"]}
            for name in expand:
                value = info[name] if name in info else reg.extra_property(i, name)
                if value is not None:
                    out[name] = value
            info = out
        return _json(200, info)

    def _git(
        self,
        repo_id: str,
        service: str,
        method: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        token: str | None,
    ) -> Response:
        """Git smart HTTP (`/{id}/info/refs`, `/{id}/git-upload-pack`) for a model backed by a real repo."""
        i = self.registry.index_of(repo_id)
        repo = self.registry.git_repo(i) if i is not None else None
        if repo is None:
            return self._repo_missing(token, api=False)
        answer = git.serve(repo, service, method, query, headers, body)
        return Response(answer.status, answer.body, answer.headers)

    def _commits(self, i: int, rev: str, pairs: list[tuple[str, str]]) -> Response:
        reg = self.registry
        params = dict(pairs)
        try:
            page = max(0, int(params.get("p", "0")))
            limit = max(1, min(1000, int(params.get("limit", str(COMMITS_PAGE)))))
        except ValueError as err:
            raise BadRequest("Invalid pagination parameters") from err
        sha = self._commit_sha(i, rev)
        repo = reg.git_repo(i)
        namespace = reg.model_id(i).split("/", 1)[0]
        # A model backed by a real repository lists its history, each commit by its git author.
        if repo is not None:
            # `main` is the repository's own branch, not the registry's made-up sha.
            history: list[Any] = git.history(repo, "HEAD" if rev == "main" else sha)
            authors = [c.author for c in history]
        else:
            history = reg.commits(i)
            start = next((k for k, c in enumerate(history) if c.sha == sha), 0)
            history = history[start:]
            authors = [namespace] * len(history)
        chunk = list(zip(history, authors, strict=True))[page * limit : (page + 1) * limit]
        items = [
            {
                "id": c.sha,
                "title": c.title,
                "message": "",
                "authors": [{"user": author, "avatar": f"/avatars/{sha_hex('avatar', author)[:32]}.svg"}],
                "date": iso_ms(c.date_ms),
            }
            for c, author in chunk
        ]
        headers = [("X-Total-Count", str(len(history)))]
        if (page + 1) * limit < len(history):
            kept = [(k, v) for k, v in pairs if k != "p"] + [("p", str(page + 1))]
            path = f"/api/models/{quote(reg.model_id(i), safe='/')}/commits/{quote(rev, safe='')}"
            headers.append(("Link", f'<{{base}}{path}?{urlencode(kept)}>; rel="next"'))
        return _json(200, items, headers)

    def _discussions(self, i: int, pairs: list[tuple[str, str]]) -> Response:
        """`/api/models/{id}/discussions?p=N`: pages of 50, newest first, shaped as the Hub's."""
        try:
            page = max(0, int(dict(pairs).get("p", "0")))
        except ValueError as err:
            raise BadRequest("Invalid pagination parameters") from err
        reg = self.registry
        found = reg.discussions(i)
        chunk = found[page * DISCUSSIONS_PAGE : (page + 1) * DISCUSSIONS_PAGE]
        items = [self._discussion_item(i, item) for item in chunk]
        payload = {
            "discussions": items,
            "count": len(found),
            "start": page * DISCUSSIONS_PAGE,
            "numItemsPerPage": DISCUSSIONS_PAGE,
        }
        return _json(200, payload)

    def _discussion(self, i: int, num: str) -> Response:
        """`/api/models/{id}/discussions/{num}`: one discussion with its events, shaped as the Hub's."""
        found = self.registry.discussion(i, int(num)) if num.isdigit() else None
        if found is None:
            return _error(404, "Discussion not found")
        item = {
            **self._discussion_item(i, found),
            "events": found["events"],
        }
        if found["isPullRequest"]:
            item |= {"changes": {"base": "refs/heads/main"}, "filesWithConflicts": []}
        return _json(200, item)

    def _discussion_item(self, i: int, item: dict[str, Any]) -> dict[str, Any]:
        return {
            **item,
            "author": {
                "name": item["author"],
                "fullname": item["author"],
                "avatarUrl": f"/avatars/{sha_hex('avatar', item['author'])[:32]}.svg",
                "type": "user",
                "isPro": False,
            },
            "repo": {"name": self.registry.model_id(i), "type": "model"},
            "pinned": False,
            "topReactions": [],
        }

    def _dataset_route(self, segments: list[str], pairs: list[tuple[str, str]]) -> Response:
        """`/api/datasets/{id}`, `.../revision/{rev}`, `.../tree/{rev}[/path]` and `.../paths-info/{rev}`."""
        n, repo = self._find_dataset(segments, _DATASET_OPS)
        if repo is None:
            return _error(404, "Repository not found", "RepoNotFound")
        rest = [unquote(s) for s in segments[n:]]
        if not rest:
            return _json(200, repo.info())
        op, args = rest[0], rest[1:]
        if not args or (op != "tree" and len(args) != 1):
            return _error(404, _NOT_FOUND)
        if args[0] not in ("main", repo.sha):
            return _error(404, f"Invalid rev id: {args[0]}", "RevisionNotFound")
        if op == "revision":
            return _json(200, repo.info())
        if op == "paths-info":
            paths = [v for k, v in pairs if k == "paths"]
            return _json(200, paths_info(repo.files, repo.files.__getitem__, paths, repo.sha))
        return _tree(repo.files, repo.files.__getitem__, "/".join(args[1:]), pairs, repo.sha)

    def _dataset_resolve(self, segments: list[str]) -> Response:
        """`/datasets/{id}/resolve/{rev}/{path}`."""
        n, repo = self._find_dataset(segments, ("resolve",))
        rest = [unquote(s) for s in segments[n:]]
        if len(rest) < 3 or rest[0] != "resolve":
            return _error(404, _NOT_FOUND, api=False)
        if repo is None:
            return _error(404, "Repository not found", "RepoNotFound", api=False)
        if rest[1] not in ("main", repo.sha):
            return _error(404, f"Invalid rev id: {rest[1]}", "RevisionNotFound", api=False)
        path = "/".join(rest[2:])
        content = repo.files.get(path)
        if content is None:
            return _error(404, "Entry not found", "EntryNotFound", api=False)
        return Response(200, content, resolve_headers(path, content, repo.sha))

    def _find_dataset(self, segments: list[str], ops: tuple[str, ...]) -> tuple[int, DatasetRepo | None]:
        """How many leading segments form the dataset id (with or without a namespace), and the dataset."""
        for n in (2, 1):
            if len(segments) < n or (len(segments) > n and segments[n] not in ops):
                continue
            repo = self.registry.datasets.get("/".join(unquote(s) for s in segments[:n]))
            if repo is not None:
                return n, repo
        return 0, None

    def _resolve(self, method: str, segments: list[str], query: str, token: str | None) -> Response:
        n, target, i = self._find_repo(segments, ("resolve",))
        rest = segments[n:]
        if len(rest) < 3 or rest[0] != "resolve":
            return _error(404, "Sorry, we can't find the page you are looking for.", api=False)
        if target is not None:
            return _redirect("/", target, rest, query)
        if i is None:
            return self._repo_missing(token, api=False)
        reg = self.registry
        model_id = reg.model_id(i)
        if reg.gated(i) and token not in self.granted_tokens:
            if token is None:
                message = (
                    f"Access to model {model_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in."
                )
                return _error(401, message, "GatedRepo", api=False)
            message = (
                f"Access to model {model_id} is restricted and you are not in the authorized list. "
                f"Visit https://huggingface.co/{model_id} to ask for access."
            )
            return _error(403, message, "GatedRepo", api=False)
        rev = unquote(rest[1])
        version = reg.revision(i, rev)
        if version is None:
            return _error(404, f"Invalid rev id: {rev}", "RevisionNotFound", api=False)
        path = "/".join(unquote(s) for s in rest[2:])
        content = reg.file(i, path, version)
        if content is None:
            return _error(404, "Entry not found", "EntryNotFound", api=False)
        return Response(200, content, resolve_headers(path, content, self._commit_sha(i, rev)))


def _tree(
    names: list[str] | dict[str, bytes],
    content: Callable[[str], bytes],
    path: str,
    pairs: list[tuple[str, str]],
    commit: str,
) -> Response:
    recursive = dict(pairs).get("recursive", "false") in _TRUE
    entries = tree_entries(names, content, path, recursive, commit)
    if entries is None:
        return _error(404, f"{path} does not exist on this revision", "EntryNotFound")
    return _json(200, entries)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True
    sim: HubSimulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def track(self, conn: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            if is_open:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def close_connections(self) -> None:
        """End idle keep-alive connections so no handler keeps serving after close."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hubsim"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are dropped after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)
        self.server.sim._counters.add("connections")

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are counted, not logged."""

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_PUT(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        # Uploads (LFS objects, commits) may be large; every other POST is a small form.
        upload = self.command == "PUT" or self.path.partition("?")[0].endswith(("/commit/main", "/batch"))
        if length > (MAX_OBJECT_BYTES if upload else _MAX_POST_BYTES):
            # Drained in small reads, kept nowhere: the client gets its answer, not a reset mid-send.
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)
            self._send(_error(413, "Payload too large"), False, None, truncate=False)
            return
        self._serve(head=False, body=self.rfile.read(length) if length else b"")

    def _serve(self, head: bool, body: bytes = b"") -> None:
        sim = self.server.sim
        raw_path, _, query = self.path.partition("?")
        bucket, route = _classify(raw_path)
        # A request counts when it arrives, so a client killed while waiting on it is still counted
        # against the run that sent it; what it got back counts once it is answered.
        sim._counters.add("requests", bucket, route)
        counts: list[Hashable] = []
        if sim.latency_s:
            time.sleep(sim.latency_s)
        decision = sim.limiter.hit(bucket) if sim.limiter is not None else None
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        fault = None
        if decision is not None and not decision.allowed:
            resp = _error(429, "You have exceeded our rate limit for this bucket. Please retry later.")
        elif not sim.token_ok(token):
            resp = _error(401, "Invalid credentials in Authorization header")
        else:
            try:
                resp = sim.handle(self.command, raw_path, query, token, body, self.headers)
            except Exception as err:  # a bug must answer 500, not kill the connection
                resp = _error(500, f"Internal error: {type(err).__name__}: {err}")
            if sim.faults is not None:
                fault = self._fault(sim.faults, resp, head, route)
        if fault is not None:
            counts += ["faults", ("fault", fault)]
            if fault == "5xx":
                status = sim.faults.server_error(self.path) if sim.faults else 500
                resp = _error(
                    status, "Internal Error" if status == 500 else "Service temporarily unavailable"
                )
            elif fault == "slow" and sim.faults is not None:
                time.sleep(sim.faults.faults.slow_s)
            elif fault == "bad_json":
                resp.body = resp.body[: len(resp.body) // 2]
        if fault == "reset":
            sim._counters.add(*counts)
            self._reset()
            return
        counts += [str(resp.status), (route, resp.status), (bucket, resp.status)]
        sim._counters.add(*counts)
        self._send(resp, head, decision, truncate=fault == "truncate")

    def _fault(self, faults: FaultInjector, resp: Response, head: bool, route: str) -> str | None:
        applicable = ["5xx", "reset", "slow"]
        if not head and len(resp.body) >= 2:
            applicable.append("truncate")
            if resp.is_json and resp.status == 200 and route != "resolve":
                applicable.append("bad_json")
        return faults.decide(f"{self.command} {self.path}", tuple(applicable))

    def _send(self, resp: Response, head: bool, decision: Decision | None, truncate: bool) -> None:
        sim = self.server.sim
        body = resp.body
        status = resp.status
        headers = list(resp.headers)
        range_header = self.headers.get("Range")
        if status == 200 and range_header and not resp.is_json:
            status, body, extra = _byte_range(range_header, body)
            headers += extra
        host = self.headers.get("Host") or sim.url.removeprefix("http://")
        self.send_response(status)
        for key, value in headers:
            if key == "Link":
                value = value.replace("{base}", f"http://{host}")
            self.send_header(key, value)
        if decision is not None:
            for key, value in decision.headers():
                self.send_header(key, value)
        self.send_header("X-Request-Id", sim.next_request_id())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0 if head else len(body) // 2 if truncate else len(body)
        key = ("bytes_sent", _classify(self.path.partition("?")[0])[1])
        try:
            # In chunks, each counted as it is handed to the socket (so the count is complete by the time
            # the client has the body): a client that stops reading stops the count within a chunk.
            for start in range(0, sent, _SEND_CHUNK):
                end = min(start + _SEND_CHUNK, sent)
                sim._counters.add_amount(key, end - start)
                self.wfile.write(body[start:end])
        except OSError:
            self.close_connection = True
        if truncate:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with RST and no response at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def _classify(raw_path: str) -> tuple[str, str]:
    """(bucket, route) of a request path."""
    if raw_path.startswith("/api/"):
        path = raw_path.rstrip("/")
        if path == "/api/models":
            return "api", "listing"
        if path == "/api/whoami-v2":
            return "api", "whoami"
        if path.endswith("/overview"):
            return "api", "overview"
        if path.startswith("/api/models/"):
            segments = path.split("/")[3:]
            routes = (
                ("commits", "commits"),
                ("tree", "tree"),
                ("paths-info", "paths_info"),
                ("discussions", "discussions"),
            )
            for op, route in routes:
                if op in segments[1:3]:
                    # `discussions/{num}` is one discussion's details, counted apart from the pages.
                    one = op == "discussions" and segments.index(op) + 1 < len(segments)
                    return "api", "discussion" if one else route
            return "api", "model_info"
        return "api", "other"
    if raw_path.endswith(("/info/refs", "/git-upload-pack")):
        return "git", "git"
    if raw_path.startswith(f"/{LFS_PREFIX}/"):
        return "pages", "lfs"
    if "/resolve/" in raw_path:
        return "resolvers", "resolve"
    return "pages", "other"


def _byte_range(header: str, body: bytes) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Serve `Range: bytes=a-b` (one range); anything else gets the whole body."""
    spec = header.strip().removeprefix("bytes=")
    if "," in spec or "-" not in spec:
        return 200, body, []
    first, _, last = spec.partition("-")
    size = len(body)
    try:
        if first:
            start, end = int(first), int(last) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
    except ValueError:
        return 200, body, []
    if start >= size or start > end:
        return 416, b"", [("Content-Range", f"bytes */{size}")]
    end = min(end, size - 1)
    return 206, body[start : end + 1], [("Content-Range", f"bytes {start}-{end}/{size}")]
