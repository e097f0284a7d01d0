"""Every `HUBMINE_*` variable is declared once in pipeline/settings.py, read only through it, and documented
in docs/configuration.md under its section with the declared default and meaning."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline import settings
from pipeline.errors import SettingError
from pipeline.settings import CountOrNone, Number, Setting

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
# A variable name as the code spells it; a bare `HUBMINE_` prefix (in a message) is no variable.
NAME = re.compile(r"\bHUBMINE_[A-Z0-9_]*[A-Z0-9]\b")
ROW = re.compile(r"^\| `(HUBMINE_[A-Z0-9_]+)` \| (.*?) \| (.*) \|$")
DECLARED = settings.declared()


def code_outside_settings() -> list[Path]:
    return [p for p in sorted((ROOT / "pipeline").rglob("*.py")) if p.name != "settings.py"]


def documented_rows() -> dict[str, tuple[str, str, str]]:
    """Each documented variable: (section, default, meaning), as docs/configuration.md writes them."""
    rows: dict[str, tuple[str, str, str]] = {}
    section = ""
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line.removeprefix("## ")
        elif row := ROW.match(line):
            name, default, meaning = row.groups()
            assert name not in rows, f"{name} is documented twice"
            rows[name] = (section, default, meaning)
    return rows


def test_every_variable_the_code_names_is_declared() -> None:
    named = {name: path for path in code_outside_settings() for name in NAME.findall(path.read_text())}
    assert named, "no HUBMINE_* variable found under pipeline/"
    unknown = sorted(
        f"{name} ({path.relative_to(ROOT)})" for name, path in named.items() if name not in DECLARED
    )
    assert not unknown, f"not declared in pipeline/settings.py: {', '.join(unknown)}"


def test_the_code_reads_variables_only_through_the_settings_module() -> None:
    # A variable's bare name as a string is how os.environ would be asked; names in messages are fine.
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
        for path in code_outside_settings()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value)
    ]
    assert not bare, "read it through pipeline.settings instead: " + ", ".join(bare)


def test_every_setting_is_documented_with_its_section_default_and_meaning() -> None:
    rows = documented_rows()
    for name, setting in DECLARED.items():
        assert name in rows, f"{name} is not in docs/configuration.md"
        assert rows[name] == (setting.section, setting.documented_default(), setting.meaning), name
    undeclared = sorted(set(rows) - set(DECLARED))
    assert not undeclared, f"documented but not declared: {', '.join(undeclared)}"


def test_the_documented_defaults_are_rendered_from_the_values() -> None:
    assert settings.MAX_LISTING_BYTES.documented_default() == "64 MiB"
    assert settings.EVAL_MAX_MODEL_BYTES.documented_default() == "2 GiB"
    assert settings.BACKOFF_S.documented_default() == "0.5 s"
    assert settings.GIT_MAX_COMMITS.documented_default() == "100,000"
    assert settings.LOOKALIKE_TOP.documented_default() == "unset"


@pytest.mark.parametrize("setting", list(DECLARED.values()), ids=list(DECLARED))
def test_unset_or_empty_is_the_default(setting: Setting, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(setting.name, raising=False)
    unset = setting.read()
    monkeypatch.setenv(setting.name, "  ")
    assert setting.read() == unset
    assert unset == getattr(setting, "default", False)


@pytest.mark.parametrize(
    "setting", [s for s in DECLARED.values() if isinstance(s, Number | CountOrNone)], ids=lambda s: s.name
)
@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_bad_value_is_one_line_naming_the_variable(
    setting: Number | CountOrNone, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(setting.name, value)
    with pytest.raises(SettingError) as raised:
        setting.read()
    message = str(raised.value)
    assert message.startswith(f"{setting.name}={value!r}") and "\n" not in message


def test_a_value_is_read_when_asked_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "3")
    assert settings.MAX_ATTEMPTS.read() == 3
    monkeypatch.setenv("HUBMINE_MAX_ATTEMPTS", "0")
    with pytest.raises(SettingError, match="a whole number of at least 1 \\(default 8\\)"):
        settings.MAX_ATTEMPTS.read()
    monkeypatch.setenv("HUBMINE_EVAL_RAY_CPUS", "x")
    with pytest.raises(SettingError, match="default every CPU"):
        settings.EVAL_RAY_CPUS.read()
    assert settings.LOOKALIKE_TOP.read({"HUBMINE_LOOKALIKE_TOP": "none"}) is None
    assert settings.SIGNATURES_FULL_CLONE.read({"HUBMINE_SIGNATURES_FULL_CLONE": "1"}) is True
