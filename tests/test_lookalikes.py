"""Look-alike names: the tricks that make a suspect, every exclusion, the settings, and bounded work."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.lookalike_bench import SAMPLES, read_labels
from pipeline.analyze import run_analyze
from pipeline.errors import SettingError
from pipeline.measures.lookalikes import (
    LookalikesSection,
    Named,
    Popular,
    PopularIndex,
    Settings,
    Work,
    build,
    card_copied,
    fold,
    names_original,
    osa_distance,
    own_words,
    popular_models,
)
from pipeline.measures.name_variants import variant_kind
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


WEIGHTS = ["config.json", "model.safetensors"]


def _snapshot(
    data_dir: Path,
    models: list[tuple[str, int]],
    tags: dict[str, list[str]],
    siblings: dict[str, list[str]] | None = None,
    cards: dict[str, str] | None = None,
) -> Snapshot:
    """A snapshot of `models` (every one with weights unless `siblings` says otherwise) and `cards`."""
    snapshot = DataDir(data_dir).snapshot("s")
    write_json(snapshot.manifest, {"snapshot_id": "s", "status": "complete"})
    rows = [
        {
            "model_id": m,
            "author": m.rpartition("/")[0] or None,
            "downloads": d,
            "tags": tags.get(m, []),
            "siblings": (siblings or {}).get(m, WEIGHTS),
        }
        for m, d in models
    ]
    write_parquet(snapshot.models, table_from_rows("models", rows))
    if cards:
        card_rows = [{"model_id": m, "status": "ok", "readme": text} for m, text in cards.items()]
        write_parquet(snapshot.cards, table_from_rows("cards", card_rows))
    return snapshot


POPULAR_MODELS = [
    ("google-bert/bert-base-uncased", 10_000),
    ("meta-llama/Llama-2-7b-chat", 9_000),
    ("openai/whisper-large", 8_000),
    ("gpt2", 7_000),  # authorless, and shorter than the shortest compared name
    ("TheOrg/mistral-7b", 6_000),
    ("bloke/falcon-7b-gguf", 5_000),
    ("facebook/bart-large-cnn", 4_000),
    ("Helsinki-NLP/opus-mt-ar-en", 3_000),
    ("textattack/bert-base-uncased-MNLI", 2_000),
    ("roberta-large", 1_500),  # authorless legacy id
    ("facebook/bart-large-xsum", 1_400),
    ("facebook/bart-base", 1_300),
]
# Not downloaded, so none of them is popular.
OTHERS = [
    ("evil/bert-base-uncased", 0),  # same name, other author, and nothing more
    ("evil/bert-base-uncasd", 0),  # one-letter typo
    ("evil/bert-bsae-uncased", 0),  # transposition
    ("evil/bert-base-uncasedxx", 0),  # two edits: no typo
    ("evil/whlsper-large", 0),  # homoglyph (l for i)
    ("evil/Whisper_Large", 0),  # case and separator: the same name
    ("evil/rnistral-7b", 0),  # rn for m: homoglyph
    ("rneta-llama/Llama-2-7b-chat", 0),  # homoglyph author
    ("faceb00k/bart-large-cnn", 0),  # homoglyph author (zeros)
    ("facebok/bart-large-cnn", 0),  # one-letter typo in the author
    ("evil/mistral-7c", 0),  # a size, not a typo
    ("evil/mistral-70b", 0),  # only digits differ: never compared
    ("evil/gpt3", 0),  # short names are never compared
    ("google-bert/bert-base-uncasd", 0),  # same author as the popular model
    ("Meta-Llama/Llama-2-7b-chut", 0),  # same author, other case
    ("fam/Llama-2-7b-chatt", 0),  # declares the popular model as its base
    ("fam/Llama-2-7b-chst", 0),  # declares a model whose base is the popular model
    ("empty/mistral-7b", 0),  # nothing to load
    ("unknown/falcon-7b-gguf", 0),  # file list unknown
    ("QA/opus-mt-ab-en", 0),  # another language pair
    ("tune/bert-base-uncased-QNLI", 0),  # another task
    ("trainer/bart-large-cnm", 0),  # the Trainer's sentence names another base
    ("credit/bart-base", 0),  # the card names the original's author
    ("copier/bart-large-xsum", 0),  # a copy of the popular card, which names the original
    ("legacy/roberta-large", 0),  # same name as an authorless legacy id
    ("a1/bert-base-uncased-mnli", 0),  # a name three authors hold: a tutorial's
    ("a2/bert-base-uncased-mnli", 0),
]
TAGS = {
    "fam/Llama-2-7b-chatt": ["base_model:finetune:meta-llama/Llama-2-7b-chat"],
    "fam/Llama-2-7b-chst": ["base_model:fam/Llama-2-7b-chatt"],
}
SIBLINGS: dict[str, list[str]] = {"empty/mistral-7b": [".gitattributes", "README.md"]}
POPULAR_CARD = "\n".join(
    f"Line {n} of the BART summarization card, written by its authors at facebook, long enough."
    for n in range(8)
)
CARDS = {
    "facebook/bart-large-xsum": POPULAR_CARD,
    "copier/bart-large-xsum": POPULAR_CARD,
    "credit/bart-base": "Weights converted from facebook's release.",
    "trainer/bart-large-cnm": "This model is a fine-tuned version of [t5-small](https://huggingface.co/t5-small)"
    " on the cnn_dailymail dataset.",
}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    data_dir = tmp_path_factory.mktemp("data")
    snapshot = _snapshot(data_dir, POPULAR_MODELS + OTHERS, TAGS, SIBLINGS, CARDS)
    table = pq.read_table(snapshot.models)
    siblings = [
        None if m == "unknown/falcon-7b-gguf" else s
        for m, s in zip(
            table.column("model_id").to_pylist(), table.column("siblings").to_pylist(), strict=True
        )
    ]
    table = table.set_column(
        table.column_names.index("siblings"),
        "siblings",
        pa.array(siblings, table.schema.field("siblings").type),
    )
    write_parquet(snapshot.models, table)
    run_analyze(data_dir, "s")
    return snapshot


def _rows(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    table = pq.read_table(snapshot.finding("lookalikes")).to_pylist()
    return {row["model_id"]: row for row in table}


def test_candidates(analyzed: Snapshot) -> None:
    rows = _rows(analyzed)
    bert, llama = "google-bert/bert-base-uncased", "meta-llama/Llama-2-7b-chat"
    whisper, mistral, bart = "openai/whisper-large", "TheOrg/mistral-7b", "facebook/bart-large-cnn"
    counted = {m: (r["popular_model"], r["rules"]) for m, r in rows.items() if r["counted"]}
    assert counted == {
        "evil/bert-base-uncasd": (bert, ["name_typo"]),
        "evil/bert-bsae-uncased": (bert, ["name_typo"]),
        "evil/whlsper-large": (whisper, ["name_homoglyph"]),
        "evil/rnistral-7b": (mistral, ["name_homoglyph"]),
        "rneta-llama/Llama-2-7b-chat": (llama, ["author_homoglyph"]),
        "faceb00k/bart-large-cnn": (bart, ["author_homoglyph"]),
        "facebok/bart-large-cnn": (bart, ["author_typo"]),
        "copier/bart-large-xsum": ("facebook/bart-large-xsum", ["same_name_other_author", "card_copy"]),
    }
    excluded = {m: r["exclusions"] for m, r in rows.items() if not r["counted"]}
    assert excluded == {
        "evil/bert-base-uncased": ["same_name_only"],
        "evil/Whisper_Large": ["same_name_only"],
        "evil/mistral-7c": ["variant_number"],
        "fam/Llama-2-7b-chatt": ["declares_original"],
        "fam/Llama-2-7b-chst": ["declares_original"],
        "empty/mistral-7b": ["no_weights", "same_name_only"],
        "unknown/falcon-7b-gguf": ["weights_unknown", "same_name_only"],
        "QA/opus-mt-ab-en": ["variant_language"],
        "tune/bert-base-uncased-QNLI": ["variant_task", "tutorial_name"],  # near a tutorial's name
        "trainer/bart-large-cnm": ["declares_own_base"],
        "credit/bart-base": ["card_names_original", "same_name_only"],
        "legacy/roberta-large": ["legacy_name", "same_name_only"],
        "a1/bert-base-uncased-mnli": ["same_name_only", "tutorial_name"],
        "a2/bert-base-uncased-mnli": ["same_name_only", "tutorial_name"],
    }
    assert rows["evil/bert-base-uncasd"]["popular_downloads"] == 10_000
    assert rows["evil/bert-base-uncasd"]["weight_formats"] == ["safetensors"]
    assert rows["trainer/bart-large-cnm"]["declared_base"] == "t5-small"
    assert rows["a1/bert-base-uncased-mnli"]["name_authors"] == 3


def test_section(analyzed: Snapshot) -> None:
    validate(load(analyzed))
    summary = load_summary(analyzed)
    section = summary.section(LookalikesSection)
    assert section.suspects == 22 and section.candidates == 8
    assert section.by_rule == {
        "same_name_other_author": 1,
        "author_homoglyph": 2,
        "author_typo": 1,
        "name_homoglyph": 2,
        "name_typo": 2,
        "card_copy": 1,
    }
    assert section.excluded["tutorial_name"] == 3
    assert section.top[0].popular_model == "google-bert/bert-base-uncased"
    assert section.popular == len(POPULAR_MODELS) and section.min_downloads == 1_000
    # Unreviewed candidates are no headline figure.
    assert not section.headline()


def test_popular_is_absolute_not_a_rank(tmp_path: Path) -> None:
    """A snapshot whose most downloaded model has 500 downloads has no popular model by default."""
    snapshot = _snapshot(tmp_path, [("a/roberta-large", 500), ("b/roberta-lrage", 0)], {})
    assert build(snapshot)[1].popular == 0
    table, section, _ = build(snapshot, Settings(min_downloads=None, top=1))
    assert table.column("model_id").to_pylist() == ["b/roberta-lrage"] and section.candidates == 1


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(min_downloads=100, top=None), ["a/m", "c/m", "b/m"]),
        (Settings(min_downloads=None, top=2), ["a/m", "c/m"]),
        (Settings(min_downloads=300, top=2), ["a/m", "c/m"]),
        (Settings(min_downloads=100, top=4), ["a/m", "c/m", "b/m", "d/m"]),
        (Settings(min_downloads=None, top=None), []),
    ],
)
def test_popular_is_the_floor_or_the_top_most_downloaded_first_ties_by_id(
    tmp_path: Path, settings: Settings, expected: list[str]
) -> None:
    rows = [("d/m", 5), ("b/m", 100), ("a/m", 300), ("c/m", 300), ("e/m", 0), ("f/m", None)]
    snapshot = _snapshot(tmp_path, rows, {})
    assert [p.named.model_id for p in popular_models(snapshot, settings)] == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Settings(1_000, None, 3)),
        ({"HUBMINE_LOOKALIKE_MIN_DOWNLOADS": "none", "HUBMINE_LOOKALIKE_TOP": "500"}, Settings(None, 500, 3)),
        ({"HUBMINE_LOOKALIKE_TUTORIAL_AUTHORS": "5"}, Settings(1_000, None, 5)),
        ({"HUBMINE_LOOKALIKE_TUTORIAL_AUTHORS": "None"}, Settings(1_000, None, None)),
    ],
)
def test_settings_from_env(environ: dict[str, str], expected: Settings) -> None:
    assert Settings.from_env(environ) == expected


@pytest.mark.parametrize("text", ["-3", "²", "١٢"])
def test_a_bad_setting_says_what_to_do(text: str) -> None:
    """Digits other than ASCII's (`²` is a digit to str.isdigit, not to int) are refused the same way."""
    with pytest.raises(SettingError, match=f"HUBMINE_LOOKALIKE_TOP='{text}' must be a whole number"):
        Settings.from_env({"HUBMINE_LOOKALIKE_TOP": text})


