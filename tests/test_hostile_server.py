"""Crawls against a Hub that misbehaves on purpose end, bounded in the work they do: bytes read,
requests made, waits asked for. No duration is asserted; every bound is the client's own setting."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from crawl_helpers import REPO_ROOT, crawl
from hostile_server import ESCAPING_IDS, SHA, HostileHub

import pipeline.crawl.run
from pipeline.errors import HubResponseError, HubUnreachable, SettingError
from pipeline.hub.client import HubClient, RetryPolicy
from pipeline.hub.watchdog import Watchdog
from pipeline.store.snapshot import read_manifest

MIB = 1024 * 1024
# What the kernel may buffer on a loopback connection, sent by the server but never read by the client.
SOCKET_SLACK = 16 * MIB


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBMINE_BACKOFF_S", "0.01")
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "2")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")


class Waits:
    """The client's clock and sleep: sleeps are recorded and skipped, and the clock jumps by them."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.skipped = 0.0

    def clock(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.skipped += max(seconds, 0.0)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    recorded = Waits()
    monkeypatch.setattr(
        pipeline.crawl.run,
        "HubClient",
        functools.partial(HubClient, clock=recorded.clock, sleep=recorded.sleep),
    )
    return recorded


def failed_crawl(url: str, data_dir: Path, *, answered: bool = True, **params: object) -> str:
    """The one-line message of a crawl that must fail; the manifest records the same line. A crawl that
    was never `answered` (no response it could record) leaves no snapshot."""
    with pytest.raises(HubResponseError) as err:
        crawl(url, data_dir, snapshot="s", **params)
    message = str(err.value)
    assert "\n" not in message
    manifest = read_manifest(pipeline.crawl.run.DataDir(data_dir).snapshot("s"))
    if not answered:
        assert manifest is None and not (data_dir / "snapshots" / "s").exists()
        return message
    assert manifest is not None and manifest["status"] == "partial" and manifest["error"] == message
    return message


def test_an_endless_listing_is_read_up_to_its_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cap = 256 * 1024
    monkeypatch.setenv("HUBMINE_MAX_LISTING_BYTES", str(cap))
    with HostileHub("endless") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
        time.sleep(0.05)  # the server notices the closed connections
        sent, asked = hub.bytes_sent, len(hub.requests)
    assert "HUBMINE_MAX_LISTING_BYTES" in message and f"larger than {cap} bytes" in message
    assert asked == 2  # each try is one request; the page is never parsed from a cut body
    assert sent <= asked * (cap + SOCKET_SLACK)


def test_a_trickling_answer_ends_at_the_deadline_of_its_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_ATTEMPT_DEADLINE_S", "0.2")
    with HostileHub("trickle") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
        sent, asked = hub.bytes_sent, len(hub.requests)
    assert "HUBMINE_ATTEMPT_DEADLINE_S" in message and "gave up after 2 tries" in message
    assert asked == 2 and sent < 2 * 10**6  # the promised megabyte never finished


def test_a_server_that_never_answers_is_given_up_after_its_stalled_tries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_TIMEOUT_S", "0.1")
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "8")
    with HostileHub("hang") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
        asked = len(hub.requests)
    assert message.startswith("no byte from ") and "in 0.1 s (HUBMINE_TIMEOUT_S)" in message
    assert "stalled on 3 tries" in message and "HUBMINE_STALL_TRIES" in message
    assert asked == RetryPolicy.stall_tries  # not the 8 tries a failing but answering server gets


def test_a_trickle_is_a_stall_long_before_the_deadline_of_its_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 bytes/s against a floor of 200: a stall at the end of the first window, whatever the deadline.
    monkeypatch.setenv("HUBMINE_STALL_S", "0.3")
    monkeypatch.setenv("HUBMINE_STALL_BYTES_PER_S", "200")
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "8")
    with HostileHub("trickle", trickle_s=0.05) as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
        sent, asked = hub.bytes_sent, len(hub.requests)
    assert "slower than 200 bytes/s" in message and "HUBMINE_STALL_S" in message
    assert asked == RetryPolicy.stall_tries
    # Each try ended within a window or two of bytes at the floor's rate, headers aside.
    assert sent <= asked * (1000 + 2 * 0.3 * 200)


def test_a_slow_but_working_server_is_read_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages begun late and sent at about 6 KB/s, against a floor of 100 bytes/s over 0.1 s windows:
    # slow, never stalled, so every page is read in one try however loaded the machine.
    monkeypatch.setenv("HUBMINE_STALL_S", "0.1")
    monkeypatch.setenv("HUBMINE_STALL_BYTES_PER_S", "100")
    monkeypatch.setenv("HUBMINE_TIMEOUT_S", "5")
    with HostileHub("slow", first_byte_s=0.2, piece=64, trickle_s=0.01, page_bytes=4096) as hub:
        result = crawl(hub.url, tmp_path, cards=False)
        asked = len(hub.requests)
    assert result.status == "complete" and result.counts["models"] == 3
    assert asked == 3 and result.counts["failures"] == {}


