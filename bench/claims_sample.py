"""The cards and blocks of the labelled claims benchmark, drawn at random from the hub2022 READMEs.

    python -m bench.claims_sample [--sample DIR] [--out FILE]    # draw, write the blocks to label
    python -m bench.claims_sample --check [--sample DIR]         # validate bench/claims_labels.jsonl

A *block* is a place in a card that may hold performance numbers:

- `table`: a GFM pipe table of the body outside fenced code, numbered as `pipeline.cards.tables.
  find_tables` numbers them (0-based, every table counts);
- `list`: a metric bullet list of the body outside fenced code: a run of bullet lines (`-`, `*`
  or `+`, any indent; blank lines between them do not end it, any other line does) of which some
  item reads `name: number`
  with a metric word in the name ("- Accuracy: 0.91", "- Train Loss: 0.35"); numbered 0-based in
  the order of the body (`metric_lists`);
- `model-index`: the front matter's `model-index` (or legacy `model_index`) key, index 0.

A block's heading is the text of the nearest heading above it (`pipeline.cards.sections`), "" for
none and for the model-index. Of hubmine only the table finder, the headings, the front-matter split
and the canonical metric ids (`pipeline.cards.metrics`, for the check) are used here; what the claim
extractors return is never looked at.

The draw: cards holding at least one block, put in one stratum each (the first that fits):
`keras` (the Keras callback's generated card), `trainer` (the transformers Trainer's generated
card), `model-index` (written by hand, with a model-index) and `hand-written` (by hand, with a
table or metric list only). Each stratum's cards are shuffled with a fixed seed and the first
`QUOTAS[stratum]` are drawn; of a card with more than `MAX_BLOCKS` blocks, `MAX_BLOCKS` are drawn
(the model-index always among them).

The family of a card is its author namespace (the id itself without one). A family is held out
when `sha1("claims-bench:" + family)` is 0 modulo 3 (about a third); the set is decided per family.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow.parquet as pq

from bench.parse_bench import DEFAULT_SAMPLE, REPO_ROOT
from pipeline.cards.frontmatter import split_front_matter
from pipeline.cards.metrics import METRICS, UNSCALED
from pipeline.cards.sections import Heading, find_headings, normalise_newlines
from pipeline.cards.tables import code_fence, find_tables

LABELS = REPO_ROOT / "bench" / "claims_labels.jsonl"
DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "claims_sample.jsonl"
SEED = 20261207
QUOTAS = {"keras": 14, "trainer": 55, "model-index": 45, "hand-written": 60}
MAX_BLOCKS = 5  # blocks drawn from one card
MAX_BLOCK_CHARS = 20_000  # text of one block kept in the drawn list
HELD_OUT_MODULUS = 3
MIN_CARDS, MIN_BLOCKS, MIN_HELD_OUT_BLOCKS = 150, 300, 100

BLOCKS = ("table", "list", "model-index")
SETS = ("development", "held-out")
SUBJECTS = ("self", "other", "unknown")
SPLITS = ("train", "validation", "test")
CANONICAL_METRICS = frozenset(METRICS.values())

_BULLET = re.compile(r"[ \t]*[-*+][ \t]+(.*)")
# "name: number" with optional bold around either part; the name is at most 100 characters.
_ITEM = re.compile(r"\**([^:*\n]{1,100}?)\**[ \t]*:[ \t]*\**[ \t]*[-+]?\.?\d")
_WORDS = re.compile(r"[a-z0-9]+")
# Words that make a list item's name a metric's: those of metrics.py's names, and other common metrics.
METRIC_WORDS = frozenset(
    {"accuracy", "acc", "f1", "precision", "prec", "recall", "wer", "cer", "bleu", "sacrebleu", "rouge1"}
    | {"rouge2", "rougel", "rougelsum", "rouge", "em", "map", "perplexity", "ppl", "loss", "matthews"}
    | {"correlation", "spearman", "pearson", "auc", "mae", "mse", "rmse", "chrf", "meteor", "ter", "mcc"}
    | {"bertscore", "sari", "gleu", "ndcg", "mrr", "exact"}
)
_MODEL_INDEX = re.compile(r"^model[-_]index[ \t]*:", re.MULTILINE)
_TOP_KEY = re.compile(r"^[^\s#-][^\n]*:", re.MULTILINE)
_KERAS = "generated automatically according to the information Keras had access to"
_TRAINER = ("generated automatically according to the information the Trainer had access to",)
_TRAINER += ("It achieves the following results on the evaluation set",)


class Block(NamedTuple):
    kind: str  # one of BLOCKS
    index: int
    heading: str
    text: str


def family(model_id: str) -> str:
    return model_id.split("/", 1)[0]


def held_out(family_name: str) -> bool:
    digest = hashlib.sha1(f"claims-bench:{family_name}".encode()).hexdigest()
    return int(digest, 16) % HELD_OUT_MODULUS == 0


def set_of(model_id: str) -> str:
    return "held-out" if held_out(family(model_id)) else "development"


def _metric_item(text: str) -> bool:
    match = _ITEM.match(text)
    return match is not None and not METRIC_WORDS.isdisjoint(_WORDS.findall(match.group(1).lower()))


def _heading_at(headings: list[Heading], offset: int) -> str:
    place = bisect_right([heading.start for heading in headings], offset) - 1
    return headings[place].text if place >= 0 else ""


def metric_lists(body: str, headings: list[Heading]) -> Iterator[Block]:
    """The metric bullet lists of a body with `\\n` line breaks, in order (see the module's text)."""
    fence: str | None = None
    run: list[str] = []  # the bullet lines of the list being read
    run_start = offset = 0
    index = 0
    for line in [*body.split("\n"), "end"]:
        bullet = _BULLET.fullmatch(line) if fence is None else None
        if run and bullet is None and line.strip():
            if any(_metric_item(_BULLET.fullmatch(item).group(1)) for item in run):  # type: ignore[union-attr]
                yield Block("list", index, _heading_at(headings, run_start), "\n".join(run))
                index += 1
            run = []
        code, fence = code_fence(fence, line)
        if not code and bullet is not None:
            if not run:
                run_start = offset
            run.append(line)
        offset += len(line) + 1


def model_index_text(yaml_text: str | None) -> str | None:
    """The front matter's model-index key with its value, as written; None when it has none."""
    if yaml_text is None:
        return None
    found = _MODEL_INDEX.search(yaml_text)
    if found is None:
        return None
    after = _TOP_KEY.search(yaml_text, found.end())
    return yaml_text[found.start() : after.start() if after else len(yaml_text)].rstrip()


def card_blocks(readme: str) -> list[Block]:
    split = split_front_matter(normalise_newlines(readme))
    body = split.body
    headings = find_headings(body)
    lines = body.split("\n")
    tables, _ = find_tables(body, headings)
    blocks = [
        Block("table", table.index, table.heading, "\n".join(lines[table.lines[0] : table.lines[1]]))
        for table in tables
    ]
    blocks += metric_lists(body, headings)
    index_text = model_index_text(split.yaml)
    if index_text is not None:
        blocks.append(Block("model-index", 0, "", index_text))
    return blocks


def stratum(readme: str, blocks: list[Block]) -> str:
    if _KERAS in readme:
        return "keras"
    if any(mark in readme for mark in _TRAINER):
        return "trainer"
    return "model-index" if any(block.kind == "model-index" for block in blocks) else "hand-written"


def read_readmes(sample: Path) -> dict[str, str]:
    table = pq.read_table(sample / "hub2022-sample" / "readmes.parquet", columns=["id", "readme"])
    return dict(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))


