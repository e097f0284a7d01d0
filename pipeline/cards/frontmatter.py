"""Split a README into its YAML front matter and Markdown body, exactly as the Hub does.

The Hub server and huggingface_hub use one regex (`REGEX_YAML_BLOCK`, "exact same regex as in the
Hub server"), repeated here:

- the opening `---` may follow leading whitespace, blank lines included, and must end its line
  (`--- ` with a trailing space opens nothing);
- the YAML runs to the first following line that is `---` plus optional spaces or tabs, ended by
  a line break or the end of the text; line breaks are `\\n`, `\\r\\n` or `\\r`.

Consequences kept on purpose, because the Hub renders and indexes cards this way:

- The closing `---` must follow a line break, so an immediately closed block (`---` then `---`)
  is not empty front matter: the block runs on to the next `---` line, if any, and starts with
  a `---` line that YAML reads as a document start. Real cards write a doubled `---` and their
  metadata is read this way; without a later `---` line there is no front matter at all.
- `----` or `--- x` do not close the block.

One difference from the Python regex: a leading byte-order mark is skipped. The Hub server runs the
regex in JavaScript, where `\\s` matches U+FEFF; Python's `\\s` does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOM = "\ufeff"
_BLOCK = re.compile(r"\s*---(?:\r\n|\r|\n)([\S\s]*?)(?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|\Z)")
_OPENING = re.compile(r"\s*---(?:\r\n|\r|\n)")


@dataclass(frozen=True, slots=True)
class Split:
    """`yaml` is None when the README has no front matter; `body` is the Markdown after it."""

    yaml: str | None
    body: str
    unclosed: bool = False  # an opening `---` line and no closing one: all of it is body


def split_front_matter(text: str) -> Split:
    if text.startswith(_BOM):
        text = text[1:]
    match = _BLOCK.match(text)
    if match:
        return Split(yaml=match.group(1), body=text[match.end() :])
    return Split(yaml=None, body=text, unclosed=_OPENING.match(text) is not None)
