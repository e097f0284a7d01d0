"""`hubmine crawl` (`pipeline.crawl.run`). Its names load on first use, so that reading the crawl's
parameters (the command line's help) does not load the crawl itself."""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.crawl.params import CrawlParams

__all__ = ["CrawlParams", "CrawlResult", "run_crawl"]


def __getattr__(name: str) -> Any:
    run = importlib.import_module("pipeline.crawl.run")
    try:
        return getattr(run, name)
    except AttributeError:
        raise AttributeError(f"module 'pipeline.crawl' has no attribute {name!r}") from None
