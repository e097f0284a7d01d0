"""Card text is read in linear time: hostile inputs that once made a pattern backtrack are cut before
matching or read by string methods. Work is bounded by the characters handed to patterns and by the steps a
backtracking matcher takes (`regex_steps.py`), never timed."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest
from regex_steps import growth

import pipeline.cards
from pipeline.cards import claims, frontmatter, links, sections, tables, training
from pipeline.cards.parse import parse_card
from pipeline.cards.sections import find_headings
from pipeline.hub import ratelimit
from pipeline.measures import scores

CARD_MODULES = [
    importlib.import_module(f"pipeline.cards.{info.name}")
    for info in pkgutil.iter_modules(pipeline.cards.__path__)
]


class RecordingPattern:
    """A compiled pattern that records the length of every string it is given."""

    def __init__(self, pattern: re.Pattern[str], lengths: list[tuple[str, int]]) -> None:
        self._pattern, self._lengths = pattern, lengths

    def _record(self, text: Any) -> None:
        self._lengths.append((self._pattern.pattern, len(text)))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._pattern, name)
        if name in {"sub", "subn"}:
            return lambda replacement, text, *args, **kw: (
                self._record(text) or method(replacement, text, *args, **kw)
            )
        if callable(method):
            return lambda text, *args, **kw: self._record(text) or method(text, *args, **kw)
        return method


@pytest.fixture
def pattern_inputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every module-level pattern of the card readers, recording the lengths it reads."""
    lengths: list[tuple[str, int]] = []
    for module in CARD_MODULES:
        for attribute, value in vars(module).items():
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(module, attribute, RecordingPattern(value, lengths))
    sections.normalise.cache_clear()
    tables.metric_header.cache_clear()
    yield lengths
    sections.normalise.cache_clear()
    tables.metric_header.cache_clear()


@pytest.mark.parametrize(
    "text", ["1" * 200_000 + "x", " " * 200_000 + "1x", "1" * 200_000, "." + "1" * 200_000 + "e"]
)
def test_a_long_number_is_cut_before_matching(text: str, pattern_inputs: list[tuple[str, int]]) -> None:
    assert claims.parse_value(text) == (None, False)
    assert max((length for _, length in pattern_inputs), default=0) <= claims.MAX_NUMBER_CHARS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 85.3 % ", (85.3, True)),
        ("1" * 99 + "x", (None, False)),
        ("-1.5e3", (-1500.0, False)),
        ("%", (None, False)),
    ],
)
def test_numbers_still_parse(raw: str, expected: tuple[float | None, bool]) -> None:
    assert claims.parse_value(raw) == expected


SIZE = 100_000


def hostile_card(size: int) -> str:
    """A card whose lines each made one pattern backtrack: spaces before a missing `:`, `#` or `±`,
    runs of `[`, `<` and `{{`, a number of many digits, a DOI followed by closing brackets."""
    spaces = " " * size
    return "\n".join(
        [
            "---",
            "model-index:",
            "- name: m",
            "  results:",
            "  - task: {type: t}",
            "    dataset: {type: d}",
            f"    metrics: [{{type: accuracy, value: '{'1' * size}x'}}]",
            "---",
            f"# a{spaces}b #",
            "# " + "[" * size,
            "# " + "<" * size,
            "## Training hyperparameters",
            f"- a{spaces}*x",
            f"- learning_rate:{spaces}x",
            "## Framework versions",
            f"- a{spaces}b",
            "## Model description",
            "{{" * size,
            "TODO " + "{{" + "a" * size,
            "| Model | Accuracy |",
            "|---|---|",
            f"| m | 1{' ' * 250}x |",
            "doi: 10.1234/abc" + ")" * size,
            "## Training results",
            "| Training Loss | Epoch | Step | Validation Loss | Accuracy |",
            "|:---:|:---:|:---:|:---:|:---:|",
            f"| 0.1 | 1.0 | 10 | 0.2 | {'1' * size}x |",
            "It achieves the following results on the evaluation set:",
            f"- Accuracy: {'1' * 190}x",
        ]
    )


