"""Markdown headings of a card body, mapped to the Hub's model-card template sections.

Headings (CommonMark, simplified):

- ATX: up to three spaces, 1-6 `#`, then a space or the end of the line; closing `#`s dropped.
- Setext: a paragraph line followed by an underline of `=` (level 1) or `-` (level 2). A paragraph
  line is a non-blank line that is not a list item, block quote or HTML line, and not indented
  code; after a blank line `---` is a thematic break, not a heading.
- Nothing inside a fenced code block (```` ``` ```` or `~~~`, closed by the same character at
  least as long) is a heading; an unclosed fence runs to the end, as in CommonMark.
- Not modelled: headings inside HTML blocks or comments, and inside list items or block quotes
  (`> # x`), which are rare in cards.

Section names: a heading's text is normalised (links and inline markup reduced to their text,
lower-cased, punctuation other than `&`, `-`, `/` dropped, `[optional]` and leading numbering
such as `1.`, `2.1`, `IV.` removed) and every rule of `SECTION_RULES` whose pattern occurs in it
as whole words names a section, so one heading can name several ("Intended uses & limitations"
is uses and limitations; "Citing & Authors" is citation and authors). The rules cover the
template's headings (huggingface_hub `templates/modelcard_template.md`), the headings the
Trainer writes, and their common variants:

- uses: Uses, Intended use(s), Direct use, Downstream use, Primary use(s), Use cases
- limitations: Bias, Risks, Limitations, Out-of-scope (use), Caveats, Ethical considerations
- training: Training (details/data/procedure/results), Pre-training, Fine-tuning, Train
- hyperparameters: Hyperparameters (hyper-parameters, hparams), Training config/arguments/settings
- evaluation: Evaluation, Eval, Results, Metrics, Benchmarks, Performance, Scores, Accuracy,
  Testing, Test data/set, WER/CER/BLEU/ROUGE
- environmental_impact: Environmental impact, Carbon, CO2, Emissions
- citation: Citation, Cite, Citing, BibTeX, Reference(s)
- how_to_use: How to get started / use / run / load, Usage, Quick start, Getting started,
  Example(s), Inference, Demo
- beyond the eight has_sec_* columns (docs/definitions.md), for the provenance and portability
  factors: description (Model description/details, Overview, About, Introduction, Abstract), architecture
  (Architecture, Technical specifications, Model structure), hardware (Hardware, Compute
  infrastructure), software (Framework versions, Software, Requirements, Dependencies,
  Installation, Environment), license, authors (Authors, Contact, Contributors, Team,
  Acknowledgements).

A section "has content" when the text under any of its headings, up to the next heading of the
same or a higher level (subsections included, their heading lines not), has a letter or digit
after HTML comments, template placeholders (`{{ ... }}`) and stock fillers ("More information
needed", "TBD", "TODO", "Coming soon", "[optional]", ...) are removed. The Trainer writes its
headings with "More information needed" under them, so presence alone overstates documentation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

SECTION_RULES: dict[str, str] = {
    "uses": r"(?:intended|direct|downstream|primary) uses?|^uses?$|use cases?",
    "limitations": r"limitations?|bias(?:es)?|risks?|out-of-scope|out of scope|caveats?|ethic(?:s|al)",
    "training": r"(?:pre-?|re-?)?train(?:ing)?|fine-?tun(?:e|ed|ing)",
    "hyperparameters": (
        r"hyper-?\s?param(?:eter)?s?|hparams|training (?:config(?:uration)?|arguments|args|settings)"
    ),
    "evaluation": (
        r"evaluations?|evaluating|eval|results?|metrics?|benchmarks?|benchmarking|performance|scores?"
        r"|accuracy|testing|test (?:data|set|results?)|wer|cer|bleu|rouge"
    ),
    "environmental_impact": r"environmental impact|carbon|co2|emissions?",
    "citation": r"citations?|cite|citing|bibtex|referenc(?:e|es|ing)",
    "how_to_use": (
        r"how to (?:get started|use|run|load)|usage|quick ?start|get(?:ting)? started"
        r"|examples?|inference|demo"
    ),
    "description": r"(?:model )?description|model details|overview|about|introduction|abstract",
    "architecture": r"architecture|technical specifications?|model structure",
    "hardware": r"hardware|compute infrastructure",
    "software": r"framework versions?|software|requirements?|dependencies|installation|environments?",
    "license": r"licen[cs]es?|licensing",
    "authors": r"authors?|contacts?|contributors?|team|acknowledg(?:e)?ments?",
}
_RULES = [(name, re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")) for name, pattern in SECTION_RULES.items()]

# Lines that may be a heading, a fence or a setext underline; the rest of the body is skipped in C.
# Scanned in "\n" + body: a literal first character is much faster to find than a MULTILINE `^`,
# and the lookahead rejects most lines before any alternative is tried.
_CANDIDATE = re.compile(
    r"\n {0,3}(?=[#`~=-])(?:"
    r"(?P<atx>#{1,6})(?P<text>[ \t][^\n]*)?(?=\n|\Z)"
    r"|(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)"
    r"|(?P<underline>=+|-+)[ \t]*(?=\n|\Z))"
)
_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(
    r" {0,3}(?:[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|>|<|#{1,6}(?:[ \t]|$)|```|~~~)| {4}"
)

MAX_NORMALISED = 1000  # characters of a heading that are read: no section name is that long
# Markdown links and HTML tags, without a bracket of their own kind inside: then a long run of
# `[`, `(` or `<` is one scan, not one per opening bracket.
LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()\s]*\)")
TAG = re.compile(r"<[^<>]*>")
_NOISE = re.compile(r"[^\w&/\- ]+")
_OPTIONAL = re.compile(r"\[optional\]", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivx]+\.)\s+")

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FILLER = re.compile(  # matched in lower-cased text
    r"\{\{[^{}\n]*\}\}|\[optional\]|\[?more information needed\]?|\bneeds? more information\b"
    r"|\b(?:tbd|tba|todo|coming soon|to be (?:added|announced|updated|done)|n/a)\b"
)
# Substrings without which no filler can occur: most sections skip the filler regex altogether.
_FILLER_HINTS = ("{{", "[optional]", "information", "tbd", "tba", "todo", "coming soon", "to be ", "n/a")
_CONTENT = re.compile(r"[^\W_]")


class Heading(NamedTuple):  # a tuple: many are made per card, and tuples are cheapest to build
    level: int
    text: str
    start: int  # offset of the heading's first line in the body
    end: int  # offset just past its last line (a setext heading's underline): its text starts here


def normalise_newlines(body: str) -> str:
    # Markdown line breaks are \n, \r\n and \r; the scans below look for \n only.
    return body.replace("\r\n", "\n").replace("\r", "\n") if "\r" in body else body


def _paragraph_before(body: str, start: int) -> tuple[int, str]:
    """(offset, text) of the paragraph lines just above offset `start`; text "" when none."""
    lines: list[str] = []
    position = start
    while position > 0:
        line_start = body.rfind("\n", 0, position - 1) + 1
        line = body[line_start : position - 1]
        if not line.strip() or _NOT_PARAGRAPH.match(line) or _UNDERLINE.match(line):
            break
        lines.append(line.strip())
        position = line_start
    return position, " ".join(reversed(lines))


def _without_closing_hashes(text: str) -> str:
    # By string methods: a pattern `[ \t]+#+$` searched in a long run of spaces is quadratic.
    kept = text.rstrip("#")
    return kept.rstrip(" \t") if not kept or kept[-1] in " \t" else text


def find_headings(body: str) -> list[Heading]:
    """Headings of a body with `\n` line breaks (see `normalise_newlines`), in order."""
    headings: list[Heading] = []
    fence: str | None = None
    for match in _CANDIDATE.finditer("\n" + body):
        # match.start() is the "\n" before the line, so it is the line's offset in `body`.
        start, end = match.start(), min(match.end(), len(body))
        atx, run, info, underline = match.group("atx", "fence", "info", "underline")
        if fence is not None:
            if run and run.startswith(fence) and not info.strip():
                fence = None
        elif run:
            if run[0] == "~" or "`" not in info:  # a backtick fence's info string has no backtick
                fence = run
        elif atx:
            text = (match.group("text") or "").strip()
            if text.endswith("#"):
                text = _without_closing_hashes(text)
            headings.append(Heading(len(atx), text, start, end))
        else:
            first, text = _paragraph_before(body, start)
            if text:
                headings.append(Heading(1 if underline[0] == "=" else 2, text, first, end))
    return headings


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    text = TAG.sub(" ", LINK.sub(r"\1", text[:MAX_NORMALISED]))
    text = _NUMBERING.sub("", _OPTIONAL.sub(" ", text).lower().strip())
    return " ".join(_NOISE.sub(" ", text.replace("_", " ")).split())


@lru_cache(maxsize=65536)
def canonical_sections(text: str) -> frozenset[str]:
    """The template sections a heading's text names (empty when none)."""
    normal = normalise(text)
    return frozenset(name for name, rule in _RULES if rule.search(normal))


