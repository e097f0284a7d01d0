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

_PARAM = re.compile(r"^[ \t]*[-*+][ \t]+\**([^:*\n]+?)\**[ \t]*:[ \t]*\**[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_VERSION = re.compile(r"^[ \t]*[-*+][ \t]+\**([^\n]+?)\**[ \t]+v?(\d\S*)[ \t]*$", re.MULTILINE)
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


def trainer_lists(body: str, headings: list[Heading]) -> tuple[dict[str, Any], dict[str, str]]:
    """(hyperparameters, framework versions) from the card's bullet lists; empty when absent."""
    params: dict[str, Any] = {}
    versions: dict[str, str] = {}
    for position, heading in enumerate(headings):
        if "hyperparameters" in canonical_sections(heading.text):
            for match in _PARAM.finditer(own_text(body, headings, position)):
                params.setdefault(match.group(1).strip(), _value(match.group(2)))
        elif _FRAMEWORKS.match(normalise(heading.text)):
            for match in _VERSION.finditer(own_text(body, headings, position)):
                versions.setdefault(match.group(1).strip().lower(), match.group(2))
    return params, versions
