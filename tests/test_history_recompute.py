"""`hubmine history` checked against an independent computation over what the simulator served.

Four model repositories are built here with git (back-dated commits, a merge of older-dated commits
between two runs, several authors) and served with their discussions (reopenings, one listing that fails
on the first run, one repository that cannot be cloned). Every expected value comes from the fixture's own
record of what it served, computed day by day in the plainest way, not from the code under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from hubsim import HubSimulator, Registry
from pipeline.longitudinal.history import run_history
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import read_manifest
from tests.crawl_helpers import crawl

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.usefixtures("quick_retries"),
]
DAY = timedelta(days=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


@dataclass
class Served:
    """What one model's repository holds, as the fixture wrote it."""

    model_id: str
    work: Path
    bare: Path
    files: dict[str, list[str]] = field(default_factory=dict)
    # sha -> (author name, author email, author date, committer date, changed lines or None, tree lines
    # or None off the first-parent line)
    commits: dict[str, tuple[str, str, datetime, datetime, int | None, int | None]] = field(
        default_factory=dict
    )
    branch: str = "main"

    def git(self, *args: str, when: tuple[datetime, datetime] | None = None, who: str = "x") -> str:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.work.parent), "GIT_CONFIG_NOSYSTEM": "1"}
        env |= {"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@example.com"}
        env |= {"GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": f"{who}@example.com"}
        if when is not None:
            env |= {"GIT_AUTHOR_DATE": f"@{int(when[0].timestamp())} +0000"}
            env |= {"GIT_COMMITTER_DATE": f"@{int(when[1].timestamp())} +0000"}
        done = subprocess.run(
            ["git", *args], cwd=self.work, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def tree_lines(self) -> int:
        return sum(len(lines) for lines in self.files.values())

    def commit(
        self,
        who: str,
        path: str,
        add: int = 0,
        drop: int = 0,
        authored: datetime | None = None,
        committed: datetime | None = None,
    ) -> None:
        """Append `add` lines to `path`, or drop its last `drop`, and commit it."""
        lines = self.files.setdefault(path, [])
        del lines[len(lines) - drop :]
        lines += [f"{path} line {len(lines) + k} by {who}" for k in range(add)]
        (self.work / path).write_text("".join(f"{line}\n" for line in lines))
        self.git("add", "-A")
        assert committed is not None or authored is not None
        authored = authored or committed
        committed = committed or authored
        self.git("commit", "-q", "-m", f"{who} edits {path}", when=(authored, committed), who=who)  # type: ignore[arg-type]
        on_main = self.branch == "main"
        self.commits[self.git("rev-parse", "HEAD")] = (
            who,
            f"{who}@example.com",
            authored,
            committed,
            add + drop,  # type: ignore[arg-type]
            self.tree_lines() if on_main else None,
        )

    def merge(self, branch: str, who: str, when: datetime, side_files: dict[str, list[str]]) -> None:
        self.git("checkout", "-q", "main")
        self.branch = "main"
        self.git("merge", "-q", "--no-ff", branch, "-m", f"Merge {branch}", when=(when, when), who=who)
        self.files.update(side_files)
        self.commits[self.git("rev-parse", "HEAD")] = (
            who,
            f"{who}@example.com",
            when,
            when,
            None,
            self.tree_lines(),
        )

    def publish(self) -> None:
        self.git("push", "-q", "--force", str(self.bare), "main")


def new_repo(root: Path, model_id: str) -> Served:
    name = model_id.replace("/", "-")
    served = Served(model_id, root / name, root / f"{name}.git")
    served.work.mkdir(parents=True)
    served.git("init", "-q", "-b", "main")
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(served.bare)], check=True, capture_output=True
    )
    return served


def build(root: Path) -> dict[str, Served]:
    alpha = new_repo(root, "fx/alpha")
    alpha.commit("alice", "README.md", add=10, committed=utc(2025, 1, 6, 10))
    alpha.commit("bob", "model.txt", add=30, committed=utc(2025, 1, 20, 9))
    alpha.commit("alice", "README.md", drop=4, committed=utc(2025, 2, 3, 12))
    # Authored on 25 February, committed on 10 March: PRIME places it by its author date.
    alpha.commit("carol", "model.txt", add=5, authored=utc(2025, 2, 25, 8), committed=utc(2025, 3, 10, 8))
    beta = new_repo(root, "fx/beta")
    beta.commit("erin", "config.txt", add=100, committed=utc(2025, 2, 10, 1))
    beta.commit("erin", "config.txt", add=3, committed=utc(2025, 2, 11, 1))
    beta.commit("frank", "weights.txt", add=200, committed=utc(2025, 3, 15, 23))
    failing = new_repo(root, "fx/failing")
    failing.commit("gus", "README.md", add=5, committed=utc(2025, 3, 1, 6))
    no_clone = new_repo(root, "fx/noclone")
    no_clone.commit("hana", "README.md", add=12, committed=utc(2025, 1, 15, 6))
    return {s.model_id: s for s in (alpha, beta, failing, no_clone)}


