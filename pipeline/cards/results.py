"""Claims from the evaluation results the transformers Trainer (or Keras callback) writes into a card's body.

Two structures:

- `trainer-results`: a line holding `achieves the following results` and ending in `:` (the
  Trainer's `It achieves the following results on the evaluation set:` and its variants), then,
  after blank lines or a fenced code block, the `- Name: value` items (bold allowed) right under
  it: the first such list of the card, one row per item;
- `trainer-table`: the first training log table of the card: a Markdown table with an Epoch or Step
  column (the Trainer's `| Training Loss | Epoch | Step | ... |`, Keras's `| Train Loss | Validation
  Loss | Epoch |`, a pandas log); its last row, one row per evaluation column.

Only evaluation numbers are claims: items and columns naming a training metric (`Train Loss`,
`Training Accuracy`, `train/loss`, a log table's bare `loss`), the epoch, the step, the learning
rate or a time are skipped. The list's `Loss` is the evaluation loss, the table's `Validation Loss`.

Both take the dataset the Trainer's template names in its first sentence (`finetuned.py`), and the
split the lead-in names: `evaluation set` (the Trainer's) and validation/dev words give
`validation`, `test` gives `test`; a lead-in naming no set gives none. The list is compared with
every row of the table (`list_vs_table`), so a reader can tell a best checkpoint or a table that
stops early from a hand edit (docs/definitions.md, "Claim checks").

Two more sources read what authors write by hand: `card-list`, every other bullet list of the body
outside fenced code (and outside a hyperparameters section) with items named by a canonical metric
(`- Accuracy: 0.91`, AutoNLP's "Validation Metrics", the Tatoeba "System Info"), one row per such
item with a number, the split from the heading above it; and `card-table`, results tables
(`tables.py`), whose rows carry the canonical metric as `metric_type`, the header as `metric_name`,
and the row's model, dataset and split.

Values are parsed as model-index values (`claims.parse_value`); a non-numeric item (`No log`,
`{'f1': 0.9}`) keeps a null `value`. The rows never count for has_eval_claims (`not_counted`
`not_model_index`). At most `MAX_ROWS` rows are read from one card; beyond them the problem
`body_claims_capped` is recorded. Reading goes line by line, without backtracking, and never raises.

Each row also carries private keys (a leading `_`, never written) for the steps after extraction:
`_block` (`("list", first line)`, `("table", index)`), `_group` (rows that share one scale) and, for log
table rows, `_column` (the column's earlier values, evidence of its scale).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from pipeline.cards.claims import parse_value, to_json
from pipeline.cards.finetuned import finetuned_from
from pipeline.cards.metrics import TRAINER_GROUP, metric_id
from pipeline.cards.sections import Heading, canonical_sections, normalise
from pipeline.cards.tables import (
    MAX_COLUMNS,
    Table,
    claims_of,
    compares_models,
    find_tables,
    heading_labels,
    last_rows,
    number,
    plain,
)

MAX_ROWS = 200  # claim rows read from one card body
RESULTS_LINE = "It achieves the following results on the evaluation set:"
LEAD_PHRASE = "achieves the following results"
MAX_LEAD = 600  # characters: a longer line is prose, not a lead-in or a list item
MAX_SKIPPED = 40  # blank and code lines looked past between a lead-in and its list
MAX_LOG_ROWS = 1000  # rows of a long training log read (its last ones)
LOG_COLUMNS = frozenset({"epoch", "epochs", "step", "steps"})
# Names of numbers that are no evaluation result.
SACREBLEU_PARTS = frozenset({"bp", "sys len", "ref len"})  # sacrebleu's output beside its score
NOT_EVALUATION = LOG_COLUMNS | SACREBLEU_PARTS | {"learning rate", "lr", "gen len"}
_TRAINING = re.compile(r"^(?:train|training)\b|time\b|runtime|per second|samples|learning rate")
# The name starts with no space, so the spaces after the bullet are read one way only.
_ITEM = re.compile(r"[-*+] +\**([^:\n* ][^:\n*]{0,99}?)\**: *\**([^\n]{0,200})")
_LEADING_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?")
_FENCE = re.compile(r" {0,3}(?:`{3,}|~{3,})")
# A fence line (group `fence`) or a bullet line, whole. Matched in "\n" + body: a literal first
# character lets the scan skip ahead to line starts.
_LIST_LINE = re.compile(r"\n((?P<fence> {0,3}(?:`{3,}|~{3,}))|[ \t]{0,12}[-*+] )[^\n]*")
SPLIT_WORDS = (
    ("test", "test"),
    ("evaluation", "validation"),
    ("validation", "validation"),
    ("dev", "validation"),
)


class Lead(NamedTuple):
    split: str | None
    items: list[tuple[str, str]]  # (name, value as written)
    line: int  # the list's first line in the body


def _lead_split(rest: str) -> str | None:
    words = normalise(rest).split()
    return next((split for word, split in SPLIT_WORDS if word in words), None)


def _item_value(text: str) -> str:
    """The value of an item as written, less bold marks and a trailing remark (`0.12** (0.15)`)."""
    text = text.replace("*", "").strip()
    leading = _LEADING_NUMBER.match(text)
    return leading.group(0) if leading and text[leading.end() :].lstrip()[:1] in ("", "(") else text


def results_list(body: str) -> Lead | None:
    """The first lead-in of the card followed by `- Name: value` items, or None."""
    lines: list[str] | None = None
    line_number = counted_to = 0  # lines are counted as the scan goes: linear however many lead-ins
    at = body.find(LEAD_PHRASE)
    while at >= 0:
        start, end = body.rfind("\n", 0, at) + 1, body.find("\n", at)
        end = len(body) if end < 0 else end
        line = body[start:end]
        if len(line) <= MAX_LEAD and line.rstrip().endswith(":"):
            lines = lines or body.split("\n")
            line_number += body.count("\n", counted_to, start)
            counted_to = start
            first = _list_start(lines, line_number + 1)
            items = list(_items(lines, first))
            if items:
                return Lead(_lead_split(body[at + len(LEAD_PHRASE) : end]), items, first)
        at = body.find(LEAD_PHRASE, end)
    return None


def _list_start(lines: list[str], start: int) -> int:
    """The first line after `start` that is neither blank nor in a fenced code block (within a bound)."""
    position, fenced = start, False
    while position < len(lines) and position - start < MAX_SKIPPED:
        line = lines[position].strip()
        if _FENCE.match(lines[position]):
            fenced = not fenced
        elif not fenced and line:
            break
        position += 1
    return position


def _items(lines: list[str], position: int) -> Iterator[tuple[str, str]]:
    for index in range(position, len(lines)):  # no slice: a copy per lead-in would be quadratic
        line = lines[index]
        match = _ITEM.fullmatch(line.rstrip()) if len(line) <= MAX_LEAD else None
        if match is None:
            return
        yield match.group(1).strip(), _item_value(match.group(2))


def card_lists(
    body: str, headings: list[Heading], skip: int
) -> Iterator[tuple[int, str, list[tuple[str, str]]]]:
    """(first line, heading, items) of each bullet list outside fenced code whose items name metrics
    (`- Accuracy: 0.91`): only the items whose name is a canonical metric of an evaluation, with a
    number; lists under a hyperparameters heading and the one starting at line `skip` are left out.

    Only bullet and fence lines are visited (one scan finds them); the text between two bullets
    says whether they are one list (blank lines only) or two."""
    starts = [heading.start for heading in headings]
    fence = False
    run: list[tuple[str, str]] | None = None  # the metric items of the list being read
    run_line = run_offset = line_number = previous_end = 0
    position = 1  # past the "\n" put before the body

    def finished() -> Iterator[tuple[int, str, list[tuple[str, str]]]]:
        heading = _heading_above(headings, starts, run_offset)
        if run and run_line != skip and "hyperparameters" not in canonical_sections(heading):
            yield run_line, heading, run

    text = "\n" + body  # offsets in `text` are one past those in `body`
    for match in _LIST_LINE.finditer(text):
        start = match.start() + 1
        if run is not None:
            gap = text[previous_end:start]
            if match.group("fence") is not None or (gap and not gap.isspace()):
                yield from finished()  # a fence or other text ends the list
                run = None
        previous_end = match.end()
        if match.group("fence") is not None:
            fence = not fence
            continue
        if fence:
            continue
        if run is None:
            line_number += text.count("\n", position, start)
            position = start
            run, run_line, run_offset = [], line_number, start - 1
        line = match.group(0)[1:]
        item = _ITEM.fullmatch(line.strip()) if len(line) <= MAX_LEAD else None
        if item and metric_id(item.group(1)) and is_evaluation(item.group(1)):
            value = _item_value(item.group(2))
            if parse_value(value)[0] is not None:
                run.append((item.group(1).strip(), value))
    if run is not None:
        yield from finished()


def _heading_above(headings: list[Heading], starts: list[int], offset: int) -> str:
    place = bisect_right(starts, offset) - 1
    return headings[place].text if place >= 0 else ""


def is_evaluation(name: str, log_table: bool = False) -> bool:
    """Whether a list item or log column names an evaluation number (not a training one, not the epoch)."""
    key = normalise(name)
    if key in NOT_EVALUATION or _TRAINING.search(key) or _sacrebleu_part(key):
        return False
    return not (log_table and key == "loss")  # a log's bare loss is the training loss


def output_loss(name: str) -> str | None:
    """`loss` for a loss named in words no alias holds (`valid_loss`, Keras's `Validation Pooler
    Output Loss`, one output's among several), else None: the name alone decides the metric."""
    return "loss" if metric_id(name) is None and normalise(name).endswith(" loss") else None


def _sacrebleu_part(key: str) -> bool:
    """A part of sacrebleu's output named after its metric (`Bleu-bp`, `bleu_sys_len`)."""
    metric, _, part = key.replace("-", " ").partition(" ")
    return metric in ("bleu", "sacrebleu") and part in SACREBLEU_PARTS


def _log_table(tables: list[Table], body: str) -> Table | None:
    """The first training log of the card; a log too long to be read as results keeps its last
    `MAX_LOG_ROWS` rows (long trainings log hundreds of evaluations). A table whose rows are
    different models (with the epochs or steps each was trained for) is a comparison, not a log."""
    for table in tables:
        keys = [normalise(plain(cell)) for cell in table.header]
        if not LOG_COLUMNS & set(keys) or len(keys) > MAX_COLUMNS or compares_models(table):
            continue
        if table.too_long:
            table = table._replace(rows=last_rows(body, table, MAX_LOG_ROWS))
        if table.rows:
            return table
    return None


def _log_columns(table: Table) -> list[tuple[int, str]]:
    return [
        (place, plain(cell)) for place, cell in enumerate(table.header) if is_evaluation(plain(cell), True)
    ]


def _progress(table: Table, name: str) -> float | None:
    """The last row's epoch (`name` epoch) or step, when the table has that column."""
    keys = [normalise(plain(cell)) for cell in table.header]
    for place, key in enumerate(keys):
        if key in (name, name + "s"):
            return number(table.rows[-1][place].replace(",", ""))[0]
    return None


def _decimals(text: str) -> int:
    digits = text.strip().rstrip("%").lower().split("e")[0]
    return len(digits.partition(".")[2])


def _same(a: str, b: str) -> bool:
    """Two values as written are one number at the coarser one's decimals."""
    x, y = number(a)[0], number(b)[0]
    if x is None or y is None:
        return False
    places = min(_decimals(a), _decimals(b))
    return abs(round(x, places) - round(y, places)) < 10**-places / 2 + 1e-12 or round(x - y, 12) == 0


def _matching(name: str, columns: list[tuple[int, str]]) -> int | None:
    key = normalise(name)
    for place, header in columns:
        header_key = normalise(header)
        if header_key == key or (
            key == "loss" and header_key in ("validation loss", "valid loss", "eval loss")
        ):
            return place
    return None


def list_vs_table(
    items: list[tuple[str, str]], table: Table | None, hyperparameters: Mapping[str, Any], masked_lm: bool
) -> str | None:
    """How the results list relates to the log table: `last_row` (equal to it), `earlier_row` (equal
    to an earlier row: the best checkpoint), `table_ends_early` (the table stops before the epochs or
    steps trained), `masked_lm` (a masked-language model's numbers within `MASKED_LM_TOLERANCE`),
    `differs`; None without a table or a shared column."""
    if table is None:
        return None
    columns = _log_columns(table)
    shared = [(raw, place) for name, raw in items if (place := _matching(name, columns)) is not None]
    shared = [(raw, place) for raw, place in shared if number(raw)[0] is not None]
    if not shared:
        return None
    equal = [all(_same(raw, row[place]) for raw, place in shared) for row in table.rows]
    if equal[-1]:
        return "last_row"
    if any(equal):
        return "earlier_row"
    if _ends_early(table, hyperparameters):
        return "table_ends_early"
    if masked_lm and all(_close(raw, table.rows[-1][place]) for raw, place in shared):
        return "masked_lm"
    return "differs"


MASKED_LM_TOLERANCE = 0.05  # relative: random masking changes a masked-LM's loss between passes


def _close(a: str, b: str) -> bool:
    x, y = number(a)[0], number(b)[0]
    return x is not None and y is not None and abs(x - y) <= MASKED_LM_TOLERANCE * max(abs(x), abs(y))


def _ends_early(table: Table, hyperparameters: Mapping[str, Any]) -> bool:
    epochs, steps = hyperparameters.get("num_epochs"), hyperparameters.get("training_steps")
    last_epoch, last_step = _progress(table, "epoch"), _progress(table, "step")
    if isinstance(steps, (int, float)) and last_step is not None:
        return last_step < steps
    return isinstance(epochs, (int, float)) and last_epoch is not None and last_epoch < epochs - 0.01


def body_claims(
    model_id: str,
    body: str,
    headings: list[Heading],
    hyperparameters: Mapping[str, Any] | None = None,
    masked_lm: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(claim rows, problem codes) from the Trainer's results and the results tables of a card body
    (newlines normalised); `hyperparameters` (`training.trainer_lists`) and `masked_lm` serve
    `list_vs_table`."""
    rows: list[dict[str, Any]] = []
    tables, tables_capped = find_tables(body, headings)
    lead = results_list(body)
    log = _log_table(tables, body)
    template = finetuned_from(body)
    trainer = {
        "dataset_name": template.dataset if template else None,
        "dataset_config": template.dataset_config if template else None,
        "_group": TRAINER_GROUP,
    }
    if lead is not None:
        relation = list_vs_table(lead.items, log, hyperparameters or {}, masked_lm)
        sacrebleu = any(normalise(name) in SACREBLEU_PARTS for name, _ in lead.items)
        for name, raw in lead.items:
            if not is_evaluation(name):
                continue
            if len(rows) == MAX_ROWS:
                return rows, ["body_claims_capped"]
            value, percent = parse_value(raw)
            extra = {
                "dataset_split": lead.split,
                "list_vs_table": relation,
                "metric_type": output_loss(name),
                "_block": ("list", lead.line),
            }
            if sacrebleu and normalise(name) == "score":  # sacrebleu's corpus score is its BLEU
                extra["metric_type"] = "bleu"
            rows.append(_row(model_id, "trainer-results", name, raw, value, percent) | trainer | extra)
    for line, heading, items in card_lists(body, headings, lead.line if lead else -1):
        split = heading_labels(heading)[1]
        for name, raw in items:
            if len(rows) == MAX_ROWS:
                return rows, ["body_claims_capped"]
            value, percent = parse_value(raw)
            extra = {"dataset_split": split, "_block": ("list", line), "_group": f"list:{line}"}
            rows.append(_row(model_id, "card-list", name, raw, value, percent) | extra)
    if log is not None:
        for place, header in _log_columns(log):
            if len(rows) == MAX_ROWS:
                return rows, ["body_claims_capped"]
            raw = log.rows[-1][place]
            value, percent = number(raw)
            extra = {
                "dataset_split": lead.split if lead else "validation",
                "metric_type": output_loss(header),
                "_block": ("table", log.index),
                "_column": [number(row[place]) for row in log.rows],
            }
            rows.append(_row(model_id, "trainer-table", header, raw, value, percent) | trainer | extra)
    problems = ["card_tables_capped"] if tables_capped else []
    for claim in claims_of(tables):
        if len(rows) == MAX_ROWS:
            return rows, [*problems, "body_claims_capped"]
        value, percent = number(claim.raw)
        index = claim.table.index if claim.table else -1
        heading_dataset, heading_split = heading_labels(claim.table.heading if claim.table else "")
        rows.append(
            _row(model_id, "card-table", claim.header, claim.raw, value, percent)
            | {
                "metric_type": claim.metric,
                "model_name": claim.model_name,
                "dataset_name": claim.dataset_name or heading_dataset,
                "dataset_split": claim.dataset_split or heading_split,
                "_block": ("table", index),
                "_group": f"table:{index}",
                "_claim": claim,
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
        "_group": source,
    }