@pytest.mark.parametrize(
    ("popular", "name", "expected"),
    [
        ("wav2vec2-large-xlsr-53-ar", "wav2vec2-large-xlsr-53-ca", "language"),
        ("multiberts-seed-8", "multiberts-seed_3", "number"),
        ("bert-base-uncased-mnli", "bert-base-uncased-qnli", "task"),
        ("bert-base-uncased-MNLI", "bert-base-uncased-mnli", "casing"),
        ("bert-base", "Bertbase", "separator"),
        ("bart-base", "bert-base", "architecture"),
        ("llama-7b", "llama-7b-gguf", "format"),
        ("t5-small", "t5-base", "size"),
        ("bert-base-uncased", "bert-base-uncasd", None),
        ("whisper-large", "whlsper-large", None),
    ],
)
def test_systematic_variants(popular: str, name: str, expected: str | None) -> None:
    assert variant_kind(popular, name) == expected


def test_card_copy_and_own_words() -> None:
    assert card_copied(POPULAR_CARD + "\nmine", POPULAR_CARD)
    assert not card_copied("\n".join(POPULAR_CARD.splitlines()[:4]), POPULAR_CARD)
    header = "This is a copy of facebook/bart-large-xsum."
    assert own_words(header + "\n" + POPULAR_CARD, POPULAR_CARD) == header


