"""A report as a list of blocks, rendered to Markdown (figures as files) and to one HTML page
(figures embedded as base64 data URIs, so the page is self-contained).

Every string in a block is plain text, the report's words and Hub data alike: model ids, dataset
names and tasks are whatever a model's author typed. The renderers escape every string they are
given, so a block cannot carry markup; the report's structure (headings, tables, figures, the
italic caption, and in HTML a backtick-quoted span as code) is written by the renderers alone.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Image:
    name: str
    caption: str


Block = Heading | Para | Table | Image
FIGURES_DIR = "figures"


def image_path(name: str) -> str:
    return f"{FIGURES_DIR}/{name}.png"


# Characters that open or close Markdown on their own (emphasis, code, links, headings, table cells,
# GFM strikethrough, math where a viewer renders `$...$`), and the escape character itself. `(`, `)`
# and `!` only mean something beside a `[` or `]`, which are always escaped.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#|$~])")
# What starts a list item (or a thematic break) at the start of a paragraph: `-`, `+`, or digits with
# `.` or `)`. Headings and table cells hold inline text only, where these mean nothing.
_LIST_MARKER = re.compile(r"^(?:([-+])|(\d+)([.)]))")


def markdown_text(text: str) -> str:
    """`text` as inline Markdown (a heading, a table cell) that renders as exactly that text (whitespace
    runs, line breaks included, become one space, as Markdown shows them): HTML as entities, Markdown
    punctuation escaped."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def markdown_paragraph(text: str) -> str:
    """`text` as a Markdown paragraph that renders as exactly that text."""
    return _LIST_MARKER.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", markdown_text(text))


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(map(markdown_text, cells)) + " |"


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {markdown_text(block.text)}")
        elif isinstance(block, Para):
            out.append(markdown_paragraph(block.text))
        elif isinstance(block, Table):
            lines = [
                _md_row(block.headers),
                "|" + "---|" * len(block.headers),
                *(_md_row(row) for row in block.rows),
            ]
            out.append("\n".join(lines))
        else:
            caption = markdown_text(block.caption)
            out.append(f"![{caption}]({image_path(block.name)})\n\n*{caption}*")
    return "\n\n".join(out) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-style: italic; }
code { font-family: ui-monospace, monospace; font-size: 0.9em; background: #f3f3f3; padding: 0 0.2em; }
"""


# A command quoted in the report's words (`hubmine evaluate`): code in HTML, where backticks would show.
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def html_text(text: str) -> str:
    """`text` escaped for HTML, its backtick-quoted spans as <code> (their text escaped too)."""
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))


def to_html(blocks: list[Block], title: str, images: dict[str, bytes]) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{html_text(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join(
                "<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(images[block.name]).decode("ascii")
            caption = html.escape(block.caption)
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"
