"""The import layers of `pipeline`: the import-linter contracts of pyproject.toml hold, and no package
imports another package's private names (docs/architecture.md, "Import layers")."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PIPELINE = REPO_ROOT / "pipeline"


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="the dev extra installs import-linter")
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", str(REPO_ROOT / "pyproject.toml")],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def package_of(module: str) -> str:
    """`pipeline.crawl` for `pipeline.crawl.fetch`; a top-level module (`pipeline.cli`) is its own."""
    return ".".join(module.split(".")[:2])


def private_imports(module: str, source: str) -> list[str]:
    """The `from pipeline.x import _name` lines of `module` that reach into another package's privates."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if not node.module.startswith("pipeline.") or package_of(node.module) == package_of(module):
            continue
        parts = node.module.split(".") + [alias.name for alias in node.names]
        private = [part for part in parts if part.startswith("_") and not part.startswith("__")]
        if private:
            found.append(f"{module}:{node.lineno} imports {', '.join(private)}")
    return found


def test_no_private_name_is_imported_across_packages() -> None:
    found = []
    for path in sorted(PIPELINE.rglob("*.py")):
        module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        found += private_imports(module, path.read_text(encoding="utf-8"))
    assert found == []


def test_private_imports_are_found() -> None:
    source = (
        "from pipeline.crawl import _new_id, run\n"
        "from pipeline.longitudinal.history import _own\n"
        "from pipeline.crawl._hidden import public\n"
        "from pipeline import __version__\n"
    )
    assert private_imports("pipeline.longitudinal.probe", source) == [
        "pipeline.longitudinal.probe:1 imports _new_id",
        "pipeline.longitudinal.probe:3 imports _hidden",
    ]