@pytest.mark.parametrize(
    ("suspect", "card", "expected"),
    [
        # The suspect's own author is taken out as a word only, never from inside the popular one's.
        ("go/bert-base-uncasd", "Fine-tuned from google/bert-base-uncased.", True),
        ("le/bert-base-uncased", "A copy of google/bert-base-uncased.", True),
        ("go/bert-base-uncasd", "By google, for go.", True),
        # Its own id and author are not the original's.
        ("googl/bert-base-uncased", "googl/bert-base-uncased by googl", False),
    ],
)
def test_a_card_names_the_original_whatever_the_suspects_author(
    suspect: str, card: str, expected: bool
) -> None:
    assert names_original(card, Named.of(suspect), Named.of("google/bert-base-uncased")) is expected


def test_a_copied_cards_trainer_sentence_is_no_evidence_of_the_suspects_base(tmp_path: Path) -> None:
    """The copy's sentence names the popular model's base: neither an exclusion nor the suspect's evidence."""
    popular_card = "This model is a fine-tuned version of [facebook/bart-large](x) on xsum.\n" + POPULAR_CARD
    cards = {"facebook/bart-large-xsum": popular_card, "copier/bart-large-xsum": "Mine.\n" + popular_card}
    models = [("facebook/bart-large-xsum", 5_000), ("copier/bart-large-xsum", 0)]
    table, _, _ = build(_snapshot(tmp_path, models, {}, cards=cards))
    [row] = table.to_pylist()
    assert (row["counted"], row["rules"], row["declared_base"]) == (
        True,
        ["same_name_other_author", "card_copy"],
        None,
    )


