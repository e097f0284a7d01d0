"""Claims from card bodies on the real hub2022 READMEs: throughput, counts, and card-table precision.

    python -m bench.claims_bench [--sample DIR] [--rounds N] [--show]

1. Throughput on one core of the whole body-claims extraction of `parse_card` (front matter split,
   headings, the Trainer's list and table, the Markdown results tables) and of the Markdown tables
   alone (bodies and headings found beforehand), best of `--rounds`, and the claim rows per source;
   then, over `parse_card`, how many claim rows of each source resolve to a `dataset_id`.
2. The `card-table` extractor against `bench/card_tables_labels.jsonl`: real tables of the sample,
   each with the rows a careful reader takes from it (metric, value, model, dataset, split). The
   `development` tables were read while the extractor's rules were written; the `held-out` ones
   were drawn and labelled afterwards, with the rules left as they were, so their figures are the
   fair estimate.
   An extracted row is correct when an expected row of its table has the same metric, the same value
   and the same model, dataset and split (compared without case, spaces or punctuation; dev, val and
   validation are one split). Precision = correct / extracted, recall = correct / expected; the
   same counts on metric and value alone show how many errors are labels rather than numbers.

3. Every claim source against `bench/claims_labels.jsonl` (`--labels FILE`): blocks of real cards
   (tables, metric lists, model-indexes) labelled by hand with each number's subject, metric, value,
   0-1 value, dataset, split and whether it is an evaluation result; see `score_claims` for the
   rules. Per set (`development`, `held-out`, decided by family) and per source: precision of the
   `self` rows, recall of the labelled `self` evaluation claims in the blocks the source reads, the
   share of wrong scales, and how often the dataset and split agree.

The sample folder is `--sample`, else HUBMINE_HUB_SAMPLE, else the default of `bench.parse_bench`.
Prints one summary line per part and writes bench/results/claims.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.parse_bench import DEFAULT_SAMPLE, REPO_ROOT
from pipeline.cards import parse_card
from pipeline.cards.frontmatter import split_front_matter
from pipeline.cards.results import LOG_COLUMNS, body_claims, results_list
from pipeline.cards.sections import find_headings, normalise, normalise_newlines
from pipeline.cards.tables import Table, card_table_claims, find_tables, number, plain, table_claims

LABELS = REPO_ROOT / "bench" / "card_tables_labels.jsonl"
CLAIM_LABELS = REPO_ROOT / "bench" / "claims_labels.jsonl"
SOURCES = ("model-index", "trainer-results", "trainer-table", "card-list", "card-table")
# bench/claims_sample.py hands the labeller this much of a block's text: a longer block (a training
# log of hundreds of rows) was labelled without its end, so it is left out of the scores.
DRAWN_TEXT_CHARS = 20_000
SCALE_TOLERANCE = 1e-6  # relative: 0-1 values that differ by more are on different scales
SETS = ("development", "held-out")  # tables read while the rules were written; tables labelled after
FIELDS = ("model_name", "dataset_name", "dataset_split")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPLITS = {"dev": "validation", "val": "validation", "valid": "validation"}


def sample_dir(chosen: Path | None) -> Path:
    """The hub-sample folder: `chosen`, else HUBMINE_HUB_SAMPLE, else the checkout's default."""
    return chosen or Path(os.environ.get("HUBMINE_HUB_SAMPLE") or DEFAULT_SAMPLE)


def read_readmes(sample: Path) -> dict[str, str]:
    table = pq.read_table(sample / "hub2022-sample" / "readmes.parquet")
    return dict(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))


def card_body(readme: str) -> str:
    return normalise_newlines(split_front_matter(readme).body)


def extract_all(readmes: Iterable[str]) -> Counter[str]:
    """Claim rows per source over the body-claims extraction of every README, and under `cards
    with card-table rows` the cards that have some."""
    counts: Counter[str] = Counter()
    for readme in readmes:
        body = card_body(readme)
        sources = Counter(row["source"] for row in body_claims("m", body, find_headings(body))[0])
        counts.update(sources)
        counts["cards with card-table rows"] += "card-table" in sources
    return counts


