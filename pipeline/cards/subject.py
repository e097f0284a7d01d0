"""Whose number a claim is: `subject` `self` (the card's own model), `other` (another model, named in
`subject_name` as written) or `unknown` (docs/definitions.md, "Claims").

The model-index, eval-results files, the Trainer's list and its log table are the card's own. A
results table is read by its structure:

- a row that names a model (a model column, a "Task" or unnamed column of model names, a model
  named before a metric in a header) is `self` when the name is the card's model: its id, its name,
  a model-index entry's name or the card's title, compared without case or punctuation, the leading
  words of its name (two or more), a link to it, or a name marked "ours", "this model", "this one",
  "this work" or "proposed";
- otherwise, a row of a table that names two or more models, or that names the declared base
  model, is `other`;
- a table that names one model, or none, is the card's own, unless the text above it says whose
  numbers they are: the nearest of up to two paragraphs, then the heading, is read; one that names
  another model (a Hub id or the base model) and not this one makes them `other`; words of
  comparison with no name make them `unknown`.

Only `self` rows count (claims, checks, evaluation, report). Every pattern is bounded, so reading is
linear in the card's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from pipeline.cards.sections import Heading
from pipeline.cards.tables import TableClaim, plain, split_in_text

SELF, OTHER, UNKNOWN = "self", "other", "unknown"
MIN_KEY = 3  # shorter names ("a", "v2") match too much to say whose a row is
MIN_MENTION = 6  # a name found inside a sentence must be at least this long
LEAD_LINES = 4  # lines above a table read for whose results it holds and the split they are on
MAX_LEAD = 1000  # characters of that paragraph
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_WORDS = re.compile(r"[a-z0-9]+")
MIN_LEADING_WORDS = 2  # "BERT" alone is a family, "T5-3b" a model
_OWN = re.compile(
    r"\b(?:ours|our model|our models|this model|this one|this work|proposed|(?:the )?present model)\b"
)
_COMPARISON = re.compile(r"\b(?:baselines?|compar\w{0,12}|versus|vs\.?|other models|benchmarks? of)\b")
# A model named by a Hub link, or as `owner/name` whose name has a digit, `-` or `_` ("train/test" is none).
_HUB_MODEL = re.compile(
    r"huggingface\.co/([\w.-]{1,96}(?:/[\w.-]{1,96})?)"
    r"|(?<![/\w.-])([\w.-]{2,96}/[\w.]{0,48}[\d_-][\w.-]{0,48})(?![/\w])"
)


def is_self(subject: str | None) -> bool:
    """Whether a claim row counts as the card's own: `self`, or null in a table older than the column."""
    return subject is None or subject == SELF


class CardModel(NamedTuple):
    keys: frozenset[str]  # the card's own model, each name as `_key`
    words: tuple[str, ...]  # the words of the model's name (the id's name part), lower case
    bases: frozenset[str]  # the models it declares as its base, as `_key`
    base_names: tuple[str, ...]  # the same, as written


def _key(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower()[:300])


def _keys(names: Iterable[Any]) -> frozenset[str]:
    return frozenset(key for name in names if isinstance(name, str) and len(key := _key(name)) >= MIN_KEY)


def card_model(
    model_id: str, metadata: Mapping[str, Any] | None, headings: list[Heading], base: str | None
) -> CardModel:
    """The names that mean this card's model, and those of its declared base models."""
    names: list[Any] = [model_id, model_id.rsplit("/", 1)[-1]]
    bases: list[Any] = [base] if base else []
    if metadata:
        index = metadata.get("model-index")
        if isinstance(index, list):
            names += [entry.get("name") for entry in index[:100] if isinstance(entry, Mapping)]
        declared = metadata.get("base_model")
        bases += declared[:20] if isinstance(declared, list) else [declared]
    titles = [heading.text for heading in headings[:3] if heading.level == 1]
    names += [plain(title) for title in titles[:1]]
    base_names = tuple(b for b in bases if isinstance(b, str))
    base_names += tuple(b.rsplit("/", 1)[-1] for b in base_names if "/" in b)
    own = _keys(names)
    words = tuple(_WORDS.findall(model_id.rsplit("/", 1)[-1].lower()))
    return CardModel(own, words, _keys(base_names) - own, base_names)


