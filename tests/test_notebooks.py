"""The notebooks run top to bottom on the fixture snapshot, and are stored without outputs."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import pyarrow.parquet as pq
import pytest
from measures_helpers import SNAPSHOT_ID
from nbclient import NotebookClient

from pipeline.api import default_data_dir
from pipeline.longitudinal.diff import run_diff
from pipeline.longitudinal.process import write_process
from pipeline.longitudinal.trends import run_trends
from pipeline.schemas import table_from_rows
from pipeline.store.layout import DataDir, Snapshot
from tests.test_history import hand_made_history
from tests.test_report import write_risk_tables

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]


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
        "03_claims_vs_actual.ipynb",
        "04_risks.ipynb",
        "05_longitudinal.ipynb",
    ]
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def _run(path: Path, snapshot_dir: Path | None, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The outputs of `path` executed top to bottom, in its own folder as Jupyter runs it, on
    `snapshot_dir` (None: the one the notebook finds); no cell may raise."""
    if snapshot_dir is not None:
        monkeypatch.setenv("HUBMINE_SNAPSHOT_DIR", str(snapshot_dir))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    return outputs


def test_the_checkout_data_dir_is_found_from_any_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUBMINE_DATA_DIR", raising=False)
    monkeypatch.chdir(REPO_ROOT / "notebooks")
    assert default_data_dir() == REPO_ROOT / "data"
    monkeypatch.setenv("HUBMINE_DATA_DIR", "/somewhere/else")
    assert default_data_dir() == Path("/somewhere/else")


def test_a_notebook_finds_the_data_dir_like_the_command_line(
    snapshot: Snapshot, tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HUBMINE_DATA_DIR names the data directory, and the notebook, run in notebooks/, opens its newest
    complete snapshot."""
    data = DataDir(tmp_path / "data")
    shutil.copytree(snapshot.dir, data.snapshot(snapshot.id).dir)
    monkeypatch.delenv("HUBMINE_SNAPSHOT_DIR", raising=False)
    monkeypatch.setenv("HUBMINE_DATA_DIR", str(data.root))
    outputs = _run(REPO_ROOT / "notebooks" / "01_missing_attributes.ipynb", None, monkeypatch)
    assert f"snapshot {SNAPSHOT_ID}: 15 models ({data.snapshot(snapshot.id).dir})" in _printed(outputs)


def _printed(outputs: list[Any]) -> str:
    return "".join(out.get("text", "") for out in outputs if out.output_type == "stream")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path, snapshot: Snapshot, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = _run(path, snapshot.dir, monkeypatch)
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 3
    assert f"snapshot {SNAPSHOT_ID}: 15 models" in _printed(outputs)


def test_claims_notebook_after_evaluate(
    snapshot: Snapshot, tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With evaluations, notebook 03 shows the gaps and the paper's DeiT rows beside the measured one."""
    copy = Snapshot(tmp_path / snapshot.id)
    shutil.copytree(snapshot.dir, copy.dir)
    rows = [
        {
            "model_id": model_id,
            "sha": "0" * 40,
            "source": "model-index",
            "task_type": "image-classification",
            "metric": "accuracy",
            "claimed": claimed,
            "claimed_unit": claimed / 100,
            "measured": measured,
            "status": status,
            "evaluated_at": datetime(2026, 1, 2, tzinfo=timezone.utc),
        }
        for model_id, claimed, measured, status in [
            ("facebook/deit-tiny-patch16-224", 72.2, 0.665, "measured"),
            ("org/pickled", 90.0, None, "pickle_refused"),
        ]
    ]
    pq.write_table(table_from_rows("evaluations", rows), copy.finding("evaluations"))
    outputs = _run(REPO_ROOT / "notebooks" / "03_claims_vs_actual.ipynb", copy.dir, monkeypatch)
    assert "{'measured': 1, 'pickle_refused': 1}" in _printed(outputs)
    shown = "".join(out.get("data", {}).get("text/plain", "") for out in outputs)
    assert "facebook/deit-tiny-patch16-224" in shown and "66.5" in shown


def test_risks_notebook_with_the_risk_tables(
    snapshot: Snapshot, tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the `hubmine risks` tables, notebook 04 shows this snapshot's side of Table IV."""
    copy = Snapshot(tmp_path / snapshot.id)
    shutil.copytree(snapshot.dir, copy.dir)
    write_risk_tables(copy)
    outputs = _run(REPO_ROOT / "notebooks" / "04_risks.ipynb", copy.dir, monkeypatch)
    shown = "".join(out.get("data", {}).get("text/plain", "") for out in outputs)
    assert "1 / 2 (50.00%); 1 not read" in shown and "not measured" not in shown


def test_longitudinal_notebook_with_trends_and_a_diff(
    snapshot: Snapshot, tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without trends notebook 05 says how to make them; with two analyzed snapshots, their trends and a
    diff, it shows them."""
    path = REPO_ROOT / "notebooks" / "05_longitudinal.ipynb"
    printed = _printed(_run(path, snapshot.dir, monkeypatch))
    assert "no trends under" in printed and "run hubmine trends after analyzing two or more" in printed
    data = DataDir(tmp_path / "data")
    earlier, later = data.snapshot(snapshot.id), data.snapshot("later")
    shutil.copytree(snapshot.dir, earlier.dir)
    shutil.copytree(snapshot.dir, later.dir)
    manifest = json.loads(later.manifest.read_text())
    later.manifest.write_text(json.dumps({**manifest, "started_at": "2099-01-01T00:00:00+00:00"}))
    run_trends(data.root)
    run_diff(data.root, snapshot.id, "later")
    outputs = _run(path, later.dir, monkeypatch)
    printed = _printed(outputs)
    assert f"trends of 2 snapshots: {snapshot.id}, later" in printed
    assert f"diff {snapshot.id}..later: 0 changed models" in printed
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 5
    assert sum("text/html" in out.get("data", {}) for out in outputs) >= 5
    assert "no repository history under" in printed


def test_longitudinal_notebook_with_repository_histories(
    snapshot: Snapshot, tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `history/process.parquet`, notebook 05 shows one repository's PRIME metrics and compares
    several."""
    data = DataDir(tmp_path / "data")
    copy = data.snapshot(snapshot.id)
    shutil.copytree(snapshot.dir, copy.dir)
    hand_made_history(data)
    write_process(
        data, ["month"], datetime(2026, 4, 15, tzinfo=timezone.utc), snapshot.id, datetime.now(timezone.utc)
    )
    outputs = _run(REPO_ROOT / "notebooks" / "05_longitudinal.ipynb", copy.dir, monkeypatch)
    printed = _printed(outputs)
    assert "repository history of 2 models by month; most downloaded: a/m, b/n" in printed
    assert "a/m: 4 months" in printed
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 5