def draw(readmes: dict[str, str]) -> list[dict[str, Any]]:
    """The drawn blocks, one dict per block, cards in draw order within each stratum."""
    strata: dict[str, list[tuple[str, list[Block]]]] = {name: [] for name in QUOTAS}
    for model_id in sorted(readmes):
        blocks = card_blocks(readmes[model_id])
        if blocks:
            strata[stratum(readmes[model_id], blocks)].append((model_id, blocks))
    rng = random.Random(SEED)
    drawn: list[dict[str, Any]] = []
    for name, quota in QUOTAS.items():
        cards = strata[name]
        rng.shuffle(cards)
        for model_id, blocks in cards[:quota]:
            if len(blocks) > MAX_BLOCKS:
                kept = [block for block in blocks if block.kind == "model-index"]
                others = [block for block in blocks if block.kind != "model-index"]
                kept += rng.sample(others, MAX_BLOCKS - len(kept))
                blocks = sorted(kept, key=lambda block: (BLOCKS.index(block.kind), block.index))
            drawn += [
                {
                    "model_id": model_id,
                    "family": family(model_id),
                    "set": set_of(model_id),
                    "stratum": name,
                    "block": block.kind,
                    "index": block.index,
                    "heading": block.heading,
                    "text": block.text[:MAX_BLOCK_CHARS],
                }
                for block in blocks
            ]
    return drawn


