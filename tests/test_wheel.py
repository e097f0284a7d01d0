"""The built wheel, installed into a fresh virtual environment outside the checkout, works end to end.

This is what a user gets from `pip install hubmine`: no checkout beside it, no `schemas/` folder to
fall back on, no Hub simulator inside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from hubsim import HubSimulator, Registry

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted(p.name for p in (REPO_ROOT / "schemas").glob("*.json"))

# One wheel and one venv for the module: xdist keeps its tests on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]


# What a build must not see: a stale build/ folder would put removed modules back into the wheel.
NOT_SOURCE = shutil.ignore_patterns(".*", "build", "dist", "data", "reports", "*.egg-info", "__pycache__")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "hubmine"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("hubmine-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin/` folder of a fresh virtual environment with the wheel installed from the registry."""
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env)
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    return env / "bin"


def test_wheel_ships_the_schemas_and_not_the_simulator(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("pipeline/schema_files/")) == sorted(
        [*SCHEMAS, "__init__.py"]
    )
    assert not [n for n in names if n.startswith(("hubsim/", "tests/", "bench/"))]


def test_every_subpackage_is_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {
        p.parent.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "pipeline").rglob("__init__.py")
    }
    assert {f"{package}/__init__.py" for package in packages} <= names


def test_installed_wheel_crawls_analyzes_and_reports(installed: Path, tmp_path: Path) -> None:
    """Run from an empty folder: every file lands under --data-dir or --out, nothing in the folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "PYTHONPATH": "",
    }
    env.pop("HF_TOKEN", None)

    def hubmine(*args: str) -> str:
        done = subprocess.run(
            [str(installed / "hubmine"), *args, "--data-dir", str(data)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with HubSimulator(Registry.synthetic(n=150, seed=5)) as sim:
        env["HF_ENDPOINT"] = sim.url
        crawled = hubmine("crawl", "--snapshot", "s1", "--limit", "120")
    assert "snapshot s1 complete: 120 models" in crawled
    assert "analyzed 120 models of snapshot s1" in hubmine("analyze")
    assert not list(cwd.iterdir())
    hubmine("report", "--out", str(tmp_path / "report"))
    assert (tmp_path / "report" / "report.html").stat().st_size > 0
    assert not list(cwd.iterdir())
