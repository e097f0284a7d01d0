"""The labelled claims benchmark: the committed labels file, and the draw that numbers its blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.claims_sample import (
    LABELS,
    MIN_BLOCKS,
    MIN_CARDS,
    MIN_HELD_OUT_BLOCKS,
    card_blocks,
    check,
    held_out,
    metric_lists,
    read_readmes,
    set_of,
)
from pipeline.cards.sections import find_headings

CARD = """---
license: mit
model-index:
- name: m
  results: []
tags: [a]
---
# m

It achieves the following results on the evaluation set:
- Loss: 0.35
- Accuracy: 0.91

```
- F1: 0.5
```

## Hyperparameters
- learning_rate: 2e-05
- train_batch_size: 8

## Results

| Model | F1 |
| --- | --- |
| m | 90.1 |

- Train Loss: 1.2

- Epoch: 3
"""


def label(**changes: Any) -> dict[str, Any]:
    claim = {
        "subject": "self",
        "subject_name": None,
        "metric": "f1",
        "value_raw": "90.1",
        "value": 90.1,
        "value_unit": 0.901,
        "dataset": None,
        "split": None,
        "evaluation": True,
    }
    line = {
        "model_id": "someone/m",
        "family": "someone",
        "set": set_of("someone/m"),
        "block": "table",
        "index": 0,
        "heading": "Results",
        "claims": [claim],
        "notes": "",
    }
    claim.update(changes.pop("claim", {}))
    return line | changes


def problems_of(tmp_path: Path, *lines: dict[str, Any]) -> list[str]:
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return check(path, None)


def test_blocks_are_numbered_as_the_labels_file_expects() -> None:
    blocks = card_blocks(CARD)
    assert [(block.kind, block.index, block.heading) for block in blocks] == [
        ("table", 0, "Results"),
        ("list", 0, "m"),  # the fenced list is code, the hyperparameters name no metric
        ("list", 1, "Results"),  # a loose list runs on across its blank line
        ("model-index", 0, ""),
    ]
    assert blocks[1].text == "- Loss: 0.35\n- Accuracy: 0.91"
    assert blocks[2].text == "- Train Loss: 1.2\n- Epoch: 3"
    assert blocks[3].text == "model-index:\n- name: m\n  results: []"


def test_a_list_without_a_metric_name_is_no_block() -> None:
    body = "- learning_rate: 2e-05\n- seed: 42\n- Transformers 4.17.0\n"
    assert list(metric_lists(body, find_headings(body))) == []


def test_the_set_is_decided_by_family_alone() -> None:
    assert set_of("org/a") == set_of("org/b") == ("held-out" if held_out("org") else "development")
    families = [f"family-{number}" for number in range(300)]
    assert 70 < sum(map(held_out, families)) < 130  # about a third


def test_a_valid_line_has_no_problem_but_the_counts(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, label())
    assert problem.startswith("1 cards, 1 blocks")


def test_each_broken_rule_is_named(tmp_path: Path) -> None:
    other = "held-out" if set_of("someone/m") == "development" else "development"
    broken = [
        label(set=other),
        label(family="someone-else"),
        label(claim={"metric": "top5"}),
        label(claim={"subject": "theirs"}),
        label(claim={"subject": "other"}),  # no subject_name
        label(claim={"metric": "loss", "value_unit": 0.5}),
        label(claim={"split": "dev"}),
        label(block="model-index", index=1),
        label(index=0),  # the same block twice
    ]
    problems = problems_of(tmp_path, *broken)
    expected = [
        "set is not the one",
        "family is not",
        "no canonical id",
        "subject 'theirs'",
        "has a subject_name",
        "null for unbounded metrics",
        "split 'dev'",
        "index 0",
        "labelled twice",
    ]
    for number, text in enumerate(expected, 1):
        assert any(problem.startswith(f"line {number}:") and text in problem for problem in problems), text


def test_the_committed_labels_are_valid_and_large_enough() -> None:
    assert check(LABELS, None) == []
    lines = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= MIN_BLOCKS
    assert len({line["model_id"] for line in lines}) >= MIN_CARDS
    assert sum(line["set"] == "held-out" for line in lines) >= MIN_HELD_OUT_BLOCKS


def test_every_labelled_block_is_drawn_again_from_the_sample(hub_sample: Path) -> None:
    """The seeded draw still yields each labelled block, with the same heading."""
    assert check(LABELS, read_readmes(hub_sample)) == []
