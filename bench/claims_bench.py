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
from pipeline.cards.results import body_claims
from pipeline.cards.sections import find_headings, normalise_newlines
from pipeline.cards.tables import card_table_claims, find_tables, number, table_claims

LABELS = REPO_ROOT / "bench" / "card_tables_labels.jsonl"
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
            {"metric": c.metric, "value": number(c.raw)[0]} | dict(zip(FIELDS, c[3:], strict=True))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--show", action="store_true", help="print the tables whose rows differ from the labels"
    )
    args = parser.parse_args()
    readmes = read_readmes(sample_dir(args.sample))
    texts = list(readmes.values())

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
        "date": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
