"""Hostile model cards travel through crawl, analyze and report without stopping any of them."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.crawl import CrawlParams, run_crawl
from pipeline.report import run_report

LAUGHS = "\n".join(
    ["---", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
        for i in range(9)
    ]
    + ["---", "# Laughs"]
)
DEEP = "---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n"
HOSTILE: dict[str, bytes] = {
    "hostile/billion-laughs": LAUGHS.encode(),
    "hostile/deep": DEEP.encode(),
    "hostile/broken-yaml": b"---\nlicense: [mit\n---\n# Card\n",
    "hostile/list-front-matter": b"---\n- a\n- b\n---\n# Card\n",
    "hostile/norwegian": b"---\nlanguage: no\nlicense: mit\n---\n# Norsk\n",
    "hostile/model-index-dict": b"---\nmodel-index: {name: x, results: oops}\n---\n# Card\n",
    "hostile/claims-in-strings": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
        b"    dataset: {name: sst2}\n    metrics:\n    - {type: accuracy, value: '91.3%'}\n---\n# Card\n"
    ),
    "hostile/binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "hostile/latin-1": b"---\nlicense: mit\n---\n# Caf\xe9\n",
    "hostile/whitespace": b"  \n\t\n",
}


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("quick_retries")]


def test_hostile_cards_are_recorded_not_fatal(tmp_path: Path) -> None:
    registry = Registry.synthetic(n=20, seed=41)
    for model_id, readme in HOSTILE.items():
        registry.add({"id": model_id, "siblings": [{"rfilename": "README.md"}]}, readme)
    with HubSimulator(registry) as sim:
        crawled = run_crawl(tmp_path / "data", CrawlParams(), snapshot_id="s", endpoint=sim.url)
    assert crawled.status == "complete" and crawled.exit_code == 3  # the binary README is an error
    run_analyze(tmp_path / "data", "s")
    run_report(tmp_path / "data", "s", tmp_path / "report")

    parsed = {r["model_id"]: r for r in pq.read_table(crawled.snapshot.finding("parsed_cards")).to_pylist()}
    attributes = {r["model_id"]: r for r in pq.read_table(crawled.snapshot.finding("attributes")).to_pylist()}
    assert set(HOSTILE) <= set(parsed) and set(HOSTILE) <= set(attributes)
    problems = {model_id: set(parsed[model_id]["problems"] or []) for model_id in HOSTILE}
    assert "yaml_alias_bomb" in problems["hostile/billion-laughs"]
    assert "yaml_too_deep" in problems["hostile/deep"]
    assert "yaml_error" in problems["hostile/broken-yaml"]
    assert "yaml_not_mapping" in problems["hostile/list-front-matter"]
    assert "model_index_wrong_type" in problems["hostile/model-index-dict"]
    assert not attributes["hostile/broken-yaml"]["has_license"]
    # YAML 1.2: `no` is Norwegian, not false.
    assert attributes["hostile/norwegian"]["has_language"] and attributes["hostile/norwegian"]["has_license"]
    assert attributes["hostile/claims-in-strings"]["has_eval_claims"]
    claims = pq.read_table(crawled.snapshot.finding("claims")).to_pylist()
    claim = next(c for c in claims if c["model_id"] == "hostile/claims-in-strings")
    assert claim["value"] == 91.3 and claim["value_raw"] == '"91.3%"'
    assert attributes["hostile/latin-1"]["has_license"] and attributes["hostile/latin-1"]["has_card_body"]
    assert not attributes["hostile/whitespace"]["has_card"]
    assert (tmp_path / "report" / "report.html").stat().st_size > 0
