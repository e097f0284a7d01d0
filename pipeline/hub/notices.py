"""One-line notices on stderr about what the crawl is waiting for, written around the progress bars."""

from __future__ import annotations

import logging
import sys

from tqdm import tqdm

# Waits at least this long are said on stderr, so a quiet crawl is never a mystery.
NOTICE_AFTER_S = 5.0

log = logging.getLogger("hubmine.hub")


class _AroundBars(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        # tqdm.write clears the bars first, so a notice never lands in the middle of one.
        tqdm.write(f"hubmine: {self.format(record)}", file=sys.stderr)


log.addHandler(_AroundBars(logging.INFO))
log.setLevel(logging.INFO)


def notice(message: str) -> None:
    log.warning(message)