def names_self(name: str, card: CardModel) -> bool:
    """Whether a row's model name is the card's own model: one of its names, a link to it, "ours", or
    the leading words of its name, two or more ("T5-3b" on `google/t5-3b-ssm-nq`)."""
    words = tuple(_WORDS.findall(name.lower()[:300]))
    leading = len(words) >= MIN_LEADING_WORDS and card.words[: len(words)] == words
    return (
        leading
        or _key(name) in card.keys
        or _OWN.search(name.lower()[:300]) is not None
        or _links_self(name, card)
    )


def _links_self(text: str, card: CardModel) -> bool:
    return any(_key(found) in card.keys for found in _named_models(text))


def _named_models(text: str) -> Iterator[str]:
    for match in _HUB_MODEL.finditer(text[:MAX_LEAD]):
        yield match.group(1) or match.group(2)


def _mentions(text: str, keys: Iterable[str]) -> bool:
    joined = _key(text[:MAX_LEAD])
    return any(len(key) >= MIN_MENTION and key in joined for key in keys)


def lead_text(body_lines: list[str], first_line: int) -> list[str]:
    """The paragraphs just above a table, nearest first: up to `LEAD_LINES` lines in at most two
    paragraphs (a bold "**Test results**:" line and the sentence under it), stopping at a heading
    or a table."""
    paragraphs: list[list[str]] = []
    lines = 0
    gap = True
    position = first_line - 1
    while position >= 0 and lines < LEAD_LINES and first_line - position <= 3 * LEAD_LINES:
        line = body_lines[position].strip()
        if line.startswith("#") or line.startswith("|"):
            break
        if line and gap:
            if len(paragraphs) == 2:
                break
            paragraphs.append([])
        if line:
            paragraphs[-1].insert(0, line)
            lines += 1
        gap = not line
        position -= 1
    return [" ".join(paragraph)[:MAX_LEAD] for paragraph in paragraphs]


def table_subject(claim: TableClaim, card: CardModel, context: list[str]) -> tuple[str, str | None]:
    """(subject, subject_name) of a results-table claim; `context` is the paragraphs above the table,
    nearest first, then its heading."""
    name = claim.row_model
    if name:
        if names_self(name, card):
            return SELF, name
        if claim.model_name is not None or _key(name) in card.bases:
            return OTHER, name
    for text in context:
        found = _whose(text, card)
        if found == SELF:
            return SELF, name
        if found is not None:
            return OTHER, name or found
    if any(_COMPARISON.search(text.lower()) for text in context):
        return UNKNOWN, name
    return SELF, name


def _whose(text: str, card: CardModel) -> str | None:
    """SELF when a sentence speaks of this model, another model's name when it names one, else None."""
    if _OWN.search(text.lower()) or _links_self(text, card) or _mentions(text, card.keys):
        return SELF
    other = next((found for found in _named_models(text) if _key(found) not in card.keys), None)
    return other or next((base for base in card.base_names if _mentions(text, _keys([base]))), None)


def attribute(rows: list[dict[str, Any]], card: CardModel, body: str) -> None:
    """Fill `subject` and `subject_name` of one card's claim rows, and a results table's missing
    `dataset_split` from the one split its heading and the lines above it name."""
    body_lines: list[str] | None = None
    leads: dict[int, list[str]] = {}
    for row in rows:
        claim = row.get("_claim")
        if claim is None or claim.table is None:
            row["subject"] = SELF
            row["subject_name"] = row.get("model_name") if row["source"] == "model-index" else None
            continue
        table = claim.table
        if table.index not in leads:
            body_lines = body_lines or body.split("\n")
            leads[table.index] = [*lead_text(body_lines, table.lines[0]), table.heading]
        context = leads[table.index]
        row["subject"], row["subject_name"] = table_subject(claim, card, context)
        row["dataset_split"] = row["dataset_split"] or split_in_text(" ".join(context))
