"""Pickles made to attack whoever loads them, and benign and broken ones, for the pickle-scan tests.

Each malicious payload, if it were ever unpickled, would create the file `canary` names (through
`os.system`, `builtins.eval`, `subprocess.Popen` or `runpy._run_code`); the tests only ever hand the
bytes to the scanner and then check that the canary never appeared. Every payload comes both as a raw
pickle and inside a PyTorch-style zip archive (`archive/data.pkl`), as `torch.save` writes it.
"""

from __future__ import annotations

import io
import os
import pickle
import runpy
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


class _Reduce:
    """An object whose pickle calls `func(*args)` when loaded."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.func, self.args


def _touch_code(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').close()"


def payloads(canary: Path) -> dict[str, Any]:
    """name -> an object whose pickle creates `canary` when loaded, one per dangerous callable."""
    code = _touch_code(canary)
    return {
        "os_system": _Reduce(os.system, f"touch {canary}"),
        "builtins_eval": _Reduce(eval, code),
        "subprocess_popen": _Reduce(subprocess.Popen, [sys.executable, "-c", code]),
        "runpy_run_code": _Reduce(runpy._run_code, code, {}),  # type: ignore[attr-defined]
    }


# The callable each payload's pickle imports: picklescan names its module as the pickle does
# (`posix.system`; `__builtin__.eval` and `commands.Popen` under protocol 2).
PAYLOAD_GLOBALS = {
    "os_system": ".system",
    "builtins_eval": ".eval",
    "subprocess_popen": ".Popen",
    "runpy_run_code": "runpy._run_code",
}


def raw_pickle(obj: Any) -> bytes:
    return pickle.dumps({"state": obj}, protocol=4)


def torch_zip(obj: Any) -> bytes:
    """A PyTorch-style zip archive whose `archive/data.pkl` pickles `obj`, written by hand (no torch.save,
    so nothing of torch's own checks stands between the payload and the file)."""
    return archive_of(pickle.dumps(obj, protocol=2))


def archive_of(data_pkl: bytes, compression: int = zipfile.ZIP_STORED) -> bytes:
    """A PyTorch-style zip archive holding `data_pkl` as its `archive/data.pkl`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/byteorder", "little")
    return buffer.getvalue()


def benign_state_dict() -> bytes:
    """A real `torch.save` of a small state dict: only torch's own rebuild functions and OrderedDict."""
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(4, 2).state_dict(), buffer)
    return buffer.getvalue()


def corrupt() -> bytes:
    """Not a pickle nor an archive: a PROTO opcode, then bytes no pickle holds."""
    return b"\x80\x04" + bytes(range(0xFF, 0xB0, -1)) * 8


def truncated() -> bytes:
    """A real `torch.save` cut in the middle: its zip directory is gone."""
    whole = benign_state_dict()
    return whole[: len(whole) // 2]


def oversized(size: int) -> bytes:
    """`size` bytes starting like a pickle: only its size matters."""
    return b"\x80\x04" + b"\x00" * (size - 2)


def opcode_dense(opcodes: int) -> bytes:
    """A valid pickle of about `opcodes` one-byte opcodes (None pushed and popped), no import at all."""
    return b"\x80\x04" + b"N0" * (opcodes // 2) + b"N."


def zip_bomb(expanded: int) -> bytes:
    """A small zip archive whose pickle member expands to `expanded` bytes."""
    return archive_of(opcode_dense(expanded), zipfile.ZIP_DEFLATED)
