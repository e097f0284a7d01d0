"""Deletion never follows a link out of the data directory: prune, diff cleanup and every removed tree."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import StorageError
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir
from pipeline.store.removal import real_folder, remove_path
from pipeline.store.snapshot import list_snapshots

runner = CliRunner()


def _snapshots(data: DataDir, ids: list[str]) -> None:
    for hour, snapshot_id in enumerate(ids):
        snapshot = data.snapshot(snapshot_id)
        write_json(
            snapshot.manifest, {"status": "complete", "started_at": f"2026-01-01T{hour:02d}:00:00+00:00"}
        )
        write_parquet(snapshot.models, pa.table({"model_id": ["a/b"]}))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the data directory, with what must survive every deletion."""
    folder = tmp_path / "outside"
    (folder / "keep").mkdir(parents=True)
    (folder / "keep" / "file.txt").write_text("precious")
    (folder / "s1").mkdir()
    return folder


def survives(outside: Path) -> bool:
    return (outside / "keep" / "file.txt").read_text() == "precious" and (outside / "s1").is_dir()


def test_a_tree_is_removed_and_a_link_in_it_is_not_followed(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "data"
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "tree" / "sub" / "link").symlink_to(outside / "keep")
    remove_path(root / "tree", root)
    assert not (root / "tree").exists() and survives(outside)


def test_a_link_is_removed_as_a_link(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "link").symlink_to(outside / "keep")
    remove_path(root / "link", root)
    assert not (root / "link").is_symlink() and survives(outside)


@pytest.mark.parametrize("ignore_errors", [False, True])
def test_a_path_reached_through_a_link_is_refused(tmp_path: Path, outside: Path, ignore_errors: bool) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "pruning").symlink_to(outside)
    with pytest.raises(StorageError, match="is a link") as raised:
        remove_path(root / "pruning" / "keep", root, ignore_errors=ignore_errors)
    assert "\n" not in str(raised.value) and survives(outside)
    with pytest.raises(StorageError, match="is a link"):
        real_folder(root / "pruning", root)


@pytest.mark.parametrize("path", ["..", "../outside", "."])
def test_a_path_outside_the_root_is_refused(tmp_path: Path, outside: Path, path: str) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(StorageError, match="not inside"):
        remove_path(root / path, root)
    assert survives(outside)


def test_prune_refuses_a_pruning_folder_that_is_a_link(tmp_path: Path, outside: Path) -> None:
    data = DataDir(tmp_path / "data")
    _snapshots(data, ["s1", "s2"])
    data.pruning.symlink_to(outside)
    result = runner.invoke(app, ["prune", "--keep", "1", "--data-dir", str(data.root)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "is a link" in result.output
    assert survives(outside)
    assert list_snapshots(data) == ["s1", "s2"]  # nothing moved out either


def test_prune_refuses_snapshots_reached_through_a_link(tmp_path: Path, outside: Path) -> None:
    elsewhere = DataDir(outside / "elsewhere")
    _snapshots(elsewhere, ["s1", "s2"])
    data = DataDir(tmp_path / "data")
    data.root.mkdir()
    data.snapshots.symlink_to(elsewhere.snapshots)
    result = runner.invoke(app, ["prune", "--keep", "1", "--data-dir", str(data.root)])
    assert result.exit_code == 1 and "is a link" in result.output
    assert sorted(p.name for p in elsewhere.snapshots.iterdir()) == ["s1", "s2"]


def test_diff_refuses_a_diffs_folder_that_is_a_link(tmp_path: Path, outside: Path) -> None:
    data = DataDir(tmp_path / "data")
    _snapshots(data, ["s1", "s2"])
    data.diffs.symlink_to(outside)
    (outside / ".parts-leftover").mkdir()
    result = runner.invoke(app, ["diff", "s1", "s2", "--data-dir", str(data.root)])
    assert result.exit_code == 1 and "is a link" in result.output
    assert survives(outside) and (outside / ".parts-leftover").is_dir()
