"""The public API reads what the commands wrote: snapshots, tables as pandas and Arrow, summary sections."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from measures_helpers import SNAPSHOT_ID

from pipeline import api
from pipeline.errors import HubmineError, SnapshotError
from pipeline.measures.attributes import AttributesSection
from pipeline.store.layout import Snapshot


@pytest.fixture(scope="module")
def data(measured_snapshot: Snapshot) -> api.DataDirectory:
    return api.open_data(measured_snapshot.dir.parent.parent)


def test_latest_and_named_snapshots_read_tables_and_sections(data: api.DataDirectory) -> None:
    snap = data.snapshot()
    assert snap.id == SNAPSHOT_ID == data.snapshot(SNAPSHOT_ID).id
    assert data.snapshot_ids() == [SNAPSHOT_ID]
    models = snap.read("models", columns=["model_id", "downloads"])
    assert list(models.columns) == ["model_id", "downloads"] and len(models) > 0
    claims = snap.arrow("claims")
    assert isinstance(claims, pa.Table) and "subject" in claims.column_names
    attributes = snap.section("attributes")
    assert isinstance(attributes, AttributesSection) and attributes.n_models == len(models)
    assert "attributes" in snap.sections()


def test_names_that_are_no_table_are_refused_in_one_line(data: api.DataDirectory) -> None:
    snap = data.snapshot()
    for name in ("../../etc/passwd", "summary", "no_such_table"):
        with pytest.raises(HubmineError):
            snap.read(name)
    with pytest.raises(SnapshotError, match="no section"):
        snap.section("nothing")
    with pytest.raises(SnapshotError, match="try one of"):
        data.read_history("models")
    with pytest.raises(SnapshotError, match="hubmine command that writes it"):
        data.read_history("process")


def test_the_data_directory_comes_from_the_environment_else_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_DATA_DIR", str(tmp_path))
    assert api.open_data().path == tmp_path
    monkeypatch.delenv("HUBMINE_DATA_DIR")
    monkeypatch.chdir(tmp_path)  # as Jupyter does, in notebooks/: the checkout's data/ all the same
    assert api.default_data_dir() == Path(api.__file__).resolve().parents[1] / "data"
    with pytest.raises(SnapshotError):
        api.open_data(tmp_path / "empty").snapshot()
