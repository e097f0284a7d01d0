"""Look-alike names: edit and homoglyph hits, same-name copies, the exclusions, and bounded work."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.analyze import run_analyze
from pipeline.measures.lookalikes import (
    LookalikesSection,
    Named,
    Popular,
    PopularIndex,
    Work,
    build,
    fold,
    osa_distance,
    variant_stem,
)
from pipeline.measures.summary import load, load_summary, validate
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot


def test_fold() -> None:
    assert fold("LLama_2") == fold("l1ama-2") == fold("IIama-2")
    assert fold("rnistral") == fold("mistral")
    assert fold("vvhisper") == fold("whisper")
    assert fold("bеrt-bаse") == fold("bert-base")  # Cyrillic е and а


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("roberta", "roberta", 0),
        ("roberta", "robreta", 1),  # adjacent transposition
        ("roberta", "roberts", 1),
        ("roberta", "oberta", 1),
        ("roberta", "robertaxx", 2),
        ("roberta", "rxbxrta", 2),
        ("roberta", "xxxerta", 3),
    ],
)
def test_osa_distance(a: str, b: str, expected: int) -> None:
    assert osa_distance(a, b, 2) == min(expected, 3)


def _snapshot(data_dir: Path, models: list[tuple[str, int]], tags: dict[str, list[str]]) -> Snapshot:
    snapshot = DataDir(data_dir).snapshot("s")
    write_json(snapshot.manifest, {"snapshot_id": "s", "status": "complete"})
    rows = [
        {"model_id": m, "author": m.rpartition("/")[0] or None, "downloads": d, "tags": tags.get(m, [])}
        for m, d in models
    ]
    write_parquet(snapshot.models, table_from_rows("models", rows))
    return snapshot


POPULAR_MODELS = [
    ("google-bert/bert-base-uncased", 10_000),
    ("meta-llama/Llama-2-7b-chat", 9_000),
    ("openai/whisper-large", 8_000),
    ("gpt2", 7_000),  # authorless, and shorter than the shortest compared name
    ("TheOrg/mistral-7b", 6_000),
    ("bloke/falcon-7b-gguf", 5_000),
]
# Not downloaded, so none of them is popular.
OTHERS = [
    ("evil/bert-base-uncased", 0),  # same name, other author
    ("evil/bert-base-uncasd", 0),  # edit distance 1
    ("evil/bert-bsae-uncased", 0),  # transposition
    ("evil/bert-base-uncasedxx", 0),  # distance 2 on a long name
    ("evil/whlsper-large", 0),  # homoglyph (l for i)
    ("evil/Whisper_Large", 0),  # case and separator: homoglyph
    ("evil/rnistral-7b", 0),  # rn for m: homoglyph
    ("evil/mistral-7c", 0),  # edit distance 1 on a 10-character name
    ("evil/mistral-70b", 0),  # only digits differ: another size, not a look-alike
    ("evil/gpt3", 0),  # short names are never compared
    ("evil/mistral-7bxx", 0),  # distance 2 on a name shorter than 12: too far
    ("google-bert/bert-base-uncasd", 0),  # same author as the popular model
    ("Meta-Llama/Llama-2-7b-chut", 0),  # same author, other case
    ("fam/Llama-2-7b-chatt", 0),  # declares the popular model as its base
    ("fam/Llama-2-7b-chst", 0),  # declares a model whose base is the popular model
    ("fam/Llama-2-7b-chat-q", 0),  # unrelated base, quantized-name variant: still flagged (distance 2)
    ("quant/bert-base-uncased-4bit", 0),  # distance > 2: not a candidate at all
    ("quant/Llama-2-7b-chat-awq", 0),  # distance 4: not a candidate
    ("quant/falcon-7b-ggml", 0),  # another quantization of a declared base: excluded
    ("evil/falcon-7b-ggml", 0),  # the same name declaring no base: flagged
]
TAGS = {
    "fam/Llama-2-7b-chatt": ["base_model:finetune:meta-llama/Llama-2-7b-chat"],
    "fam/Llama-2-7b-chst": ["base_model:fam/Llama-2-7b-chatt"],
    "fam/Llama-2-7b-chat-q": ["base_model:someone/else"],
    "quant/falcon-7b-ggml": ["base_model:quantized:tiiuae/falcon-7b"],
}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    data_dir = tmp_path_factory.mktemp("data")
    snapshot = _snapshot(data_dir, POPULAR_MODELS + OTHERS, TAGS)
    run_analyze(data_dir, "s")
    return snapshot


def _rows(snapshot: Snapshot) -> dict[tuple[str, str], dict[str, Any]]:
    table = pq.read_table(snapshot.finding("lookalikes")).to_pylist()
    return {(row["model_id"], row["popular_model"]): row for row in table}


def test_candidates(analyzed: Snapshot) -> None:
    rows = _rows(analyzed)
    flagged = {key: (row["kind"], row["distance"]) for key, row in rows.items() if row["excluded"] is None}
    bert, llama = "google-bert/bert-base-uncased", "meta-llama/Llama-2-7b-chat"
    whisper, mistral = "openai/whisper-large", "TheOrg/mistral-7b"
    assert flagged == {
        ("evil/bert-base-uncased", bert): ("same_name_other_author", 0),
        ("evil/bert-base-uncasd", bert): ("edit", 1),
        ("evil/bert-bsae-uncased", bert): ("edit", 1),
        ("evil/bert-base-uncasedxx", bert): ("edit", 2),
        ("evil/whlsper-large", whisper): ("homoglyph", 0),
        ("evil/Whisper_Large", whisper): ("homoglyph", 0),
        ("evil/rnistral-7b", mistral): ("homoglyph", 0),
        ("evil/mistral-7c", mistral): ("edit", 1),
        ("fam/Llama-2-7b-chat-q", llama): ("edit", 2),
        ("evil/falcon-7b-ggml", "bloke/falcon-7b-gguf"): ("edit", 2),
    }
    excluded = {key: row["excluded"] for key, row in rows.items() if row["excluded"] is not None}
    assert excluded == {
        ("fam/Llama-2-7b-chatt", llama): "declared_family",
        ("fam/Llama-2-7b-chst", llama): "declared_family",
        ("quant/falcon-7b-ggml", "bloke/falcon-7b-gguf"): "variant_of_declared_base",
    }
    assert rows[("evil/bert-base-uncasd", bert)]["popular_downloads"] == 10_000


def test_section(analyzed: Snapshot) -> None:
    validate(load(analyzed))
    section = load_summary(analyzed).section(LookalikesSection)
    assert section.candidates == 10 and section.models == 10
    assert section.by_kind == {"same_name_other_author": 1, "homoglyph": 3, "edit": 6}
    assert section.excluded == {"declared_family": 2, "variant_of_declared_base": 1}
    assert section.top[0].popular_model == "google-bert/bert-base-uncased"
    assert section.popular == len(POPULAR_MODELS)


def test_the_less_downloaded_model_is_the_lookalike(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, [("a/roberta-large", 50), ("b/roberta-lrage", 500)], {})
    table, section, _ = build(snapshot)
    assert table.column("model_id").to_pylist() == ["a/roberta-large"]
    assert section.by_kind == {"edit": 1}


def test_work_is_bounded_by_the_models_not_their_pairs(tmp_path: Path) -> None:
    """10,000 models against 1,000 popular names: only pairs the index pairs get a distance computed."""
    rng = random.Random(0)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(8, 20)))

    popular = [(f"org{i}/{word()}", 1_000_000 - i) for i in range(1000)]
    planted = [(f"evil{i}/{name.split('/')[1][:-1]}x", 0) for i, (name, _) in enumerate(popular[:50])]
    others = [(f"user{i}/{word()}", 1) for i in range(10_000 - len(planted))]
    snapshot = _snapshot(tmp_path, popular + planted + others, {})
    table, section, work = build(snapshot)
    assert section.popular == 1000
    flagged = {m.split("/")[0] for m in table.column("model_id").to_pylist()}
    assert {f"evil{i}" for i in range(50)} <= flagged
    assert work.names == 11_000
    # All pairs would be 11,000,000 distance computations; both ends of the names must meet first.
    assert work.distance_checks < 500
    assert work.deletions <= 11_000 * 2 * (1 + 10 + 45)


def test_index_finds_what_brute_force_finds() -> None:
    names = ["transformer-xl", "transfomer-xl", "transformer-x", "tranformerxl", "distilroberta", "roberta"]
    popular = [Popular(Named.of(f"p/{n}"), 100) for n in names[:1] + names[4:5]]
    index = PopularIndex.of(popular)
    work = Work()
    found = {n: [kind for _, kind, _ in index.matches(Named.of(f"q/{n}"), work)] for n in names}
    assert found == {
        "transformer-xl": ["same_name_other_author"],
        "transfomer-xl": ["edit"],
        "transformer-x": ["edit"],
        "tranformerxl": ["edit"],
        "distilroberta": ["same_name_other_author"],
        "roberta": [],
    }


@pytest.mark.parametrize(
    "name",
    ["Llama-2-7b-chat-GPTQ", "llama-2-7b-chat_int4", "Llama-2-7b-chat-Q4_K_M", "llama-2-7b-chat-fp16-lora"],
)
def test_variant_suffixes(name: str) -> None:
    assert variant_stem(name) == "llama-2-7b-chat"
