"""`--signatures`: whether a repository's commits are signed, read from a blobless git clone.

Each target is cloned bare over the Hub's git endpoint with `--filter=blob:none` (commits and trees
only, so the transfer does not grow with the weights), or in full when the server does not do partial
clone; `git log` then tells which commits carry a signature header. A signed commit counts whether or
not the signature verifies (the keyring is a throwaway one, so git's `%G?` reads most as `E`, key
unknown); gpg, when present, only names the signing keys. Nothing of the user's git or GnuPG setup is
read or touched, the token travels only in the environment of git (never in argv, a URL or a file),
and every git is bounded: in time (a deadline, and a transfer slower than 1 KB/s for the stall window
of the HTTP client ends it), in memory (`RLIMIT_AS`, which bounds the ref advertisement git holds while
reading it), on disk (the clone) and in what it prints; every clone is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from pipeline import settings
from pipeline.children import kill_group, memory_limited
from pipeline.errors import HubmineError, one_line
from pipeline.hub.client import HubClient, RetryPolicy
from pipeline.hub.ids import InvalidHubName, repo_path, revision_segment
from pipeline.risks.findings import Row, measure
from pipeline.risks.registry import RiskContext, RiskStep, Target
from pipeline.settings import MIB

TABLE = "signatures"
# The paper's Table IV: repositories with at least one GPG-signed commit.
PAPER_SIGNED = (132, 63_182)
# git's own words when a server ignores --filter (it then sends everything).
FILTER_IGNORED = "filtering not recognized by server"
# A commit's signature headers (OpenPGP, X.509 or SSH; SHA-1 and SHA-256 repositories).
SIGNATURE_HEADERS = (b"gpgsig ", b"gpgsig-sha256 ")
# Signed commits whose key ids are asked of gpg: each costs one gpg run.
MAX_KEYED_COMMITS = 1000
# What git may print (its progress and error messages, and a server's `remote:` lines) before it is stopped.
MAX_MESSAGE_BYTES = 1 * MIB
# A line of `git log` read at once: longer message lines are read in pieces (only headers matter).
MAX_LOG_LINE = 64 * 1024
# A transfer slower than this, for the client's stall window, is stalled (curl's low-speed limit).
LOW_SPEED_BYTES_PER_S = 1000
_POLL_S = 0.2


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    max_bytes: int
    max_commits: int
    full_clone: bool
    max_memory: int = settings.GIT_MAX_MEMORY.default
    stall_s: float = RetryPolicy.stall_s

    @classmethod
    def from_env(cls) -> Limits:
        """HUBMINE_GIT_TIMEOUT_S (one clone), HUBMINE_GIT_MAX_BYTES (one clone on disk),
        HUBMINE_GIT_MAX_MEMORY (address space of each git process), HUBMINE_GIT_MAX_COMMITS (commits
        read per repository) and HUBMINE_SIGNATURES_FULL_CLONE=1 (also clone each repository in full,
        to record what the blobless clone saved); the stall window is the HTTP client's."""
        return cls(
            timeout_s=settings.GIT_TIMEOUT_S.read(),
            max_bytes=settings.GIT_MAX_BYTES.read(),
            max_memory=settings.GIT_MAX_MEMORY.read(),
            stall_s=RetryPolicy.from_env().stall_s,
            max_commits=settings.GIT_MAX_COMMITS.read(),
            full_clone=settings.SIGNATURES_FULL_CLONE.read(),
        )


@dataclass(frozen=True)
class Clone:
    path: Path
    ok: bool
    mode: str  # blobless or full
    bytes: int
    error: str
    # The server said no (HTTP 4xx) or a bound stopped it: cloning again in full would not help.
    final: bool