def merge_older_commits(alpha: Served, first_run_head: str) -> None:
    """A branch from the second commit with two January commits, merged onto main in April."""
    second = list(alpha.commits)[1]
    alpha.git("checkout", "-q", "-b", "side", second)
    alpha.branch = "side"
    side = {"side.txt": []}
    saved = alpha.files
    alpha.files = {"side.txt": side["side.txt"]}
    alpha.commit("dave", "side.txt", add=50, committed=utc(2025, 1, 25, 7))
    alpha.commit("dave", "side.txt", add=7, committed=utc(2025, 1, 28, 7))
    alpha.files = saved
    alpha.merge("side", "alice", utc(2025, 4, 2, 10), {"side.txt": side["side.txt"]})
    assert first_run_head in alpha.git("rev-list", "HEAD").split()


def add_discussions(registry: Registry) -> None:
    def at(*parts: int) -> int:
        return int(utc(*parts).timestamp() * 1000)

    registry.add_discussion("fx/alpha", "open since January", created_ms=at(2025, 1, 10, 5))
    # Opened and closed on one day: PRIME counts it open that day.
    registry.add_discussion(
        "fx/alpha", "quick", status="closed", created_ms=at(2025, 1, 12, 1), closed_ms=at(2025, 1, 12, 20)
    )
    registry.add_discussion(
        "fx/alpha",
        "a pull request",
        status="merged",
        is_pull_request=True,
        created_ms=at(2025, 2, 1, 3),
        closed_ms=at(2025, 2, 15, 3),
    )
    reopened = registry.add_discussion(
        "fx/alpha", "reopened", status="closed", created_ms=at(2025, 2, 20, 3), closed_ms=at(2025, 3, 1, 3)
    )
    registry.set_discussion_status("fx/alpha", reopened, "open", at(2025, 3, 5, 3))
    registry.set_discussion_status("fx/alpha", reopened, "closed", at(2025, 3, 20, 3))
    registry.add_discussion(
        "fx/beta", "draft", status="draft", is_pull_request=True, created_ms=at(2025, 2, 12)
    )
    registry.add_discussion("fx/beta", "a question", created_ms=at(2025, 3, 1, 12))
    # Its title makes the listing too large on the first run, when the page cap is set low.
    registry.add_discussion("fx/failing", "x" * 30_000, created_ms=at(2025, 3, 2))


# ---- the independent computation -------------------------------------------------------------------


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def periods(first: datetime, until: datetime, period: str) -> list[tuple[datetime, datetime, datetime]]:
    """(start, end, full end) of every period from the one holding `first` to the one holding `until`."""
    start = day_of(first)
    start = start - start.weekday() * DAY if period == "week" else start.replace(day=1)
    out = []
    while start < until:
        full = start + 7 * DAY if period == "week" else (start + 32 * DAY).replace(day=1)
        out.append((start, min(full, until), full))
        start = full
    return out


def intervals(item: dict[str, Any]) -> list[tuple[datetime, datetime | None]]:
    """A served discussion's open intervals, from its creation and status-change events."""

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    out: list[tuple[datetime, datetime | None]] = []
    opened: datetime | None = parse(item["createdAt"])
    for event in item["events"]:
        if event["type"] != "status-change":
            continue
        when, status = parse(event["createdAt"]), event["data"]["status"]
        if status in ("closed", "merged") and opened is not None:
            out.append((opened, when))
            opened = None
        elif status in ("open", "draft") and opened is None:
            opened = when
    if opened is not None:
        out.append((opened, None))
    return out


