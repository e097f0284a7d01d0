"""`hubmine history` against the simulator: commits paged and then asked incrementally, discussions listed
(also through huggingface_hub), process metrics computed exactly on a hand-made history, the lock."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.hub.client import HubClient
from pipeline.longitudinal import process
from pipeline.longitudinal.discussions import closed_at, discussion_row
from pipeline.longitudinal.history import commit_bounds, commit_row, fetch_commits, run_history
from pipeline.report import run_report
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from tests.crawl_helpers import crawl

pytestmark = pytest.mark.usefixtures("quick_retries")

MODELS = 4


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def rows(data: DataDir, table: str) -> list[dict[str, object]]:
    return pq.read_table(data.history_table(table)).to_pylist()


@pytest.fixture
def registry() -> Registry:
    """Four models with about 120 commits each (three pages of 50), one with 60 discussions."""
    reg = Registry.synthetic(MODELS, seed=3)
    for _ in range(120):
        reg.change_shas(1.0)
    busy = reg.model_id(0)
    for k in range(60):
        reg.add_discussion(
            busy,
            f"question {k}",
            author=f"user{k % 7}",
            status=("open", "closed", "merged", "draft")[k % 4],
            is_pull_request=k % 4 >= 2,
            created_ms=1_700_000_000_000 + k * 86_400_000,
            num_comments=k % 5,
        )
    return reg


def test_commits_are_paged_whole_then_only_what_is_new(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.risks.maintainers.PAGE", 50)
    data = DataDir(tmp_path / "data")
    expected = {registry.model_id(i): len(registry.commits(i)) for i in range(MODELS)}
    assert all(100 < n <= 150 for n in expected.values())
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        sim.reset_counters()
        first = run_history(data.root, None, endpoint=sim.url)
        asked = sim.counters["commits"]
        assert asked == 3 * MODELS and first.commits.requests == asked
        held = rows(data, "commits")
        counted = {m: sum(1 for r in held if r["model_id"] == m) for m in expected}
        assert counted == expected and first.commits.rows == sum(expected.values())
        ids = {r["commit_id"] for r in held}
        assert {c.sha for i in range(MODELS) for c in registry.commits(i)} == ids

        # One new commit on every model: each is asked for its first page only.
        registry.change_shas(1.0)
        sim.reset_counters()
        second = run_history(data.root, None, endpoint=sim.url)
        assert sim.counters["commits"] == MODELS and second.commits.rows == MODELS
        again = rows(data, "commits")
        assert len(again) == len(held) + MODELS and len({r["commit_id"] for r in again}) == len(again)
        newest = {registry.model_id(i): registry.sha(i) for i in range(MODELS)}
        assert all(any(r["commit_id"] == sha for r in again) for sha in newest.values())
        row = next(r for r in again if r["commit_id"] == newest[registry.model_id(0)])
        assert row["authors"] and row["title"] and row["date"] is not None
        assert first.exit_code == second.exit_code == 0


def test_discussions_are_listed_whole_and_huggingface_hub_reads_them(
    tmp_path: Path, registry: Registry
) -> None:
    data = DataDir(tmp_path / "data")
    busy = registry.model_id(0)
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        sim.reset_counters()
        result = run_history(data.root, None, models=[busy, registry.model_id(1)], endpoint=sim.url)
        # 60 discussions: two pages of 50; the other model: one empty page.
        assert sim.counters["discussions"] == 3 and result.discussions.rows == 60
        listed = list(HfApi(endpoint=sim.url).get_repo_discussions(busy))
        run_history(data.root, None, models=[busy], endpoint=sim.url)
    held = rows(data, "discussions")
    assert len(held) == 60  # listed again: replaced, not added
    by_num = {r["num"]: r for r in held}
    assert sorted(by_num) == list(range(1, 61))
    seventh = by_num[7]  # k = 6
    assert (seventh["title"], seventh["status"], seventh["is_pull_request"]) == ("question 6", "merged", True)
    assert (seventh["author"], seventh["num_comments"]) == ("user6", 1)
    assert seventh["created_at"] == datetime.fromtimestamp(1_700_000_000 + 6 * 86_400, timezone.utc)
    assert len(listed) == 60 and listed[0].num == 60
    assert {(d.num, d.title, d.status, d.author, d.is_pull_request) for d in listed} == {
        (r["num"], r["title"], r["status"], r["author"], r["is_pull_request"]) for r in held
    }


def test_status_changes_are_read_on_every_run_so_a_reopening_between_runs_is_seen(
    tmp_path: Path, registry: Registry
) -> None:
    data = DataDir(tmp_path / "data")
    busy = registry.model_id(0)
    day_ms = 86_400_000

    def held() -> dict[int, dict[str, object]]:
        return {r["num"]: r for r in rows(data, "discussions")}

    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        sim.reset_counters()
        run_history(data.root, None, models=[busy], endpoint=sim.url)
        first = sim.counters["discussion"]
        details = HfApi(endpoint=sim.url).get_discussion_details(busy, 2)
        before = held()
        # Number 2 (closed) is reopened and closed again; number 1 (open) is closed: the list shows
        # nothing of number 2's change.
        registry.set_discussion_status(busy, 2, "open", 1_750_000_000_000)
        registry.set_discussion_status(busy, 2, "closed", 1_750_000_000_000 + day_ms)
        registry.set_discussion_status(busy, 1, "closed", 1_750_000_000_000 + 2 * day_ms)
        sim.reset_counters()
        run_history(data.root, None, models=[busy], endpoint=sim.url)
        again = sim.counters["discussion"]
    assert first == again == 60
    assert [e.new_status for e in details.events if e.type == "status-change"] == ["closed"]
    created_2 = datetime.fromtimestamp(1_700_000_000 + 86_400, timezone.utc)
    assert (before[2]["status"], before[2]["closed_at"]) == ("closed", created_2 + timedelta(days=1))
    assert before[2]["changed_to"] == ["closed"] and before[2]["events_read_at"] is not None
    assert all(r["closed_at"] is None for r in before.values() if r["status"] in ("open", "draft"))
    assert all(r["closed_at"] is not None for r in before.values() if r["status"] in ("closed", "merged"))
    after = held()
    reclosed = datetime.fromtimestamp(1_750_000_000 + 86_400, timezone.utc)
    assert (after[2]["closed_at"], after[2]["changed_to"]) == (reclosed, ["closed", "open", "closed"])
    assert after[1]["closed_at"] == datetime.fromtimestamp(1_750_000_000 + 2 * 86_400, timezone.utc)


def test_a_discussion_whose_details_fail_has_no_closing_date_and_is_asked_again(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(tmp_path / "data")
    busy = registry.model_id(0)
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        monkeypatch.setenv("HUBMINE_MAX_DISCUSSION_BYTES", "100")
        monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "2")
        result = run_history(data.root, None, models=[busy], endpoint=sim.url)
        held = rows(data, "discussions")
        unknown = sum(1 for r in held if r["status"] == "closed" and r["closed_at"] is None)
        unread = sum(1 for r in held if r["events_read_at"] is None and r["changed_at"] is None)
        series = [r for r in rows(data, "process") if r["model_id"] == busy]
        monkeypatch.delenv("HUBMINE_MAX_DISCUSSION_BYTES")
        sim.reset_counters()
        run_history(data.root, None, models=[busy], endpoint=sim.url)
        asked = sim.counters["discussion"]
        again = [r for r in rows(data, "process") if r["model_id"] == busy]
    # Too large to read: the model keeps its discussions (not an error row); the events come next time.
    assert not result.discussions.errored and unknown == 15 and unread == 60
    # Meanwhile no discussion metric reads 0: from the first discussion's creation they are unknown.
    created = datetime.fromtimestamp(1_700_000_000, timezone.utc)
    late = [r for r in series if r["period_end"] > created]
    assert late and all(r["open_discussions"] is None and r["issue_spoilage"] is None for r in late)
    assert all("status changes of 60 discussions" in r["discussions_unknown"] for r in late)
    assert asked == 60
    assert all(r["discussions_unknown"] is None for r in again)


def test_the_closing_date_is_the_last_closing_not_undone_by_a_reopening() -> None:
    def change(status: object, when: object) -> object:
        return {"type": "status-change", "createdAt": when, "data": {"status": status}}

    first, second = "2024-01-02T00:00:00.000Z", "2024-03-04T00:00:00.000Z"
    assert closed_at([change("closed", first), change("open", second)]) is None
    reclosed = [change("closed", first), change("open", second), change("merged", second)]
    assert closed_at(reclosed) == utc(2024, 3, 4)
    # Other events, malformed events and malformed dates are passed over or give no date.
    malformed = {"type": "status-change", "data": "closed"}
    hostile = [None, 7, {"type": "comment"}, malformed, change("closed", first)]
    assert closed_at(hostile) == utc(2024, 1, 2)
    assert closed_at([change("closed", "yesterday")]) is None and closed_at([]) is None


def test_a_discussions_table_without_closing_dates_is_carried_on(tmp_path: Path, registry: Registry) -> None:
    data = DataDir(tmp_path / "data")
    busy, other = registry.model_id(0), registry.model_id(1)
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        run_history(data.root, None, models=[other], endpoint=sim.url)
        # The table as written before it had a closed_at column, with a row of a model not asked again.
        old = {"model_id": ["x/kept"], "num": [1], "status": ["closed"], "created_at": [utc(2024, 1, 1)]}
        data.history_table("discussions").unlink()
        pq.write_table(pa.table(old), data.history_table("discussions"))
        run_history(data.root, None, models=[busy], endpoint=sim.url)
    held = rows(data, "discussions")
    assert {r["model_id"] for r in held} == {"x/kept", busy}
    assert next(r for r in held if r["model_id"] == "x/kept")["closed_at"] is None
    assert sum(1 for r in held if r["closed_at"] is not None) == 30


def test_hostile_history_items_are_stored_cleaned_or_dropped_never_fatal() -> None:
    now = datetime.now(timezone.utc)
    far = {"title": "bad \ud800", "date": "0001-01-01T00:00:00+01:00", "authors": [{"user": "x"}]}
    commit = commit_row("a/m", {"id": "c1", **far}, now)
    assert commit is not None and commit["date"] is None  # year 1: unknown, not a series of 2,000 years
    assert commit_row("a/m", {"id": ["c1"]}, now) is None  # an id that is not text
    assert discussion_row("a/m", {"num": 2**70}, now) is None  # a number beyond int64
    item = {"num": 3, "title": "\udfff", "numComments": 2**64, "createdAt": "1000-01-01T00:00:00Z"}
    discussion = discussion_row("a/m", item, now)
    assert discussion is not None and discussion["num_comments"] is None and discussion["created_at"] is None
    # Lone surrogates (valid JSON escapes, not UTF-8) are stored as U+FFFD.
    stored = table_from_rows("discussions", [discussion]).to_pylist()[0]
    assert stored["title"] == "\ufffd"
    assert table_from_rows("commits", [commit]).to_pylist()[0]["title"] == "bad \ufffd"


def test_a_model_whose_history_cannot_be_listed_is_an_error_row(registry: Registry) -> None:
    cap, max_pages = commit_bounds()
    with HubSimulator(registry) as sim:
        client = HubClient(sim.url)
        found, pages = fetch_commits(client, "nobody/missing", set(), cap, max_pages)
        client.close()
    assert pages == 1 and len(found) == 1 and "HTTP 401" in str(found[0]["error"])


def hand_made_history(data: DataDir) -> None:
    commits = [
        ("a/m", "c1", "Update README.md", utc(2026, 1, 10), ["alice"]),
        ("a/m", "c2", "Add weights", utc(2026, 1, 20), ["bob"]),
        ("a/m", "c3", "Upload model", utc(2026, 3, 5), ["alice"]),
        ("a/m", "c4", "after the snapshot", utc(2026, 5, 1), ["alice"]),
        ("b/n", "d1", "initial commit", utc(2026, 2, 10), ["carol"]),
    ]
    table = [
        {"model_id": m, "commit_id": c, "title": t, "date": d, "authors": a, "fetched_at": utc(2026, 4, 16)}
        for m, c, t, d, a in commits
    ]
    table.append({"model_id": "c/e", "error": "HTTP 401 on the commits of c/e"})
    data.history.mkdir(parents=True)
    write_parquet(data.history_table("commits"), table_from_rows("commits", table))
    # The git history of a/m: author key, lines added and deleted, the tree's lines after it.
    lines = [
        ("c1", utc(2026, 1, 10), "A", 100, 0, 100),
        ("c2", utc(2026, 1, 20), "B", 10, 5, 105),
        ("c3", utc(2026, 3, 5), "A", 20, 20, 105),
        ("c4", utc(2026, 5, 1), "A", 1, 0, 106),
    ]
    write_parquet(
        data.history_table("lines"),
        table_from_rows(
            "lines",
            [
                {"model_id": "a/m", "commit_id": c, "date": d, "author_key": k, "merge": False}
                | {"lines_added": add, "lines_deleted": rm, "tree_lines": n, "read_at": utc(2026, 4, 16)}
                for c, d, k, add, rm, n in lines
            ],
        ),
    )
    # 2 was open from 16 January to 10 February; 5 was closed on 5 February and reopened on 1 March;
    # 3 and 4 are pull requests, 4 merged on 20 March.
    discussions = [
        ("a/m", 1, "open", False, utc(2026, 1, 15), []),
        ("a/m", 2, "closed", False, utc(2026, 1, 16), [(utc(2026, 2, 10), "closed")]),
        ("a/m", 3, "draft", True, utc(2026, 3, 10), []),
        ("a/m", 4, "merged", True, utc(2026, 1, 20), [(utc(2026, 3, 20), "merged")]),
        ("a/m", 5, "open", False, utc(2026, 2, 1), [(utc(2026, 2, 5), "closed"), (utc(2026, 3, 1), "open")]),
    ]
    write_parquet(
        data.history_table("discussions"),
        table_from_rows(
            "discussions",
            [
                {"model_id": m, "num": n, "status": s, "is_pull_request": pr, "created_at": c}
                | {"changed_at": [w for w, _ in ch], "changed_to": [t for _, t in ch]}
                for m, n, s, pr, c, ch in discussions
            ],
        ),
    )


@pytest.mark.parametrize("chunk", [process.CHUNK_MODELS, 1])
def test_process_metrics_are_computed_and_carried_forward_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(process, "CHUNK_MODELS", chunk)  # one model at a time: the same rows
    data = DataDir(tmp_path)
    hand_made_history(data)
    until = utc(2026, 4, 15)
    ran = utc(2026, 4, 16)
    written = process.write_process(data, ["month"], until, "s1", ran)
    got = {(r["model_id"], r["period_start"].month): r for r in rows(data, "process")}
    assert written == len(got) == 4 + 3 + 4
    hub = ("commits", "readme_churn", "authors", "open_discussions", "open_pull_requests", "mean_open_age")
    expected_hub = {
        ("a/m", 1): (2, 1, 2, 2, 1, 45 / 3, 12.0),
        ("a/m", 2): (0, 0, 0, 1, 1, 85 / 2, 40.0),
        ("a/m", 3): (1, 0, 1, 2, 1, 157 / 3, 27.0),
        ("a/m", 4): (0, 0, 0, 2, 1, 199 / 3, 41.0),
        ("b/n", 2): (1, 0, 1, 0, 0, None, 19.0),
        ("*", 2): (1, 0, 1, 1, 1, 85 / 2, 29.5),
    }
    for key, values in expected_hub.items():
        assert tuple(got[key][k] for k in (*hub, "days_since_last_commit")) == pytest.approx(values), key
    # PRIME's: issues open each day, averaged over the period's days (April: the 14 days before the 15th).
    spoilage = {1: 33 / 31, 2: 43 / 28, 3: 62 / 31, 4: 28 / 14}
    assert {m: got["a/m", m]["issue_spoilage"] for m in spoilage} == pytest.approx(spoilage)
    age = 54  # 10 January to 5 March
    prime = ("lines_changed", "productivity", "bus_factor", "developer_count", "lines_of_code")
    assert tuple(got["a/m", 1][k] for k in prime) == pytest.approx((115, 115 / age, 1, 2, 105))
    assert tuple(got["a/m", 2][k] for k in prime) == pytest.approx((0, 0.0, 0, 0, 105))
    assert tuple(got["a/m", 3][k] for k in prime) == pytest.approx((40, 40 / age, 1, 1, 105))
    january = (5 * 0 + 1 / 0.1 + 4 * 2 / 0.1 + 12 * 2 / 0.105) / 22  # days with a size: from the 10th
    density = {1: january, 2: 43 / 0.105 / 28, 3: 62 / 0.105 / 31, 4: 2 / 0.105}
    assert {m: got["a/m", m]["issue_density"] for m in density} == pytest.approx(density)
    # b/n has no git history: its line metrics are unknown, with the reason, never 0.
    assert got["b/n", 2]["productivity"] is None and "hubmine history --git" in got["b/n", 2]["lines_unknown"]
    assert got["*", 2]["lines_unknown"] == "1 of 2 models unknown; left out"
    assert [got["a/m", m]["partial"] for m in range(1, 5)] == [False, False, False, True]
    assert got["a/m", 4]["period_end"] == until and got["a/m", 1]["period_end"] == utc(2026, 2, 1)
    assert got["*", 2]["models"] == 2 and got["*", 1]["models"] == 1
    assert {(r["snapshot"], r["computed_at"]) for r in got.values()} == {("s1", ran)}
    assert not any(m == "c/e" for m, _ in got)

    # A weekly series is added beside the monthly one; weeks start on Monday.
    process.write_process(data, ["week"], until, "s2", ran)
    weekly = [r for r in rows(data, "process") if r["period"] == "week" and r["model_id"] == "a/m"]
    assert weekly[0]["period_start"] == utc(2026, 1, 5) and len(weekly) == 15
    assert sum(r["commits"] for r in weekly) == 3 and sum(r["lines_changed"] for r in weekly) == 155
    assert sum(1 for r in rows(data, "process") if r["period"] == "month") == written


def test_a_model_not_listed_since_an_earlier_run_ends_its_series_there(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    hand_made_history(data)
    # a/m was last listed by a run whose snapshot started on 15 March; b/n by this one.
    listed = [("a/m", utc(2026, 3, 15), "s1"), ("b/n", utc(2026, 4, 15), "s2")]
    write_parquet(
        data.history_table("listed"),
        table_from_rows("listed", [{"model_id": m, "listed_until": u, "snapshot": s} for m, u, s in listed]),
    )
    process.write_process(data, ["month"], utc(2026, 4, 15), "s2", utc(2026, 4, 16))
    got = {(r["model_id"], r["period_start"].month): r for r in rows(data, "process")}
    assert sorted(month for model, month in got if model == "a/m") == [1, 2, 3]
    assert got["a/m", 3]["period_end"] == utc(2026, 3, 15) and got["a/m", 3]["partial"]
    # The registry counts a/m up to what is known of it, and ends each period with its latest model.
    assert (got["*", 3]["models"], got["*", 3]["period_end"]) == (2, utc(2026, 4, 1))
    assert got["*", 4]["models"] == 1


def test_the_run_records_how_far_each_listed_model_is_known(tmp_path: Path, registry: Registry) -> None:
    data = DataDir(tmp_path / "data")
    first, second = registry.model_id(0), registry.model_id(1)
    with HubSimulator(registry) as sim:
        older = crawl(sim.url, data.root, cards=False).snapshot.id
        run_history(data.root, None, models=[first, second], endpoint=sim.url)
        crawl(sim.url, data.root, cards=False)
        run_history(data.root, None, models=[second], endpoint=sim.url)
        held = {r["model_id"]: r for r in rows(data, "listed")}
        # A run on the older snapshot takes back nothing a later one made known.
        run_history(data.root, older, models=[second], endpoint=sim.url)
    assert held[first]["listed_until"] < held[second]["listed_until"]
    assert held[first]["snapshot"] == older != held[second]["snapshot"]
    assert {r["model_id"]: r for r in rows(data, "listed")} == held


def test_the_command_holds_the_lock_and_says_what_it_did(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(tmp_path / "data")
    busy = registry.model_id(0)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        args = ["history", "--data-dir", str(data.root), "--models", busy, "--period", "week"]
        with holding_lock(data, "crawl"):
            refused = CliRunner().invoke(app, args)
        untouched = not data.history.exists()
        sim.reset_counters()
        done = CliRunner().invoke(app, args)
        asked = sim.counters["requests"]
    assert refused.exit_code == 1 and "is being crawled" in refused.output
    assert untouched
    assert done.exit_code == 0, done.output
    assert "history of 1 models of snapshot" in done.output and "60 discussions" in done.output
    # Two pages of 100 commits, two of 50 discussions, the details of the 60.
    assert asked == 2 + 2 + 60
    assert not data.lock.exists()
    with holding_lock(data, "history"):
        again = CliRunner().invoke(app, ["crawl", "--data-dir", str(data.root)])
    assert "updated with model histories" in again.output


def test_rows_of_models_not_chosen_this_time_are_kept(tmp_path: Path, registry: Registry) -> None:
    data = DataDir(tmp_path / "data")
    first, second = registry.model_id(0), registry.model_id(1)
    with HubSimulator(registry) as sim:
        crawl(sim.url, data.root, cards=False)
        run_history(data.root, None, models=[first], endpoint=sim.url)
        run_history(data.root, None, models=[second], endpoint=sim.url)
    commits = {r["model_id"] for r in rows(data, "commits")}
    assert commits == {first, second}
    assert sum(1 for r in rows(data, "discussions") if r["model_id"] == first) == 60
    series = {r["model_id"] for r in rows(data, "process")}
    assert series == {first, second, process.REGISTRY}


def test_the_report_draws_the_registry_and_the_top_models_over_time(
    measured_snapshot: Snapshot, tmp_path: Path
) -> None:
    data = DataDir(tmp_path / "data")
    shutil.copytree(measured_snapshot.dir, data.snapshot(measured_snapshot.id).dir)
    hand_made_history(data)
    # A name a Markdown or HTML reader would act on stays text.
    hostile = "<b>x</b>/[m](y)"
    table = pq.read_table(data.history_table("commits")).to_pylist()
    table.append({**table[0], "model_id": hostile, "commit_id": "z1"})
    data.history_table("commits").unlink()
    write_parquet(data.history_table("commits"), table_from_rows("commits", table))
    process.write_process(data, ["month"], utc(2026, 4, 15), measured_snapshot.id, utc(2026, 4, 16))
    run_report(data.root, measured_snapshot.id, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    section = markdown[markdown.index("## Repository history") :]
    assert "3 models followed; the registry's last 6 months, computed 2026-04-16 00:00 UTC" in section
    assert "| 2026-04-01 (partial) | 3 | 0 | 2 | 1 |" in section  # models, commits, open discussions, PRs
    assert "unknown" in section  # b/n and the hostile name have no git history: no line metrics
    assert "<b>" not in (tmp_path / "out" / "report.html").read_text().split("Repository history")[1]
    for name in ("history_registry", "history_top_models"):
        assert (tmp_path / "out" / "figures" / f"{name}.png").stat().st_size > 5000


def test_open_intervals_follow_the_status_changes_and_stale_events_are_unknown() -> None:
    created, t1, t2, t3 = utc(2026, 1, 1), utc(2026, 1, 5), utc(2026, 2, 1), utc(2026, 3, 1)
    spans = process.open_spans(created, "closed", [t3, t1, t2], ["closed", "closed", "open"])
    assert spans == ((created, t1), (t2, t3))  # in time order, reopened once
    assert process.open_spans(created, "open", [], []) == ((created, None),)
    assert process.open_spans(created, "merged", [t1, t2], ["merged", "closed"]) == ((created, t1),)
    # Never read, or read before a change the list shows since: unknown, not guessed.
    assert process.open_spans(created, "open", None, None) is None
    assert process.open_spans(created, "open", [t1], ["closed"]) is None
    assert process.open_spans(created, "closed", [], []) is None