@pytest.mark.slow
def test_a_request_ends_at_its_deadline_however_many_tries_are_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_TIMEOUT_S", "0.2")
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "1000")
    monkeypatch.setenv("HUBMINE_STALL_TRIES", "1000")
    monkeypatch.setenv("HUBMINE_REQUEST_DEADLINE_S", "1")
    with HostileHub("hang") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
        asked = len(hub.requests)
    assert "HUBMINE_REQUEST_DEADLINE_S=1" in message
    # Each try waits out the read timeout, so no more tries than the deadline holds read timeouts.
    assert 1 <= asked <= 1 / 0.2 + 1


def test_a_long_wait_is_said_with_what_and_which_try(caplog: pytest.LogCaptureFixture) -> None:
    watchdog = Watchdog(notice_after_s=5.0, repeat_s=30.0)
    with caplog.at_level(logging.WARNING, "hubmine.hub"), watchdog.waiting("http://hub/api/models", 2, 8):
        start = time.monotonic()
        watchdog.check(start + 1)
        watchdog.check(start + 6)
        watchdog.check(start + 7)  # told already; said again only after `repeat_s`
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 6 s for an answer from http://hub/api/models (try 2 of 8)"
    ]


@pytest.mark.parametrize("limit", [None, 10])
def test_a_next_link_back_to_a_read_page_ends_the_crawl(tmp_path: Path, limit: int | None) -> None:
    with HostileHub("self_link") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, limit=limit)
        asked = len(hub.requests)
    assert "points back to a page already read" in message
    # A link that differs from the page read by the page size only is the same page.
    assert asked == 1


def test_pages_of_models_already_listed_end_the_crawl(tmp_path: Path) -> None:
    with HostileHub("stale_cursor") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, limit=10)
        asked = len(hub.requests)
    assert "brought no model not listed before" in message
    assert asked == 4  # one page of news, then three of repeats


@pytest.mark.parametrize("rate_limit", ['"api";r=5;t=100000', '"api";r=-5;t=1', '"api";r=inf;t=nan'])
def test_server_times_with_quota_left_are_capped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    waits: Waits,
    rate_limit: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cap = 3.0
    monkeypatch.setenv("HUBMINE_MAX_SERVER_WAIT_S", str(cap))
    with (
        caplog.at_level(logging.WARNING, "hubmine.hub"),
        HostileHub("rate_limit", rate_limit=rate_limit, retry_after="2") as hub,
    ):
        result = crawl(hub.url, tmp_path, cards=False)
        asked = len(hub.requests)
    assert result.status == "complete" and result.counts["models"] == 3
    assert asked == 4  # one 429, three pages
    # Every wait the client asked for is within the cap (the backoff's own cap is larger).
    assert waits.asked and max(waits.asked) <= cap
    told = [r.getMessage() for r in caplog.records if "HUBMINE_MAX_SERVER_WAIT_S" in r.getMessage()]
    assert ("RateLimit t" in " ".join(told)) == ("t=100000" in rate_limit)


# `answered`: the 429 was recorded before its wait was refused (Retry-After), or the wait was refused as
# the response came in (RateLimit), leaving nothing recorded and so no snapshot.
@pytest.mark.parametrize(
    ("rate_limit", "retry_after", "source", "asked", "answered"),
    [
        ("", "1e9", "Retry-After", 1, True),
        ("", "inf", "Retry-After", 1, True),
        ('"api";r=0;t=100000', "", "RateLimit t", 1, False),
        ('"api";r=0;t=inf', "", "RateLimit t", 1, False),
    ],
)
def test_a_required_wait_past_the_cap_fails_the_request_at_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    waits: Waits,
    rate_limit: str,
    retry_after: str,
    source: str,
    asked: int,
    answered: bool,
) -> None:
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "8")
    with HostileHub("rate_limit", rate_limit=rate_limit, retry_after=retry_after) as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=answered)
        requests = len(hub.requests)
    assert f"({source}), longer than HUBMINE_MAX_SERVER_WAIT_S=300" in message
    assert requests == asked and waits.asked == []  # no wait at all, let alone the cap again and again


def test_stacked_encodings_are_reported_as_such_not_as_a_cut_body(tmp_path: Path) -> None:
    with HostileHub("stacked_gzip") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False, answered=False)
    assert "could not be decoded" in message and "content encodings" in message
    assert "truncated" not in message


def test_listing_entries_that_are_no_model_are_counted(tmp_path: Path) -> None:
    with HostileHub("non_objects") as hub:
        result = crawl(hub.url, tmp_path, cards=False)
    assert result.status == "complete" and result.counts["models"] == 1
    assert result.counts["listing_entries_skipped"] == 5


def test_an_html_page_for_the_listing_is_retried_then_one_line(tmp_path: Path) -> None:
    with HostileHub("html") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False)
        asked = len(hub.requests)
    assert "malformed JSON" in message and asked == 2


