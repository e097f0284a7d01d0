"""What `hubmine risks --signatures` and `--maintainers` cost per repository, against the Hub simulator.

    python -m bench.git_bench [--commits 100] [--weights-mib 4] [--update-kib 32] [--repeats 3]

One model repository is built with git: `--commits` commits by three authors, the first adding
`--weights-mib` MiB of random weights, each later one rewriting a `--update-kib` KiB file (so the blobs
of the history add up to a few MB). It is served over the simulator's git smart HTTP and cloned bare
`--repeats` times each way: blobless (`--filter=blob:none`, what the step does) and in full. Then the
maintainers step lists its history through the commits API. Prints one JSON object; writes
bench/results/git.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hubsim import HubSimulator, Registry
from pipeline.risks import maintainers
from pipeline.risks.signatures import GitRunner, Limits
from pipeline.store.tables import read_table
from tests.test_risks_git import make_context, make_repo, serve_repo

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
MODEL_ID = "bench/weights"
AUTHORS = ("alice", "bob", "carol")


def _clones(sim: HubSimulator, runner: GitRunner, root: Path, blobless: bool, repeats: int) -> dict[str, Any]:
    seconds, received, sent = [], [], []
    for k in range(repeats):
        sim.reset_counters()
        started = time.perf_counter()
        clone = runner.clone(MODEL_ID, root / f"{'blobless' if blobless else 'full'}-{k}", blobless)
        seconds.append(time.perf_counter() - started)
        assert clone.ok and clone.mode == ("blobless" if blobless else "full"), clone.error
        received.append(clone.bytes)
        sent.append(sim.counters[("bytes_sent", "git")])
    return {
        "pack_bytes": received[0],
        "bytes_sent_by_server": sent[0],
        "git_requests": sim.counters["git"],
        "seconds_median": round(statistics.median(seconds), 3),
    }


def measure_git(commits: int, weights_mib: int, update_kib: int, repeats: int) -> dict[str, Any]:
    """Bytes and time of a blobless against a full clone, and the maintainers step's requests."""
    with tempfile.TemporaryDirectory(prefix="git-bench-") as tmp:
        root = Path(tmp)
        history = [(AUTHORS[k % len(AUTHORS)], False) for k in range(commits)]
        bare, sha = make_repo(
            root, "weights", history, blob_bytes=weights_mib << 20, update_bytes=update_kib << 10
        )
        registry = Registry()
        target = serve_repo(registry, MODEL_ID, bare, sha)
        with HubSimulator(registry) as sim:
            home = root / "home"
            home.mkdir()
            runner = GitRunner(sim.url, None, home, Limits.from_env())
            blobless = _clones(sim, runner, root, True, repeats)
            full = _clones(sim, runner, root, False, repeats)
            context = make_context(root, sim, [target])
            sim.reset_counters()
            started = time.perf_counter()
            maintainers.run(context)
            listing_s = time.perf_counter() - started
            row = read_table(context.snapshot.finding("maintainers")).to_pylist()[0]
            commits_requests = sim.counters["commits"]
    return {
        "repository": {"commits": commits, "weights_mib": weights_mib, "update_kib_per_commit": update_kib},
        "blobless_clone": blobless,
        "full_clone": full,
        "blobless_share_of_full_bytes": round(blobless["pack_bytes"] / full["pack_bytes"], 4),
        "maintainers": {
            "commits_listed": row["commits"],
            "requests_per_model": commits_requests,
            "page_size": maintainers.PAGE,
            "seconds": round(listing_s, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument("--weights-mib", type=int, default=4)
    parser.add_argument("--update-kib", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = measure_git(args.commits, args.weights_mib, args.update_kib, args.repeats)
    result["command"] = (
        f"python -m bench.git_bench --commits {args.commits} --weights-mib {args.weights_mib} "
        f"--update-kib {args.update_kib} --repeats {args.repeats}"
    )
    result["machine"] = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    result["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "git.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
