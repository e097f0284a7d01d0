"""The lists the Trainer writes into auto-generated cards.

`### Training hyperparameters` holds `- learning_rate: 2e-05` bullets and `### Framework versions`
holds `- Transformers 4.17.0` bullets. Any heading naming the hyperparameters section (see
`sections`) is read for `key: value` bullets (bold keys, as in the Hub template's
`- **Training regime:** ...`, included); any "Framework versions" heading for `Name version`
bullets. Only the heading's own lines, up to the next heading, are read. Numbers become ints or
floats, other values stay text; framework names are lower-cased (`pytorch`, `transformers`).
The first occurrence of a key wins.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.cards.sections import Heading, canonical_sections, normalise, own_text

_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_FRAMEWORKS = re.compile(r"^framework versions?$")


def _value(text: str) -> Any:
    try:
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
    except ValueError:  # more digits than Python converts
        pass
    return text


def _bullet(line: str) -> str | None:
    """The text of a `- item` line after the bullet and any opening `**`; None for other lines."""
    text = line.strip(" \t")
    if len(text) < 2 or text[0] not in "-*+" or text[1] not in " \t":
        return None
    return text[1:].lstrip(" \t").lstrip("*")


# Bullets are split by string search, not by regex: a pattern with a lazy key before optional
# spaces backtracks quadratically on a long line of spaces.
def _param(line: str) -> tuple[str, str] | None:
    """(key, value) of a `- key: value` bullet, bold key (`- **key:** value`) included."""
    text = _bullet(line)
    if not text:
        return None
    cut = min(i for i in (text.find(":"), text.find("*"), len(text)) if i >= 0)
    key, rest = text[:cut], text[cut:].lstrip("*").lstrip(" \t")
    if not key or not rest.startswith(":"):
        return None
    return key, rest[1:].lstrip(" \t").lstrip("*").strip(" \t")


def _version(line: str) -> tuple[str, str] | None:
    """(name, version) of a `- Name 1.2.3` bullet (`v1.2.3` too)."""
    text = _bullet(line)
    cut = max(text.rfind(" "), text.rfind("\t")) if text else -1
    if cut < 0:
        return None
    name, version = text[:cut].rstrip(" \t").rstrip("*"), text[cut + 1 :].removeprefix("v")
    if not name or not version[:1].isdecimal():
        return None
    return name, version


def trainer_lists(body: str, headings: list[Heading]) -> tuple[dict[str, Any], dict[str, str]]:
    """(hyperparameters, framework versions) from the card's bullet lists; empty when absent."""
    params: dict[str, Any] = {}
    versions: dict[str, str] = {}
    for position, heading in enumerate(headings):
        if "hyperparameters" in canonical_sections(heading.text):
            for line in own_text(body, headings, position).split("\n"):
                if param := _param(line):
                    params.setdefault(param[0].strip(), _value(param[1]))
        elif _FRAMEWORKS.match(normalise(heading.text)):
            for line in own_text(body, headings, position).split("\n"):
                if version := _version(line):
                    versions.setdefault(version[0].strip().lower(), version[1])
    return params, versions
