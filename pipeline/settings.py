"""Every `HUBMINE_*` environment variable: its type, default, bounds, meaning and docs section.

A setting is read when the code that uses it runs (not at import), so a changed environment is seen.
Unset or empty means the default; a value hubmine cannot use is a `SettingError` of one line naming
the variable and what it accepts. docs/configuration.md lists each one under its `section`, with its
default and `meaning` as declared here (tests/test_settings.py holds the two together).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.errors import SettingError

MIB = 1024 * 1024
GIB = 1024 * MIB

PROGRESS = "Progress"
DATA = "Where the data is"
CLIENT = "The HTTP client (every command that asks the Hub)"
CAPS = "Body caps"
EVALUATE = "`hubmine evaluate`"
RISKS = "`hubmine risks`"
HISTORY = "`hubmine history`"
PARSING = "`hubmine analyze`: card parsing"
LOOKALIKES = "`hubmine analyze`: look-alike names"
DIFF = "`hubmine diff`"


@dataclass(frozen=True)
class Setting:
    """One variable: `shown` is its default as the docs write it, where no number says it."""

    name: str
    section: str
    meaning: str
    shown: str = ""

    def given(self, environ: Mapping[str, str] | None = None) -> str:
        """The variable's text, stripped; empty when unset."""
        return (os.environ if environ is None else environ).get(self.name, "").strip()

    def read(self, environ: Mapping[str, str] | None = None) -> object:
        """The value now: from `environ` (else the process environment), checked; the default when unset."""
        raise NotImplementedError

    def documented_default(self) -> str:
        return self.shown


@dataclass(frozen=True)
class Number(Setting):
    """A whole number (an int `default`) or any finite number (a float one), at least `minimum`.
    `unit` ("bytes" or "s") is how the docs write the default; a None default is `shown`."""

    default: int | float | None = None
    minimum: int | float = 0
    unit: str = ""

    def read(self, environ: Mapping[str, str] | None = None) -> int | float | None:
        text = self.given(environ)
        if not text:
            return self.default
        kind = int if self.whole else float
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < self.minimum:
            what = "a whole number" if self.whole else "a number"
            default = self.shown or self.default
            raise SettingError(
                f"{self.name}={text!r}: set it to {what} of at least {self.minimum} (default {default}), "
                "or unset it"
            )
        return value

    @property
    def whole(self) -> bool:
        return isinstance(self.minimum, int) and not isinstance(self.default, float)

    def documented_default(self) -> str:
        if self.default is None:
            return self.shown
        if self.unit == "bytes":
            return f"{self.default // GIB} GiB" if self.default % GIB == 0 else f"{self.default // MIB} MiB"
        if self.unit == "s":
            return f"{self.default:g} s"
        return f"{self.default:,}" if isinstance(self.default, int) else f"{self.default:g}"


@dataclass(frozen=True)
class CountOrNone(Setting):
    """A whole number of at least 0, or `none`; `default` None is shown as `unset`."""

    default: int | None = None

    def read(self, environ: Mapping[str, str] | None = None) -> int | None:
        text = self.given(environ)
        if not text:
            return self.default
        if text.lower() == "none":
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise SettingError(
                f"{self.name}={text[:40]!r} must be a whole number of at least 0, or none; fix it"
            )
        return int(text)

    def documented_default(self) -> str:
        return "unset" if self.default is None else f"{self.default:,}"


