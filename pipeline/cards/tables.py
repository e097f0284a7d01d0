"""Claims from results written as Markdown tables in a card body (`card-table`), read conservatively.

A table is a GFM pipe table: a header line holding `|`, then a delimiter row (`---`, `:--:` cells
split by `|`) with as many cells, then the rows up to the first line without `|`; rows with another
number of cells are dropped. Tables inside fenced code blocks, lines indented as code and block
quotes are not tables. Every table outside fences counts for `Table.index` (its place in the
card), whether it is read or skipped; only the first `MAX_TABLES` are read.

Skipped tables: more than `MAX_TABLE_ROWS` rows or `MAX_COLUMNS` columns; training logs (a column
named Epoch or Step: the Trainer's "Training results" table is read as `trainer-table`);
hyperparameter tables (under a heading naming the hyperparameters section, or a first column named
Hyperparameter, Parameter, Setting, Argument, Config); several rows with no model, dataset or split
column to say what a row is; and rows that those labels cannot tell apart (one model twice,
told apart by a column that is no label).

A column is a metric column when its header, stripped of markup, `(%)` and arrows, is a metric name
of `metrics.py`, optionally after a dataset name ("ImageNet top-1 acc", "LAMBADA PPL"), with a split
word anywhere ("Dev Accuracy", "test WER", "Training Loss"), or as "Dataset (metric)" ("NSMC
(acc)"). Headers naming an average, one class's score ("LOC F1", "F1 (DATE)"), an unknown
qualifier ("Accuracy (holistic scoring)") or a metric that is no canonical id ("top-5", "chrF",
"BLEU-1") are not. A cell counts when it is one number, optionally bold, with an optional `%` and an
optional `±` part (dropped). One claim per (row, metric column):

- `model_name`: the row's cell in a model column (Model, Name, Checkpoint, Id, ...) when that
  column names two or more different models; otherwise null (the card's own model);
- `dataset_name`: the row's cell in a dataset column (Dataset, Testset, Benchmark, Task, Corpus; a
  blank cell repeats the one above, as a merged cell), else the dataset named in the metric's
  header, else null; with datasets in rows, a name before the metric in a header is a model's
  ("| Dataset | mBERT F1 |"); rows labelled Average/Mean are skipped;
- `dataset_split`: the row's cell in a split column (Split, Set, Subset), a split label in the model
  column ("Test set"), else a split word of the header, else null.

Two more shapes: a table whose first header is Metric/Metrics/Measure/Key/Type (or blank, with no
metric column) lists one metric per row (`| EM | 80.9 |`, split from a prefix as in `test_rouge1`
or from the value column's header); and a per-class report gives its `accuracy`, `macro avg`,
`weighted avg` and `micro avg` rows, read in its F1 column.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from pipeline.cards.claims import parse_value
from pipeline.cards.metrics import metric_id, spacy_component
from pipeline.cards.sections import LINK, TAG, Heading, canonical_sections, normalise

MAX_TABLES = 30  # tables read from one card
MAX_TABLE_ROWS = 50  # a longer table is a data listing, not results
MAX_COLUMNS = 32
MAX_LINE = 4000  # characters: a longer line ends a table
MAX_CELL = 300  # characters of a header or label cell that are looked at
METRIC_WORDS = 5  # words a metric name may have (those of metrics.py have at most three)
HEADING_WORDS = 8  # a longer heading is prose, not a metric's name
MAX_LEAD_TEXT = 2000  # characters of a sentence read for the split it names
HEADING_METRIC_COLUMNS = 4  # more value columns under a metric's heading are counts (ESPnet's Snt, Wrd, ...)

MODEL_HEADERS = frozenset({"model", "models", "model name", "name", "checkpoint", "id", "model id", "system"})
MODEL_HEADERS |= {"model and size", "architecture"}
DATASET_HEADERS = frozenset(
    {
        "dataset",
        "datasets",
        "data",
        "data set",
        "testset",
        "test set",
        "test corpus",
        "benchmark",
        "corpus",
        "task",
    }
)
# Words that make a label a model's name rather than a dataset's ("Ours", "BERT-base", "mT5-large").
MODEL_WORDS = frozenset({"ours", "baseline", "base", "large", "small", "tiny", "mini", "xl", "xxl", "distil"})
TEST_SET_HEADERS = frozenset({"testset", "test set", "test corpus", "test sets", "testsets"})
SPLITS_HEADERS = frozenset({"split", "set", "subset", "eval split"})
VALUE_HEADERS = frozenset({"value", "values", "score", "scores", "result", "results"})
# A report's summary rows, read in its F1 column (where scikit-learn also writes the accuracy).
REPORT_ROWS = {
    "macro avg": "f1_macro",
    "weighted avg": "f1_weighted",
    "micro avg": "f1_micro",
    "accuracy": "accuracy",
}
METRIC_HEADERS = frozenset({"metric", "metrics", "measure", "key", "type"})
TRAINING_LOG_HEADERS = frozenset({"epoch", "epochs", "step", "steps"})
HYPERPARAMETER_HEADERS = frozenset(
    {
        "hyperparameter",
        "hyperparameters",
        "hyper-parameter",
        "hyper-parameters",
        "parameter",
        "parameters",
        "param",
        "setting",
        "settings",
        "argument",
        "arguments",
        "config",
        "configuration",
    }
)
# Split words of a header; "eval" names no split, so it is dropped and not recorded.
SPLITS = {"test": "test", "dev": "dev", "train": "train", "eval": ""}
SPLITS |= dict.fromkeys(("validation", "val", "valid"), "validation")
SPLITS |= dict.fromkeys(("training", "pretraining", "pre-training"), "train")
AVERAGES = frozenset({"avg", "average", "mean", "averaged"})
# Header words that make a metric column something else: an average, or one class's score.
QUALIFIED = AVERAGES | {"loc", "org", "per", "misc", "date", "time", "person", "location", "organization"}
QUALIFIED |= {"positive", "negative", "neutral", "class"}
QUALIFIERS = frozenset({"overall", "final", "exact", "total"})  # words that name no dataset

_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# A reference-style link, [text][label]; brackets excluded inside, so a run of `[` is read once.
_REF_LINK = re.compile(r"\[([^\[\]]*)\]\[[^\[\]]*\]")
_MARKUP = re.compile(r"[*`↑↓]|\(\s*%\s*\)|%|&#?\w{1,10};")
_PARENTHESIS = re.compile(r"(.*?)\s*\(([^()]*)\)")
_WORD = re.compile(r"[\w+-]+")
_ALNUM = re.compile(r"[a-z0-9.]+")
_HUB_ID = re.compile(r"[\w.-]{1,96}/[\w.-]{1,96}")
_MODEL_WORD = re.compile(
    r"(?:[a-z]{0,12}(?:bert|gpt|t5|bart|xlm|xlnet|electra|albert|wav2vec2?|llama)[a-z0-9.]{0,12})"
)
_TOP_K = re.compile(r"top[ -]?(?:[02-9]|\d\d)", re.IGNORECASE)  # top-5 accuracy is no accuracy


class Table(NamedTuple):
    index: int  # place among the card's tables
    lines: tuple[int, int]  # first and past-the-last line of the table in the body
    heading: str  # text of the nearest heading above; "" when none
    header: list[str]
    rows: list[list[str]]  # rows with as many cells as the header; others are dropped
    too_long: bool  # more than MAX_TABLE_ROWS rows or MAX_COLUMNS columns: never read


class TableClaim(NamedTuple):
    header: str  # the metric column's header (or row label) as written
    metric: str
    raw: str  # the cell as written
    model_name: str | None
    dataset_name: str | None
    dataset_split: str | None
    row_model: str | None = None  # the row's model as written, also where the table names one model only
    table: Table | None = None  # the table the claim is read from


def _cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _PIPE.split(text)]


def _table_line(line: str) -> bool:
    if "|" not in line or len(line) > MAX_LINE:
        return False
    return not line.startswith("    ") and not line.lstrip().startswith(">")


def code_fence(fence: str | None, line: str) -> tuple[bool, str | None]:
    """(whether `line` is a fence line or fenced code, the fence open after it), given the fence open
    before it (None outside code): an opening run of backticks or tildes is closed by a line holding a
    run of the same that is at least as long and nothing else."""
    fenced = _FENCE.match(line)
    if fence is not None:
        closes = fenced is not None and fenced.group(1).startswith(fence) and not fenced.group(2).strip()
        return True, None if closes else fence
    if fenced is None:
        return False, None
    opens = fenced.group(1)[0] == "~" or "`" not in fenced.group(2)
    return True, fenced.group(1) if opens else None


def find_tables(body: str, headings: list[Heading]) -> tuple[list[Table], bool]:
    """(the card's pipe tables outside code fences, whether more than MAX_TABLES were found)."""
    if "|" not in body:
        return [], False
    tables: list[Table] = []
    starts = [heading.start for heading in headings]
    lines = body.split("\n")
    fence: str | None = None
    offset = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        code, fence = code_fence(fence, line)
        if not code and i + 1 < len(lines) and _table_line(line) and _is_delimiter(lines[i + 1]):
            header, width = _cells(line), len(_cells(lines[i + 1]))
            if len(header) == width:
                if len(tables) == MAX_TABLES:
                    return tables, True
                end = i + 2
                while end < len(lines) and _table_line(lines[end]) and not _FENCE.match(lines[end]):
                    end += 1
                too_long = end - i - 2 > MAX_TABLE_ROWS or width > MAX_COLUMNS
                cut = i + 2 if too_long else end
                rows = [cells for cells in map(_cells, lines[i + 2 : cut]) if len(cells) == width]
                place = bisect_right(starts, offset) - 1
                heading = headings[place].text if place >= 0 else ""
                tables.append(Table(len(tables), (i, end), heading, header, rows, too_long))
                offset += sum(len(text) + 1 for text in lines[i:end])
                i = end
                continue
        offset += len(line) + 1
        i += 1
    return tables, False


def last_rows(body: str, table: Table, limit: int) -> list[list[str]]:
    """The last `limit` rows of a table, also of one too long to be read as results (a training log)."""
    first, end = table.lines
    lines = body.split("\n")[max(first + 2, end - limit) : end]
    return [cells for cells in map(_cells, lines) if len(cells) == len(table.header)]


def _is_delimiter(line: str) -> bool:
    text = line.strip()
    return "|" in text and "-" in text and len(text) <= MAX_LINE and _DELIMITER.fullmatch(text) is not None


def plain(cell: str) -> str:
    """A cell's text without links, HTML tags, emphasis, backticks, arrows and `%` marks."""
    text = _MARKUP.sub(" ", TAG.sub(" ", _REF_LINK.sub(r"\1", LINK.sub(r"\1", cell[:MAX_CELL]))))
    return " ".join(text.split())


def _key(cell: str) -> str:
    return normalise(plain(cell))


def number(cell: str) -> tuple[float | None, bool]:
    """(value, is_percent) of a cell that is one number (bold, `%` and a `±` part allowed)."""
    text = cell.strip()[:MAX_CELL].strip("*_`\\ ")  # bold, and a footnote star
    return parse_value(_without_spread(text))


_SPREAD_SIGNS = ("±", "+/-", "+-")


def _without_spread(text: str) -> str:
    """`text` without a trailing `± 0.5` part (in brackets, with `%`, too).

    By string methods: a regex with a lazy value before optional spaces is cubic in a run of spaces.
    """
    at, sign = max((text.rfind(sign), sign) for sign in _SPREAD_SIGNS)
    if at < 0:
        return text
    spread = text[at + len(sign) :].strip().removesuffix(")").rstrip().removesuffix("%").rstrip()
    value = text[:at].rstrip().removesuffix("(").rstrip()
    if not value or not spread or spread.strip("0123456789."):
        return text
    return value


def _split_words(words: list[str]) -> tuple[list[str], str | None]:
    """(words without split words, the split they name)."""
    kept: list[str] = []
    split: str | None = None
    for word in words:
        name = SPLITS.get(word.lower().strip(".:-_()"))
        if name is None:
            kept.append(word)
        elif name:
            split = split or name
    return kept, split


@lru_cache(maxsize=4096)  # cards repeat their headers ("BLEU", "Accuracy") table after table
def metric_header(header: str) -> tuple[str, str | None, str | None] | None:
    """(metric, dataset name, split) a column header names, or None when it names no canonical metric."""
    text = plain(header).replace("_", " ")
    found = metric_id(text)
    if found:
        return found, None, _split_words(text.split())[1]
    if not text or not QUALIFIED.isdisjoint(_WORD.findall(text.lower())) or _TOP_K.search(text):
        return None
    parts = _PARENTHESIS.fullmatch(text)
    if parts:  # "NSMC (acc)": the metric in brackets, the dataset before them; or "Accuracy (test)"
        outer, inner = parts.group(1).strip(), parts.group(2).strip()
        inner_metric = metric_id(inner)
        if inner_metric:
            words, split = _split_words(outer.split())
            return inner_metric, " ".join(words) or None, split
        if SPLITS.get(inner.lower()) is None:
            return None
        text = f"{inner} {outer}"
    words, split = _split_words(text.split())
    words = [word for word in words if word.lower() not in QUALIFIERS]
    for start in range(max(0, len(words) - METRIC_WORDS), len(words)):
        found = metric_id(" ".join(words[start:]))
        if found:
            return found, " ".join(words[:start]) or None, split
    return None


Labels = tuple[str | None, str | None, str | None]  # a row's model, dataset and split


def _role(header: str) -> str:
    key = _key(header)
    for role, names in (("model", MODEL_HEADERS), ("dataset", DATASET_HEADERS), ("split", SPLITS_HEADERS)):
        if key in names:
            return role
    return "other"


def _split_name(label: str) -> str | None:
    """The split a whole label names ("Test", "Validation set"), else None."""
    words = [word for word in label.lower().split() if word not in ("set", "data", "split")]
    return SPLITS.get(words[0]) or None if len(words) == 1 else None


def _skipped(table: Table) -> bool:
    keys = [_key(cell) for cell in table.header]
    return (
        table.too_long
        or any(key in TRAINING_LOG_HEADERS for key in keys)
        or keys[0] in HYPERPARAMETER_HEADERS
        or ("hyperparameters" in canonical_sections(table.heading) and not _names_a_metric(table.heading))
    )


def _names_a_metric(heading: str) -> bool:
    """Whether a heading names a metric too ("Hyperparameters and Validation Perplexity")."""
    words = _ALNUM.findall(plain(heading).lower())[:HEADING_WORDS]
    return any(metric_id(" ".join(words[i : i + 2])) or metric_id(word) for i, word in enumerate(words))


def table_claims(table: Table) -> Iterator[TableClaim]:
    """The claims of one table (none when it is skipped); see the module's rules."""
    if _skipped(table) or not table.rows:
        return
    metrics = [(place, found) for place, cell in enumerate(table.header) if (found := metric_header(cell))]
    first = _key(table.header[0])
    if not metrics and (first in METRIC_HEADERS or not first):
        yield from _metric_rows(table)
    elif metrics:
        roles = [_role(cell) for cell in table.header]
        if roles[0] == "other" and not first and _names_models(table, 0):
            roles[0] = "model"  # an unnamed first column of model names
        if {"model", "dataset", "split"} & set(roles):
            yield from _claims(table, metrics, *_labels(table, roles))
        elif len(table.rows) == 1:
            yield from _claims(table, metrics, [(None, None, None)], [None])
        else:
            yield from _report_rows(table, metrics)
    elif (found := heading_metric(table.heading)) is not None:
        yield from _heading_metric_rows(table, found)


def _labels(table: Table, roles: list[str]) -> tuple[list[Labels], list[str | None]]:
    """(each row's labels, each row's model as written); a blank dataset or split cell repeats the
    one above it (a merged cell)."""
    columns = [roles.index(role) if role in roles else None for role in ("model", "dataset", "split")]
    if columns[0] is None and columns[1] is not None and _names_models(table, columns[1]):
        columns[:2] = columns[1], None  # a "Task" column that lists models
    labels: list[Labels] = []
    previous: Labels = (None, None, None)
    # A "Testset" column names test sets: its rows are on a test split.
    test_column = columns[1] is not None and _key(table.header[columns[1]]) in TEST_SET_HEADERS
    for row in table.rows:
        model, dataset, split = (None if column is None else plain(row[column]) or None for column in columns)
        dataset, split = dataset or previous[1], split or previous[2]
        previous = (model, dataset, split)
        if model and _split_name(model):  # "Test set" in a Name column
            model, split = None, split or _split_name(model)
        if not split and test_column and dataset:
            split = "test"
        labels.append((model, dataset, split and (_split_name(split) or split)))
    row_models = [model for model, _, _ in labels]
    if len(set(row_models)) < 2:  # one model: the card's own unless attribution says otherwise
        labels = [(None, dataset, split) for _, dataset, split in labels]
    return labels, row_models


def _names_models(table: Table, column: int) -> bool:
    """Whether most filled cells of a label column name models (`bert-base`, `org/name`, "Ours")."""
    cells = [plain(row[column]) for row in table.rows]
    filled = [cell for cell in cells if cell]
    return bool(filled) and 2 * sum(map(looks_like_model, filled)) > len(filled)


def compares_models(table: Table) -> bool:
    """Whether the table's rows are two or more models: a model column (Model, Name, ..., or an
    unnamed first column of model names) with different names in it."""
    columns = [place for place, cell in enumerate(table.header) if _role(cell) == "model"]
    if not _key(table.header[0]) and _names_models(table, 0):
        columns.append(0)
    return any(len({plain(row[column]) for row in table.rows} - {""}) > 1 for column in columns)


def looks_like_model(text: str) -> bool:
    """A label that reads as a model's name: a Hub id, a model family word, a size, or "ours"."""
    words = _ALNUM.findall(text.lower()[:MAX_CELL])
    return _HUB_ID.fullmatch(text.strip()) is not None or any(
        word in MODEL_WORDS or _MODEL_WORD.fullmatch(word) for word in words
    )


def _claims(
    table: Table,
    metrics: list[tuple[int, tuple[str, str | None, str | None]]],
    labels: list[Labels],
    row_models: list[str | None],
) -> Iterator[TableClaim]:
    rows = [
        (label, row, row_model)
        for label, row, row_model in zip(labels, table.rows, row_models, strict=True)
        if not any(text and text.lower().rstrip(".") in AVERAGES for text in label)
        and any(number(row[place])[0] is not None for place, _ in metrics)
    ]
    if len({label for label, _, _ in rows}) < len(rows):  # rows told apart by something unread
        return
    for (model, row_dataset, row_split), row, row_model in rows:
        for place, (metric, header_dataset, header_split) in metrics:
            if number(row[place])[0] is None:
                continue
            name = model
            if row_dataset and header_dataset:  # datasets in rows: "mBERT F1" names a model
                name = model or header_dataset
            dataset, split = row_dataset or header_dataset, row_split or header_split
            named = row_model or (header_dataset if row_dataset and header_dataset else None)
            yield TableClaim(
                plain(table.header[place]), metric, row[place], name, dataset, split, named, table
            )


def _report_rows(
    table: Table, metrics: list[tuple[int, tuple[str, str | None, str | None]]]
) -> Iterator[TableClaim]:
    """The average rows of a per-class report (scikit-learn's `classification_report` as a table)."""
    f1 = [place for place, (metric, dataset, _) in metrics if metric == "f1" and dataset is None]
    if len(f1) != 1:
        return
    for row in table.rows:
        metric = REPORT_ROWS.get(_key(row[0]))
        if metric and number(row[f1[0]])[0] is not None:
            header = f"{plain(row[0])} {plain(table.header[f1[0]])}"
            yield TableClaim(header, metric, row[f1[0]], None, None, None, None, table)


def _metric_rows(table: Table) -> Iterator[TableClaim]:
    """A table of one metric per row: `| Metric | Value |`, or `| | test |`."""
    values = [1] if len(table.header) == 2 else []
    values = values or [place for place, cell in enumerate(table.header) if _key(cell) in VALUE_HEADERS]
    if len(values) != 1:
        return
    column = values[0]
    roles = [_role(cell) for cell in table.header]
    split_column = roles.index("split") if "split" in roles else None
    column_split = _split_name(plain(table.header[column]))
    found: list[tuple[tuple[str, str | None, str | None], list[str]]] = []
    for row in table.rows:
        named = metric_header(row[0])
        if named is None or named[1] is not None or number(row[column])[0] is None:
            continue
        row_split = None if split_column is None else plain(row[split_column])
        split = named[2] or (row_split and (_split_name(row_split) or row_split)) or column_split
        # spaCy's rows are told apart by their component: `TAG_ACC` and `POS_ACC` are two accuracies
        found.append(((named[0], split, spacy_component(plain(row[0]))), row))
    if len({key for key, _ in found}) < len(found):  # told apart by another column
        return
    for (metric, split, _), row in found:
        yield TableClaim(plain(row[0]), metric, row[column], None, None, split, None, table)


def split_in_text(text: str) -> str | None:
    """The one split a sentence names ("evaluated on the test data"), else None (none, or several)."""
    found = {SPLITS.get(word) for word in _ALNUM.findall(text.lower()[:MAX_LEAD_TEXT])} - {None, ""}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=4096)
