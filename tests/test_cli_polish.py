"""The command line as a newcomer meets it: a lean start, plain help, the version, and the core install
without the evaluate extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import __version__
from pipeline.cli import app

REPO_ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

# Modules that only some commands use; loading any of them makes every start slow.
HEAVY = ("torch", "transformers", "datasets", "pandas", "matplotlib", "huggingface_hub", "ray", "sklearn")
HEAVY += ("pyarrow", "numpy", "requests", "yaml")
COMMANDS = ("crawl", "analyze", "report", "evaluate", "risks", "diff", "trends", "history", "publish")
COMMANDS += ("prune", "import", "status")


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter of this venv, with this checkout first on the path and no terminal."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


# A stand-in for the core install: the evaluate and ray extras cannot be imported.
WITHOUT_EXTRAS = "import sys\nfor name in ('torch', 'transformers', 'ray'):\n    sys.modules[name] = None\n"
RUN_CLI = "from pipeline.cli import main\nsys.argv = ['hubmine', *sys.argv[1:]]\nmain()\n"


def test_help_loads_no_heavy_module() -> None:
    code = (
        "import sys\nsys.argv = ['hubmine', '--help']\nfrom pipeline.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split("\n")[-2].split())
    assert "crawl" in result.stdout
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"hubmine {__version__}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_and_fits_80_columns(command: str) -> None:
    """No `<bool>` placeholders, options named by what they take, and examples kept whole at 80 columns
    outside a terminal."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    options = [line for line in result.output.splitlines() if line.lstrip().startswith("--")]
    assert not [line for line in options if "<str>" in line or "<path>" in line or "[str]" in line]
    assert max(len(line) for line in result.output.splitlines()) <= 80
    if "Examples:" in result.output:
        examples = result.output.split("Examples:", 1)[1].strip("\n").splitlines()
        # Every example line is a command or a comment under one: none is the tail of a wrapped line.
        assert all(line.startswith(("  hubmine ", "  HF_", "      # ")) for line in examples), examples


def test_evaluate_without_its_extra_names_it_in_one_line(tmp_path: Path) -> None:
    result = _python(WITHOUT_EXTRAS + RUN_CLI, "evaluate", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (
        "hubmine: error: hubmine evaluate needs the evaluate extra: pip install 'hubmine[evaluate]'\n"
    )


def test_core_commands_run_without_the_extras(tmp_path: Path) -> None:
    """crawl, analyze and report in the core install: nothing of torch, transformers or Ray is needed."""
    code = (
        WITHOUT_EXTRAS
        + "from hubsim import HubSimulator, Registry\nimport os\n"
        + "from pipeline.cli import app\nfrom typer.testing import CliRunner\n"
        + "data = sys.argv[1]\n"
        + "with HubSimulator(Registry.synthetic(n=40, seed=5)) as sim:\n"
        + "    os.environ['HF_ENDPOINT'] = sim.url\n"
        + "    for args in (['crawl'], ['analyze'], ['report', '--out', data + '/report']):\n"
        + "        result = CliRunner().invoke(app, [*args, '--data-dir', data])\n"
        + "        assert result.exit_code == 0, result.output\n"
        + "print('ok', 'torch' in sys.modules and sys.modules['torch'] is not None)\n"
    )
    result = _python(code, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["ok", "False"]


def test_the_core_dependencies_hold_no_torch_and_no_ray() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert not any(name in core for name in ("torch", "ray", "transformers", "jupyter"))
    extras = project["optional-dependencies"]
    assert "torch==2.13.0" in extras["evaluate"]
    assert {"evaluate", "ray", "notebooks", "dev"} <= set(extras)