def expected_series(
    served: Served, threads: list[dict[str, Any]] | None, lines_known: bool, until: datetime, period: str
) -> dict[datetime, dict[str, Any]]:
    commits = [c for c in served.commits.values() if c[3] < until]
    git = [c for c in served.commits.values() if c[2] < until]
    first = min([c[3] for c in commits] + [c[2] for c in git])
    age = (day_of(max(c[2] for c in git)) - day_of(min(c[2] for c in git))).days
    spans = [(t["isPullRequest"], intervals(t), t) for t in threads or []]
    out = {}
    for start, end, full in periods(first, until, period):
        mine = [c for c in commits if start <= c[3] < end]
        before = [c[3] for c in commits if c[3] < end]
        row: dict[str, Any] = {
            "period_end": end,
            "partial": end < full,
            "commits": len(mine),
            "authors": len({c[0] for c in mine}),
            "days_since_last_commit": (end - max(before)).total_seconds() / 86400 if before else None,
        }
        days = []
        day = start
        while day < end:
            days.append(day)
            day += DAY
        if threads is None:
            row |= dict.fromkeys(
                ("open_discussions", "open_pull_requests", "mean_open_age", "issue_spoilage")
            )
        else:
            open_now = [
                (pr, t) for pr, ivs, t in spans if any(a < end and (b is None or b >= end) for a, b in ivs)
            ]
            created = [datetime.fromisoformat(t["createdAt"].replace("Z", "+00:00")) for _, t in open_now]
            row["open_discussions"] = sum(1 for pr, _ in open_now if not pr)
            row["open_pull_requests"] = sum(1 for pr, _ in open_now if pr)
            row["mean_open_age"] = (
                sum((end - c).total_seconds() / 86400 for c in created) / len(created) if created else None
            )
            row["issue_spoilage"] = sum(open_issues(spans, d, end) for d in days) / len(days)
        if not lines_known:
            row |= dict.fromkeys(
                (
                    "lines_changed",
                    "productivity",
                    "bus_factor",
                    "developer_count",
                    "issue_density",
                    "lines_of_code",
                )
            )
            out[start] = row
            continue
        changed = [c for c in git if start <= c[2] < end and c[4] is not None]
        by_author: dict[str, int] = defaultdict(int)
        for c in changed:
            by_author[c[1]] += c[4]  # type: ignore[operator]
        total = sum(by_author.values())
        row["lines_changed"] = total
        row["productivity"] = total / age if age else None
        row["bus_factor"] = sum(1 for n in by_author.values() if n > 0.8 * total)
        row["developer_count"] = len({c[1] for c in git if start <= c[2] < end})
        densities = []
        for d in days:
            size = kloc(git, d)
            if size and threads is not None:
                densities.append(open_issues(spans, d, end) / size)
        row["issue_density"] = sum(densities) / len(densities) if densities else None
        size_end = kloc(git, days[-1])
        row["lines_of_code"] = round(size_end * 1000) if size_end is not None else None
        out[start] = row
    return out


def open_issues(
    spans: list[tuple[bool, list[tuple[datetime, datetime | None]], Any]], day: datetime, end: datetime
) -> int:
    """Issues (not pull requests) open at any time of `day` before `end`, its closing day included."""
    stop = min(day + DAY, end)
    return sum(
        1
        for pr, ivs, _ in spans
        if not pr and any(a < stop and (b is None or day_of(b) >= day) for a, b in ivs)
    )


def kloc(
    git: list[tuple[str, str, datetime, datetime, int | None, int | None]], day: datetime
) -> float | None:
    """The mean tree size of the day's first-parent commits, else the last day's before, in KLOC."""
    sized = sorted((c[2], c[5]) for c in git if c[5] is not None and day_of(c[2]) <= day)
    if not sized:
        return None
    last_day = day_of(sized[-1][0])
    same = [n for when, n in sized if day_of(when) == last_day]
    return sum(same) / len(same) / 1000  # type: ignore[arg-type]


# ---- the test ----------------------------------------------------------------------------------------

COMPARED = (
    "period_end",
    "partial",
    "commits",
    "authors",
    "days_since_last_commit",
    "open_discussions",
    "open_pull_requests",
    "mean_open_age",
    "issue_spoilage",
    "lines_changed",
    "productivity",
    "bus_factor",
    "developer_count",
    "issue_density",
    "lines_of_code",
)


def check(data: DataDir, model_id: str, period: str, expected: dict[datetime, dict[str, Any]]) -> int:
    got = {
        r["period_start"]: r
        for r in pq.read_table(data.history_table("process")).to_pylist()
        if r["model_id"] == model_id and r["period"] == period
    }
    assert sorted(got) == sorted(expected), model_id
    for start, values in expected.items():
        for name in COMPARED:
            want = values[name] if isinstance(values[name], (datetime, bool)) else pytest.approx(values[name])
            assert got[start][name] == want, (model_id, period, start, name, got[start][name])
    return len(expected) * len(COMPARED)


