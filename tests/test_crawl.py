"""End-to-end crawls against the Hub simulator: tables, cards, archive, incremental reuse, bad input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
import pytest
from crawl_helpers import crawl
from huggingface_hub import HfApi

from hubsim import Faults, HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.crawl.cards import CARDS, README, card_url
from pipeline.crawl.eval_results import eval_result_paths
from pipeline.crawl.fetch import PART_ROWS, FileTarget, fetch_file, file_row
from pipeline.crawl.listing import raise_for_listing
from pipeline.errors import HubAuthError, HubResponseError, HubUnreachable
from pipeline.hub.client import HubClient, Response, utc_now
from pipeline.hub.records import model_row
from pipeline.hub.responses import record_body
from pipeline.measures.summary import load
from pipeline.store.archive import read_archive
from pipeline.store.layout import DataDir
from pipeline.store.snapshot import read_manifest


def readme_of(registry: Registry, model_id: str) -> bytes | None:
    index = registry.index_of(model_id)
    assert index is not None
    return registry.readme(index)


def siblings_of(registry: Registry, model_id: str) -> list[str]:
    index = registry.index_of(model_id)
    assert index is not None
    return registry.siblings(index)


pytestmark = pytest.mark.usefixtures("quick_retries")


@pytest.mark.slow
def test_sample_crawl_writes_a_complete_snapshot(sample_registry: Registry, tmp_path: Path) -> None:
    with HubSimulator(sample_registry) as sim:
        result = crawl(sim.url, tmp_path, limit=1500, workers=8)
        resolve_requests = sim.counters["resolvers"]
        expected = [m.id for m in HfApi(endpoint=sim.url).list_models(sort="downloads", limit=1500)]
    snapshot = result.snapshot
    manifest = read_manifest(snapshot)
    assert manifest is not None and manifest["status"] == "complete"
    assert result.exit_code == 0

    models = pq.read_table(snapshot.models)
    assert models.num_rows == 1500
    downloads = models.column("downloads").to_pylist()
    assert downloads == sorted(downloads, reverse=True)
    # The same models in the same order as huggingface_hub's own listing of the same server.
    assert models.column("model_id").to_pylist() == expected

    cards = pq.read_table(snapshot.cards).to_pylist()
    with_readme = [m for m in models.to_pylist() if "README.md" in (m["siblings"] or [])]
    # A card is asked for exactly when the file list names a README, and each costs one request.
    assert [c["model_id"] for c in cards] == [m["model_id"] for m in with_readme]
    eval_files = sum(len(eval_result_paths(m["siblings"])) for m in models.to_pylist())
    assert resolve_requests == len(with_readme) + eval_files
    for card in cards[:200]:
        assert card["status"] == "ok"
        assert card["readme"].encode() == readme_of(sample_registry, card["model_id"])
    assert manifest["counts"]["cards"]["ok"] == len(cards)
    assert manifest["counts"]["requests"]["api"] == 2  # 1,500 models in pages of 1,000

    # The archive holds every raw response; parsing it again rebuilds the models table.
    replayed = [
        model_row(entry, models.column("listed_at")[0].as_py())["model_id"]
        for record in read_archive(snapshot, "listing")
        if record["status"] == 200
        for entry in json.loads(record_body(record))
    ]
    assert replayed == models.column("model_id").to_pylist()
    assert sum(1 for _ in read_archive(snapshot, "cards")) == len(cards)


def test_bad_token_is_one_clear_error(sample_registry: Registry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with HubSimulator(sample_registry, valid_tokens={"hf_right"}) as sim, pytest.raises(HubAuthError) as err:
        crawl(sim.url, tmp_path, limit=10)
    assert "refused the token" in str(err.value) and "\n" not in str(err.value)
    assert "hf_wrong" not in str(err.value)


def test_unreachable_endpoint_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(HubUnreachable) as err:
        crawl("http://127.0.0.1:9", tmp_path, limit=10)
    assert "cannot reach http://127.0.0.1:9" in str(err.value)
    # Nothing answered: there is nothing to resume, so no snapshot is left behind.
    assert list(DataDir(tmp_path).snapshots.iterdir()) == []


@pytest.mark.slow
def test_recrawl_reuses_unchanged_cards(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=3000, seed=3)
    with HubSimulator(registry) as sim:
        first = crawl(sim.url, tmp_path, snapshot="first")
        changed = set(registry.change_shas(fraction=0.05, seed=7))
        sim.reset_counters()
        second = crawl(sim.url, tmp_path, snapshot="second")
        card_requests = sim.counters["resolvers"]
    assert read_manifest(second.snapshot)["since"] == "first"
    new_cards = {c["model_id"]: c for c in pq.read_table(second.snapshot.cards).to_pylist()}
    changed_with_card = {m for m in changed if m in new_cards}
    # Eval-results files are resolved too: again only those of changed models.
    changed_with_evals = [
        m for m in changed if any(f.startswith(".eval_results/") for f in siblings_of(registry, m))
    ]
    assert second.counts["eval_results"]["fetched"] == len(changed_with_evals)
    assert card_requests == len(changed_with_card) + len(changed_with_evals)
    assert second.counts["cards_fetched"] == len(changed_with_card)
    assert second.counts["cards_reused"] == len(new_cards) - len(changed_with_card)
    for model_id, card in new_cards.items():
        assert card["reused"] == (model_id not in changed_with_card)
        if card["status"] == "ok":
            assert card["readme"].encode() == readme_of(registry, model_id)
    assert first.counts["cards"] == second.counts["cards"]
    assert second.counts["cards_newly_missing"] == 0


def test_recrawl_counts_cards_that_went_missing(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=200, seed=8)
    with HubSimulator(registry) as sim:
        crawl(sim.url, tmp_path, snapshot="first")
        first_cards = pq.read_table(DataDir(tmp_path).snapshot("first").cards).to_pylist()
        gone = [c["model_id"] for c in first_cards if c["status"] == "ok"][:3]
        for model_id in gone:
            registry.set_readme(model_id, None)
        second = crawl(sim.url, tmp_path, snapshot="second")
    assert second.counts["cards_newly_missing"] == len(gone)
    assert second.counts["cards_asked"] == len(first_cards) - len(gone)


def test_bad_inputs_are_recorded_per_model(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=60, seed=5)
    odd_ids = ["org/mödel-ünïcode", "org/..", "../escape", "org/" + "x" * 300]
    for i, model_id in enumerate(odd_ids):
        record = {"id": model_id, "downloads": 10**9 - i, "siblings": [{"rfilename": "README.md"}]}
        registry.add(record, b"# odd\n")
    with_card = [m for m in registry.ids() if readme_of(registry, m) is not None and m not in odd_ids]
    binary, not_utf8, huge, gated, removed = with_card[:5]
    registry.set_readme(binary, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    registry.set_readme(not_utf8, b"caf\xe9 cr\xe8me\n")
    registry.set_readme(huge, b"# big\n" + b"a" * (11 * 1024 * 1024))
    registry.set_gated(gated, True)
    registry.set_readme(removed, None)
    with HubSimulator(registry) as sim:
        result = run_crawl(tmp_path, CrawlParams(), endpoint=sim.url)
        card_requests = sim.counters["resolvers"]
    cards = {c["model_id"]: c for c in pq.read_table(result.snapshot.cards).to_pylist()}
    # An id the Hub would not allow becomes no URL: its card is an error, and nothing is asked.
    assert card_requests == len(cards) - len(odd_ids) + result.counts["eval_results"]["files"]
    for model_id in odd_ids:
        assert cards[model_id]["status"] == "error" and "not requested" in cards[model_id]["error"]
    assert cards[binary]["status"] == "error" and "binary" in cards[binary]["error"]
    assert cards[not_utf8]["status"] == "ok" and "UTF-8" in cards[not_utf8]["error"]
    assert cards[huge]["status"] == "ok" and cards[huge]["truncated"]
    assert len(cards[huge]["readme"]) == 10 * 1024 * 1024
    assert cards[gated]["status"] == "gated"
    # The file list no longer names a README, so none is asked for.
    assert removed not in cards
    assert result.exit_code == 3 and result.counts["failed_models"] == 1 + len(odd_ids)
    # Nothing was written outside the snapshot, whatever the ids.
    assert {p.name for p in tmp_path.iterdir()} == {"snapshots"}


def test_renamed_repo_is_followed(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=5, seed=9)
    old = next(m for m in registry.ids() if readme_of(registry, m) is not None)
    sha = registry.sha(registry.index_of(old))
    registry.rename(old, "new-owner/renamed")
    records: list[Mapping[str, Any]] = []
    with HubSimulator(registry) as sim:
        client = HubClient(sim.url, retry=None)
        row = fetch_file(client, CARDS, SimpleNamespace(write=records.append), FileTarget(old, sha, README))
    assert row["status"] == "ok"
    assert row["readme"].encode() == readme_of(registry, "new-owner/renamed")
    record = records[-1]
    assert record["url"].endswith("/new-owner/renamed/resolve/" + sha + "/README.md")


def test_card_statuses_follow_the_hub_answers() -> None:
    def answer(status: int, code: str | None = None) -> Response:
        headers = {"X-Error-Code": code} if code else {}
        return Response("http://hub/m/resolve/s/README.md", status, headers, b"", utc_now())

    readme = FileTarget("m", "s", README)
    assert file_row(CARDS, readme, answer(404, "EntryNotFound"))["status"] == "missing"
    assert file_row(CARDS, readme, answer(401, "GatedRepo"))["status"] == "gated"
    assert file_row(CARDS, readme, answer(403, "GatedRepo"))["status"] == "gated"
    row = file_row(CARDS, readme, answer(451))
    assert row["status"] == "error" and row["error"] == "HTTP 451"


def test_authors_tell_organizations_from_users(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=400, seed=21)
    namespaces = sorted({m.split("/")[0] for m in registry.ids() if "/" in m})
    registry.set_account(namespaces[0], "org", verified=True)
    registry.set_account(namespaces[1], "user")
    with HubSimulator(registry) as sim:
        first = crawl(sim.url, tmp_path, snapshot="first", authors=True, cards=False)
        asked = sim.counters["overview"]
        sim.reset_counters()
        second = crawl(sim.url, tmp_path, snapshot="second", authors=True, cards=False)
        asked_again = sim.counters["overview"]
    authors = {a["author"]: a for a in pq.read_table(first.snapshot.authors).to_pylist()}
    assert set(authors) == set(namespaces)
    assert asked == len(namespaces)
    for name, row in authors.items():
        kind, verified = registry.account(name)
        assert row["kind"] == ("organization" if kind == "org" else "user")
        assert row["verified"] == (verified if kind == "org" else None)
    assert authors[namespaces[0]]["verified"] is True
    assert first.counts["authors"]["organization"] + first.counts["authors"]["user"] == len(namespaces)
    # Kinds known from the previous snapshot cost no request.
    assert asked_again == 0 and second.counts["authors"]["reused"] == len(namespaces)


def test_verified_organizations_reach_the_paper_comparison(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=300, seed=22)
    with HubSimulator(registry) as sim:
        result = crawl(sim.url, tmp_path, authors=True)
    run_analyze(tmp_path, result.snapshot.id)
    rows = load(result.snapshot)["paper_comparison"]["documentation"]
    verified = next(r for r in rows if r["measure"] == "organizations verified")
    assert verified["paper"]["count"] == 199 and verified["paper"]["of"] == 6243
    assert verified["snapshot"]["count"] == result.counts["authors"]["verified"]
    assert verified["snapshot"]["of"] == result.counts["authors"]["organization"]


@pytest.mark.slow
def test_each_card_archive_file_holds_the_responses_of_its_part(tmp_path: Path) -> None:
    # Cards are fetched ahead of the part being committed; their responses must still land in the
    # archive file of the part that holds their rows, or a resumed crawl archives them twice.
    registry = Registry.synthetic(n=2600, seed=31)
    with HubSimulator(registry) as sim:
        result = crawl(sim.url, tmp_path, workers=16)
    cards = pq.read_table(result.snapshot.cards).to_pylist()
    assert len(cards) > 2000
    files = result.snapshot.raw_parts("cards")
    assert len(files) == -(-len(cards) // PART_ROWS)
    for k, path in enumerate(files):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            archived = [json.loads(line)["url"] for line in handle]
        part = cards[k * PART_ROWS : (k + 1) * PART_ROWS]
        assert archived == [card_url(sim.url, c["model_id"], c["sha"]) for c in part], path.name


def test_a_refused_listing_is_one_line_whatever_the_body() -> None:
    # A proxy in front of a mirror answers with a multi-line HTML page and no X-Error-Message.
    page = b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\n<h1>Not Found</h1>\n</body>\n"
    for status, has_token, error in ((404, False, HubResponseError), (403, True, HubAuthError)):
        response = Response("http://hub/api/models?limit=1000", status, {}, page, utc_now())
        with pytest.raises(error) as err:
            raise_for_listing(response, has_token=has_token)
        assert "\n" not in str(err.value) and "\r" not in str(err.value)
        assert "404 Not Found" in str(err.value) or status == 403


def test_the_previous_snapshot_is_the_newest_by_start_time(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=50, seed=23)
    with HubSimulator(registry) as sim:
        crawl(sim.url, tmp_path, snapshot="zzz-oldest")
        crawl(sim.url, tmp_path, snapshot="aaa-newer")
        third = crawl(sim.url, tmp_path, snapshot="mmm-newest")
    assert read_manifest(third.snapshot)["since"] == "aaa-newer"


def test_a_page_that_stays_malformed_is_reported_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "2")
    registry = Registry.synthetic(n=30, seed=24)
    faults = Faults(rate=1.0, kinds=("bad_json",))
    with HubSimulator(registry, faults=faults) as sim, pytest.raises(HubResponseError) as err:
        crawl(sim.url, tmp_path, snapshot="s")
    message = str(err.value)
    assert "malformed JSON" in message and "gave up after 2 tries" in message and "\n" not in message
    manifest = read_manifest(DataDir(tmp_path).snapshot("s"))
    assert manifest["status"] == "partial" and manifest["error"] == message
