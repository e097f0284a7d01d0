"""What every crawl phase works with: the client, the parameters, the checkpoint and the snapshots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.crawl.params import CrawlParams
from pipeline.crawl.reuse import PreviousFiles, previous_files
from pipeline.crawl.state import CrawlState
from pipeline.hub.client import HubClient
from pipeline.store.layout import DataDir, Snapshot


@dataclass
class CrawlContext:
    client: HubClient
    params: CrawlParams
    state: CrawlState
    data: DataDir
    snapshot: Snapshot
    checkpoint: Callable[[], None]
    has_token: bool
    _previous: dict[str, PreviousFiles | None] = field(default_factory=dict)

    @property
    def earlier(self) -> Snapshot | None:
        """The snapshot this crawl builds on, if any."""
        return self.data.snapshot(self.state.since) if self.state.since else None

    def previous(self, table: str) -> PreviousFiles | None:
        """Rows of `table` in earlier snapshots, for reuse by sha (loaded once per crawl)."""
        if table not in self._previous:
            since = self.state.since
            self._previous[table] = previous_files(self.data, since, table) if since else None
        return self._previous[table]
