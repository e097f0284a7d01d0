"""`--signatures` and `--maintainers` over real git and real HTTP: repositories built here with git (some
commits GPG-signed with a key made for the test), served by the simulator's git smart HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.hub.client import HubClient
from pipeline.risks import maintainers, signatures
from pipeline.risks.registry import RiskContext, Target
from pipeline.schemas import table_from_rows
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import resolve_snapshot
from pipeline.store.tables import read_table, write_finding
from tests.crawl_helpers import crawl
from tests.hostile_server import HostileHub

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
NEEDS_GPG = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
TOKEN = "hf_secret_token_for_tests"
MIB = 1024 * 1024
# What the kernel may buffer on a loopback connection, sent by the server but never read by git.
SOCKET_SLACK = 16 * MIB


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {"PATH": os.environ["PATH"], "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**base, **(env or {})}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def gpg_key() -> Iterator[tuple[str, str]]:
    """(GNUPGHOME, fingerprint) of a throwaway signing key without a passphrase."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = tempfile.mkdtemp(prefix="gpg-", dir="/tmp")  # short: gpg-agent's socket path is bounded
    os.chmod(home, 0o700)
    env = {**os.environ, "GNUPGHOME": home}
    quick_gen = ["--quick-gen-key", "Signer <signer@example.com>", "ed25519", "sign", "never"]
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", *quick_gen],
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env, check=True, capture_output=True
    ).stdout.decode()
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    yield home, fingerprint
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def make_repo(
    root: Path,
    name: str,
    commits: list[tuple[str, bool]],
    gpg: tuple[str, str] | None = None,
    blob_bytes: int = 0,
    update_bytes: int = 0,
) -> tuple[Path, str]:
    """A bare repository of `commits` (author, signed), the first one adding `blob_bytes` random bytes and
    each rewriting a file of `update_bytes` random bytes; returns its path and head sha."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    for k, (author, signed) in enumerate(commits):
        (work / "README.md").write_text(f"# {name}\n\nrevision {k}\n")
        if k == 0 and blob_bytes:
            (work / "model.bin").write_bytes(os.urandom(blob_bytes))
        if update_bytes:
            (work / "adapter.bin").write_bytes(os.urandom(update_bytes))
        _git(work, "add", "-A")
        env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@example.com"}
        env |= {"GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author}@example.com"}
        sign: list[str] = []
        if signed:
            assert gpg is not None
            env["GNUPGHOME"] = gpg[0]
            sign = ["-c", f"user.signingkey={gpg[1]}"]
        _git(work, *sign, "commit", "-q", *(["-S"] if signed else []), "-m", f"change {k}", env=env)
    bare = root / f"{name}.git"
    _git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare, _git(bare, "rev-parse", "HEAD")


def serve_repo(registry: Registry, model_id: str, bare: Path, sha: str, **options: bool) -> Target:
    registry.add({"id": model_id, "sha": sha}, b"# model\n")
    registry.set_git_repo(model_id, bare, **options)
    return Target(model_id, sha)


def make_context(
    root: Path, sim: HubSimulator, targets: list[Target], token: str | None = None
) -> RiskContext:
    data = DataDir(root / "data")
    snapshot = data.snapshot("20260101T000000Z")
    snapshot.dir.mkdir(parents=True, exist_ok=True)
    manifest = {"status": "complete", "started_at": "2026-01-01T00:00:00+00:00"}
    snapshot.manifest.write_text(json.dumps(manifest))
    client = HubClient(sim.url, token)
    return RiskContext(data, snapshot, targets, client, sim.url, token, workers=2, max_bytes=1 << 20)


@contextlib.contextmanager
def simulator(registry: Registry, **options: object) -> Iterator[HubSimulator]:
    with HubSimulator(registry, **options) as sim:  # type: ignore[arg-type]
        yield sim


def rows_of(context: RiskContext, table: str) -> dict[str, dict[str, object]]:
    return {row["model_id"]: row for row in read_table(context.snapshot.finding(table)).to_pylist()}


@NEEDS_GPG
def test_signed_commits_are_counted_refusals_recorded_and_rows_reused(
    tmp_path: Path, gpg_key: tuple[str, str]
) -> None:
    registry = Registry()
    signed_repo, signed_sha = make_repo(
        tmp_path, "signed", [("alice", False), ("alice", True), ("bob", True)], gpg_key
    )
    plain_repo, plain_sha = make_repo(tmp_path, "plain", [("carol", False), ("carol", False)])
    targets = [
        serve_repo(registry, "org/signed", signed_repo, signed_sha),
        serve_repo(registry, "org/plain", plain_repo, plain_sha),
        serve_repo(registry, "org/closed", plain_repo, plain_sha, clonable=False),
        serve_repo(registry, "org/nofilter", signed_repo, signed_sha, partial_clone=False),
        Target("../escape", "0" * 40),
    ]
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, targets)
        line = signatures.run(context)
        rows = rows_of(context, "signatures")
        assert "3 of 5 repositories read, 2 with a signed commit" in line
        signed = rows["org/signed"]
        assert (signed["clone_mode"], signed["commits"], signed["signed_commits"]) == ("blobless", 3, 2)
        assert signed["any_signed"] and signed["sha_found"]
        assert signed["signing_keys"] and all(gpg_key[1].endswith(key) for key in signed["signing_keys"])
        assert (rows["org/plain"]["signed_commits"], rows["org/plain"]["any_signed"]) == (0, False)
        # The server ignores --filter: git sends everything, and the row says so.
        fallback = rows["org/nofilter"]
        assert (fallback["clone_mode"], fallback["signed_commits"]) == ("full", 2)
        closed = rows["org/closed"]
        assert closed["clone_mode"] == "error" and "403" in closed["error"]
        assert "not a Hub name" in rows["../escape"]["error"]
        assert context.errored == {"org/closed", "../escape"}
        clones = sim.counters[("git", 200)]
        assert clones > 0

        # Again: every row read before at its sha is reused, without a request; errors are tried again.
        sim.reset_counters()
        again = make_context(tmp_path, sim, targets[:2])
        assert "2 reused" in signatures.run(again)
        assert sim.counters["git"] == 0
        assert rows_of(again, "signatures").keys() == rows.keys()


def test_blobless_clone_moves_fewer_bytes_than_a_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "weights", [("alice", False)] * 5, blob_bytes=3 << 20)
    target = serve_repo(registry, "org/weights", bare, sha)
    monkeypatch.setenv("HUBMINE_SIGNATURES_FULL_CLONE", "1")
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, [target])
        signatures.run(context)
        row = rows_of(context, "signatures")["org/weights"]
        assert row["clone_mode"] == "blobless" and row["commits"] == 5
        assert row["bytes_transferred"] < 64 * 1024 < (3 << 20) < row["full_clone_bytes"]
        # What the server sent: both clones, the full one carrying the blob.
        assert sim.counters[("bytes_sent", "git")] > row["full_clone_bytes"] + row["bytes_transferred"]


def test_the_token_reaches_git_only_through_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "private", [("alice", False), ("bob", False)])
    target = serve_repo(registry, "org/private", bare, sha)
    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], *rest: object, **kwargs: object) -> subprocess.Popen[bytes]:
        argvs.append(list(args))
        return real_popen(args, *rest, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    scratch = tmp_path / "tmp"  # this test's own temporary folder: other tests may clone at the same time
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # Only the right token is accepted, so a clone that worked carried it.
    with simulator(registry, valid_tokens={TOKEN}) as sim:
        context = make_context(tmp_path, sim, [target], token=TOKEN)
        signatures.run(context)
        maintainers.run(context)
    monkeypatch.undo()
    assert rows_of(context, "signatures")["org/private"]["commits"] == 2
    assert rows_of(context, "maintainers")["org/private"]["n_authors"] == 2
    assert any("clone" in argv for argv in argvs)
    assert not any(TOKEN in arg for argv in argvs for arg in argv)
    for path in (tmp_path / "data").rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path
    assert not list(scratch.iterdir())


def test_maintainers_count_authors_bus_factor_and_downstream_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    team, team_sha = make_repo(tmp_path, "team", [("bob", False), *[("alice", False)] * 3, ("carol", False)])
    solo, solo_sha = make_repo(tmp_path, "solo", [("dave", False)] * 3)
    targets = [
        serve_repo(registry, "org/team", team, team_sha),
        serve_repo(registry, "org/solo", solo, solo_sha),
        Target("org/missing", "0" * 40),
    ]
    # org/solo has four children, two grandchildren and a great-grandchild (seven downstream models), and
    # a cycle back to itself that counts nothing.
    edges = [("c1", "org/solo"), ("c2", "org/solo"), ("c3", "org/solo"), ("c4", "org/solo")]
    edges += [("g1", "c1"), ("g2", "c1"), ("gg", "g1"), ("org/solo", "gg"), ("t1", "org/team")]
    monkeypatch.setattr(maintainers, "PAGE", 2)
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, targets)
        lineage = [
            {"model_id": child, "base_model": base, "relation": "finetune", "relation_source": "inferred"}
            | {"source": "tag", "base_in_snapshot": True, "depth": 1}
            for child, base in edges
        ]
        write_finding(context.snapshot, "lineage", table_from_rows("lineage", lineage))
        line = maintainers.run(context)
        rows = rows_of(context, "maintainers")
        requests = sim.counters["commits"]
    assert "1 with one author, 1 of them with 5+ downstream models" in line
    team_row = rows["org/team"]
    assert team_row["authors"][0] == "alice" and sorted(team_row["authors"]) == ["alice", "bob", "carol"]
    assert (team_row["commits"], team_row["n_authors"], team_row["bus_factor"]) == (5, 3, 1)
    assert team_row["top_author_share"] == pytest.approx(0.6)
    assert (team_row["downstream_models"], team_row["single_owner_with_dependents"]) == (1, False)
    assert (team_row["requests"], team_row["truncated"]) == (3, False)
    solo_row = rows["org/solo"]
    assert (solo_row["authors"], solo_row["bus_factor"], solo_row["downstream_models"]) == (["dave"], 1, 7)
    assert solo_row["single_owner_with_dependents"]
    assert "HTTP 401" in str(rows["org/missing"]["error"])
    # Pages of 2: three for the team's 5 commits, two for the solo's 3, one refused for the missing model.
    assert requests == 6

    # A history longer than the pages allowed is cut and marked so.
    monkeypatch.setenv("HUBMINE_RISKS_MAX_COMMIT_PAGES", "1")
    with simulator(registry) as sim:
        context = make_context(tmp_path / "cut", sim, targets[:1])
        maintainers.run(context)
        cut = rows_of(context, "maintainers")["org/team"]
    assert (cut["commits"], cut["truncated"], cut["requests"]) == (2, True, 1)


def test_without_lineage_nothing_is_downstream(tmp_path: Path) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "alone", [("erin", False)])
    target = serve_repo(registry, "org/alone", bare, sha)
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, [target])
        maintainers.run(context)
    row = rows_of(context, "maintainers")["org/alone"]
    assert (row["downstream_models"], row["single_owner_with_dependents"], row["bus_factor"]) == (0, False, 1)


def test_the_command_runs_both_steps_and_continues_past_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    open_repo, open_sha = make_repo(tmp_path, "open", [("alice", False), ("bob", False)])
    serve_repo(registry, "org/open", open_repo, open_sha)
    serve_repo(registry, "org/closed", open_repo, open_sha, clonable=False)
    for name in ("HF_TOKEN", "HUBMINE_SIGNATURES_FULL_CLONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    data_dir = tmp_path / "data"
    with simulator(registry) as sim:
        crawl(sim.url, data_dir, cards=False)
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        args = ["risks", "--data-dir", str(data_dir), "--signatures", "--maintainers"]
        result = CliRunner().invoke(app, [*args, "--models", "org/open", "--models", "org/closed"])
    assert result.exit_code == 3, result.output
    assert "signatures: 1 of 2 repositories read, 0 with a signed commit" in result.output
    assert "maintainers: 2 of 2 histories listed" in result.output
    snapshot = resolve_snapshot(DataDir(data_dir), None)
    signed = {row["model_id"]: row for row in read_table(snapshot.finding("signatures")).to_pylist()}
    assert signed["org/open"]["commits"] == 2 and signed["org/open"]["sha"] == open_sha
    assert "403" in signed["org/closed"]["error"]
    kept = {row["model_id"]: row for row in read_table(snapshot.finding("maintainers")).to_pylist()}
    assert sorted(kept["org/open"]["authors"]) == ["alice", "bob"] and kept["org/closed"]["n_authors"] == 2


def test_a_failed_filtered_clone_is_done_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "flaky", [("alice", False), ("bob", False)])
    target = serve_repo(registry, "org/flaky", bare, sha)
    real_clone = signatures.GitRunner.clone

    def filter_breaks(
        runner: signatures.GitRunner, model_id: str, dest: Path, blobless: bool
    ) -> signatures.Clone:
        if blobless:  # as a server that accepts the filter and then fails on it would
            return signatures.Clone(dest, False, "blobless", 0, "git clone failed: fatal: early EOF", False)
        return real_clone(runner, model_id, dest, blobless)

    monkeypatch.setattr(signatures.GitRunner, "clone", filter_breaks)
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, [target])
        signatures.run(context)
    row = rows_of(context, "signatures")["org/flaky"]
    assert (row["clone_mode"], row["commits"], row["error"]) == ("full", 2, None)
    assert row["bytes_transferred"] > 0


@NEEDS_GPG
def test_signed_commits_are_seen_without_gpg(
    tmp_path: Path, gpg_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "signed", [("alice", True), ("bob", False), ("alice", True)], gpg_key)
    target = serve_repo(registry, "org/signed", bare, sha)
    only_git = tmp_path / "bin"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git") or "git")
    monkeypatch.setenv("PATH", str(only_git))
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, [target])
        signatures.run(context)
    row = rows_of(context, "signatures")["org/signed"]
    assert (row["commits"], row["signed_commits"], row["signing_keys"]) == (3, 2, [])


def test_a_clone_past_the_byte_bound_is_an_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()
    bare, sha = make_repo(tmp_path, "heavy", [("alice", False)], blob_bytes=1 << 20)
    targets = [
        serve_repo(registry, "org/heavy", bare, sha, partial_clone=False),
        serve_repo(registry, "org/light", bare, sha),
    ]
    monkeypatch.setenv("HUBMINE_GIT_MAX_BYTES", str(256 << 10))
    with simulator(registry) as sim:
        context = make_context(tmp_path, sim, targets)
        signatures.run(context)
        git_requests = sim.counters["git"]
    rows = rows_of(context, "signatures")
    assert "HUBMINE_GIT_MAX_BYTES" in rows["org/heavy"]["error"]
    # The blobless clone of the same repository fits; a bound is never retried in full.
    assert rows["org/light"]["clone_mode"] == "blobless" and rows["org/light"]["error"] is None
    assert git_requests <= 12


def test_the_simulator_speaks_git_smart_http_only_for_git_backed_models(tmp_path: Path) -> None:
    import requests

    registry = Registry()
    bare, sha = make_repo(tmp_path, "served", [("alice", False)])
    serve_repo(registry, "org/served", bare, sha)
    registry.add({"id": "org/plain", "sha": sha}, b"# plain\n")
    with simulator(registry) as sim:
        refs = requests.get(f"{sim.url}/org/served.git/info/refs?service=git-upload-pack", timeout=30)
        push = requests.get(f"{sim.url}/org/served/info/refs?service=git-receive-pack", timeout=30)
        plain = requests.get(f"{sim.url}/org/plain/info/refs?service=git-upload-pack", timeout=30)
        sent = sim.counters[("bytes_sent", "git")]
    assert refs.status_code == 200
    assert refs.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    assert sha.encode() in refs.content
    assert push.status_code == 403
    assert plain.status_code == 401
    assert sent == len(refs.content) + len(push.content) + len(plain.content)


def test_an_endless_ref_advertisement_ends_at_the_memory_bound(tmp_path: Path) -> None:
    # git holds the whole advertisement in memory while reading it: the address-space bound ends it.
    limits = signatures.Limits(timeout_s=600, max_bytes=1 << 30, max_commits=10, full_clone=False)
    limits = dataclasses.replace(limits, max_memory=128 * MIB)
    home = tmp_path / "home"
    home.mkdir()
    with HostileHub("endless_refs") as hub:
        runner = signatures.GitRunner(hub.url, None, home, limits)
        clone = runner.clone("org/model", tmp_path / "clone", blobless=True)
        sent = hub.bytes_sent
    assert not clone.ok and "memory" in clone.error.lower()
    assert sent <= 128 * MIB + SOCKET_SLACK  # the bound was the memory, not the timeout


def test_git_prints_at_most_its_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signatures, "MAX_MESSAGE_BYTES", 1000)
    limits = signatures.Limits(timeout_s=600, max_bytes=1 << 30, max_commits=10, full_clone=False)
    home = tmp_path / "home"
    home.mkdir()
    runner = signatures.GitRunner("http://127.0.0.1:9", None, home, limits)
    # `yes` stands in for a git that prints without end; it is stopped for what it printed.
    _, _, bound = runner._bounded(["yes", "remote: counting objects"], tmp_path / "none")
    assert bound == "git printed more than 1000 bytes of messages"
