from __future__ import annotations

import json
from collections import Counter

import pytest

from pipeline.cards.errors import CardError
from pipeline.cards.yaml_safe import FAST_COMPOSER, MAX_CHARS, PURE_COMPOSER, load_yaml
from pipeline.errors import HubmineError

COMPOSERS = [pytest.param(FAST_COMPOSER, id="libyaml"), pytest.param(PURE_COMPOSER, id="pure")]


@pytest.mark.parametrize("composer", COMPOSERS)
def test_core_schema_scalars(composer: type) -> None:
    text = """
language: no
a: yes
b: on
c: off
d: True
e: FALSE
f: 012
g: 0o17
h: 0x1F
i: 1e-3
j: .5
k: 2021-01-01
l: 2021-01-01 10:00:00
m: 1_000
n: 1:20
o: ~
p: ''
q: "true"
r: =
s: -.inf
"""
    value = load_yaml(text, composer)
    assert value == {
        "language": "no",
        "a": "yes",
        "b": "on",
        "c": "off",
        "d": True,
        "e": False,
        "f": 12,
        "g": 15,
        "h": 31,
        "i": 0.001,
        "j": 0.5,
        "k": "2021-01-01",
        "l": "2021-01-01 10:00:00",
        "m": "1_000",
        "n": "1:20",
        "o": None,
        "p": "",
        "q": "true",
        "r": "=",
        "s": float("-inf"),
    }


@pytest.mark.parametrize("composer", COMPOSERS)
def test_tags_never_build_objects(composer: type) -> None:
    text = (
        "a: !!timestamp 2020-01-01\nb: !!binary aGk=\nc: !!python/object/apply:os.system [ls]\n"
        "d: !custom x\ne: !!set {x, y}\nf: !!int nope\n"
    )
    value = load_yaml(text, composer)
    assert value == {
        "a": "2020-01-01",
        "b": "aGk=",
        "c": ["ls"],
        "d": "x",
        "e": {"x": None, "y": None},
        "f": "nope",
    }
    json.dumps(value)


@pytest.mark.parametrize("composer", COMPOSERS)
def test_merge_keys_as_pyyaml(composer: type) -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 3\n"
    assert load_yaml(text, composer)["c"] == {"x": 3, "y": 1, "z": 2}


def test_empty_document_is_none() -> None:
    assert load_yaml("") is None
    assert load_yaml("# only a comment\n") is None


def billion_laughs(levels: int = 10, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def long_string_aliases(length: int = 100_000, references: int = 3000) -> str:
    """About 115 KB that expands to 300 M characters: few nodes, each a long string."""
    return f"s: &s {'x' * length}\nrefs: [" + ", ".join(["*s"] * references) + "]\n"


@pytest.mark.parametrize("composer", COMPOSERS)
@pytest.mark.parametrize(
    ("text", "code"),
    [
        (billion_laughs(), "yaml_alias_bomb"),
        ("a: &a [*a]\n", "yaml_alias_bomb"),
        (long_string_aliases(), "yaml_alias_bomb"),
        ("a: " + "[" * 150 + "]" * 150, "yaml_too_deep"),
        ("- " * 150 + "x", "yaml_too_deep"),
        ("a: " + "[" * 5000 + "]" * 5000, "yaml_too_deep"),
        ("a: [b\n", "yaml_error"),
        ("a: 1\n---\nb: 2\n", "yaml_error"),
        ("? [a, b]\n: c\n", "yaml_error"),
        ("a: {x: 1}\nb:\n  <<: [1, 2]\n", "yaml_error"),
    ],
)
def test_guards(composer: type, text: str, code: str, yaml_work: Counter[str]) -> None:
    with pytest.raises(CardError) as raised:
        load_yaml(text, composer)
    assert raised.value.code == code
    # Work grows with the text, never with what aliases would expand to (10**10 nodes for the laughs).
    assert yaml_work["composed"] + yaml_work["built"] <= len(text)
    assert isinstance(raised.value, HubmineError)
    assert "\n" not in str(raised.value)


def test_size_cap_checked_before_parsing() -> None:
    with pytest.raises(CardError) as raised:
        load_yaml("a: " + "x" * MAX_CHARS)
    assert raised.value.code == "yaml_too_large"


def test_long_strings_are_counted_against_the_size_cap_once_expanded() -> None:
    # A 100 k string and 8 references stay under the card's cap of a million characters; 9 do not.
    assert len(load_yaml(long_string_aliases(references=8))["refs"]) == 8
    with pytest.raises(CardError) as raised:
        load_yaml(long_string_aliases(references=9))
    assert raised.value.code == "yaml_alias_bomb"
    assert str(MAX_CHARS) in str(raised.value)


def test_shared_anchors_within_limits_load() -> None:
    text = "base: &b {lr: 0.1}\nruns:\n" + "".join("  - *b\n" for _ in range(50))
    assert load_yaml(text)["runs"] == [{"lr": 0.1}] * 50
