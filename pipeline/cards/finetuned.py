"""The base model and dataset that the transformers Trainer's card template names in its first sentence.

The Trainer (and the Keras callback) write `This model is a fine-tuned version of [BASE](URL) on the
DATASET dataset.`, or `… on an unknown dataset.`, or `… on the None dataset.` when the run named
none. `BASE` is the link's text, else the Hub path of its URL; a dataset is the words between `on the`
and `dataset`, with the Trainer's ` - CONFIG` suffix split off (`MOZILLA-FOUNDATION/COMMON_VOICE_7_0 -
ES`). Only the first such sentence of a card is read. Every pattern is bounded, so reading is linear
in the card's length.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SENTENCE = re.compile(r"fine-tuned version of ([^\n]{1,400})", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]\n]{0,200})\]\(([^)\s]{0,300})\)")
_PLAIN_BASE = re.compile(r"([\w.-]{1,96}(?:/[\w.-]{1,96})?)")
_DATASET = re.compile(r" on (?:the )?([^\n.]{1,200}?) dataset\b", re.IGNORECASE)
_HUB_URL = re.compile(r"https?://huggingface\.co/([\w.-]{1,96}(?:/[\w.-]{1,96})?)/?$")
_NO_DATASET = frozenset({"none", "unknown", "an unknown", "unkown", "an unkown", "null"})


class FineTunedFrom(NamedTuple):
    base_model: str | None  # as written: the link's text, else the model path of its Hub URL
    dataset: str | None  # the dataset's name as written, without the config suffix
    dataset_config: str | None  # the Trainer's ` - CONFIG` suffix, when written


def finetuned_from(body: str) -> FineTunedFrom | None:
    """The first "fine-tuned version of …" sentence of a card body, or None when it has none."""
    match = _SENTENCE.search(body)
    if match is None:
        return None
    rest = match.group(1)
    link = _LINK.match(rest)
    if link:
        url = _HUB_URL.match(link.group(2))
        base = link.group(1).strip() or (url.group(1) if url else None)
        rest = rest[link.end() :]
    else:
        plain = _PLAIN_BASE.match(rest)
        base = plain.group(1) if plain else None
        rest = rest[plain.end() :] if plain else rest
    dataset, config = None, None
    named = _DATASET.match(rest)
    if named:
        name, _, suffix = named.group(1).strip().partition(" - ")
        if name.strip().lower() not in _NO_DATASET:
            dataset, config = name.strip() or None, suffix.strip() or None
    return FineTunedFrom(base, dataset, config)
