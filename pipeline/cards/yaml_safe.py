"""Safe, bounded YAML loading with YAML 1.2 core-schema scalars.

The Hub reads front matter as YAML 1.2, where only `true`/`false` are booleans: `language: no`
is Norwegian, not False. PyYAML implements YAML 1.1, so here PyYAML only composes the node
graph (with libyaml's C parser when present, the pure-Python one otherwise), resolving plain
scalars by the 1.2 core schema:

- null: `~`, `null`, `Null`, `NULL`, empty; bool: `true`/`True`/`TRUE`, `false`/`False`/`FALSE`;
- int: decimal (`012` is 12), `0o` octal, `0x` hex; float: `1.5`, `1e-3`, `.5`, `.inf`, `.nan`;
- everything else is a string: `yes`/`no`/`on`/`off`, `1_000`, `1:20`, dates and timestamps.

Values are then built by `_build`, not by PyYAML's constructors, so that no tag can create a
Python object and the result is always plain data: explicitly tagged scalars (`!!timestamp`,
`!!binary`, unknown or Python tags) give their text, tagged collections their plain list or
mapping (`!!set` is a mapping to null). Merge keys (`<<`) are honoured as PyYAML does.

Guards, each raising `CardError` with a one-word code:

- `yaml_too_large`: more than `MAX_CHARS` characters, checked before parsing;
- `yaml_too_deep`: nesting deeper than `MAX_DEPTH` (libyaml itself stops at 1,000);
- `yaml_alias_bomb`: aliases that would expand the document by more than `MAX_ALIAS_EXPANSION`
  nodes, or to more than `MAX_CHARS` characters (each scalar counting its length, each
  collection one: the metadata is written out as JSON with every alias expanded), or a
  recursive alias. The builder walks the distinct nodes once and shares an aliased node's
  value, as PyYAML does; sizes are counted, never expanded ("billion laughs" stays cheap);
- `yaml_error`: anything the parser rejects, an unhashable mapping key, a bad merge.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipeline.cards.errors import CardError

MAX_CHARS = 1_000_000
MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 100_000

_TAG = "tag:yaml.org,2002:"
_STR, _MERGE = _TAG + "str", _TAG + "merge"
_CORE_SCALARS: list[tuple[str, re.Pattern[str], str]] = [
    (_TAG + "null", re.compile(r"(?:~|null|Null|NULL)$"), "~nN"),
    (_TAG + "bool", re.compile(r"(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (_TAG + "int", re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), "-+0123456789"),
    (
        _TAG + "float",
        re.compile(
            r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+.0123456789",
    ),
    (_MERGE, re.compile(r"<<$"), "<"),
]
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _firsts in _CORE_SCALARS:
    for _first in _firsts:
        _BY_FIRST.setdefault(_first, []).append((_tag, _pattern))


class _CoreResolver:
    """`resolve` by the YAML 1.2 core schema; replaces PyYAML's 1.1 implicit resolvers."""

    def resolve(self, kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                if not value:
                    return _TAG + "null"
                for tag, pattern in _BY_FIRST.get(value[0], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _TAG + ("seq" if kind is SequenceNode else "map")


class _FastComposer(_CoreResolver, getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    pass


class _PureComposer(_CoreResolver, yaml.BaseLoader):  # type: ignore[misc]
    pass


FAST_COMPOSER: type = _FastComposer
PURE_COMPOSER: type = _PureComposer


def _int(text: str) -> int | str:
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)
    except ValueError:  # an explicit `!!int` on a non-number, or more digits than Python converts
        return text


def _float(text: str) -> float | str:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    try:
        return float(text)
    except ValueError:  # an explicit `!!float` on a non-number
        return text


_SCALAR_BUILDERS = {
    _TAG + "null": lambda text: None,
    _TAG + "bool": lambda text: text.lower() == "true",
    _TAG + "int": _int,
    _TAG + "float": _float,
}


def _scalar(node: ScalarNode) -> Any:
    build = _SCALAR_BUILDERS.get(node.tag)
    return node.value if build is None else build(node.value)


Measured = tuple[Any, int, int, int]  # (value, expanded nodes, expanded characters, depth)


def _child(child: Node, values: dict[int, Measured]) -> Measured:
    if isinstance(child, ScalarNode):
        return _scalar(child), 1, max(1, len(child.value)), 1
    return values[id(child)]


def _sequence(node: SequenceNode, values: dict[int, Measured]) -> Measured:
    items: list[Any] = []
    size = chars = depth = 1
    for child in node.value:
        value, child_size, child_chars, child_depth = _child(child, values)
        items.append(value)
        size += child_size
        chars += child_chars
        depth = max(depth, child_depth + 1)
    return items, size, chars, depth


def _mapping(node: MappingNode, values: dict[int, Measured]) -> Measured:
    result: dict[Any, Any] = {}
    merged: list[dict[Any, Any]] = []
    size = chars = depth = 1
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise CardError("yaml_error", "a mapping key is a list or a mapping")
        value, child_size, child_chars, child_depth = _child(value_node, values)
        size += 1 + child_size
        chars += max(1, len(key_node.value)) + child_chars
        depth = max(depth, child_depth + 1)
        if key_node.tag == _MERGE:
            sources = value if isinstance(value_node, SequenceNode) else [value]
            if not all(isinstance(source, dict) for source in sources):
                raise CardError("yaml_error", "a merge key (<<) needs a mapping or a list of mappings")
            merged.extend(sources)
        else:
            result[_scalar(key_node)] = value
    if merged:
        # As PyYAML: explicit keys win over merged ones, and earlier merge sources over later ones.
        combined: dict[Any, Any] = {}
        for source in reversed(merged):
            combined.update(source)
        combined.update(result)
        result = combined
    return result, size, chars, depth


def _build(root: Node) -> Any:
    """The plain value of a composed graph, checking depth and alias expansion on the way.

    An iterative post-order walk over the distinct collection nodes: each is built once, after
    its children, with its expanded size and depth; an aliased node's value is shared, and its
    size counted again, never expanded. Scalars are built where they are used.
    """
    if isinstance(root, ScalarNode):
        return _scalar(root)
    values: dict[int, Measured] = {}
    opened: set[int] = set()
    written = 1  # nodes as written, an alias counting as one
    stack: list[Node] = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in values:
            stack.pop()
            continue
        if key not in opened:
            opened.add(key)
            children = (
                node.value if isinstance(node, SequenceNode) else [n for pair in node.value for n in pair]
            )
            written += len(children)
            pending = [c for c in children if not isinstance(c, ScalarNode) and id(c) not in values]
            if pending:
                if any(id(child) in opened for child in pending):
                    raise CardError("yaml_alias_bomb", "recursive alias")
                stack.extend(pending)
                continue
        built = _sequence(node, values) if isinstance(node, SequenceNode) else _mapping(node, values)
        if built[3] > MAX_DEPTH:
            raise CardError("yaml_too_deep", f"nesting deeper than {MAX_DEPTH}")
        values[key] = built
        stack.pop()
    value, size, chars, _ = values[id(root)]
    if size - written > MAX_ALIAS_EXPANSION:
        raise CardError("yaml_alias_bomb", f"aliases expand to {size} nodes")
    if chars > MAX_CHARS:  # without aliases, about the text's own length: a scalar is no longer than written
        raise CardError("yaml_alias_bomb", f"aliases expand to {chars} characters, over {MAX_CHARS}")
    return value


def load_yaml(text: str, composer: type = FAST_COMPOSER) -> Any:
    """The value of one YAML document (None when empty), or CardError."""
    if len(text) > MAX_CHARS:
        raise CardError("yaml_too_large", f"{len(text)} characters, over {MAX_CHARS}")
    loader = composer(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _build(root)
    except CardError:
        raise
    except RecursionError:  # the pure-Python composer recurses per nesting level
        raise CardError("yaml_too_deep", "nesting too deep to compose") from None
    except Exception as exc:  # the parser raises more than YAMLError on bad input
        code = "yaml_too_deep" if "maximum nesting depth" in str(exc) else "yaml_error"  # libyaml's cap
        raise CardError(code, _one_line(exc)) from None
    finally:
        loader.dispose()


def _one_line(exc: Exception) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
