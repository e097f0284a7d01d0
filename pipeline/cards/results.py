"""Claims from the evaluation results the transformers Trainer writes into a generated card's body.

Two structures, read only in the Trainer's own form:

- `trainer-results`: the line `It achieves the following results on the evaluation set:` and the
  `- Name: value` items right under it (the first such line of the card), one row per item;
- `trainer-table`: under a "Training results" heading, the first Markdown table whose header starts
  `| Training Loss | Epoch | Step |`, followed by a delimiter row; its last row, one row per column
  after Step. `Training Loss`, `Epoch` and `Step` are skipped (the list reports the evaluation loss
  as `Loss`; the table's `Validation Loss` is that same number), so both sources name the same
  metrics and their values should be equal; where they differ the card was edited by hand.

A third source, `card-table`, reads results tables written by hand (`tables.py`); its rows carry the
canonical metric as `metric_type`, the header as `metric_name`, and the row's model, dataset and split.

Values are parsed as model-index values (`claims.parse_value`); a non-numeric item (`No log`,
`{'f1': 0.9}`) keeps a null `value`. The rows never count for has_eval_claims (`not_counted`
`not_model_index`). At most `MAX_ROWS` rows are read from one card; beyond them the problem
`body_claims_capped` is recorded. Reading goes line by line, without backtracking, and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipeline.cards.claims import parse_value, to_json
from pipeline.cards.sections import Heading, normalise, own_text
from pipeline.cards.tables import card_table_claims, number

MAX_ROWS = 200  # claim rows read from one card body
RESULTS_LINE = "It achieves the following results on the evaluation set:"
TABLE_LEAD = ("Training Loss", "Epoch", "Step")
_ITEM = re.compile(r"- ([^:\n]{1,100}): ([^\n]{0,200})")
_DELIMITER = re.compile(r"\|(?:[ \t]*:?-+:?[ \t]*\|)+")


def _results_items(body: str) -> Iterator[tuple[str, str]]:
    start = body.find(RESULTS_LINE + "\n")
    if start < 0 or (start > 0 and body[start - 1] != "\n"):
        return
    for line in body[start + len(RESULTS_LINE) + 1 :].split("\n"):
        match = _ITEM.fullmatch(line.rstrip())
        if match is None:
            return
        yield match.group(1).strip(), match.group(2).strip()


def _cells(line: str) -> list[str] | None:
    line = line.strip()
    if len(line) < 2 or not (line.startswith("|") and line.endswith("|")):
        return None
    return [cell.strip() for cell in line[1:-1].split("|")]


def _table_items(text: str) -> Iterator[tuple[str, str]]:
    """The last row of the first Trainer table in `text`, as (column, cell) after Step."""
    lines = text.split("\n")
    for index, line in enumerate(lines[:-1]):
        header = _cells(line)
        if header is None or tuple(header[:3]) != TABLE_LEAD:
            continue
        if not _DELIMITER.fullmatch(lines[index + 1].strip()):
            continue
        last = None
        for row_line in lines[index + 2 :]:
            cells = _cells(row_line)
            if cells is None:
                break
            last = cells
        if last is not None and len(last) == len(header):
            yield from zip(header[3:], last[3:], strict=True)
        return


def _table_text(body: str, headings: list[Heading]) -> str:
    for position, heading in enumerate(headings):
        if normalise(heading.text) == "training results":
            return own_text(body, headings, position)
    return ""


def body_claims(model_id: str, body: str, headings: list[Heading]) -> tuple[list[dict[str, Any]], list[str]]:
    """(claim rows, problem codes) from the Trainer's results and the results tables of a card body
    (newlines normalised)."""
    rows: list[dict[str, Any]] = []
    sources = (
        ("trainer-results", _results_items(body)),
        ("trainer-table", _table_items(_table_text(body, headings))),
    )
    for source, items in sources:
        for name, raw in items:
            if len(rows) == MAX_ROWS:
                return rows, ["body_claims_capped"]
            value, percent = parse_value(raw)
            rows.append(_row(model_id, source, name, raw, value, percent))
    table_claims, tables_capped = card_table_claims(body, headings)
    problems = ["card_tables_capped"] if tables_capped else []
    for claim in table_claims:
        if len(rows) == MAX_ROWS:
            return rows, [*problems, "body_claims_capped"]
        value, percent = number(claim.raw)
        rows.append(
            _row(model_id, "card-table", claim.header, claim.raw, value, percent)
            | {
                "metric_type": claim.metric,
                "model_name": claim.model_name,
                "dataset_name": claim.dataset_name,
                "dataset_split": claim.dataset_split,
            }
        )
    return rows, problems


def _row(
    model_id: str, source: str, name: str, raw: str, value: float | None, percent: bool
) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "source": source,
        "index_key": None,
        "model_name": None,
        "task_type": None,
        "task_name": None,
        "dataset_type": None,
        "dataset_name": None,
        "dataset_config": None,
        "dataset_split": None,
        "metric_type": None,
        "metric_name": name,
        "value": value,
        "value_raw": to_json(raw),
        "is_percent": percent,
        "verified": False,
        "counts": False,
        "not_counted": "not_model_index",
    }