class GitRunner:
    """Runs git for one endpoint in an environment of its own: no user or system config, no prompts,
    a throwaway GnuPG home, http(s) only, and the token as a header sent only to the endpoint."""

    def __init__(self, endpoint: str, token: str | None, home: Path, limits: Limits) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.limits = limits
        gnupg = home / "gnupg"
        gnupg.mkdir(mode=0o700)
        config = {
            "protocol.allow": "never",
            "protocol.http.allow": "always",
            "protocol.https.allow": "always",
            "credential.helper": "",
            "core.askPass": "",
            "init.templateDir": "",
            "log.showSignature": "false",
            # One thread each: glibc gives every thread its own malloc arena, which counts against RLIMIT_AS.
            "pack.threads": "1",
            "http.lowSpeedLimit": str(LOW_SPEED_BYTES_PER_S),
            "http.lowSpeedTime": str(max(1, round(limits.stall_s))),
        }
        if token:
            # Scoped to the endpoint's URL: a redirect to another host never carries it.
            config[f"http.{self.endpoint}/.extraHeader"] = f"Authorization: Bearer {token}"
        keep = ("PATH", "LANG", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO")
        keep += ("http_proxy", "https_proxy", "no_proxy", "HTTPS_PROXY", "NO_PROXY")
        self.env = {name: os.environ[name] for name in keep if name in os.environ}
        self.env.update(
            HOME=str(home),
            GNUPGHOME=str(gnupg),
            LC_ALL="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_COUNT=str(len(config)),
            MALLOC_ARENA_MAX="2",
        )
        for k, (key, value) in enumerate(config.items()):
            self.env[f"GIT_CONFIG_KEY_{k}"] = key
            self.env[f"GIT_CONFIG_VALUE_{k}"] = value

    def url(self, model_id: str) -> str:
        return f"{self.endpoint}/{repo_path(model_id)}"

    def clone(self, model_id: str, dest: Path, blobless: bool) -> Clone:
        """A bare clone of `model_id` into `dest`, stopped past the time or byte bound."""
        args = ["git", "clone", "--bare", "--no-tags", "--quiet"]
        if blobless:
            args.append("--filter=blob:none")
        stderr, status, bound = self._bounded([*args, self.url(model_id), str(dest)], dest)
        mode = "blobless" if blobless and FILTER_IGNORED not in stderr else "full"
        if bound:
            return Clone(dest, False, mode, pack_bytes(dest), bound, final=True)
        if status != 0:
            error = f"git clone failed: {git_error(stderr)}"
            return Clone(dest, False, mode, pack_bytes(dest), error, "returned error: 4" in stderr)
        return Clone(dest, True, mode, pack_bytes(dest), "", final=False)

    def _bounded(self, args: list[str], watched: Path) -> tuple[str, int, str]:
        """git's stderr (its start), exit status, and the bound that stopped it ("" when none did)."""
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                self._limited(args),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,  # a group of its own, so that a bound stops git's helpers too
            )
            try:
                problem = self._watch(proc, watched, err)
            except BaseException:  # in its own session, git would outlive an interrupt (Ctrl-C) of ours
                kill_group(proc)
                proc.wait()
                raise
            err.seek(0)
            text = err.read(64 * 1024).decode("utf-8", "replace")
        return text, proc.returncode, problem

    def _watch(self, proc: subprocess.Popen[bytes], watched: Path, err: IO[bytes]) -> str:
        """Wait for git, stopping it past a bound; the bound that stopped it ("" when none did)."""
        deadline = time.monotonic() + self.limits.timeout_s
        # Checked once more after git ends: a clone that finished between two looks is bounded too.
        while True:
            ended, problem = proc.poll() is not None, ""
            if time.monotonic() > deadline:
                problem = f"git ran past {self.limits.timeout_s:g} s; raise HUBMINE_GIT_TIMEOUT_S"
            elif tree_bytes(watched) > self.limits.max_bytes:
                problem = (
                    f"the clone passed {self.limits.max_bytes} bytes; if that is real, raise "
                    f"{settings.GIT_MAX_BYTES.name}"
                )
            elif os.fstat(err.fileno()).st_size > MAX_MESSAGE_BYTES:
                problem = f"git printed more than {MAX_MESSAGE_BYTES} bytes of messages"
            if problem:
                kill_group(proc)
                proc.wait()
                return problem
            if ended:
                return ""
            time.sleep(_POLL_S)

    def _limited(self, args: list[str]) -> list[str]:
        return memory_limited(args, self.limits.max_memory)

    def log_lines(self, repo: Path, args: list[str]) -> Iterator[bytes]:
        """The lines of `git log ARGS` in `repo`, streamed, under the runner's bounds. A line longer than
        MAX_LOG_LINE is read in pieces and only its first piece is given. HubmineError when git fails or
        outlasts HUBMINE_GIT_TIMEOUT_S; a reader that stops early stops git."""
        proc = subprocess.Popen(
            self._limited(["git", "log", "--no-decorate", "--no-color", *args, "--"]),
            cwd=repo,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        timer = threading.Timer(self.limits.timeout_s, kill_group, (proc,))
        timer.start()
        stdout = proc.stdout
        assert stdout is not None  # asked for with PIPE
        try:
            at_line_start = True
            while piece := stdout.readline(MAX_LOG_LINE):
                starts_line, at_line_start = at_line_start, piece.endswith(b"\n")
                if starts_line:
                    yield piece
        except GeneratorExit:
            kill_group(proc)
            raise
        finally:
            timer.cancel()
            stdout.close()
            status = proc.wait()
        if status != 0:
            raise HubmineError(
                f"git log failed or ran past {self.limits.timeout_s:g} s (HUBMINE_GIT_TIMEOUT_S)"
            )

    def commits(self, repo: Path, rev: str) -> tuple[int, list[str]]:
        """How many commits are reachable from `rev` (at most HUBMINE_GIT_MAX_COMMITS), and the shas of
        those carrying a signature: a `gpgsig` header in the commit itself, seen without gpg or a key."""
        count, signed, sha, in_header = 0, [], "", False
        # Streamed: the messages may be long, and only the headers matter; message lines are indented.
        for line in self.log_lines(repo, ["--format=raw", f"--max-count={self.limits.max_commits}", rev]):
            if line.startswith(b"commit "):
                count, sha, in_header = count + 1, line.split()[1].decode("ascii", "replace"), True
            elif in_header and line.startswith(SIGNATURE_HEADERS):
                signed.append(sha)
                in_header = False
            elif line in (b"\n", b""):
                in_header = False
        return count, signed

    def signing_keys(self, repo: Path, shas: list[str]) -> list[str]:
        """The key ids git reports (`%GK`) for these commits; none when gpg is missing or fails."""
        if not shas:
            return []
        args = ["git", "show", "-s", "--no-walk", "--format=%GK", *shas[:MAX_KEYED_COMMITS]]
        try:
            done = subprocess.run(
                self._limited(args),
                cwd=repo,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.limits.timeout_s,
            )
        except subprocess.TimeoutExpired:
            return []
        return sorted({line.strip() for line in done.stdout.splitlines() if line.strip()})

    def has_commit(self, repo: Path, sha: str) -> bool:
        args = ["git", "cat-file", "-e", f"{sha}^{{commit}}"]
        done = subprocess.run(
            self._limited(args), cwd=repo, env=self.env, capture_output=True, timeout=self.limits.timeout_s
        )
        return done.returncode == 0


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file git removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def pack_bytes(repo: Path) -> int:
    """The bytes git received: the pack files of a fresh clone."""
    return sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack")) if repo.is_dir() else 0


def git_error(stderr: str) -> str:
    """git's last `fatal:`/`error:` line (else its last line), one line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return one_line((fatal or lines or ["git failed"])[-1])[:300]


def paced_clone(runner: GitRunner, client: HubClient, model_id: str, dest: Path, blobless: bool) -> Clone:
    """One clone, sent when the client's `git` bucket allows it and counted in its requests."""
    pacer = client.pacer("git")
    ticket = pacer.wait()
    client.stats.add("requests.git")
    try:
        return runner.clone(model_id, dest, blobless)
    finally:
        pacer.done(ticket, None)


def measure_one(runner: GitRunner, context: RiskContext, target: Target) -> Row:
    row: Row = {
        "model_id": target.model_id,
        "sha": target.sha,
        "clone_mode": "error",
        "measured_at": datetime.now(timezone.utc),
    }
    try:
        runner.url(target.model_id)
        if target.sha:
            revision_segment(target.sha)
    except InvalidHubName as exc:
        return {**row, "error": str(exc)}
    with tempfile.TemporaryDirectory(prefix="hubmine-git-") as tmp:
        clone = paced_clone(runner, context.client, target.model_id, Path(tmp) / "blobless", blobless=True)
        # A filtered clone that failed otherwise than by a refusal or a bound: clone everything.
        if not clone.ok and not clone.final:
            clone = paced_clone(runner, context.client, target.model_id, Path(tmp) / "full", blobless=False)
        if not clone.ok:
            return {**row, "error": clone.error}
        repo = clone.path
        row.update(clone_mode=clone.mode, bytes_transferred=clone.bytes)
        try:
            rev = target.sha if target.sha and runner.has_commit(repo, target.sha) else "--all"
            commits, signed = runner.commits(repo, rev)
        except (HubmineError, subprocess.TimeoutExpired) as exc:
            return {**row, "error": one_line(str(exc))}
        row.update(
            commits=commits,
            signed_commits=len(signed),
            any_signed=bool(signed),
            signing_keys=runner.signing_keys(repo, signed),
            sha_found=rev != "--all",
        )
        if runner.limits.full_clone:
            full = paced_clone(runner, context.client, target.model_id, Path(tmp) / "compare", blobless=False)
            row["full_clone_bytes"] = full.bytes if full.ok else None
    return row


def run(context: RiskContext) -> str:
    if shutil.which("git") is None:
        raise HubmineError("git is not installed; install git 2.31 or later to use --signatures")
    limits = Limits.from_env()
    with tempfile.TemporaryDirectory(prefix="hubmine-git-home-") as home:
        runner = GitRunner(context.endpoint, context.token, Path(home), limits)
        rows, reused = measure(
            context,
            TABLE,
            lambda target: [measure_one(runner, context, target)],
            unit="repo",
        )
    read = [row for row in rows if row.get("error") is None]
    signed = sum(1 for row in read if row["any_signed"])
    share = f"{signed / len(read):.2%}" if read else "n/a"
    paper = f"{PAPER_SIGNED[0] / PAPER_SIGNED[1]:.2%}"
    return (
        f"signatures: {len(read)} of {len(rows)} repositories read, {signed} with a signed commit "
        f"({share}; the paper: {paper}), {reused} reused, {len(rows) - len(read)} errors"
    )


STEP = RiskStep(
    flag="signatures",
    help="Clone each model's repository without its files (blobless) and count its signed commits.",
    table=TABLE,
    run=run,
)