def test_a_hostile_card_is_read_with_bounded_pattern_inputs(pattern_inputs: list[tuple[str, int]]) -> None:
    card = hostile_card(SIZE)
    parsed = parse_card("hostile/card", card, None)
    assert "internal_error" not in parsed.problems
    assert parsed.claims[0]["source"] == "model-index" and parsed.claims[0]["value"] is None
    # Linear in the card: each pattern reads a line, a cell or the body a bounded number of times.
    assert sum(length for _, length in pattern_inputs) <= 30 * len(card)
    # Patterns that can backtrack within their input only ever see cut text.
    bounded = {
        claims._NUMBER.pattern: claims.MAX_NUMBER_CHARS,
        sections.LINK.pattern: sections.MAX_NORMALISED,
        sections.TAG.pattern: sections.MAX_NORMALISED,
    }
    for pattern, length in pattern_inputs:
        assert length <= bounded.get(pattern, length), pattern


@pytest.mark.parametrize(
    ("line", "param"),
    [
        ("- learning_rate: 2e-05", ("learning_rate", "2e-05")),
        ("- **Training regime:** fp16 mixed precision ", ("Training regime", "fp16 mixed precision")),
        ("  * train_batch_size :  8", ("train_batch_size ", "8")),
        ("- no colon here", None),
        ("-no space: x", None),
        ("- a" + " " * SIZE + "*x", None),
    ],
)
def test_hyperparameter_bullets(line: str, param: tuple[str, str] | None) -> None:
    assert training._param(line) == param


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("- Transformers 4.17.0", ("Transformers", "4.17.0")),
        ("- **Pytorch** v1.10.0+cu111 ", ("Pytorch", "1.10.0+cu111")),
        ("- Tokenizers\t0.11.6", ("Tokenizers", "0.11.6")),
        ("- Datasets", None),
        ("- a" + " " * SIZE + "b", None),
    ],
)
def test_framework_bullets(line: str, version: tuple[str, str] | None) -> None:
    assert training._version(line) == version


@pytest.mark.parametrize(
    ("heading", "text"),
    [("# Title ##", "Title"), ("# Title#", "Title#"), ("# ###", ""), ("# a" + " " * SIZE + "#", "a")],
)
def test_closing_hashes(heading: str, text: str) -> None:
    assert find_headings(heading)[0].text == text


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("85.3 ± 0.2", (85.3, False)),
        ("85.3 (+/- 1.2%)", (85.3, False)),
        ("85.3% +- 0.4", (85.3, True)),
        ("1 ± 2 +- 3", (None, False)),
        ("1" + " " * 250 + "x ± 1", (None, False)),
        ("± 1", (None, False)),
    ],
)
def test_table_numbers_with_a_spread(cell: str, value: tuple[float | None, bool]) -> None:
    assert tables.number(cell) == value


def test_a_doi_before_a_long_run_of_closers_is_trimmed_in_one_pass() -> None:
    found = links.find_links("see 10.1016/S0140-6736(20)30183-5) and 10.1234/abc" + ")" * SIZE + ".")
    assert found.dois == ["10.1016/s0140-6736(20)30183-5", "10.1234/abc"]


