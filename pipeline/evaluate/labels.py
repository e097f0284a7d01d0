"""Match a model's labels (config `id2label`) to a dataset's class names, or say that they do not match.

A model predicts its own label ids; the dataset's gold labels are indices into its ClassLabel names.
The two are aligned by normalised name (case, spaces, `-`, `_` and other punctuation ignored). Models
saved without names (`LABEL_0`, `LABEL_1`, ...) are taken in the dataset's order when they have as
many labels as it has classes: the Trainer numbers the dataset's classes that way. Anything else is a
`LabelMismatch`, so a wrong mapping never becomes a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pipeline.errors import HubmineError

_GENERIC = re.compile(r"label(\d+)")  # matched against a normalised label
_NOT_WORD = re.compile(r"[\W_]+")


class LabelMismatch(HubmineError):
    """The model's labels cannot be aligned to the dataset's classes."""


def normalise(name: object) -> str:
    return _NOT_WORD.sub("", str(name).lower())


def align(id2label: Mapping[int, str], names: Sequence[str]) -> dict[int, int]:
    """Model label id -> dataset class index, for every model label that has a class.

    Every dataset class must be predictable by the model; a model label with no class (the model knows
    more classes than the dataset has) maps nowhere, so predicting it counts as wrong.
    """
    labels = {int(k): str(v) for k, v in id2label.items()}
    generic = {i: _GENERIC.fullmatch(normalise(label)) for i, label in labels.items()}
    numbered = all(match and int(match.group(1)) == i for i, match in generic.items())
    if labels and numbered and len(labels) == len(names):
        return {i: i for i in labels}
    by_name: dict[str, int] = {}
    for index, name in enumerate(names):
        if normalise(name) in by_name:
            raise LabelMismatch(f"dataset class names {list(names)[:8]} repeat once normalised")
        by_name[normalise(name)] = index
    mapping = {i: by_name[normalise(label)] for i, label in labels.items() if normalise(label) in by_name}
    missing = sorted(set(by_name.values()) - set(mapping.values()))
    if missing:
        shown = [names[i] for i in missing[:5]]
        raise LabelMismatch(
            f"model labels {sorted(labels.values())[:8]} do not cover dataset classes {shown} "
            f"({len(missing)} of {len(names)} unmatched)"
        )
    return mapping
