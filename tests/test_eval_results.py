"""The eval-results phase against the Hub simulator, and the claims analyze reads from its files."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from crawl_helpers import assert_same_tables, crawl, rows

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.cards import stage
from pipeline.cards.eval_results import MAX_ROWS, eval_result_claims
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.crawl import fetch as fetch_module
from pipeline.crawl.eval_results import EVAL_RESULTS, MAX_FILES_PER_MODEL, eval_result_paths
from pipeline.schemas import table_from_rows
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.snapshot import read_manifest

pytestmark = pytest.mark.usefixtures("quick_retries")

GOOD = b"""- dataset:
    id: cais/mmlu
    task_id: mmlu
  value: 71.5
  date: '2025-02-01'
  source:
    url: https://example.org/run
    name: Leaderboard
    user: someone
  notes: 5-shot
  verifyToken: tok
- dataset: {id: openai/gsm8k, task_id: gsm8k}
  value: '45.2%'
  source: {user: alice}
  verifyToken: ''
"""
# Each anchor holds ten of the one before: a billion leaves if expanded.
ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 9)]
).encode()
BAD_ID = b"- dataset: {id: ../x, task_id: t}\n  value: 3\n- 7\n- dataset: [1]\n  value: {a: 1}\n"
HOSTILE = {
    ".eval_results/not-a-list.yaml": b"dataset: {id: a/b}\nvalue: 1\n",
    ".eval_results/bad-id.yaml": BAD_ID,
    ".eval_results/binary.yaml": b"\x00\x01\x02 binary",
    ".eval_results/huge.yml": b"- dataset: {id: a/b, task_id: t}\n  value: 1\n" + b"# padding\n" * 1000,
    ".eval_results/bomb.yaml": ALIAS_BOMB,
    ".eval_results/odd name?#.yaml": GOOD,
    ".eval_results/../escape.yaml": GOOD,
}
# Files that are no eval results: never asked for.
IGNORED = {".eval_results/notes.md": b"# notes\n", "other/results.yaml": GOOD}
CAP = 4096


def test_only_eval_results_yaml_files_are_selected_and_at_most_a_hundred() -> None:
    siblings = [
        "README.md",
        ".eval_results/b.yml",
        ".eval_results/a.YAML",
        ".eval_results/c.md",
        "x/.eval_results/d.yaml",
    ]
    assert eval_result_paths(siblings) == [".eval_results/a.YAML", ".eval_results/b.yml"]
    assert eval_result_paths(None) == []
    many = [f".eval_results/{k:04d}.yaml" for k in range(1000)]
    assert eval_result_paths(many) == many[:MAX_FILES_PER_MODEL]


def files_of(registry: Registry) -> dict[str, list[str]]:
    """Each model's eval-results files, as the crawl selects them from its siblings."""
    found = {m: eval_result_paths(registry.siblings(i)) for i, m in enumerate(registry.ids())}
    return {m: paths for m, paths in found.items() if paths}


def plain_models(registry: Registry, count: int) -> list[str]:
    """Models with a README, no eval-results file and no gate, in listing-independent id order."""
    chosen = [
        m
        for i, m in enumerate(registry.ids())
        if registry.has_readme(i) and not eval_result_paths(registry.siblings(i)) and not registry.gated(i)
    ]
    assert len(chosen) >= count
    return chosen[:count]


def with_good_files(n: int, extra: int, seed: int) -> Registry:
    registry = Registry.synthetic(n=n, seed=seed)
    for k, model_id in enumerate(plain_models(registry, extra)):
        registry.set_file(model_id, f".eval_results/run-{k}.yaml", GOOD)
    return registry


def eval_rows(snapshot: Snapshot) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["model_id"], r["path"]): r for r in pq.read_table(snapshot.eval_results).to_pylist()}


def test_each_file_costs_one_request_and_none_when_the_sha_is_unchanged(tmp_path: Path) -> None:
    registry = with_good_files(n=120, extra=10, seed=41)
    expected = files_of(registry)
    assert sum(map(len, expected.values())) > 10  # some come from the synthetic generator itself
    with HubSimulator(registry) as sim:
        first = crawl(sim.url, tmp_path, snapshot="first")
        first_requests = sim.counters["resolvers"]
        sim.reset_counters()
        second = crawl(sim.url, tmp_path, snapshot="second")
        second_requests = sim.counters["resolvers"]
        changed = set(registry.change_shas(fraction=0.3, seed=2))
        sim.reset_counters()
        third = crawl(sim.url, tmp_path, snapshot="third")
        third_evals = sim.counters["resolvers"] - third.counts["cards_fetched"]
    files = sum(map(len, expected.values()))
    found = eval_rows(first.snapshot)
    models = pq.read_table(first.snapshot.models, columns=["model_id", "sha"]).to_pylist()
    listed = {m["model_id"]: m["sha"] for m in models}
    assert sorted(found) == sorted((m, p) for m, paths in expected.items() for p in paths)
    for (model_id, path), row in found.items():
        index = registry.index_of(model_id)
        assert row["status"] == "ok" and not row["reused"] and not row["truncated"]
        assert row["sha"] == listed[model_id]
        assert row["text"].encode() == registry.file(index, path)
        assert row["size_bytes"] == len(row["text"].encode())
    assert first_requests == first.counts["cards_asked"] + files
    assert first.counts["eval_results"] == {
        "ok": files,
        "missing": 0,
        "gated": 0,
        "error": 0,
        "files": files,
        "reused": 0,
        "fetched": files,
    }
    assert f"eval-results files {files} ok" in first.summary_line()
    # Nothing changed: every file is taken from the first snapshot, without a request.
    assert second_requests == 0
    assert second.counts["eval_results"]["reused"] == files
    assert rows(second.snapshot.eval_results, {"reused"}) == rows(first.snapshot.eval_results, {"reused"})
    # A new sha asks again for that model's files, and only those.
    refetched = sum(len(paths) for m, paths in expected.items() if m in changed)
    assert refetched and third_evals == refetched == third.counts["eval_results"]["fetched"]


