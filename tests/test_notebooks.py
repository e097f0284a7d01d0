"""The notebooks run top to bottom on the fixture snapshot, and are stored without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from measures_helpers import SNAPSHOT_ID
from nbclient import NotebookClient

from pipeline.store.layout import Snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshot(measured_snapshot: Snapshot) -> Snapshot:
    return measured_snapshot


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `python3` kernel spec running this interpreter (the venv's), found first on JUPYTER_PATH."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "hubmine", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))


def test_notebooks_exist_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_missing_attributes.ipynb",
        "02_provenance_reproducibility_portability.ipynb",
    ]
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path, snapshot: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_SNAPSHOT_DIR", str(snapshot.dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 3
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert f"snapshot {SNAPSHOT_ID}: 15 models" in printed