def test_ids_that_walk_to_other_repositories_are_never_requested(tmp_path: Path) -> None:
    with HostileHub("escaping_ids") as hub:
        result = crawl(hub.url, tmp_path)
        asked = list(hub.requests)
    assert [p for p in asked if not p.startswith("/api/models")] == [f"/ok/model/resolve/{SHA}/README.md"]
    cards = {c["model_id"]: c for c in pq.read_table(result.snapshot.cards).to_pylist()}
    assert cards["ok/model"]["status"] == "ok"
    for model_id in ESCAPING_IDS:
        assert cards[model_id]["status"] == "error" and "not requested" in cards[model_id]["error"]
        assert cards[model_id]["readme"] is None
    assert result.counts["failed_models"] == len(ESCAPING_IDS)


def test_a_next_link_to_another_host_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secretTOKEN1234567890")
    with HostileHub("foreign_link") as hub:
        message = failed_crawl(hub.url, tmp_path, cards=False)
        asked = len(hub.requests)
    assert "next link leaves" in message and "127.0.0.2" in message and asked == 1


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1/", "127.0.0.1:8080", "http://", "http://host:99999"])
def test_an_endpoint_that_is_no_http_url_fails_at_once(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(SettingError) as err:
        crawl(endpoint, tmp_path)
    assert "HF_ENDPOINT" in str(err.value) and not tmp_path.joinpath("snapshots").exists()


def test_credentials_in_the_endpoint_are_refused_without_being_repeated(tmp_path: Path) -> None:
    with HostileHub("html") as hub:
        endpoint = hub.url.replace("http://", "http://user:s3cretPASS@")
        with pytest.raises(SettingError) as err:
            crawl(endpoint, tmp_path)
        asked = len(hub.requests)
    assert "s3cretPASS" not in str(err.value) and "user" not in str(err.value).split("(")[1]
    assert asked == 0 and not tmp_path.joinpath("snapshots").exists()


def test_a_dead_endpoint_fails_in_two_tries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "100")
    with pytest.raises(HubUnreachable) as err:
        crawl("http://127.0.0.1:9", tmp_path)
    assert "Connection refused" in str(err.value)


# Runs `hubmine crawl ARGS` and, however it ends, writes the process's peak resident memory (VmHWM)
# to the file named first. VmHWM starts afresh at exec, unlike ru_maxrss, which a child inherits from
# the parent it was forked from (here the whole test session).
PEAK_OF_CRAWL = """
import sys
from pipeline.cli import main
peak_file, sys.argv = sys.argv[1], ["hubmine", "crawl", *sys.argv[2:]]
try:
    main()
finally:
    status = open("/proc/self/status").read()
    open(peak_file, "w").write(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
"""


def cli(data_dir: Path, endpoint: str, *args: str, **env: str) -> tuple[int, str, int]:
    """`hubmine crawl` in a child process: (exit status, stderr, the child's peak memory in bytes)."""
    environment = {**os.environ, "HF_ENDPOINT": endpoint, "HUBMINE_BACKOFF_S": "0.01", **env}
    environment.pop("HF_TOKEN", None)
    stderr_path = data_dir.parent / "stderr.txt"
    peak_path = data_dir.parent / "peak.txt"
    with stderr_path.open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", PEAK_OF_CRAWL, str(peak_path), "--data-dir", str(data_dir), *args],
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    return done.returncode, stderr_path.read_text(), int(peak_path.read_text()) * 1024


def assert_one_error_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if "error" in line] == [
        next(line for line in stderr.splitlines() if line.startswith("hubmine: error: "))
    ]


@pytest.mark.slow
def test_the_command_against_an_endless_body_stays_small(tmp_path: Path) -> None:
    cap = 16 * MIB
    with HostileHub("endless") as hub:
        status, stderr, peak = cli(
            tmp_path / "data",
            hub.url,
            "--no-cards",
            HUBMINE_MAX_LISTING_BYTES=str(cap),
            HUBMINE_MAX_ATTEMPTS="2",
        )
        asked = len(hub.requests)
    assert status == 1 and asked == 2
    assert_one_error_line(stderr)
    assert "HUBMINE_MAX_LISTING_BYTES" in stderr
    assert peak < 512 * MIB


@pytest.mark.slow
def test_the_command_never_repeats_credentials_from_the_endpoint(tmp_path: Path) -> None:
    with HostileHub("html") as hub:
        endpoint = hub.url.replace("http://", "http://user:s3cretPASS@")
        status, stderr, _ = cli(tmp_path / "data", endpoint, "--no-cards")
        asked = len(hub.requests)
    assert status == 1 and asked == 0
    assert_one_error_line(stderr)
    assert "s3cretPASS" not in stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "stderr.txt"]
    assert not any(b"s3cretPASS" in p.read_bytes() for p in written)
