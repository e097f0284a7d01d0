"""The measure registry: order by reads, checks at registration, a new measure end to end."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from measures_helpers import build_snapshot

from pipeline import schemas
from pipeline.analyze import measure_snapshot
from pipeline.errors import SchemaError
from pipeline.measures.catalog import REGISTRY
from pipeline.measures.registry import Context, Measure, Registry, RegistryError
from pipeline.measures.section import Section, Share
from pipeline.measures.section_schema import section_schema
from pipeline.measures.summary import load, load_summary, summary_schema
from pipeline.store.files import write_parquet
from pipeline.store.layout import SNAPSHOT_TABLES
from pipeline.store.tables import read_table, write_finding

TOY_SCHEMA = pa.schema([("model_id", pa.string()), ("toy_in_family", pa.bool_())], metadata={"table": "toy"})


@dataclass(frozen=True)
class ToySection(Section):
    derived: int


@dataclass(frozen=True)
class HintsSection(Section):
    count: int
    share: Share | None
    names: list[str]
    nested: ToySection | None
    by_key: dict[str, bool]
    mean: float = 0.0


def _toy(name: str = "toy", reads: tuple[str, ...] = (), writes: tuple[str, ...] = ()) -> Measure:
    return Measure(name, lambda context: ToySection(0), name, ToySection, reads, writes)


def _position(registry: Registry) -> dict[str, int]:
    return {measure.name: index for index, measure in enumerate(registry.measures)}


def test_every_measure_runs_after_the_writers_of_what_it_reads() -> None:
    for registry in (REGISTRY, Registry(reversed(REGISTRY.measures))):
        position = _position(registry)
        writer = {table: m.name for m in registry.measures for table in m.writes}
        for measure in registry.measures:
            for table in measure.reads:
                assert table in SNAPSHOT_TABLES or position[writer[table]] < position[measure.name]
        # Breakdowns read every table with rates, declared or not in their reads.
        assert position["breakdowns"] > max(position["attributes"], position["scores"])


def test_unknown_input_cycle_and_double_writer_are_refused() -> None:
    with pytest.raises(RegistryError, match="'nowhere'"):
        REGISTRY.register(_toy(reads=("nowhere",)))
    with pytest.raises(RegistryError, match="cycle"):
        Registry(
            [
                _toy("a", reads=("lineage",), writes=("attributes",)),
                _toy("b", reads=("attributes",), writes=("lineage",)),
            ]
        )
    with pytest.raises(RegistryError, match="written by"):
        REGISTRY.register(_toy(writes=("scores",)))
    with pytest.raises(RegistryError, match="no schema file"):
        REGISTRY.register(_toy(writes=("no_such_table",)))
    with pytest.raises(RegistryError, match="reads a table it writes"):
        Registry([_toy("self", reads=("lineage",), writes=("lineage",))])


def test_every_section_has_its_place_in_the_summary_schema() -> None:
    schema = summary_schema(REGISTRY)
    for measure in REGISTRY.measures:
        place = schema
        for part in measure.summary_key.split("."):
            place = place["properties"][part]
        assert place["type"] == "object", measure.name
        assert set(place["required"]) == {f.name for f in dataclasses.fields(measure.section)}, measure.name


def test_a_section_schema_follows_the_type_hints() -> None:
    schema = section_schema(HintsSection)
    assert schema["required"] == ["count", "share", "names", "nested", "by_key"]
    assert schema["properties"] == {
        "count": {"type": "integer", "minimum": 0},
        "share": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]},
        "names": {"type": "array", "items": {"type": "string"}},
        "nested": {"anyOf": [section_schema(ToySection), {"type": "null"}]},
        "by_key": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "mean": {"type": "number"},
    }
    assert section_schema(ToySection) == {
        "type": "object",
        "required": ["derived"],
        "properties": {"derived": {"type": "integer", "minimum": 0}},
    }
    with pytest.raises(SchemaError, match="cannot hold"):
        section_schema(set[str])


@pytest.fixture
def toy_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema for the toy table, found the way every table's schema is."""
    real = schemas.load_schema
    monkeypatch.setattr(schemas, "load_schema", lambda table: TOY_SCHEMA if table == "toy" else real(table))


def _in_family(context: Context) -> ToySection:
    """The toy: which models derive from another one, from lineage.parquet."""
    models = read_table(context.snapshot.models, ["model_id"]).column(0)
    derived = read_table(context.snapshot.finding("lineage"), ["model_id"]).column(0)
    flags = pc.is_in(models, value_set=derived.combine_chunks())
    write_finding(context.snapshot, "toy", pa.table({"model_id": models, "toy_in_family": flags}))
    return ToySection(int(pc.sum(flags).as_py()))


def _off_schema(context: Context) -> ToySection:
    """A toy that writes its table without the schema's check, and without one of its columns."""
    write_parquet(context.snapshot.finding("toy"), pa.table({"model_id": ["x"]}))
    return ToySection(0)


def test_a_registered_measure_runs_after_its_inputs_and_reaches_the_summary(
    tmp_path: Path, toy_schema: None
) -> None:
    toy = Measure("toy", _in_family, "toy", ToySection, ("models", "lineage"), ("toy",))
    registry = REGISTRY.register(toy)
    position = _position(registry)
    assert position["lineage"] < position["toy"]

    snapshot = build_snapshot(tmp_path)
    result = measure_snapshot(snapshot, registry)
    assert result.section(ToySection).derived == 10  # the models with a base edge (fixture)
    assert load(snapshot)["toy"] == {"derived": 10}
    assert load(snapshot)["files"]["toy"] == "findings/toy.parquet"
    assert load_summary(snapshot, registry).section(ToySection) == ToySection(10)


def test_a_measure_table_off_its_schema_is_refused(tmp_path: Path, toy_schema: None) -> None:
    toy = Measure("toy", _off_schema, "toy", ToySection, ("lineage",), ("toy",))
    with pytest.raises(SchemaError, match="toy_in_family"):
        measure_snapshot(build_snapshot(tmp_path), REGISTRY.register(toy))