def heading_labels(heading: str) -> tuple[str | None, str | None]:
    """(dataset, split) a table's heading names: "Results on the CoNLL-2003 test set" gives
    ("CoNLL-2003", "test"); the dataset only after "on" or "for", the split from a split word."""
    words = plain(heading).replace("_", " ").replace("(", " ").replace(")", " ").split()
    if len(words) > HEADING_WORDS:
        return None, None
    kept, split = _split_words(words)
    lowered = [word.lower() for word in kept]
    place = max((i for i, word in enumerate(lowered) if word in ("on", "for")), default=None)
    if place is None:
        return None, split
    named = [
        w for w in kept[place + 1 :] if w.lower() not in ("the", "set", "sets", "dataset", "data", "split")
    ]
    named = [w for w in named if metric_id(w) is None]
    return " ".join(named) or None, split


@lru_cache(maxsize=4096)
def heading_metric(heading: str) -> str | None:
    """The one metric a short heading names ("WER", "Test results (CER)"), else None."""
    words = _WORD.findall(plain(heading).lower().replace("_", " "))
    if not words or len(words) > HEADING_WORDS:
        return None
    found = {
        metric
        for size in (3, 2, 1)
        for start in range(len(words) - size + 1)
        if (metric := metric_id(" ".join(words[start : start + size])))
        and metric not in ("loss", "exact_match")
    }
    return found.pop() if len(found) == 1 else None


