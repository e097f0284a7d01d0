"""Numbers read from the environment: a value hubmine cannot use is one line naming the variable."""

from __future__ import annotations

import math
import os
from typing import TypeVar

from pipeline.errors import SettingError

Number = TypeVar("Number", int, float)


def env_number(name: str, default: Number, minimum: Number) -> Number:
    """`$name` as a number of `default`'s type, at least `minimum`; `default` when unset or empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    kind = type(default)
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        what = "a whole number" if kind is int else "a number"
        raise SettingError(
            f"{name}={text!r}: set it to {what} of at least {minimum} (default {default}), or unset it"
        )
    return value
