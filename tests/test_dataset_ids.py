from __future__ import annotations

from typing import Any

import pytest

from pipeline.cards import parse_card
from pipeline.cards.dataset_ids import ALIASES, LEGACY_IDS, resolve, resolve_dataset_ids
from pipeline.hub.ids import repo_path


@pytest.mark.parametrize(
    ("text", "is_type", "found"),
    [
        ("glue", True, ("nyu-mll/glue", None)),
        ("squad_v2", True, ("rajpurkar/squad_v2", None)),
        ("common_voice", True, ("mozilla-foundation/common_voice_6_1", None)),
        ("imagenet-1k", True, ("ILSVRC/imagenet-1k", None)),
        ("ImageNet", False, ("ILSVRC/imagenet-1k", None)),
        ("GLUE SST-2", False, ("nyu-mll/glue", "sst2")),
        ("SST-2", False, ("nyu-mll/glue", "sst2")),
        ("sst2", True, ("stanfordnlp/sst2", None)),
        ("SQuAD 2.0", False, ("rajpurkar/squad_v2", None)),
        ("MNLI-m", False, ("nyu-mll/glue", "mnli")),
        ("mozilla-foundation/common_voice_8_0", False, ("mozilla-foundation/common_voice_8_0", None)),
        (" opus100 ", True, ("opus100", None)),
        ("opus100", False, None),  # a one-part name is an id only as a type
        ("custom", True, None),
        ("Custom", True, None),
        ("Test Lay", False, None),
        ("a/b/c", True, None),
        ("../../etc", True, None),
        ("x/..", True, None),
        ("", True, None),
        ("n" * 1000, True, None),
        (None, True, None),
        (5, True, None),
    ],
)
def test_resolve(text: Any, is_type: bool, found: tuple[str, str | None] | None) -> None:
    assert resolve(text, is_type) == found


def test_tables_name_valid_ids() -> None:
    for dataset_id in [*LEGACY_IDS.values(), *(found for found, _ in ALIASES.values())]:
        assert "/" in dataset_id and repo_path(dataset_id)
    assert all(key == key.lower() and key.isalnum() for key in ALIASES)


def row(**fields: Any) -> dict[str, Any]:
    return dict.fromkeys(("dataset_type", "dataset_name", "dataset_config", "dataset_split")) | fields


def test_rows_keep_config_and_split() -> None:
    rows = [
        row(dataset_type="common_voice", dataset_name="CV tr", dataset_config="tr", dataset_split="test"),
        row(dataset_type="custom", dataset_name="GLUE MRPC", dataset_split="validation"),
        row(dataset_name="GLUE MRPC", dataset_config="mine"),
        row(dataset_type="Some Data", dataset_name="my/data"),
        row(dataset_name="private data"),
    ]
    resolve_dataset_ids(rows)
    assert [(r["dataset_id"], r["dataset_config"], r["dataset_split"]) for r in rows] == [
        ("mozilla-foundation/common_voice_6_1", "tr", "test"),
        ("nyu-mll/glue", "mrpc", "validation"),
        ("nyu-mll/glue", "mine", None),
        ("my/data", None, None),
        (None, None, None),
    ]


def test_parsed_claims_carry_dataset_ids() -> None:
    card = """---
model-index:
- name: m
  results:
  - task: {type: text-classification}
    dataset: {type: glue, name: GLUE SST2, config: sst2, split: validation}
    metrics: [{type: accuracy, value: 0.91}]
  - task: {type: text-classification}
    dataset: {type: my_private_set, name: Private}
    metrics: [{type: accuracy, value: 0.5}]
---
# m
"""
    claims = parse_card("m", card, None).claims
    assert [(c["dataset_id"], c["dataset_config"], c["dataset_split"]) for c in claims] == [
        ("nyu-mll/glue", "sst2", "validation"),
        ("my_private_set", None, None),
    ]
