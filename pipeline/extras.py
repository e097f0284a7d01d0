"""The optional parts of hubmine and the modules each brings, so that a command whose part is not installed
says in one line which to install instead of failing on an import deep inside."""

from __future__ import annotations

from importlib.util import find_spec

from pipeline.errors import HubmineError

# extra (as named in pyproject.toml) -> the top-level modules it installs that hubmine imports.
EXTRA_MODULES = {
    "evaluate": ("torch", "transformers", "safetensors", "sklearn", "seqeval", "jiwer", "soundfile"),
    "ray": ("ray",),
}


class MissingExtra(HubmineError):
    """A command needs an optional part of hubmine that is not installed."""


def missing_modules(extra: str) -> list[str]:
    missing = []
    for module in EXTRA_MODULES[extra]:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):  # a module set to None, or one whose spec is broken
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, command: str) -> None:
    """Raise `MissingExtra` naming `extra` when any of its modules cannot be imported."""
    if missing_modules(extra):
        raise MissingExtra(f"{command} needs the {extra} extra: pip install 'hubmine[{extra}]'")
