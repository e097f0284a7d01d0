"""The Hub dataset a claim names, as a dataset id (`dataset_id`), resolved offline from the claim's text.

A claim's `dataset_type` is read first, then its `dataset_name`; the first text that resolves wins:

1. a legacy canonical id (one part, as the Hub had before namespaces: `glue`, `squad`) is mapped
   to its current namespaced id through `LEGACY_IDS` (`glue` -> `nyu-mll/glue`); `common_voice`, the
   Common Voice 6.1 loader, becomes `mozilla-foundation/common_voice_6_1`;
2. a dataset's usual name (`ImageNet`, `GLUE SST-2`, `SQuAD 2.0`), compared without case, spaces or
   punctuation, is mapped through `ALIASES` to an id and, for a GLUE task, its config;
3. a two-part text that is a valid Hub id (`pipeline/hub/ids.py`: `owner/name` of letters, digits,
   `-`, `_`, `.`) is kept as written (`mozilla-foundation/common_voice_8_0`);
4. for `dataset_type` only, whose model-index meaning is a dataset id: a one-part, lower-case valid
   id that is no placeholder (`custom`, `none`, `test`, ...) is kept (`opus100`).

Anything else gives null. Names are never looked up on the Hub, so an id may name a dataset that
does not exist, and an id resolved from a name is a best guess. `dataset_config` and
`dataset_split` are kept; an alias's config fills `dataset_config` only where the claim has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pipeline.hub.ids import InvalidHubName, repo_path

MAX_NAME = 200  # longer texts name no dataset

LEGACY_IDS: dict[str, str] = {
    "glue": "nyu-mll/glue",
    "super_glue": "aps/super_glue",
    "multi_nli": "nyu-mll/multi_nli",
    "snli": "stanfordnlp/snli",
    "sst2": "stanfordnlp/sst2",
    "imdb": "stanfordnlp/imdb",
    "squad": "rajpurkar/squad",
    "squad_v2": "rajpurkar/squad_v2",
    "conll2003": "eriktks/conll2003",
    "wnut_17": "leondz/wnut_17",
    "common_voice": "mozilla-foundation/common_voice_6_1",
    "librispeech_asr": "openslr/librispeech_asr",
    "imagenet-1k": "ILSVRC/imagenet-1k",
    "cifar10": "uoft-cs/cifar10",
    "cifar100": "uoft-cs/cifar100",
    "mnist": "ylecun/mnist",
    "fashion_mnist": "zalando-datasets/fashion_mnist",
    "emotion": "dair-ai/emotion",
    "tweet_eval": "cardiffnlp/tweet_eval",
    "go_emotions": "google-research-datasets/go_emotions",
    "rotten_tomatoes": "cornell-movie-review-data/rotten_tomatoes",
    "amazon_polarity": "fancyzhx/amazon_polarity",
    "ag_news": "fancyzhx/ag_news",
    "dbpedia_14": "fancyzhx/dbpedia_14",
    "yelp_polarity": "fancyzhx/yelp_polarity",
    "yelp_review_full": "Yelp/yelp_review_full",
    "banking77": "PolyAI/banking77",
    "financial_phrasebank": "takala/financial_phrasebank",
    "xnli": "facebook/xnli",
    "wikitext": "Salesforce/wikitext",
    "xsum": "EdinburghNLP/xsum",
    "cnn_dailymail": "abisee/cnn_dailymail",
    "samsum": "Samsung/samsum",
    "billsum": "FiscalNote/billsum",
    "wmt14": "wmt/wmt14",
    "wmt16": "wmt/wmt16",
    "wmt19": "wmt/wmt19",
    "trivia_qa": "mandarjoshi/trivia_qa",
    "hellaswag": "Rowan/hellaswag",
    "winogrande": "allenai/winogrande",
    "piqa": "ybisk/piqa",
    "race": "ehovy/race",
}

_GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")
ALIASES: dict[str, tuple[str, str | None]] = {
    **{
        name: ("ILSVRC/imagenet-1k", None)
        for name in ("imagenet", "imagenet1k", "ilsvrc2012", "imagenet2012")
    },
    **{name: ("rajpurkar/squad", None) for name in ("squad", "squad11", "squadv1", "squadv11")},
    **{name: ("rajpurkar/squad_v2", None) for name in ("squad2", "squad20", "squadv2", "squadv20")},
    **{task: ("nyu-mll/glue", task) for task in _GLUE_TASKS},
    **{f"glue{task}": ("nyu-mll/glue", task) for task in _GLUE_TASKS},
    **{name: ("nyu-mll/glue", "mnli") for name in ("mnlim", "mnlimm", "mnlimatched", "mnlimismatched")},
    "glue": ("nyu-mll/glue", None),
    "superglue": ("aps/super_glue", None),
    "multinli": ("nyu-mll/multi_nli", None),
    "snli": ("stanfordnlp/snli", None),
    "xnli": ("facebook/xnli", None),
    "imdb": ("stanfordnlp/imdb", None),
    "conll2003": ("eriktks/conll2003", None),
    "wnut17": ("leondz/wnut_17", None),
    "librispeech": ("openslr/librispeech_asr", None),
    "cifar10": ("uoft-cs/cifar10", None),
    "cifar100": ("uoft-cs/cifar100", None),
    "mnist": ("ylecun/mnist", None),
    "fashionmnist": ("zalando-datasets/fashion_mnist", None),
    "wikitext": ("Salesforce/wikitext", None),
    "wikitext2": ("Salesforce/wikitext", None),
    "wikitext103": ("Salesforce/wikitext", None),
    "xsum": ("EdinburghNLP/xsum", None),
    "cnndailymail": ("abisee/cnn_dailymail", None),
    "cnndm": ("abisee/cnn_dailymail", None),
    "samsum": ("Samsung/samsum", None),
    "agnews": ("fancyzhx/ag_news", None),
    "emotion": ("dair-ai/emotion", None),
    "tweeteval": ("cardiffnlp/tweet_eval", None),
    "goemotions": ("google-research-datasets/go_emotions", None),
}
# One-part dataset types that name no dataset.
PLACEHOLDERS = frozenset(
    {
        "custom",
        "private",
        "none",
        "null",
        "unknown",
        "other",
        "dataset",
        "data",
        "test",
        "train",
        "validation",
    }
)
_KEY = re.compile(r"[^a-z0-9]+")


def _valid_id(text: str) -> bool:
    try:
        repo_path(text)
    except InvalidHubName:
        return False
    return True


def resolve(text: Any, is_type: bool) -> tuple[str, str | None] | None:
    """(dataset id, config or None) for one dataset type or name; None when it names no known dataset."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NAME:
        return None
    text = text.strip()
    if text in LEGACY_IDS:
        return LEGACY_IDS[text], None
    alias = ALIASES.get(_KEY.sub("", text.lower()))
    if alias:
        return alias
    if "/" in text and _valid_id(text):
        return text, None
    if is_type and text.islower() and text not in PLACEHOLDERS and _valid_id(text):
        return text, None
    return None


def resolve_dataset_ids(rows: Iterable[dict[str, Any]]) -> None:
    """Fill `dataset_id` of claim rows (and `dataset_config` from an alias, where the row has none)."""
    for row in rows:
        found = resolve(row.get("dataset_type"), True) or resolve(row.get("dataset_name"), False)
        row["dataset_id"] = found[0] if found else None
        if found and found[1] and not row.get("dataset_config"):
            row["dataset_config"] = found[1]
