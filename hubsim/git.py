"""Git's smart HTTP for model repositories, served by git's own `git http-backend` run as a CGI program.

The Hub serves each model repository over git at `/{id}` and `/{id}.git`: a client asks
`GET /{id}/info/refs?service=git-upload-pack`, then `POST /{id}/git-upload-pack`. A model served so
is backed by a real bare repository (`Registry.set_git_repo`); its commits route then lists that
repository's history. Partial clone (`--filter`) is allowed unless the repository is set to refuse it,
and a repository can refuse cloning altogether (403), as a gated or disabled one does.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# What a git client asks for after the repository part of the path.
SERVICES = ("info/refs", "git-upload-pack")
_BACKEND_TIMEOUT_S = 120
_LOG_LIMIT = 10_000


@dataclass(frozen=True)
class GitRepo:
    """A bare repository served as a model. `partial_clone`: the server honours `--filter` (else git
    clients are told filtering is not recognized); `clonable`: False answers every git request 403."""

    path: Path
    partial_clone: bool = True
    clonable: bool = True


@dataclass(frozen=True)
class GitCommit:
    sha: str
    title: str
    author: str
    date_ms: int


@dataclass(frozen=True)
class CgiAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def split_git_path(segments: list[str]) -> tuple[str, str] | None:
    """(repository id, service) of a git smart-HTTP path, or None when the path is no git request."""
    for service in SERVICES:
        parts = service.split("/")
        if len(segments) > len(parts) and segments[-len(parts) :] == parts:
            repo = segments[: -len(parts)]
            if 1 <= len(repo) <= 2:
                repo[-1] = repo[-1].removesuffix(".git")
                return "/".join(repo), service
    return None


def _config_env(pairs: dict[str, str]) -> dict[str, str]:
    """Git settings passed through the environment, so the served repository's files stay untouched."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for k, (key, value) in enumerate(pairs.items()):
        env[f"GIT_CONFIG_KEY_{k}"] = key
        env[f"GIT_CONFIG_VALUE_{k}"] = value
    return env


def serve(
    repo: GitRepo, service: str, method: str, query: str, headers: Mapping[str, str], body: bytes
) -> CgiAnswer:
    """Answer one smart-HTTP request for `repo` with `git http-backend`."""
    if not repo.clonable:
        return CgiAnswer(403, [("Content-Type", "text/plain; charset=utf-8")], b"Cloning is not allowed\n")
    if method != ("GET" if service == "info/refs" else "POST"):
        return CgiAnswer(405, [("Content-Type", "text/plain; charset=utf-8")], b"Method not allowed\n")
    path = repo.path.resolve()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_PROJECT_ROOT": str(path.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{path.name}/{service}",
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        **_config_env(
            {
                "uploadpack.allowFilter": "true" if repo.partial_clone else "false",
                "uploadpack.allowAnySHA1InWant": "true",
                "safe.directory": "*",
            }
        ),
    }
    # Protocol v2 and a gzip-compressed request body are told to the backend as CGI variables.
    for header in ("Git-Protocol", "Content-Encoding"):
        if headers.get(header):
            env["HTTP_" + header.upper().replace("-", "_")] = headers[header]
    done = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=_BACKEND_TIMEOUT_S
    )
    return parse_cgi(done.stdout)


def parse_cgi(output: bytes) -> CgiAnswer:
    """A CGI program's output: header lines (`Status:` sets the status), a blank line, the body."""
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    if not sep:
        return CgiAnswer(500, [("Content-Type", "text/plain; charset=utf-8")], b"git http-backend failed\n")
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0])
        elif name.strip():
            headers.append((name.strip(), value.strip()))
    return CgiAnswer(status, headers, body)


def history(repo: GitRepo, start: str) -> list[GitCommit]:
    """The commits reachable from `start` (a sha or branch), newest first, as the commits route lists them."""
    done = subprocess.run(
        ["git", "log", f"--max-count={_LOG_LIMIT}", "--format=%H%x09%an%x09%ct%x09%s", start, "--"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull},
    )
    if done.returncode:
        return []
    commits = []
    for line in done.stdout.splitlines():
        sha, author, seconds, title = line.split("\t", 3)
        commits.append(GitCommit(sha, title, author, int(seconds) * 1000))
    return commits