@dataclass(frozen=True)
class Flag(Setting):
    """On only when `1`."""

    def read(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.given(environ) == "1"

    def documented_default(self) -> str:
        return "off"


@dataclass(frozen=True)
class Text(Setting):
    """Free text, such as a path; `default` None is `shown`."""

    default: str | None = None

    def read(self, environ: Mapping[str, str] | None = None) -> str | None:
        return self.given(environ) or self.default

    def documented_default(self) -> str:
        return f"`{self.default}`" if self.default is not None else self.shown


DATA_DIR = Text(
    "HUBMINE_DATA_DIR",
    DATA,
    "the data directory (snapshots, diffs, trends, history, publish); `--data-dir` overrides it",
    default="data",
)
SNAPSHOT_DIR = Text(
    "HUBMINE_SNAPSHOT_DIR",
    DATA,
    "the snapshot the notebooks in `notebooks/` read",
    shown="the newest complete snapshot under `$HUBMINE_DATA_DIR` (or the checkout's `data/`)",
)

STATUS_S = Number(
    "HUBMINE_STATUS_S",
    PROGRESS,
    "off a terminal (a log, cron, CI), the seconds between two status lines of a long step "
    "(`hubmine: cards: 4000/10000 card [...]`); on a terminal a progress bar shows instead",
    default=30.0,
    minimum=0.0,
    unit="s",
)

MAX_ATTEMPTS = Number("HUBMINE_MAX_ATTEMPTS", CLIENT, "tries per request (at least 1)", default=8, minimum=1)
BACKOFF_S = Number(
    "HUBMINE_BACKOFF_S",
    CLIENT,
    "the first backoff between tries; it grows exponentially, capped, with jitter",
    default=0.5,
    minimum=0.0,
    unit="s",
)
TIMEOUT_S = Number(
    "HUBMINE_TIMEOUT_S",
    CLIENT,
    "a wait for any byte, the first of an answer included; past it the try has stalled",
    default=30.0,
    minimum=0.001,
    unit="s",
)
ATTEMPT_DEADLINE_S = Number(
    "HUBMINE_ATTEMPT_DEADLINE_S",
    CLIENT,
    "one try, from sending to the last byte, however slowly bytes come",
    default=300.0,
    minimum=0.001,
    unit="s",
)
REQUEST_DEADLINE_S = Number(
    "HUBMINE_REQUEST_DEADLINE_S",
    CLIENT,
    "one request over all its tries and the waits between them",
    default=1800.0,
    minimum=0.001,
    unit="s",
)
# The Hub's rate-limit windows last 5 minutes; no honest answer asks for a longer wait.
MAX_SERVER_WAIT_S = Number(
    "HUBMINE_MAX_SERVER_WAIT_S",
    CLIENT,
    "any wait the server asks for (`Retry-After`, `RateLimit` `t`, `RateLimit-Policy` `w`); a required one "
    "(`Retry-After`, `t` with the quota spent) longer than this fails the request at once",
    default=300.0,
    minimum=0.0,
    unit="s",
)
STALL_S = Number(
    "HUBMINE_STALL_S",
    CLIENT,
    "the window over which a body slower than `HUBMINE_STALL_BYTES_PER_S` has stalled",
    default=30.0,
    minimum=0.001,
    unit="s",
)
STALL_BYTES_PER_S = Number(
    "HUBMINE_STALL_BYTES_PER_S",
    CLIENT,
    "a body slower than this rate (bytes per second) over `HUBMINE_STALL_S` has stalled",
    default=1000.0,
    minimum=0.0,
)
STALL_TRIES = Number(
    "HUBMINE_STALL_TRIES", CLIENT, "stalled tries after which a request is given up", default=3, minimum=1
)


def _cap(name: str, default: int, meaning: str) -> Number:
    return Number(name, CAPS, meaning, default=default, minimum=1, unit="bytes")


MAX_LISTING_BYTES = _cap(
    "HUBMINE_MAX_LISTING_BYTES",
    64 * MIB,
    "one listing page; a larger one is asked again, smaller, then fails",
)
MAX_README_BYTES = _cap(
    "HUBMINE_MAX_README_BYTES",
    10 * MIB,
    "one README (crawled or imported); a larger one is kept cut and marked `truncated`",
)
MAX_EVAL_RESULTS_BYTES = _cap(
    "HUBMINE_MAX_EVAL_RESULTS_BYTES",
    1 * MIB,
    "one `.eval_results/*.yaml` file; a larger one is kept cut and marked `truncated`",
)
MAX_OVERVIEW_BYTES = _cap(
    "HUBMINE_MAX_OVERVIEW_BYTES", 1 * MIB, "one organization overview (`crawl --authors`)"
)
MAX_SECURITY_BYTES = _cap(
    "HUBMINE_MAX_SECURITY_BYTES",
    16 * MIB,
    "one answer of `risks --scan-status` (a model with its security status, or the paths-info of its "
    "weight files)",
)
MAX_PICKLE_BYTES = _cap(
    "HUBMINE_MAX_PICKLE_BYTES",
    512 * MIB,
    "one file downloaded by `risks --scan-pickles` (`--max-bytes` overrides); a larger one is an `error` "
    "row and is not read past the cap",
)
MAX_COMMITS_PAGE_BYTES = _cap(
    "HUBMINE_MAX_COMMITS_PAGE_BYTES", 8 * MIB, "one commits API page (`risks --maintainers`, `history`)"
)
MAX_DISCUSSIONS_PAGE_BYTES = _cap(
    "HUBMINE_MAX_DISCUSSIONS_PAGE_BYTES", 8 * MIB, "one discussions list page (`history`)"
)
MAX_DISCUSSION_BYTES = _cap("HUBMINE_MAX_DISCUSSION_BYTES", 8 * MIB, "one discussion's details (`history`)")

EVAL_MAX_MODEL_BYTES = Number(
    "HUBMINE_EVAL_MAX_MODEL_BYTES",
    EVALUATE,
    "the weights of one model (safetensors, or pickles with `--allow-pickle`); larger is `too_large`",
    default=2 * GIB,
    minimum=1,
    unit="bytes",
)
EVAL_MAX_DATASET_BYTES = Number(
    "HUBMINE_EVAL_MAX_DATASET_BYTES",
    EVALUATE,
    "a dataset downloaded whole; with `--max-examples N` the split is streamed and only its first N rows "
    "are read, whatever its size",
    default=10 * GIB,
    minimum=1,
    unit="bytes",
)
EVAL_MODEL_TIMEOUT_S = Number(
    "HUBMINE_EVAL_MODEL_TIMEOUT_S",
    EVALUATE,
    "one model, loading and every split together; past it the model's claims are `error` rows",
    default=3600.0,
    minimum=0.01,
    unit="s",
)
EVAL_RAY_CPUS = Number(
    "HUBMINE_EVAL_RAY_CPUS",
    EVALUATE,
    "CPUs of the Ray that `--executor ray` starts on this machine (without `--address`)",
    shown="every CPU",
    minimum=1,
)

GIT_TIMEOUT_S = Number(
    "HUBMINE_GIT_TIMEOUT_S",
    RISKS,
    "one `git clone` (and the `git log` after it) of `--signatures`; past it the row is an `error`",
    default=600.0,
    minimum=1.0,
    unit="s",
)
GIT_MAX_BYTES = Number(
    "HUBMINE_GIT_MAX_BYTES",
    RISKS,
    "one clone on disk (a full clone, when the server ignores the filter); past it git is stopped and the "
    "row is an `error`",
    default=2 * GIB,
    minimum=1,
    unit="bytes",
)
GIT_MAX_MEMORY = Number(
    "HUBMINE_GIT_MAX_MEMORY",
    RISKS,
    "the address space of each git process (`RLIMIT_AS`, on Linux), which bounds the ref advertisement git "
    "holds; past it the row is an `error`",
    default=1 * GIB,
    minimum=64 * MIB,
    unit="bytes",
)
GIT_MAX_COMMITS = Number(
    "HUBMINE_GIT_MAX_COMMITS",
    RISKS,
    "commits read per repository by `--signatures`",
    default=100_000,
    minimum=1,
)
SIGNATURES_FULL_CLONE = Flag(
    "HUBMINE_SIGNATURES_FULL_CLONE",
    RISKS,
    "`1`: `--signatures` also clones each repository in full, to record what the blobless clone saved "
    "(`full_clone_bytes`); it downloads every blob",
)
RISKS_MAX_COMMIT_PAGES = Number(
    "HUBMINE_RISKS_MAX_COMMIT_PAGES",
    RISKS,
    "commits API pages (of 100) per model for `--maintainers`; a longer history is cut and marked "
    "`truncated`",
    default=20,
    minimum=1,
)

HISTORY_MAX_COMMIT_PAGES = Number(
    "HUBMINE_HISTORY_MAX_COMMIT_PAGES",
    HISTORY,
    "commits API pages (of 100) per model; a longer history keeps its newest commits only",
    default=100,
    minimum=1,
)
HISTORY_MAX_DISCUSSION_PAGES = Number(
    "HUBMINE_HISTORY_MAX_DISCUSSION_PAGES",
    HISTORY,
    "discussions list pages (of 50) per model",
    default=100,
    minimum=1,
)
HISTORY_MAX_DISCUSSION_DETAILS = Number(
    "HUBMINE_HISTORY_MAX_DISCUSSION_DETAILS",
    HISTORY,
    "discussion details (closing dates) asked per model and run (0 or more)",
    default=500,
    minimum=0,
)

PARSE_MAX_MEMORY = Number(
    "HUBMINE_PARSE_MAX_MEMORY",
    PARSING,
    "the address space of each card-parsing worker; a card past it is a problem row (`memory_exceeded`)",
    default=4 * GIB,
    minimum=256 * MIB,
    unit="bytes",
)

LOOKALIKE_MIN_DOWNLOADS = CountOrNone(
    "HUBMINE_LOOKALIKE_MIN_DOWNLOADS",
    LOOKALIKES,
    "30-day downloads from which a model is popular, the side a look-alike would imitate; `none` for no "
    "floor",
    default=1_000,
)
LOOKALIKE_TOP = CountOrNone(
    "HUBMINE_LOOKALIKE_TOP",
    LOOKALIKES,
    "the N most downloaded models of the snapshot are popular too (the registry's top only for a full crawl)",
)
LOOKALIKE_TUTORIAL_AUTHORS = CountOrNone(
    "HUBMINE_LOOKALIKE_TUTORIAL_AUTHORS",
    LOOKALIKES,
    "a name held by this many authors or more is a shared tutorial name, not an impersonation",
    default=3,
)

# About 1.2 KiB per model in memory while a part is compared: parts of 100,000 stay near 300 MiB.
DIFF_MODELS_PER_PART = Number(
    "HUBMINE_DIFF_MODELS_PER_PART",
    DIFF,
    "a registry larger than this is split by a hash of the model id into parts of about this size, "
    "compared one at a time, so memory follows the part size",
    default=100_000,
    minimum=1,
)


def declared() -> dict[str, Setting]:
    """Every setting above, by variable name."""
    return {value.name: value for value in globals().values() if isinstance(value, Setting)}
