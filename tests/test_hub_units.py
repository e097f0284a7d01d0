"""Pieces of the crawler that need no server: header parsing, pacing, record coercion, README decoding."""

from __future__ import annotations

import gzip
import heapq
import json
import math
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from huggingface_hub.utils import parse_ratelimit_headers
from requests.structures import CaseInsensitiveDict

from pipeline.crawl.authors import overview_url
from pipeline.crawl.cards import card_url
from pipeline.crawl.fetch import decode_body
from pipeline.hub.caps import BodyCaps
from pipeline.hub.client import HubClient, RetryPolicy
from pipeline.hub.ids import InvalidHubName, namespace_segment, repo_path
from pipeline.hub.ratelimit import Pacer, RateLimitInfo, Ticket, parse_rate_limit
from pipeline.hub.records import lists_readme, model_row
from pipeline.hub.responses import public_url
from pipeline.schemas import table_from_rows

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


def test_rate_limit_headers_are_read() -> None:
    info = parse_rate_limit(
        {"RateLimit": '"api";r=489;t=189', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
    )
    assert info == RateLimitInfo("api", 489, 189.0, 500, 300.0)
    assert parse_rate_limit({"RateLimit": '"resolvers";r=0;t=2'}) == RateLimitInfo("resolvers", 0, 2.0)
    assert parse_rate_limit({}) is None
    assert parse_rate_limit({"RateLimit": "garbage"}) is None


@pytest.mark.parametrize(
    ("rate_limit", "policy"),
    [
        ('"api";r=489;t=189', '"fixed window";"api";q=500;w=300'),
        ('"resolvers";r=0;t=2', None),
        ('"pages" ; r = 7 ; t = 55', '"fixed window";"pages";q=100;w=300'),
    ],
)
def test_rate_limit_headers_are_read_as_huggingface_hub_reads_them(
    rate_limit: str, policy: str | None
) -> None:
    headers = CaseInsensitiveDict({"ratelimit": rate_limit})
    if policy:
        headers["ratelimit-policy"] = policy
    ours, theirs = parse_rate_limit(headers), parse_ratelimit_headers(headers)
    assert ours is not None and theirs is not None
    assert (ours.bucket, ours.remaining, ours.reset_s, ours.quota, ours.window_s) == (
        theirs.resource_type,
        theirs.remaining,
        theirs.reset_in_seconds,
        theirs.limit,
        theirs.window_seconds,
    )


def test_rate_limit_values_huggingface_hub_skips_are_still_read() -> None:
    # A spent quota that asks for forever must reach the server-wait cap, which then fails the request.
    headers = {"RateLimit": '"api";r=0;t=inf'}
    assert parse_ratelimit_headers(headers) is None
    assert parse_rate_limit(headers) == RateLimitInfo("api", 0, math.inf)
    # A long hostile policy is read in one pass (huggingface_hub's pattern backtracks on it).
    hostile = {"RateLimit": '"api";r=1;t=1', "RateLimit-Policy": "q=1" * 20_000}
    assert parse_rate_limit(hostile) == RateLimitInfo("api", 1, 1.0)


class FakeClock:
    """Time that passes only when the pacer sleeps or the test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def paced_run(quota: int, window_s: int, requests: int, workers: int, start: float) -> tuple[float, int]:
    """Send `requests` through a pacer to a fixed-window quota with `workers` in flight and 5 ms of
    latency, on a fake clock; (seconds taken, requests the quota refused)."""
    latency = 0.005
    clock = FakeClock(start)
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.plan(requests)
    used: Counter[int] = Counter()
    refused = 0
    in_flight: list[tuple[float, int, Ticket, RateLimitInfo]] = []
    for n in range(requests):
        if len(in_flight) >= workers:
            clock.now = max(clock.now, in_flight[0][0])
        while in_flight and in_flight[0][0] <= clock.now:
            _, _, ticket, info = heapq.heappop(in_flight)
            pacer.done(ticket, info)
        ticket = pacer.wait()
        hit = clock.now + latency / 2
        window = int(hit // window_s)
        if used[window] < quota:
            used[window] += 1
        else:
            refused += 1
        reset = max(1, math.ceil((window + 1) * window_s - hit))  # whole seconds, rounded up
        info = RateLimitInfo("resolvers", quota - used[window], reset, quota, float(window_s))
        heapq.heappush(in_flight, (clock.now + latency, n, ticket, info))
    return clock.now - start, refused


@pytest.mark.parametrize(("window_s", "start"), [(2, 0.3), (2, 1.7), (1, 0.5), (300, 17.0)])
def test_pacer_uses_a_tight_quota_to_the_full_without_tripping_it(window_s: int, start: float) -> None:
    quota, requests = 300, 2838
    taken, refused = paced_run(quota, window_s, requests, workers=16, start=start)
    assert refused == 0
    # The whole crawl may not take longer than the quota allows, less 10%, plus the window it began in.
    assert taken <= (requests / quota * window_s) / 0.9 + window_s - start % window_s


def test_pacer_takes_no_count_from_a_response_older_than_its_estimate() -> None:
    clock = FakeClock()
    pacer = Pacer(reserve=0, clock=clock, sleep=clock.sleep)
    first, second = pacer.wait(), pacer.wait()
    pacer.done(second, RateLimitInfo("api", remaining=8, reset_s=10.0))
    # The first request's answer arrives late, counted before the second; it must not raise the estimate.
    pacer.done(first, RateLimitInfo("api", remaining=12, reset_s=10.0))
    for _ in range(8):
        pacer.wait()
    # Eight requests left over ten seconds: the eighth goes at 7 x 10/8 s, not sooner.
    assert clock.now == pytest.approx(7 * 10 / 8)


def test_pacer_pause_holds_senders_back() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.pause(0.3)
    pacer.wait()
    assert clock.now == pytest.approx(0.3)


def test_model_row_coerces_wrong_types_to_null() -> None:
    row = model_row(
        {
            "id": "org/model",
            "tags": ["a", 3, None],
            "downloads": "12",
            "likes": True,
            "createdAt": "not a date",
            "lastModified": "2024-02-19T10:57:45.000Z",
            "siblings": [{"rfilename": "README.md"}, {"x": 1}, "bad"],
            "cardData": {"license": "mit"},
            "gated": "manual",
        },
        NOW,
    )
    assert row["author"] == "org"
    assert row["tags"] == ["a"]
    assert row["downloads"] is None and row["likes"] is None and row["created_at"] is None
    assert row["last_modified"] == datetime(2024, 2, 19, 10, 57, 45, tzinfo=timezone.utc)
    assert row["siblings"] == ["README.md"]
    assert json.loads(row["card_data"]) == {"license": "mit"}
    assert row["gated"] == "manual"
    table_from_rows("models", [row])


def test_real_records_fit_the_models_schema(hub2024: Path) -> None:
    with gzip.open(hub2024 / "models.jsonl.gz", "rt") as handle:
        records = [json.loads(line) for line in handle]
    rows = [model_row(r, NOW) for r in records]
    table = table_from_rows("models", rows)
    assert table.num_rows == len(records)
    # Every record that lists a README is a card candidate, and only those.
    listed = sum(1 for r in records if any(s.get("rfilename") == "README.md" for s in r.get("siblings", [])))
    assert sum(lists_readme(r["siblings"]) for r in rows) == listed


@pytest.mark.parametrize(
    "model_id",
    ["../../etc/passwd", "a/b/../../c", "org/..", "org/.", "../x", "org/mödel v1", "org/a?b#c", "a//b", ""],
)
def test_ids_that_are_no_hub_names_never_become_paths(model_id: str) -> None:
    with pytest.raises(InvalidHubName) as err:
        card_url("http://hub", model_id, "abc")
    assert "not requested" in str(err.value) and "\n" not in str(err.value)


def test_hub_ids_become_their_own_path() -> None:
    assert repo_path("org/Model-v1.0_x") == "org/Model-v1.0_x"
    assert repo_path("bert-base-uncased") == "bert-base-uncased"
    assert card_url("http://hub", "org/m", "abc") == "http://hub/org/m/resolve/abc/README.md"
    with pytest.raises(InvalidHubName):
        repo_path("org/" + "x" * 300)
    with pytest.raises(InvalidHubName):
        card_url("http://hub", "org/m", "..")


def test_readme_bodies_are_classified() -> None:
    readme = BodyCaps().readme
    assert decode_body(b"# Card\n", False, readme) == ("ok", "# Card\n", None)
    assert decode_body(b"\x89PNG\r\n\x1a\n\x00\x00", False, readme)[0] == "error"
    status, text, problem = decode_body(b"caf\xe9", False, readme)
    assert status == "ok" and text == "caf\ufffd" and "UTF-8" in (problem or "")
    cap = readme.limit
    cut = ("é" * (cap // 2)).encode()[: cap - 1]
    status, text, problem = decode_body(cut, True, readme)
    assert status == "ok" and text and set(text) == {"é"} and "cut" in (problem or "")


def test_archived_urls_carry_no_credentials() -> None:
    assert public_url("https://user:secret@hub.example/api/models?token=abc&limit=5") == (
        "https://hub.example/api/models?limit=5"
    )


def test_values_outside_the_column_types_become_null_or_replaced() -> None:
    # JSON can carry integers beyond int64, times beyond datetime's range after the UTC shift, and
    # lone surrogate escapes ("\ud800") that UTF-8 cannot hold; none of them may stop the crawl.
    record = json.loads(
        '{"id": "org/m\\ud800", "downloads": 100000000000000000000000000000, "likes": -9223372036854775809,'
        ' "createdAt": "0001-01-01T00:00:00+01:00", "lastModified": "9999-12-31T23:59:59-01:00",'
        ' "tags": ["ok", "bad\\udc80"], "pipeline_tag": "x\\ud800", "cardData": {"k": "\\ud800"},'
        ' "siblings": [{"rfilename": "README.md"}, {"rfilename": "\\udfff.bin"}]}'
    )
    row = model_row(record, NOW)
    table = table_from_rows("models", [row])
    assert table.num_rows == 1
    assert row["model_id"] == "org/m\ufffd" and row["author"] == "org"
    assert row["downloads"] is None and row["likes"] is None
    assert row["created_at"] is None and row["last_modified"] is None
    assert row["tags"] == ["ok", "bad\ufffd"] and row["pipeline_tag"] == "x\ufffd"
    assert json.loads(row["card_data"]) == {"k": "\ufffd"}
    assert row["siblings"] == ["README.md", "\ufffd.bin"]
    assert model_row({"id": "org/m", "downloads": 2**63 - 1}, NOW)["downloads"] == 2**63 - 1


def test_backoff_stays_capped_after_very_many_tries() -> None:
    # HUBMINE_MAX_ATTEMPTS may be set very high for a long unattended crawl.
    policy = RetryPolicy(backoff_base_s=0.5, backoff_cap_s=60.0)
    assert all(0 <= policy.backoff(attempt) <= 60.0 for attempt in (1, 2, 64, 1100, 5000))


def test_pacer_sends_planned_work_at_once_when_it_fits_the_quota() -> None:
    clocks = {"spread": FakeClock(), "planned": FakeClock()}
    for name, clock in clocks.items():
        pacer = Pacer(reserve=0, clock=clock, sleep=clock.sleep)
        pacer.done(pacer.wait(), RateLimitInfo("resolvers", remaining=100, reset_s=10.0))
        if name == "planned":
            pacer.plan(10)
        for _ in range(10):
            pacer.wait()
    assert clocks["planned"].now == 0.0
    # Without a plan the same ten requests are spread: one every 10 s / 100.
    assert clocks["spread"].now == pytest.approx(9 * 10.0 / 100)


def test_odd_namespaces_never_become_other_paths() -> None:
    assert overview_url("http://hub", "org-1") == "http://hub/api/organizations/org-1/overview"
    for name in ("..", "a/b", "a b", ""):
        with pytest.raises(InvalidHubName):
            namespace_segment(name)


def test_proxies_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "mirror.internal")
    proxied = HubClient("https://hub.example")
    direct = HubClient("https://mirror.internal")
    assert proxied._session.proxies["https"] == "http://127.0.0.1:3128"
    assert direct._session.proxies == {}
    # requests would otherwise scan the environment again on every request.
    assert not proxied._session.trust_env
