"""Split a README into its YAML front matter and Markdown body, as the Hub does.

The Hub (and huggingface_hub's `REGEX_YAML_BLOCK`, "exact same regex as in the Hub server") takes
the block between an opening `---` line and the next line that is `---` plus optional spaces or
tabs:

- the opening `---` may follow leading whitespace, blank lines included, and must end its line
  (`--- ` with a trailing space opens nothing);
- the closing `---` starts its line, may carry trailing spaces or tabs, and ends with a line break
  or the end of the text;
- line breaks are `\\n`, `\\r\\n` or `\\r`.

Two deliberate differences from the Python regex:

- A leading byte-order mark is skipped. The Hub server runs the regex in JavaScript, where `\\s`
  matches U+FEFF; Python's `\\s` does not.
- An immediately closed block (`---` then `---`) is an empty front matter. The regex needs a line
  break before the closing `---`, so it skips that line and closes at a later `---` line, if any,
  swallowing Markdown into the YAML. DESIGN's rule ("the next `---` line") reads it as empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOM = "\ufeff"
_BLOCK = re.compile(
    r"\s*---(?:\r\n|\r|\n)"  # opening line
    r"(?:([\S\s]*?)(?:\r\n|\r|\n))??"  # YAML, lazily, up to the first closing line; absent if empty
    r"---[ \t]*(?:\r\n|\n|\Z)"  # closing line
)
_OPENING = re.compile(r"\s*---(?:\r\n|\r|\n)")


@dataclass(frozen=True, slots=True)
class Split:
    """`yaml` is None when the README has no front matter; `body` is the Markdown after it."""

    yaml: str | None
    body: str
    unclosed: bool = False  # an opening `---` line with no closing line: all of it is body


def split_front_matter(text: str) -> Split:
    if text.startswith(_BOM):
        text = text[1:]
    match = _BLOCK.match(text)
    if match:
        return Split(yaml=match.group(1) or "", body=text[match.end() :])
    return Split(yaml=None, body=text, unclosed=_OPENING.match(text) is not None)
