"""The steps a backtracking regex engine takes on a text, counted: a test bounds a pattern's work by
them instead of by the clock.

`StepCounter` walks Python's own parse of a pattern (`re._parser`) the way `re` matches: alternatives
in order, greedy and lazy repeats, backtracking into both, lookarounds, anchors. Every node tried
at a position is one step. `re` has shortcuts of its own (a literal prefix found by a fast scan, a
repeat of one character checked before its tail), so these counts are an upper bound of its work,
and they grow as its work grows: linearly for a linear pattern, with the square of the text for one
that backtracks.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    from re import _constants as constants  # type: ignore[attr-defined]
    from re import _parser as parser  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_constants as constants  # type: ignore[no-redef]
    import sre_parse as parser  # type: ignore[no-redef]

Continuation = Callable[[int], bool]


class TooManySteps(Exception):
    """The walk passed its budget: the pattern does far more work than the text's length."""


@contextmanager
def deep_recursion(limit: int = 200_000) -> Iterator[None]:
    """Each character a repeat takes is a few nested calls of the walk."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


class StepCounter:
    def __init__(self, pattern: re.Pattern[str], budget: int = 10_000_000) -> None:
        self.pattern = pattern
        self.tree = list(parser.parse(pattern.pattern, pattern.flags))
        self.ignore_case = bool(pattern.flags & re.IGNORECASE)
        self.multiline = bool(pattern.flags & re.MULTILINE)
        self.dotall = bool(pattern.flags & re.DOTALL)
        self.budget = budget
        self.steps = 0
        self.text = ""

    # -- what a method of `re.Pattern` costs ------------------------------------------------------

    def count(self, method: str, text: str) -> int:
        """The steps of `pattern.<method>(text)` (`match`, `fullmatch`, `search`, or `finditer`, which
        also stands for `sub`, `findall` and `split`)."""
        self.text, self.steps = text, 0
        with deep_recursion():
            if method == "match":
                self._match_at(0, lambda end: True)
            elif method == "fullmatch":
                self._match_at(0, lambda end: end == len(text))
            elif method == "search":
                self._search(0)
            elif method == "finditer":
                position = 0
                while position <= len(text):
                    found = self._search(position)
                    if found is None:
                        break
                    start, end = found
                    position = end if end > start else end + 1
            else:
                raise ValueError(method)
        return self.steps

    def _search(self, position: int) -> tuple[int, int] | None:
        ends: list[int] = []  # where the first match ends
        for start in range(position, len(self.text) + 1):
            if self._match_at(start, lambda end: ends.append(end) is None):
                return start, ends[0]
        return None

    def _match_at(self, start: int, done: Continuation) -> bool:
        return self._sequence(self.tree, 0, start, done)

    # -- the walk ---------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > self.budget:
            raise TooManySteps(f"{self.pattern.pattern!r} passed {self.budget} steps")

    def _sequence(self, items: Any, index: int, position: int, done: Continuation) -> bool:
        if index == len(items):
            return done(position)
        self._tick()
        op, value = items[index]
        text = self.text

        def rest(end: int) -> bool:
            return self._sequence(items, index + 1, end, done)

        if op in (constants.LITERAL, constants.NOT_LITERAL, constants.ANY, constants.IN):
            if position >= len(text) or not self._one(op, value, text[position]):
                return False
            return rest(position + 1)
        if op is constants.AT:
            return self._at(value, position) and rest(position)
        if op is constants.BRANCH:
            return any(self._sequence(list(branch), 0, position, rest) for branch in value[1])
        if op is constants.SUBPATTERN:
            return self._sequence(list(value[-1]), 0, position, rest)
        if op in (constants.MAX_REPEAT, constants.MIN_REPEAT):
            low, high, body = value
            return self._repeat(list(body), low, high, op is constants.MAX_REPEAT, 0, position, rest)
        if op in (constants.ASSERT, constants.ASSERT_NOT):
            direction, body = value
            if direction == 1:
                found = self._sequence(list(body), 0, position, lambda end: True)
            else:
                width = body.getwidth()[0]
                start = position - width
                found = start >= 0 and self._sequence(list(body), 0, start, lambda end: end == position)
            return found == (op is constants.ASSERT) and rest(position)
        raise NotImplementedError(f"{op} in {self.pattern.pattern!r}")

    def _repeat(
        self,
        body: list[Any],
        low: int,
        high: int,
        greedy: bool,
        count: int,
        position: int,
        rest: Continuation,
    ) -> bool:
        def again(end: int) -> bool:
            # An empty iteration ends the repeat, as in `re`.
            return end != position and self._repeat(body, low, high, greedy, count + 1, end, rest)

        more = count < high
        if greedy:
            if more and self._sequence(body, 0, position, again):
                return True
            return count >= low and rest(position)
        if count >= low and rest(position):
            return True
        return more and self._sequence(body, 0, position, again)

    def _one(self, op: Any, value: Any, char: str) -> bool:
        if op is constants.ANY:
            return self.dotall or char != "\n"
        if op is constants.IN:
            return self._in(value, char)
        equal = self._same(char, chr(value))
        return equal if op is constants.LITERAL else not equal

    def _same(self, char: str, other: str) -> bool:
        return char == other or (self.ignore_case and char.lower() == other.lower())

    def _in(self, items: Any, char: str) -> bool:
        negate = bool(items) and items[0][0] is constants.NEGATE
        found = False
        for op, value in items[1:] if negate else items:
            if op is constants.LITERAL:
                found = self._same(char, chr(value))
            elif op is constants.RANGE:
                low, high = value
                forms = {char, char.lower(), char.upper()} if self.ignore_case else {char}
                found = any(low <= ord(form) <= high for form in forms)
            elif op is constants.CATEGORY:
                found = self._category(value, char)
            else:
                raise NotImplementedError(f"{op} in a set of {self.pattern.pattern!r}")
            if found:
                break
        return found != negate

    @staticmethod
    def _category(category: Any, char: str) -> bool:
        name = str(category).upper()
        if "DIGIT" in name:
            found = char.isdecimal()
        elif "SPACE" in name:
            found = char.isspace()
        elif "WORD" in name:
            found = char.isalnum() or char == "_"
        else:
            raise NotImplementedError(name)
        return not found if "NOT" in name else found

    def _at(self, code: Any, position: int) -> bool:
        text, n = self.text, len(self.text)
        if code is constants.AT_BEGINNING_STRING:
            return position == 0
        if code is constants.AT_BEGINNING:
            return position == 0 or (self.multiline and text[position - 1] == "\n")
        if code is constants.AT_END_STRING:
            return position == n
        if code is constants.AT_END:
            return (
                position == n
                or (position == n - 1 and text[position] == "\n")
                or (self.multiline and text[position] == "\n")
            )
        if code in (constants.AT_BOUNDARY, constants.AT_NON_BOUNDARY):
            before = position > 0 and (text[position - 1].isalnum() or text[position - 1] == "_")
            after = position < n and (text[position].isalnum() or text[position] == "_")
            return (before != after) == (code is constants.AT_BOUNDARY)
        raise NotImplementedError(str(code))


def growth(pattern: re.Pattern[str], method: str, head: str, unit: str, tail: str, size: int = 150) -> float:
    """How much the steps grow when the text `head + unit * n + tail` doubles `n`: about 2 for a
    linear pattern, 4 for a quadratic one (infinite: far more steps than characters)."""
    try:
        steps = [
            StepCounter(pattern, budget=300 * len(head + unit * n + tail) + 10_000).count(
                method, head + unit * n + tail
            )
            for n in (size, 2 * size)
        ]
    except TooManySteps:
        return float("inf")
    return steps[1] / steps[0]