def own_text(body: str, headings: list[Heading], position: int) -> str:
    """The text under `headings[position]` up to the next heading of any level."""
    end = headings[position + 1].start if position + 1 < len(headings) else len(body)
    return body[headings[position].end : end]


def has_content(text: str) -> bool:
    if "<!--" in text:
        text = _COMMENT.sub(" ", text)
    # Line by line from the first letter or digit: usually that line is text and the answer.
    found = _CONTENT.search(text)
    while found is not None:
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.start())
        end = len(text) if end < 0 else end
        line = text[start:end].lower()
        if not any(hint in line for hint in _FILLER_HINTS) or _CONTENT.search(_FILLER.sub(" ", line)):
            return True
        found = _CONTENT.search(text, end)
    return False


def find_sections(body: str, headings: list[Heading]) -> tuple[list[str], list[str]]:
    """(sections named by some heading, sections of those with content), each sorted.

    A heading's content is its own text or that of any subsection (a following heading of a
    lower level, before the next heading of the same or a higher level).
    """
    named: set[str] = set()
    filled: set[str] = set()
    own: dict[int, bool] = {}
    for position, heading in enumerate(headings):
        names = canonical_sections(heading.text)
        if not names:
            continue
        named |= names
        if names <= filled:
            continue
        for inner in range(position, len(headings)):
            if inner > position and headings[inner].level <= heading.level:
                break
            if inner not in own:
                own[inner] = has_content(own_text(body, headings, inner))
            if own[inner]:
                filled |= names
                break
    return sorted(named), sorted(filled)