def best_seconds(function: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def dataset_ids(readmes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Per source, (claim rows with a dataset_id, claim rows) over `parse_card` of every README."""
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for readme in readmes:
        for row in parse_card("m", readme, None).claims:
            total[row["source"]] += 1
            found[row["source"]] += row["dataset_id"] is not None
    return {source: (found[source], total[source]) for source in total}


def _text(value: str | None) -> str:
    text = _NOT_ALNUM.sub("", (value or "").lower())
    return _SPLITS.get(text, text)


def _key(row: dict[str, Any], strict: bool) -> tuple[Any, ...]:
    labels = tuple(_text(row[field]) for field in FIELDS) if strict else ()
    return (row["metric"], round(float(row["value"]), 6), *labels)


def matched(extracted: list[dict[str, Any]], expected: list[dict[str, Any]], strict: bool) -> int:
    """How many extracted rows have an expected row of their own (each expected row used once)."""
    left = Counter(_key(row, strict) for row in expected)
    found = 0
    for row in extracted:
        key = _key(row, strict)
        if left[key] > 0:
            left[key] -= 1
            found += 1
    return found


def labelled_tables(readmes: dict[str, str], labels: Path = LABELS) -> list[dict[str, Any]]:
    """Each labelled table with the rows the extractor takes from it (`extracted`)."""
    out = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        body = card_body(readmes[label["model_id"]])
        tables, _ = find_tables(body, find_headings(body))
        claims = table_claims(tables[label["table_index"]])
        label["extracted"] = [
            {"metric": c.metric, "value": number(c.raw)[0]} | dict(zip(FIELDS, c[3:6], strict=True))
            for c in claims
        ]
        out.append(label)
    return out


def score(tables: list[dict[str, Any]]) -> dict[str, Any]:
    extracted = sum(len(table["extracted"]) for table in tables)
    expected = sum(len(table["expected"]) for table in tables)
    result: dict[str, Any] = {"tables": len(tables), "extracted": extracted, "expected": expected}
    for name, strict in (("", True), ("value_", False)):
        correct = sum(matched(table["extracted"], table["expected"], strict) for table in tables)
        result[f"{name}correct"] = correct
        result[f"{name}precision"] = round(correct / extracted, 4) if extracted else None
        result[f"{name}recall"] = round(correct / expected, 4) if expected else None
    return result


def _same_number(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= SCALE_TOLERANCE * max(1.0, abs(a), abs(b))


def _heading_of_line(body: str, headings: list[Any], line: int) -> str:
    offset = sum(len(text) + 1 for text in body.split("\n")[:line])
    above = [heading.text for heading in headings if heading.start <= offset]
    return above[-1] if above else ""


def _block_of(row: dict[str, Any], body: str, headings: list[Any]) -> tuple[str, Any]:
    """The labelled block a claim row comes from: ("table", index), ("list", heading), ("model-index", 0).

    The labels number lists differently (every metric bullet list counts), so a list is found by
    the heading above it."""
    if row["source"] == "model-index":
        return "model-index", 0
    kind, place = row.get("_block", ("", None))
    if kind == "list":
        return "list", _heading_of_line(body, headings, place)
    return kind, place


def _label_key(label: dict[str, Any]) -> tuple[str, Any]:
    if label["block"] == "list":
        return "list", label["heading"]
    return label["block"], label["index"]


def _reader(kind: str, place: Any, body: str, headings: list[Any], tables: list[Table]) -> str:
    """The source that reads a labelled block."""
    if kind == "model-index":
        return "model-index"
    if kind == "list":
        lead = results_list(body)
        under_lead = lead is not None and _heading_of_line(body, headings, lead.line) == place
        return "trainer-results" if under_lead else "card-list"
    table = tables[place] if isinstance(place, int) and place < len(tables) else None
    keys = {normalise(plain(cell)) for cell in table.header} if table else set()
    return "trainer-table" if keys & LOG_COLUMNS else "card-table"


def _metric_matches(row: dict[str, Any], label: dict[str, Any]) -> bool:
    return label["metric"] is None or row["metric"] == label["metric"]


def _split(value: str | None) -> str:
    return _SPLITS.get(_text(value), _text(value))


def score_claims(readmes: dict[str, str], labels_path: Path) -> dict[str, Any]:
    """Per set and source: precision of self rows, recall of self evaluation claims, wrong scales.

    An extracted row matches a labelled claim of its block with the same value (as written) and, where
    the label names one, the same metric; each label is used once. A `self` row is correct when it
    matches a `self` evaluation claim. Recall counts the labelled `self` evaluation claims with a
    canonical metric (the extractors read no other; those without are counted apart) of the
    blocks each source reads (model-indexes; the metric list under the Trainer's lead-in for
    trainer-results, other metric lists for card-list; log tables with an Epoch or Step column for
    trainer-table; other tables for card-table) that a `self` row matches.
    A matched pair whose label has a 0-1 value has a wrong scale when the row's differs or is null.
    A table longer than the text the labeller was shown (`DRAWN_TEXT_CHARS`) is left out.
    """
    by_card: dict[str, list[dict[str, Any]]] = {}
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = json.loads(line)
            by_card.setdefault(label["model_id"], []).append(label)
    tallies: dict[tuple[str, str], Counter[str]] = {}
    for model_id, blocks in by_card.items():
        readme = readmes.get(model_id)
        if readme is None:
            continue
        body = card_body(readme)
        headings = find_headings(body)
        tables, _ = find_tables(body, headings)
        rows = parse_card(model_id, readme, None).claims
        for block in blocks:
            key = _label_key(block)
            reader = _reader(key[0], key[1], body, headings, tables)
            tally = tallies.setdefault((block["set"], reader), Counter())
            if key[0] == "table" and _table_chars(body, tables[key[1]]) > DRAWN_TEXT_CHARS:
                tally["blocks_cut"] += 1  # labelled from the first part of its text only
                continue
            mine = [
                row
                for row in rows
                if _block_of(row, body, headings) == key
                and row["subject"] == "self"
                and row["value"] is not None
            ]
            wanted = [
                claim for claim in block["claims"] if claim["subject"] == "self" and claim["evaluation"]
            ]
            others = [claim for claim in block["claims"] if claim not in wanted]
            _tally_block(tally, mine, wanted, others)
    out: dict[str, Any] = {}
    for (name, source), tally in sorted(tallies.items()):
        out.setdefault(name, {})[source] = _figures(tally)
    return out


def _tally_block(
    tally: Counter[str],
    mine: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    others: list[dict[str, Any]],
) -> None:
    tally["expected"] += sum(claim["metric"] is not None for claim in wanted)
    tally["not_canonical"] += sum(claim["metric"] is None for claim in wanted)
    left = list(wanted)
    for row in mine:
        tally["extracted"] += 1
        candidates = [c for c in left if _same_number(row["value"], c["value"]) and _metric_matches(row, c)]
        # Of equal numbers, the label on the row's own dataset and split (a table repeats values).
        found = max(
            candidates,
            key=lambda c: (_dataset_right(row, c), _split(row["dataset_split"]) == _split(c["split"])),
            default=None,
        )
        if found is None:
            wrong = next((c for c in others if _same_number(row["value"], c["value"])), None)
            tally[
                "wrong_subject"
                if wrong and wrong["evaluation"]
                else "not_evaluation"
                if wrong
                else "unmatched"
            ] += 1
            continue
        left.remove(found)
        tally["correct"] += 1
        tally["found"] += found["metric"] is not None
        if found["value_unit"] is not None:
            tally["scaled"] += 1
            tally["wrong_scale"] += not _same_number(row["value_unit"], found["value_unit"])
        if found["split"] is not None:
            tally["split_labelled"] += 1
            tally["split_right"] += _split(row["dataset_split"]) == _split(found["split"])
        if found["dataset"] is not None:
            tally["dataset_labelled"] += 1
            tally["dataset_right"] += _dataset_right(row, found)
    tally["missed"] += len(left)


def _dataset_right(row: dict[str, Any], label: dict[str, Any]) -> bool:
    """The row names the label's dataset: as its id (with or without the owner), type, name or config."""
    texts = [row.get(f) for f in ("dataset_id", "dataset_type", "dataset_name", "dataset_config")]
    named = {_text(t) for t in texts} | {_text(t.rsplit("/", 1)[-1]) for t in texts if t}
    return label["dataset"] is not None and _text(label["dataset"]) in named


def _table_chars(body: str, table: Table) -> int:
    first, end = table.lines
    return sum(len(line) + 1 for line in body.split("\n")[first:end]) - 1


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _figures(tally: Counter[str]) -> dict[str, Any]:
    return dict(tally) | {
        "precision": _ratio(tally["correct"], tally["extracted"]),
        "recall": _ratio(tally["found"], tally["expected"]),
        "wrong_scale_share": _ratio(tally["wrong_scale"], tally["scaled"]),
        "split_agrees": _ratio(tally["split_right"], tally["split_labelled"]),
        "dataset_agrees": _ratio(tally["dataset_right"], tally["dataset_labelled"]),
    }


def print_claim_scores(scores: dict[str, Any]) -> None:
    for name, sources in scores.items():
        for source in SOURCES:
            f = sources.get(source)
            if f is None:
                continue
            print(
                f"claims labelled ({name}) {source}: {f['extracted']} self rows, {f['expected']} self "
                f"claims (+{f.get('not_canonical', 0)} of other metrics); precision {f['precision']}, "
                f"recall {f['recall']}, wrong scales "
                f"{f.get('wrong_scale', 0)}/{f.get('scaled', 0)}, split agrees {f['split_agrees']}, "
                f"dataset agrees {f['dataset_agrees']} (wrong subject {f.get('wrong_subject', 0)}, "
                f"not evaluation {f.get('not_evaluation', 0)}, unmatched {f.get('unmatched', 0)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--labels", type=Path, default=CLAIM_LABELS, help="the labelled claims (JSON lines)")
    parser.add_argument("--labels-only", action="store_true", help="score the labelled claims and stop")
    parser.add_argument(
        "--show", action="store_true", help="print the tables whose rows differ from the labels"
    )
    args = parser.parse_args()
    readmes = read_readmes(sample_dir(args.sample))
    texts = list(readmes.values())
    claim_scores = score_claims(readmes, args.labels) if args.labels.is_file() else {}
    print_claim_scores(claim_scores)
    if args.labels_only:
        return

    counts = extract_all(texts)
    best = best_seconds(lambda: extract_all(texts), args.rounds)
    bodies = [(body, find_headings(body)) for body in map(card_body, texts)]
    tables_best = best_seconds(lambda: [list(card_table_claims(*body)[0]) for body in bodies], args.rounds)
    print(
        f"body claims: {len(texts)} hub2022 READMEs, {len(texts) / best:,.0f} cards/s (one core, best of "
        f"{args.rounds}; the Markdown tables alone {len(texts) / tables_best:,.0f} cards/s); "
        + ", ".join(f"{source} {n}" for source, n in sorted(counts.items()))
    )

    resolved = dataset_ids(texts)
    print(
        "dataset_id resolved: "
        + ", ".join(f"{source} {found}/{total}" for source, (found, total) in sorted(resolved.items()))
    )

    tables = labelled_tables(readmes)
    results = {"all": score(tables)} | {
        name: score([table for table in tables if table["set"] == name]) for name in SETS
    }
    for name, result in results.items():
        print(
            f"card-table labelled set ({name}): {result['tables']} tables, {result['extracted']} rows "
            f"extracted, {result['expected']} expected; precision {result['precision']}, recall "
            f"{result['recall']} (metric and value alone: precision {result['value_precision']}, "
            f"recall {result['value_recall']})"
        )
    if args.show:
        for table in tables:
            if matched(table["extracted"], table["expected"], True) != len(table["extracted"]):
                print(f"- {table['model_id']} #{table['table_index']}: extracted {table['extracted']}")

    out = REPO_ROOT / "bench" / "results" / "claims.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "cards": len(texts),
        "cards_per_s": round(len(texts) / best),
        "tables_alone_cards_per_s": round(len(texts) / tables_best),
        "counts": dict(counts),
        "dataset_id_resolved": {source: list(pair) for source, pair in resolved.items()},
        "labelled": results,
        "claims_labelled": claim_scores,
        "date": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