def _heading_metric_rows(table: Table, metric: str) -> Iterator[TableClaim]:
    """A table of numbers whose heading names the metric: "| Without LM | With LM |" under "WER".

    One row is read as it is; with several, the first column must name each row's model, dataset or
    split. A scoring report (sclite's `| dataset | Snt | Wrd | Corr | Sub | Del | Ins | Err | S.Err |`,
    as ESPnet writes it) gives its `Err` column, the error rate, with the split its dataset path ends in.
    """
    keys = [_key(cell) for cell in table.header]
    if "err" in keys and keys[0] in DATASET_HEADERS:
        yield from _scoring_report(table, metric, keys.index("err"))
        return
    if len(table.rows) == 1 and all(number(cell)[0] is not None for cell in table.rows[0]):
        columns, labels = range(len(table.header)), [(None, None, None)]
    else:
        role = _role(table.header[0])
        if role == "other" and not all(_split_name(plain(row[0])) for row in table.rows):
            return
        columns = range(1, len(table.header))
        labels = [
            (
                plain(row[0]) if role == "model" else None,
                plain(row[0]) if role == "dataset" else None,
                _split_name(plain(row[0])) or plain(row[0]) if role in ("split", "other") else None,
            )
            for row in table.rows
        ]
    if len(set(labels)) < len(labels) or len(columns) > HEADING_METRIC_COLUMNS:
        return
    several = len({model for model, _, _ in labels}) > 1
    for (model, dataset, split), row in zip(labels, table.rows, strict=True):
        for place in columns:
            if number(row[place])[0] is not None:
                header = plain(table.header[place]) or metric
                named = model if several else None
                yield TableClaim(header, metric, row[place], named, dataset, split, model, table)


def _scoring_report(table: Table, metric: str, column: int) -> Iterator[TableClaim]:
    """The `Err` of each row of a scoring report, its dataset the row's path, its split the path's end."""
    labels = [plain(row[0]) for row in table.rows]
    if len(set(labels)) < len(labels):
        return
    for label, row in zip(labels, table.rows, strict=True):
        if number(row[column])[0] is not None:
            split = _split_name(label.rsplit("/", 1)[-1]) if "/" in label else None
            yield TableClaim(
                plain(table.header[column]), metric, row[column], None, label or None, split, None, table
            )


def card_table_claims(body: str, headings: list[Heading]) -> tuple[Iterator[TableClaim], bool]:
    """(claims of every table of a body with `\n` line breaks, read as they are taken; whether tables
    were left unread)."""
    tables, capped = find_tables(body, headings)
    return claims_of(tables), capped


def claims_of(tables: list[Table]) -> Iterator[TableClaim]:
    """The claims of `tables`, read as they are taken."""
    return (claim for table in tables for claim in table_claims(table))