def _problems(label: Any, drawn: dict[tuple[str, str, int], dict[str, Any]] | None) -> Iterator[str]:
    """What is wrong with one line of the labels file (nothing when it is right)."""
    if not isinstance(label, dict):
        yield "not a JSON object"
        return
    keys = {"model_id", "family", "set", "block", "index", "heading", "claims", "notes"}
    if set(label) != keys:
        yield f"keys {sorted(set(label) ^ keys)} missing or unexpected"
        return
    model_id = label["model_id"]
    if not isinstance(model_id, str) or label["family"] != family(model_id):
        yield "family is not the author namespace of model_id"
    elif label["set"] != set_of(model_id):
        yield f"set is not the one the family rule gives ({set_of(model_id)})"
    if label["block"] not in BLOCKS or not isinstance(label["index"], int) or label["index"] < 0:
        yield "block or index invalid"
    elif label["block"] == "model-index" and label["index"] != 0:
        yield "a model-index block has index 0"
    if not isinstance(label["heading"], str) or not isinstance(label["notes"], str):
        yield "heading and notes are strings"
    if drawn is not None:
        place = drawn.get((model_id, label["block"], label["index"]))
        if place is None:
            yield "block is not among the drawn blocks"
        elif place["heading"] != label["heading"]:
            yield f"heading is not the block's ({place['heading']!r})"
    if not isinstance(label["claims"], list):
        yield "claims is a list"
        return
    for number, claim in enumerate(label["claims"]):
        for problem in _claim_problems(claim):
            yield f"claim {number}: {problem}"


def _claim_problems(claim: Any) -> Iterator[str]:
    keys = {"subject", "subject_name", "metric", "value_raw", "value", "value_unit", "dataset"}
    keys |= {"split", "evaluation"}
    if not isinstance(claim, dict) or set(claim) != keys:
        yield "not an object with exactly the claim keys"
        return
    if claim["subject"] not in SUBJECTS:
        yield f"subject {claim['subject']!r}"
    if claim["subject"] == "other" and not claim["subject_name"]:
        yield "an other subject has a subject_name"
    if claim["metric"] is not None and claim["metric"] not in CANONICAL_METRICS:
        yield f"metric {claim['metric']!r} is no canonical id"
    if not isinstance(claim["value_raw"], str) or not isinstance(claim["value"], int | float):
        yield "value_raw is a string and value a number"
    unit = claim["value_unit"]
    if unit is not None and (not isinstance(unit, int | float) or claim["metric"] in {None, *UNSCALED}):
        yield "value_unit is a number, and null for unbounded metrics"
    if claim["split"] is not None and claim["split"] not in SPLITS:
        yield f"split {claim['split']!r}"
    if not isinstance(claim["evaluation"], bool):
        yield "evaluation is true or false"
    for field in ("subject_name", "dataset"):
        if claim[field] is not None and not isinstance(claim[field], str):
            yield f"{field} is a string or null"


def check(labels_path: Path, readmes: dict[str, str] | None) -> list[str]:
    """Every problem of the labels file, one line each; the minimum counts are checked too."""
    problems: list[str] = []
    drawn = None
    if readmes is not None:
        drawn = {(row["model_id"], row["block"], row["index"]): row for row in draw(readmes)}
    seen: set[tuple[str, str, int]] = set()
    blocks: Counter[str] = Counter()
    for number, line in enumerate(labels_path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            label = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number}: not JSON")
            continue
        problems += [f"line {number}: {problem}" for problem in _problems(label, drawn)]
        if isinstance(label, dict) and label.keys() >= {"model_id", "block", "index", "set"}:
            key = (label["model_id"], label["block"], label["index"])
            if key in seen:
                problems.append(f"line {number}: block labelled twice")
            seen.add(key)
            blocks[label["set"]] += 1
    cards = len({key[0] for key in seen})
    if cards < MIN_CARDS or len(seen) < MIN_BLOCKS or blocks["held-out"] < MIN_HELD_OUT_BLOCKS:
        problems.append(
            f"{cards} cards, {len(seen)} blocks, {blocks['held-out']} held out: "
            f"label at least {MIN_CARDS} cards, {MIN_BLOCKS} blocks, {MIN_HELD_OUT_BLOCKS} held out"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, help="hub-sample folder (default: HUBMINE_HUB_SAMPLE)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the drawn blocks go")
    parser.add_argument("--check", action="store_true", help="validate bench/claims_labels.jsonl")
    args = parser.parse_args(argv)
    sample = args.sample or Path(os.environ.get("HUBMINE_HUB_SAMPLE") or DEFAULT_SAMPLE)
    if not (sample / "hub2022-sample" / "readmes.parquet").is_file():
        print(f"no hub2022-sample/readmes.parquet under {sample}: pass --sample or set HUBMINE_HUB_SAMPLE")
        return 2
    readmes = read_readmes(sample)
    if args.check:
        problems = check(LABELS, readmes)
        print("\n".join(problems) or f"{LABELS.name}: every line is valid")
        return 1 if problems else 0
    drawn = draw(readmes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in drawn)
    counts = Counter((row["stratum"], row["set"]) for row in drawn)
    cards = len({row["model_id"] for row in drawn})
    print(f"{cards} cards, {len(drawn)} blocks -> {args.out}; blocks by stratum and set: {dict(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
