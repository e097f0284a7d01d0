"""The registry of analyze steps: what each measure reads, writes and adds to summary.json.

A measure is declared once, beside its code, as a `Measure`; `pipeline.measures.catalog` lists
them. A `Registry` checks the declarations when it is built — every table read is a crawl table or
written by exactly one measure, every written table has its schema file, no cycle — and orders the
measures so each runs after the measures whose tables it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.errors import HubmineError, SchemaError
from pipeline.measures.section import Section
from pipeline.store.layout import SNAPSHOT_TABLES, Snapshot


class RegistryError(HubmineError):
    """Measure declarations that cannot be run: an unknown input, a cycle, a table written twice."""


@dataclass(frozen=True)
class Rates:
    """Per-model rate columns (booleans and scores) of one table, which breakdowns group."""

    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Context:
    """What a measure runs with: the snapshot, and the registry it runs in."""

    snapshot: Snapshot
    registry: Registry


@dataclass(frozen=True)
class Measure:
    """One analyze step.

    `reads`: crawl tables (`SNAPSHOT_TABLES`: `models`, and `cards`, `eval_results`, `authors`, which
    may be absent from a snapshot, so a measure reading them copes without) and findings other measures write.
    `writes`: the findings tables it writes, each with `schemas/<table>.json`.
    `summary_key`: where its section goes in summary.json; a dotted key nests (`dependencies.lineage`).
    `rates`: columns of its one written table that are per-model rates, for breakdowns.
    `reads_rates`: it reads every table that has rates (and runs after their measures).
    """

    name: str
    run: Callable[[Context], Section]
    summary_key: str
    section: type[Section]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    reads_rates: bool = False


class Registry:
    """Measures in an order where each runs after everything it reads, checked when built."""

    def __init__(self, measures: Iterable[Measure], given: Iterable[str] = SNAPSHOT_TABLES) -> None:
        self.given = tuple(given)
        self.measures = _ordered(list(measures), self.given)

    def register(self, measure: Measure) -> Registry:
        """This registry with `measure` added (checked and ordered like the others)."""
        return Registry([*self.measures, measure], self.given)

    def without(self, *names: str) -> Registry:
        """This registry without the named measures; the tables they write count as given."""
        dropped = [m for m in self.measures if m.name in names]
        if len(dropped) != len(set(names)):
            raise RegistryError(f"no measure named {sorted(set(names) - {m.name for m in dropped})}")
        kept = [m for m in self.measures if m.name not in names]
        return Registry(kept, [*self.given, *(table for m in dropped for table in m.writes)])

    def rates(self) -> list[Rates]:
        return [Rates(m.writes[0], m.rates) for m in self.measures if m.rates]

    def finding_tables(self) -> list[str]:
        """Every findings table of a snapshot analyzed with this registry, in run order."""
        given = [table for table in self.given if table not in SNAPSHOT_TABLES]
        return given + [table for m in self.measures for table in m.writes]

    def section_keys(self) -> dict[type[Section], str]:
        return {m.section: m.summary_key for m in self.measures}


def _inputs(measure: Measure, measures: list[Measure]) -> set[str]:
    """Tables `measure` reads, the rate tables included when it reads rates."""
    rate_tables = {m.writes[0] for m in measures if m.rates} if measure.reads_rates else set()
    return set(measure.reads) | rate_tables


def _check(measures: list[Measure], given: tuple[str, ...]) -> dict[str, Measure]:
    """Each table's writer; raises on a declaration that cannot hold."""
    writers: dict[str, Measure] = {}
    names, keys = set(), set()
    for measure in measures:
        if measure.name in names:
            raise RegistryError(f"two measures are named {measure.name!r}")
        if measure.summary_key in keys:
            raise RegistryError(f"two measures write summary section {measure.summary_key!r}")
        names.add(measure.name)
        keys.add(measure.summary_key)
        for table in measure.writes:
            if table in writers or table in given:
                raise RegistryError(f"table {table!r} is written by {measure.name!r} and another step")
            writers[table] = measure
            try:
                columns = schemas.load_schema(table).names
            except SchemaError as exc:
                raise RegistryError(f"measure {measure.name!r}: {exc}") from None
            if measure.rates and table == measure.writes[0]:
                unknown = sorted(set(measure.rates) - set(columns))
                if unknown:
                    raise RegistryError(
                        f"measure {measure.name!r}: rates {unknown} are not columns of {table}"
                    )
        if measure.rates and len(measure.writes) != 1:
            raise RegistryError(
                f"measure {measure.name!r} declares rates but writes {len(measure.writes)} tables"
            )
    for measure in measures:
        unknown = sorted(_inputs(measure, measures) - set(writers) - set(given))
        if unknown:
            raise RegistryError(
                f"measure {measure.name!r} reads {unknown}, which no measure writes and no crawl provides"
            )
    return writers


def _ordered(measures: list[Measure], given: tuple[str, ...]) -> tuple[Measure, ...]:
    """A topological order by reads; among measures ready together, the order they were listed in."""
    writers = _check(measures, given)
    needs = {
        m.name: {writers[t].name for t in _inputs(m, measures) if t in writers} - {m.name} for m in measures
    }
    for m in measures:
        if set(m.writes) & _inputs(m, measures):
            raise RegistryError(f"measure {m.name!r} reads a table it writes")
    order: list[Measure] = []
    done: set[str] = set()
    while len(order) < len(measures):
        ready = [m for m in measures if m.name not in done and needs[m.name] <= done]
        if not ready:
            waiting = sorted(name for name in needs if name not in done)
            raise RegistryError(f"measures {waiting} read each other's tables in a cycle")
        order.append(ready[0])
        done.add(ready[0].name)
    return tuple(order)


def check_written(snapshot: Snapshot, measure: Measure) -> None:
    """Each table `measure` declares is on disk with its schema's columns and types."""
    for table in measure.writes:
        path = snapshot.finding(table)
        if not path.exists():
            raise SchemaError(f"measure {measure.name!r} did not write {table}")
        found = pq.read_schema(path)
        for field in schemas.load_schema(table):
            index = found.get_field_index(field.name)
            if index < 0 or not found.field(index).type.equals(field.type):
                raise SchemaError(f"{table}: column {field.name!r} does not match schemas/{table}.json")