# (module, pattern, how it is used, text before, the unit repeated, text after): each an input
# on which a backtracking pattern would do quadratic work. Cards, and the Hub's headers and file names.
STEP_CASES = [
    (claims, "_NUMBER", "fullmatch", "", "1", "x"),
    (claims, "_NUMBER", "fullmatch", "1.", "1", "e"),
    (sections, "LINK", "finditer", "", "[", ""),
    (sections, "LINK", "finditer", "", "[a](", ""),
    (sections, "LINK", "finditer", "", "![a]", ""),
    (sections, "TAG", "finditer", "", "<", ""),
    (sections, "TAG", "finditer", "", "<a", ""),
    (sections, "_FILLER", "finditer", "", "{{", ""),
    (sections, "_FILLER", "finditer", "", "{{a", "}"),
    (sections, "_FILLER", "finditer", "", "[more information needed", ""),
    (sections, "_FILLER", "finditer", "", "to be ", ""),
    (sections, "_CANDIDATE", "finditer", "", "\n#", ""),
    (sections, "_CANDIDATE", "finditer", "\n", "-", "x"),
    (sections, "_CANDIDATE", "finditer", "", "\n```", ""),
    (sections, "_CANDIDATE", "finditer", "\n=", " ", "x"),
    (sections, "_UNDERLINE", "match", "", "=", "x"),
    (sections, "_NOT_PARAGRAPH", "match", "", "1", "."),
    (sections, "_COMMENT", "finditer", "", "<!--", ""),
    (sections, "_NUMBERING", "finditer", "", "1.", "x"),
    (sections, "_NOISE", "finditer", "", "!", "a"),
    (tables, "_DELIMITER", "fullmatch", "", "|-", "x"),
    (tables, "_DELIMITER", "fullmatch", "", "| --- ", "x"),
    (tables, "_DELIMITER", "fullmatch", "|", ":-:|", "x"),
    (tables, "_DELIMITER", "fullmatch", "|-", " ", "x"),
    (tables, "_MARKUP", "finditer", "", "( ", ""),
    (tables, "_MARKUP", "finditer", "", "&#", ""),
    (tables, "_FENCE", "match", "", "`", "x"),
    (tables, "_PIPE", "finditer", "", "\\|", ""),
    (links, "_DOI", "finditer", "", "10.1234/a", " "),
    (links, "_GITHUB", "finditer", "", "github.com/a/", ""),
    (frontmatter, "_BLOCK", "match", "---\n", "\n---  x", ""),
    (frontmatter, "_BLOCK", "match", "", "\n", "x"),
    (training, "_FLOAT", "fullmatch", "1.", "1", "x"),
    (training, "_INT", "fullmatch", "", "1", "x"),
    (ratelimit, "_PARAM", "fullmatch", "", "a", '=x"'),
    (ratelimit, "_PARAM", "fullmatch", "a=", " ", '"'),
    (scores, "HARDWARE_TEXT", "finditer", "", "rtx ", ""),
    (scores, "LATENCY_TEXT", "finditer", "", "tokens ", ""),
    (scores, "COST_TEXT", "finditer", "", "gpu-", ""),
    (scores, "SCRIPT_FILE", "finditer", "/", "train", "x"),
]


@pytest.mark.parametrize(
    ("module", "name", "method", "head", "unit", "tail"),
    STEP_CASES,
    ids=[f"{m.__name__.rsplit('.', 1)[1]}.{n}-{u!r}" for m, n, _, _, u, _ in STEP_CASES],
)
def test_patterns_that_read_card_text_take_steps_in_proportion_to_it(
    module: Any, name: str, method: str, head: str, unit: str, tail: str
) -> None:
    # Doubling the hostile part doubles the steps (about 2); quadratic work would quadruple them.
    assert growth(getattr(module, name), method, head, unit, tail) < 2.5


@pytest.mark.parametrize(
    ("pattern", "method", "head", "unit", "tail"),
    [
        (
            r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*",
            "fullmatch",
            "",
            "1",
            "x",
        ),  # the number, once
        (r"!?\[([^\]]*)\]\([^)]*\)", "finditer", "", "[", ""),  # a link, once
        (
            r"^[ \t]*[-*+][ \t]+\**([^:*\n]+?)\**[ \t]*:",
            "finditer",
            "- a",
            " ",
            "*x",
        ),  # a Trainer bullet, once
    ],
)
def test_the_step_count_tells_a_backtracking_pattern(
    pattern: str, method: str, head: str, unit: str, tail: str
) -> None:
    assert growth(re.compile(pattern, re.MULTILINE), method, head, unit, tail) > 3.5
