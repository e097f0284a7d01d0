"""Progress of a long step: a bar on a terminal; elsewhere (a log file, cron, CI) one status line every
HUBMINE_STATUS_S seconds (default 30), so that a log holds lines rather than carriage returns."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

from pipeline import settings


class StatusLines(tqdm):
    """A tqdm that writes `hubmine: <desc>: <n>/<total> <unit> [...]` as a whole line, at most once every
    `every_s` seconds, and once more when it ends if it wrote any: a step shorter than `every_s` writes
    nothing."""

    def __init__(self, *args: Any, every_s: float, **kwargs: Any) -> None:
        kwargs.update(
            disable=False,
            leave=False,
            delay=every_s,
            mininterval=every_s,
            miniters=1,
            file=sys.stderr,
            bar_format="{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}, {rate_fmt}]",
        )
        self._every_s = every_s
        self._shown_at = time.monotonic()
        self._shown: int | None = None
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None, *, final: bool = False) -> bool:
        if msg == "":  # tqdm clearing its line: there is none to clear
            return False
        now = time.monotonic()
        # Refreshes come on every update and description change: keep to the pace, and to news.
        if self.n == self._shown or (not final and now - self._shown_at < self._every_s):
            return True
        self._shown, self._shown_at = self.n, now
        self.fp.write(f"hubmine: {self}\n")
        self.fp.flush()
        return True

    def close(self) -> None:
        if not self.disable and self._shown is not None:
            self.display(final=True)
        super().close()


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """A tqdm progress bar (same arguments) on a terminal, else `StatusLines`."""
    if sys.stderr.isatty():
        return tqdm(*args, **kwargs)
    return StatusLines(*args, every_s=float(settings.STATUS_S.read()), **kwargs)
