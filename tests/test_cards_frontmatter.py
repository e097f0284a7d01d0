from __future__ import annotations

import pytest
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cards.frontmatter import split_front_matter


@pytest.mark.parametrize(
    ("text", "yaml", "body"),
    [
        ("---\nlicense: mit\n---\n# Title\n", "license: mit", "# Title\n"),
        ("---\r\nlicense: mit\r\n---\r\nbody", "license: mit", "body"),
        ("\ufeff---\nlicense: mit\n---\nbody", "license: mit", "body"),
        ("\n\n---\na: 1\n---\nbody", "a: 1", "body"),
        ("---\na: 1\n---   \nbody", "a: 1", "body"),
        ("---\na: 1\n---", "a: 1", ""),
        ("---\n\n---\nbody", "", "body"),
        ("---\n---\na: 1\n---\nbody", "---\na: 1", "body"),
        ("---\na: 1\n----\nb: 2\n---\nbody", "a: 1\n----\nb: 2", "body"),
    ],
)
def test_split(text: str, yaml: str, body: str) -> None:
    split = split_front_matter(text)
    assert (split.yaml, split.body) == (yaml, body)


@pytest.mark.parametrize(
    "text",
    ["# Title\n", "", "--- \na: 1\n---\n", "text\n---\na: 1\n---\n", "---"],
)
def test_no_front_matter(text: str) -> None:
    split = split_front_matter(text)
    assert split.yaml is None
    assert split.body == text
    assert not split.unclosed


@pytest.mark.parametrize("text", ["---\na: 1\n# Title\n", "---\n---\n# Body\n"])
def test_unclosed_front_matter_is_body(text: str) -> None:
    # An immediately closed block is not closed for the Hub: the closing `---` must follow a line break.
    split = split_front_matter(text)
    assert split.yaml is None
    assert split.unclosed
    assert split.body == text


@pytest.mark.parametrize(
    "text",
    [
        "---\na: 1\n---\nx",
        "  ---\na: 1\n---",
        "---\r\na: 1\r\n---\r\nx",
        "---\na\n---x\n---\n",
        "---\n---\n# T\n---\nx",
        "\n\n---\r---\n",
    ],
)
def test_same_as_hub_regex(text: str) -> None:
    match = REGEX_YAML_BLOCK.search(text)
    split = split_front_matter(text)
    assert split.yaml == (match.group(2) if match else None)
    assert split.body == (text[match.end() :] if match else text)


FRONT_MATTER_TOKENS = ["---", "----", "--- ", "\n", "\r\n", "\r", " ", "\t", "a: 1", "#", "\u00a0"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRONT_MATTER_TOKENS), max_size=30).map("".join))
def test_property_same_as_hub_regex(text: str) -> None:
    match = REGEX_YAML_BLOCK.search(text)
    split = split_front_matter(text)
    assert split.yaml == (match.group(2) if match else None)
    assert split.body == (text[match.end() :] if match else text)
