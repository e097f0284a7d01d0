"""What `hubmine history` costs per model: requests of a first run and of an incremental second run.

    python -m bench.history_bench [--models 50] [--commits 250] [--discussions 10] [--workers 4]
                                  [--git-models 10] [--git-commits 100]

`--models` synthetic models are served by the Hub simulator, each given about `--commits` commits
(one per card revision) and `--discussions` discussions. After a metadata crawl, `run_history` lists
them all (monthly process metrics); then a fifth of the models get one new commit and it runs again.

Then `--git-models` model repositories are built with git, shaped as the Hub's: a model card rewritten
in part by each of `--git-commits` commits, a config, a 200 kB tokenizer file, and LFS pointers in place
of the weights (a new weights pointer every tenth commit). `run_history --git` reads them twice, again
after one new commit on a fifth of them: git requests and bytes per clone, and the bytes a blobless clone
(what `hubmine risks --signatures` makes) would have received. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from hubsim import HubSimulator, Registry
from pipeline.longitudinal.history import run_history
from pipeline.risks.signatures import GitRunner, Limits
from tests.crawl_helpers import crawl

STATUSES = ("open", "closed", "merged", "draft")


def _registry(models: int, commits: int, discussions: int) -> Registry:
    registry = Registry.synthetic(models, seed=7)
    # Each call gives every model one more card revision, hence one more commit.
    for _ in range(commits - 2):
        registry.change_shas(1.0)
    for i in range(models):
        for k in range(discussions):
            registry.add_discussion(
                registry.model_id(i),
                f"question {k}",
                author=f"user{k % 5}",
                status=STATUSES[(i + k) % 4],
                is_pull_request=(i + k) % 4 >= 2,
                created_ms=1_700_000_000_000 + (i * discussions + k) * 3_600_000,
            )
    return registry


def _run(sim: HubSimulator, data_dir: Path, models: int, workers: int) -> dict[str, Any]:
    sim.reset_counters()
    started = time.perf_counter()
    result = run_history(data_dir, None, top=models, workers=workers, endpoint=sim.url)
    seconds = time.perf_counter() - started
    counts = sim.counters
    return {
        "requests": counts["requests"],
        "commits_requests": counts["commits"],
        "discussions_requests": counts["discussions"],
        "discussion_details_requests": counts["discussion"],
        "requests_per_model": counts["requests"] / models,
        "new_commits": result.commits.rows,
        "discussions": result.discussions.rows,
        "process_rows": result.process_rows,
        "errored_models": len(result.commits.errored | result.discussions.errored),
        "seconds": round(seconds, 2),
        "summary": result.summary_line(),
    }


def _git(work: Path, *args: str, when: int = 0) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(work.parent), "GIT_CONFIG_NOSYSTEM": "1"}
    author = f"author{when % 3}"
    env |= {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@example.com"}
    env |= {"GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author}@example.com"}
    env |= {"GIT_AUTHOR_DATE": f"@{1_700_000_000 + when * 86_400} +0000"}
    env |= {"GIT_COMMITTER_DATE": f"@{1_700_000_000 + when * 86_400} +0000"}
    done = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _model_commit(work: Path, k: int) -> None:
    """One commit of a Hub-shaped model repository: the card's k-th revision, and so on."""
    card = [f"line {n} of the model card, revision {k if n % 7 == k % 7 else 0}" for n in range(120)]
    (work / "README.md").write_text("\n".join(card) + "\n")
    (work / "config.json").write_text(json.dumps({"hidden_size": 768, "revision": k // 10}, indent=2))
    if k == 0:
        vocab = {f"token{n}": n for n in range(12_000)}
        (work / "tokenizer.json").write_text(json.dumps({"model": {"vocab": vocab}}))
    if k % 10 == 0:
        digest = hashlib.sha256(f"weights {k}".encode()).hexdigest()
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize 497774208\n"
        (work / "model.safetensors").write_text(pointer)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", f"revision {k}", when=k)


def _git_registry(root: Path, models: int, commits: int) -> tuple[Registry, dict[str, Path]]:
    registry = Registry()
    works = {}
    for i in range(models):
        model_id = f"bench/git-{i}"
        work, bare = root / f"git-{i}", root / f"git-{i}.git"
        work.mkdir()
        _git(work, "init", "-q", "-b", "main")
        for k in range(commits):
            _model_commit(work, k)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
        _git(work, "push", "-q", str(bare), "main")
        registry.add(
            {"id": model_id, "sha": _git(work, "rev-parse", "HEAD"), "downloads": models - i}, b"# m\n"
        )
        registry.set_git_repo(model_id, bare)
        works[model_id] = work
    return registry, works


def _git_run(sim: HubSimulator, data_dir: Path, models: int, workers: int) -> dict[str, Any]:
    sim.reset_counters()
    started = time.perf_counter()
    result = run_history(data_dir, None, top=models, workers=workers, endpoint=sim.url, git=True)
    seconds = time.perf_counter() - started
    clones = result.requests.get("requests.git", 0)
    lines = pq.read_table(data_dir / "history" / "lines.parquet").to_pylist()
    sizes = {r["model_id"]: r["clone_bytes"] for r in lines if r["clone_bytes"] is not None}
    return {
        "clones": clones,
        "git_requests": sim.counters["git"],
        "git_requests_per_clone": sim.counters["git"] / clones if clones else 0,
        "git_bytes_sent": sim.counters[("bytes_sent", "git")],
        "git_bytes_per_clone": sim.counters[("bytes_sent", "git")] / clones if clones else 0,
        "mean_pack_bytes_held": sum(sizes.values()) / len(sizes) if sizes else 0,
        "api_requests": result.requests.get("requests.api", 0),
        "errored_models": len(result.errored),
        "seconds": round(seconds, 2),
        "summary": result.summary_line(),
    }


def measure_git(models: int, commits: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry, works = _git_registry(root, models, commits)
        with HubSimulator(registry) as sim:
            data_dir = root / "data"
            crawl(sim.url, data_dir, cards=False)
            first = _git_run(sim, data_dir, models, workers)
            changed = list(works)[: max(1, models // 5)]
            for model_id in changed:
                _model_commit(works[model_id], commits)
                _git(works[model_id], "push", "-q", str(works[model_id].with_suffix(".git")), "main")
            second = _git_run(sim, data_dir, models, workers)
            home = root / "home"
            home.mkdir()
            runner = GitRunner(sim.url, None, home, Limits.from_env())
            blobless = runner.clone(next(iter(works)), root / "blobless", blobless=True)
            full = runner.clone(next(iter(works)), root / "full", blobless=False)
    return {
        "git_models": models,
        "commits_per_model": commits,
        "first_run": first,
        "second_run_after_one_commit_on": len(changed),
        "second_run": second,
        "one_repository": {"full_clone_pack_bytes": full.bytes, "blobless_clone_pack_bytes": blobless.bytes},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--commits", type=int, default=250)
    parser.add_argument("--discussions", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--git-models", type=int, default=10)
    parser.add_argument("--git-commits", type=int, default=100)
    args = parser.parse_args()
    registry = _registry(args.models, args.commits, args.discussions)
    held = sum(len(registry.commits(i)) for i in range(args.models))
    with tempfile.TemporaryDirectory() as tmp, HubSimulator(registry) as sim:
        data_dir = Path(tmp) / "data"
        os.environ.pop("HF_TOKEN", None)
        crawl(sim.url, data_dir, cards=False)
        first = _run(sim, data_dir, args.models, args.workers)
        changed = registry.change_shas(0.2, seed=11)
        second = _run(sim, data_dir, args.models, args.workers)
        table_bytes = {p.name: p.stat().st_size for p in sorted((data_dir / "history").glob("*.parquet"))}
    report = {
        "command": f"python -m bench.history_bench --models {args.models} --commits {args.commits} "
        f"--discussions {args.discussions} --workers {args.workers} --git-models {args.git_models} "
        f"--git-commits {args.git_commits}",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": args.models,
        "commits_served": held,
        "models_with_a_new_commit": len(changed),
        "first_run": first,
        "second_run": second,
        "table_bytes": table_bytes,
        "git": measure_git(args.git_models, args.git_commits, args.workers),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