def snapshot_start(data: DataDir) -> datetime:
    """The start of the newest snapshot: where the run's series end."""
    newest = sorted(p.name for p in (data.root / "snapshots").iterdir())[-1]
    started = datetime.fromisoformat((read_manifest(data.snapshot(newest)) or {})["started_at"])
    return started.replace(microsecond=started.microsecond // 1000 * 1000)  # stored to the millisecond


def served_threads(registry: Registry, model_id: str) -> list[dict[str, Any]]:
    i = registry.index_of(model_id)
    assert i is not None
    return [registry.discussion(i, item["num"]) for item in registry.discussions(i)]  # type: ignore[misc]


def test_history_matches_an_independent_computation_over_two_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.risks.maintainers.PAGE", 3)  # histories span pages
    repos = build(tmp_path / "repos")
    registry = Registry()
    for model_id, served in repos.items():
        served.publish()
        registry.add({"id": model_id, "sha": served.git("rev-parse", "HEAD"), "downloads": 10}, b"# m\n")
        registry.set_git_repo(model_id, served.bare, clonable=model_id != "fx/noclone")
    add_discussions(registry)
    data = DataDir(tmp_path / "data")
    models = sorted(repos)
    compared = 0
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        until = snapshot_start(data)
        monkeypatch.setenv("HUBMINE_MAX_DISCUSSIONS_PAGE_BYTES", "20000")
        first = run_history(data.root, None, models=models, endpoint=sim.url, git=True)
        monkeypatch.delenv("HUBMINE_MAX_DISCUSSIONS_PAGE_BYTES")
        assert first.errored == {"fx/failing", "fx/noclone"} and first.exit_code == 3
        for model_id, served in repos.items():
            threads = None if model_id == "fx/failing" else served_threads(registry, model_id)
            expected = expected_series(served, threads, model_id != "fx/noclone", until, "month")
            compared += check(data, model_id, "month", expected)

        # Between the runs: older-dated commits merged onto alpha's main, a closed discussion reopened,
        # a new commit on beta; then a weekly run, on a new snapshot.
        merge_older_commits(repos["fx/alpha"], repos["fx/alpha"].git("rev-parse", "main"))
        repos["fx/beta"].commit("frank", "weights.txt", drop=20, committed=utc(2025, 4, 5, 5))
        for served in repos.values():
            served.publish()
        registry.set_discussion_status("fx/alpha", 4, "open", int(utc(2025, 4, 3).timestamp() * 1000))
        crawl(sim.url, data.root, cards=False)
        until = snapshot_start(data)
        sim.reset_counters()
        second = run_history(data.root, None, models=models, period="week", endpoint=sim.url, git=True)
        assert second.errored == {"fx/noclone"}
    # The merged January commits are found though the listing is paged below the newest held commit.
    held = [
        r for r in pq.read_table(data.history_table("commits")).to_pylist() if r["model_id"] == "fx/alpha"
    ]
    assert {r["commit_id"] for r in held} == set(repos["fx/alpha"].commits)
    for model_id, served in repos.items():
        threads = served_threads(registry, model_id)
        for period in ("week", "month"):  # the monthly series is computed again too, never left stale
            expected = expected_series(served, threads, model_id != "fx/noclone", until, period)
            compared += check(data, model_id, period, expected)
    process = pq.read_table(data.history_table("process")).to_pylist()
    assert {r["computed_at"] for r in process} == {max(r["computed_at"] for r in process)}
    unknown = [r for r in process if r["model_id"] == "fx/noclone"]
    assert all(r["productivity"] is None and "git clone failed" in r["lines_unknown"] for r in unknown)
    assert compared > 2000


def test_lines_left_behind_by_a_run_without_git_are_unknown_then_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beta = build(tmp_path / "repos")["fx/beta"]
    beta.publish()
    registry = Registry()
    registry.add({"id": beta.model_id, "sha": beta.git("rev-parse", "HEAD"), "downloads": 1}, b"# m\n")
    registry.set_git_repo(beta.model_id, beta.bare)
    data = DataDir(tmp_path / "data")

    def lines_unknown() -> list[str | None]:
        rows = pq.read_table(data.history_table("process")).to_pylist()
        return [r["lines_unknown"] for r in rows if r["model_id"] == beta.model_id]

    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        run_history(data.root, None, models=[beta.model_id], endpoint=sim.url, git=True)
        assert not any(lines_unknown())
        beta.commit("frank", "weights.txt", add=1, committed=utc(2025, 6, 2))
        beta.publish()
        run_history(data.root, None, models=[beta.model_id], endpoint=sim.url)
        # Known up to the commit the clone lacks; from its month on, unknown with the reason.
        behind = [reason for reason in lines_unknown() if reason]
        assert behind and all("1 commits listed since the git history was read" in r for r in behind)
        sim.reset_counters()
        again = run_history(data.root, None, models=[beta.model_id], endpoint=sim.url, git=True)
        assert again.requests.get("requests.git") == 1 and not any(lines_unknown())