def test_no_cards_crawl_fetches_no_eval_results(tmp_path: Path) -> None:
    registry = with_good_files(n=30, extra=3, seed=42)
    with HubSimulator(registry) as sim:
        result = crawl(sim.url, tmp_path, cards=False)
        assert sim.counters["resolvers"] == 0
    assert not result.snapshot.eval_results.exists() and "eval_results" not in result.counts


def interrupting(after: int, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real` for eval-results files, except that the `after`-th such call is a Ctrl-C; counts the rest."""
    calls = {"n": 0, "fetched": 0}

    def fetch(client: Any, kind: Any, archive: Any, target: Any) -> dict[str, Any]:
        if kind is EVAL_RESULTS:
            calls["n"] += 1
            if calls["n"] == after:
                raise KeyboardInterrupt
            calls["fetched"] += 1
        return real(client, kind, archive, target)

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_resume_after_an_interruption_equals_a_clean_crawl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_module, "PART_ROWS", 4)
    registry = with_good_files(n=60, extra=20, seed=43)
    files = sum(map(len, files_of(registry).values()))
    with HubSimulator(registry) as sim:
        clean = crawl(sim.url, tmp_path / "clean", workers=2)
        fetch = interrupting(11, fetch_module.fetch_file)
        monkeypatch.setattr(fetch_module, "fetch_file", fetch)
        with pytest.raises(KeyboardInterrupt):
            crawl(sim.url, tmp_path / "cut", snapshot="s1", workers=1)
        snapshot = DataDir(tmp_path / "cut").snapshot("s1")
        assert read_manifest(snapshot)["status"] == "partial"
        resumed = run_crawl(tmp_path / "cut", CrawlParams(), snapshot_id="s1", resume=True, endpoint=sim.url)
    assert resumed.status == "complete"
    # Each file was asked for once over both runs: what the first received was replayed or committed.
    assert fetch.calls["fetched"] == files  # type: ignore[attr-defined]
    assert not snapshot.journal("eval_results").exists() and not snapshot.parts_root.exists()
    assert len(snapshot.raw_parts("eval_results")) == -(-files // 4)
    assert_same_tables(clean.snapshot, snapshot)


def hostile_registry() -> tuple[Registry, str, str]:
    registry = Registry.synthetic(n=40, seed=44)
    host, gated = plain_models(registry, 2)
    for path, content in {**HOSTILE, **IGNORED}.items():
        registry.set_file(host, path, content)
    registry.set_file(gated, ".eval_results/gated.yaml", GOOD)
    registry.set_gated(gated, True)
    return registry, host, gated


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, str, str, int]:
    registry, host, gated = hostile_registry()
    data_dir = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch, HubSimulator(registry) as sim:
        patch.setenv("HUBMINE_MAX_EVAL_RESULTS_BYTES", str(CAP))
        patch.setenv("HUBMINE_BACKOFF_S", "0.01")
        patch.delenv("HF_TOKEN", raising=False)
        patch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        result = crawl(sim.url, data_dir)
        requests = sim.counters["resolvers"] - result.counts["cards_asked"]
        run_analyze(data_dir, result.snapshot.id)
    return result.snapshot, host, gated, requests


def test_hostile_files_are_recorded_not_raised(hostile_crawl: tuple[Snapshot, str, str, int]) -> None:
    snapshot, host, gated, requests = hostile_crawl
    found = eval_rows(snapshot)
    assert not any(path in IGNORED for _, path in found)
    assert found[(gated, ".eval_results/gated.yaml")]["status"] == "gated"
    escape = found[(host, ".eval_results/../escape.yaml")]
    assert (
        escape["status"] == "error" and "not requested" in escape["error"] and escape["http_status"] is None
    )
    binary = found[(host, ".eval_results/binary.yaml")]
    assert binary["status"] == "error" and "binary" in binary["error"]
    huge = found[(host, ".eval_results/huge.yml")]
    assert huge["status"] == "ok" and huge["truncated"] and huge["size_bytes"] == CAP
    assert "HUBMINE_MAX_EVAL_RESULTS_BYTES" in huge["error"]
    odd = found[(host, ".eval_results/odd name?#.yaml")]
    assert odd["status"] == "ok" and odd["text"].encode() == GOOD
    # One request per file except the path that was refused before any request.
    assert requests == len(found) - 1


def test_eval_results_become_claims(hostile_crawl: tuple[Snapshot, str, str, int]) -> None:
    snapshot, host, _, _ = hostile_crawl
    claims = [
        c for c in pq.read_table(snapshot.finding("claims")).to_pylist() if c["source"] == "eval-results"
    ]
    assert claims and all(c["counts"] is False and c["not_counted"] == "not_model_index" for c in claims)
    mine = [c for c in claims if c["model_id"] == host]
    mmlu = [c for c in mine if c["dataset_name"] == "cais/mmlu"]
    # The good file under its odd name; the one whose path walks out of the folder was never asked for.
    assert len(mmlu) == 1
    first = mmlu[0]
    assert first["dataset_id"] == "cais/mmlu" and first["task_type"] == "mmlu"
    assert first["value"] == 71.5 and first["value_raw"] == "71.5" and not first["is_percent"]
    assert first["verified"] is True
    assert (first["source_name"], first["source_url"], first["claim_date"]) == (
        "Leaderboard",
        "https://example.org/run",
        "2025-02-01",
    )
    assert first["metric_type"] is None and first["metric"] is None
    gsm8k = next(c for c in mine if c["dataset_name"] == "openai/gsm8k")
    assert gsm8k["value"] == 45.2 and gsm8k["is_percent"] and gsm8k["verified"] is False
    assert gsm8k["source_name"] == "alice"
    bad = [c for c in mine if c["dataset_name"] == "../x"]
    assert len(bad) == 1 and bad[0]["dataset_id"] is None and bad[0]["value"] == 3
    wrong = [c for c in mine if c["dataset_name"] is None]
    assert len(wrong) == 1 and wrong[0]["value"] is None  # bad-id's last entry: dataset and value of no use
    summary = json.loads(snapshot.summary.read_text())
    problems = summary["cards"]["problems"]
    for code in (
        "eval_results_not_a_list",
        "eval_results_entry_wrong_type",
        "eval_results_dataset_wrong_type",
        "eval_results_value_not_numeric",
        "eval_results_yaml_alias_bomb",
    ):
        assert problems.get(code, 0) >= 1, code


def test_a_legacy_dataset_id_is_resolved_and_a_namespaced_one_kept() -> None:
    text = (
        "- dataset: {id: imagenet, task_id: image-classification}\n  value: 81.2\n"
        "- dataset: {id: org/private-set}\n  value: 0.5\n"
    )
    rows, problems = eval_result_claims("org/m", text)
    assert problems == [] and [row["dataset_id"] for row in rows] == ["ILSVRC/imagenet-1k", "org/private-set"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just text",
        "- 1\n- [2]\n",
        "{{{",
        "- dataset: {id: " + "a" * 5000 + "}\n  value: .nan\n",
        "- dataset: {id: org/ok, task_id: {a: 1}}\n  value: 1e400\n  date: 2025-01-01\n  verifyToken: 5\n",
        "- " * 500 + "x\n",
        "- !!python/object:os.system {}\n",
    ],
)
def test_any_text_gives_rows_or_problems_never_an_exception(text: str) -> None:
    claims, problems = eval_result_claims("m", text)
    for claim in claims:
        assert claim["source"] == "eval-results" and claim["counts"] is False
        assert claim["value"] is None or claim["value"] == claim["value"]
        assert claim["dataset_id"] in (None, "org/ok") and claim["verified"] is False
    assert claims or problems


def test_one_file_gives_at_most_max_rows_claims() -> None:
    text = "".join(f"- dataset: {{id: a/b, task_id: t}}\n  value: {i}\n" for i in range(MAX_ROWS + 5))
    rows, problems = eval_result_claims("org/m", text)
    assert len(rows) == MAX_ROWS and problems == ["eval_results_capped"]


def test_one_model_gives_at_most_its_cap_of_claims_over_all_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage, "MAX_EVAL_RESULTS_ROWS", 3)
    two = "- dataset: {id: a/b}\n  value: 1\n- dataset: {id: a/c}\n  value: 2\n"
    files = [("org/big", f"{n}.yaml", two) for n in range(3)] + [("org/small", "0.yaml", two)]
    snapshot = Snapshot(tmp_path)
    pq.write_table(
        table_from_rows(
            "eval_results", [{"model_id": m, "path": p, "status": "ok", "text": t} for m, p, t in files]
        ),
        snapshot.eval_results,
    )
    claims = pa.concat_tables(table for table, _ in stage._eval_result_claims(snapshot)).to_pylist()
    problems = sum((found for _, found in stage._eval_result_claims(snapshot)), Counter())
    assert Counter(claim["model_id"] for claim in claims) == {"org/big": 3, "org/small": 2}
    assert problems["eval_results_model_capped"] == 2  # the second file cut, the third skipped