def test_a_trainer_sentence_naming_the_popular_models_base_declares_the_original(tmp_path: Path) -> None:
    """Both declarations, tags and the Trainer's sentence, count the popular model's bases as the original."""
    data_dir = tmp_path
    models = [("facebook/bart-large-cnn", 5_000), ("student/bart-large-cnm", 0)]
    cards = {"student/bart-large-cnm": "This model is a fine-tuned version of [bart-large](x) on cnn."}
    tags = {"facebook/bart-large-cnn": ["base_model:finetune:facebook/bart-large"]}
    snapshot = _snapshot(data_dir, models, tags, cards=cards)
    run_analyze(data_dir, "s")
    [row] = pq.read_table(snapshot.finding("lookalikes")).to_pylist()
    assert (row["declared_base"], row["exclusions"]) == ("bart-large", ["declares_original"])


def test_the_less_downloaded_model_is_the_lookalike(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, [("a/roberta-large", 5_000), ("b/roberta-lrage", 50_000)], {})
    table, section, _ = build(snapshot)
    assert table.column("model_id").to_pylist() == ["a/roberta-large"]
    assert section.by_rule == {"name_typo": 1}


def test_work_is_bounded_by_the_models_not_their_pairs(tmp_path: Path) -> None:
    """10,000 models against 1,000 popular names: only pairs the index pairs get a distance computed."""
    rng = random.Random(0)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(8, 20)))

    popular = [(f"org{i}/{word()}", 1_000_000 - i) for i in range(1000)]
    planted = [(f"evil{i}/{name.split('/')[1][:-1]}q", 0) for i, (name, _) in enumerate(popular[:50])]
    others = [(f"user{i}/{word()}", 1) for i in range(10_000 - len(planted))]
    snapshot = _snapshot(tmp_path, popular + planted + others, {})
    table, section, work = build(snapshot)
    assert section.popular == 1000
    flagged = {m.split("/")[0] for m in table.column("model_id").to_pylist()}
    assert {f"evil{i}" for i in range(50)} <= flagged
    assert work.names == 11_000
    # All pairs would be 11,000,000 distance computations; both ends of the names must meet first.
    assert work.distance_checks < 500
    assert work.deletions <= 11_000 * 2 * (1 + 10)


def test_index_finds_what_brute_force_finds() -> None:
    names = ["transformer-xl", "transfomer-xl", "transformer-x", "tranformerxl", "distilroberta", "roberta"]
    popular = [Popular(Named.of(f"p/{n}"), 100) for n in names[:1] + names[4:5]]
    index = PopularIndex.of(popular)
    work = Work()
    found = {n: [distance for _, distance in index.matches(Named.of(f"q/{n}"), work)] for n in names}
    assert found == {
        "transformer-xl": [0],
        "transfomer-xl": [1],
        "transformer-x": [1],
        "tranformerxl": [],  # two edits
        "distilroberta": [0],
        "roberta": [],
    }


def test_the_benchmark_labels_are_complete_and_follow_the_rules() -> None:
    """Every label of bench/lookalike_labels.jsonl is one of the benchmark's, with its reason."""
    labels = read_labels()
    assert len(labels) >= 150
    reasons = {"empty", "tutorial", "variant", "declared", "own_model", "original"}
    for row in labels.values():
        assert row["sample"] in SAMPLES
        assert row["label"] in {"impersonation", "benign", "unclear"}
        assert (row["reason"] in reasons) == (row["label"] == "benign"), row
