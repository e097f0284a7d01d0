"""The steps of `hubmine risks`: each one measures a risk of a chosen set of models over the network.

A step is declared once, beside its code, as a `RiskStep`, and listed in `pipeline.risks.catalog`;
the command line gets one flag per step (`--scan-status`, `--scan-pickles`, ...). A step reads the
chosen models (`RiskContext.targets`, each at the snapshot's sha), asks the Hub through the paced,
capped client, and writes one findings table of the snapshot (`schemas/<table>.json`), keeping the
rows of models it measured before at the same sha so a second run asks nothing again. It returns
the one line the command prints about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.hub.client import HubClient
from pipeline.store.layout import DataDir, Snapshot


@dataclass(frozen=True)
class Target:
    """A model chosen for the risk steps, at the sha the snapshot lists."""

    model_id: str
    sha: str | None
    siblings: tuple[str, ...] = ()


@dataclass
class RiskContext:
    """What every risk step works with."""

    data: DataDir
    snapshot: Snapshot
    targets: list[Target]
    client: HubClient
    endpoint: str
    token: str | None
    workers: int
    # Per file read in full (--max-bytes): a larger file is an `error` row, never read whole.
    max_bytes: int
    # Models a step recorded an `error` row for: the command then exits 3.
    errored: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class RiskStep:
    """`flag`: the command-line switch (without dashes) that turns the step on; `table`: the findings
    table it writes; `run` measures `context.targets` and returns a one-line summary."""

    flag: str
    help: str
    table: str
    run: Callable[[RiskContext], str]
