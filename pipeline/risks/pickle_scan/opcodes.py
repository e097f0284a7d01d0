"""A pickle walked opcode by opcode, never run: a stack machine that builds stand-ins for what the
unpickler would build, enough to know every global it imports, whether a global's name is computed
while loading, and how many bytes joblib reads beside the pickle for an array.

Each pickle gets a fresh memo, as each `pickle.load` does. Arguments longer than `KEPT_BYTES` are
passed over and stand in as their length; containers keep their first `KEPT_ITEMS` items.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy

from pipeline.risks.pickle_scan.bounds import Broken, Budget, OverBound
from pipeline.risks.pickle_scan.evidence import Evidence
from pipeline.risks.pickle_scan.streams import skip

KEPT_BYTES = 1 << 16
KEPT_ITEMS = 256
MAX_LINE = 1 << 16
HIGHEST_PROTOCOL = 5
# Opcodes counted before the budget is told, so a count costs little per opcode.
_COUNT_EVERY = 1 << 14
# joblib's wrapper of an array whose data follows the pickle's BUILD opcode in the same stream.
_ARRAY_WRAPPERS = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
}
_IDENTIFIERS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_DTYPE_NAME = re.compile(r"[A-Za-z?][0-9]{0,6}")
# Python 2 names the unpickler maps to Python 3's (pickle's fix_imports), for the few that matter here.
PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


@dataclass(frozen=True)
class Global:
    module: str
    name: str


class Made:
    """What a call made while loading (REDUCE, NEWOBJ, INST, OBJ), and the state BUILD gave it."""

    __slots__ = ("args", "callee", "state")

    def __init__(self, callee: Any, args: Any) -> None:
        self.callee, self.args, self.state = callee, args, None


@dataclass(frozen=True)
class Blob:
    """Bytes or text too long to keep."""

    length: int


class _Stopped(Exception):
    """The STOP opcode: the pickle is whole."""


def _stop(m: Machine) -> None:
    m.result = m.stack[-1] if m.stack else OPAQUE
    raise _Stopped


class _Opaque:
    """A value the machine does not model."""


OPAQUE = _Opaque()


class Machine:
    """Reads one pickle from `stream` (from its current position to STOP) into `evidence`."""

    def __init__(self, stream: IO[bytes], budget: Budget, evidence: Evidence) -> None:
        self.stream, self.budget, self.evidence = stream, budget, evidence
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.result: Any = OPAQUE  # the stand-in for what the pickle loads, once read to STOP

    def run(self) -> None:
        """Walk to STOP; Broken where the unpickler would fail, OverBound past a bound."""
        read = self.stream.read
        dispatch = _DISPATCH
        done = 0
        try:
            while True:
                for done in range(1, _COUNT_EVERY + 1):  # noqa: B007 (the count is read on the way out)
                    dispatch[read(1)](self)
                self.budget.add_opcodes(_COUNT_EVERY)
                done = 0
        except _Stopped:
            self.budget.add_opcodes(done)
        except KeyError as exc:
            code = exc.args[0] if exc.args else None
            if code == b"":
                raise Broken("the pickle ends before its STOP opcode") from None
            if isinstance(code, bytes) and len(code) == 1:
                raise Broken(f"byte 0x{code[0]:02x} is not a pickle opcode") from None
            raise Broken("the pickle breaks: KeyError") from None
        except (IndexError, TypeError, ValueError, struct.error, UnicodeDecodeError) as exc:
            raise Broken(f"the pickle breaks: {type(exc).__name__}") from None

    # -- reading arguments
    def _exact(self, count: int) -> bytes:
        data = self.stream.read(count)
        if len(data) != count:
            raise Broken("the pickle ends inside an opcode's argument")
        return data

    def _uint(self, size: int) -> int:
        return int.from_bytes(self._exact(size), "little")

    def _line(self) -> bytes:
        line = self.stream.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise Broken(f"a text argument longer than {MAX_LINE} bytes or cut off")
        return line[:-1]

    def _data(self, count: int) -> bytes | Blob:
        if count > KEPT_BYTES:
            skip(self.stream, count)
            return Blob(count)
        return self._exact(count)

    def _text(self, count: int) -> str | Blob:
        data = self._data(count)
        return data if isinstance(data, Blob) else data.decode("utf-8", "surrogatepass")

    # -- the stack
    def push(self, value: Any) -> None:
        self.stack.append(value)

    def pop(self) -> Any:
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def put(self, index: int) -> None:
        if index not in self.memo and len(self.memo) >= self.budget.limits.memo:
            raise OverBound(f"a memo of more than {self.budget.limits.memo} objects")
        self.memo[index] = self.stack[-1]

    def find_class(self, module: str, name: str) -> Global:
        module = PY2_MODULES.get(module, module)
        self.evidence.add_global(module, name)
        return Global(module, name)

    def build(self) -> None:
        state = self.pop()
        made = self.stack[-1]
        if isinstance(made, Global):  # sets attributes of a library's own object, as `setattr` would
            self.evidence.dangerous.append(f"BUILD sets attributes of the imported {made.module}.{made.name}")
        if isinstance(made, Made):
            made.state = state
            callee = made.callee
            if isinstance(callee, Global) and (callee.module, callee.name) in _ARRAY_WRAPPERS:
                self._joblib_array(state)

    def _joblib_array(self, state: Any) -> None:
        """Pass over the array joblib writes right after its wrapper, or read the nested pickle of an
        object array, as joblib's unpickler does on BUILD."""
        self.evidence.loaders.add("joblib")
        if not isinstance(state, dict):
            raise Broken("a joblib array wrapper without its state")
        has_objects, itemsize = _dtype_facts(state.get("dtype"))
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise Broken("a joblib array of unreadable shape")
        self.budget.add_member()
        if has_objects:
            Machine(self.stream, self.budget, self.evidence).run()
            return
        size = itemsize
        for n in shape:
            size *= n
        # joblib 1.2 and later write a padding length byte and the padding before the data.
        padding = self._exact(1) if "numpy_array_alignment_bytes" in state else b""
        size += padding[0] if padding else 0
        head = padding + self.stream.read(min(size, KEPT_BYTES))
        self._as_pickle_load_reads(head)
        skip(self.stream, size - len(head) + len(padding))

    def _as_pickle_load_reads(self, data: bytes) -> None:
        """`pickle.load`, unlike joblib, reads the bytes after the wrapper as more opcodes of the same
        pickle: whatever they import counts, when they read as opcodes naming real identifiers."""
        trial = Machine(io.BytesIO(data), self.budget, Evidence())
        trial.stack, trial.memo = list(self.stack), dict(self.memo)
        trial.metastack = [list(items) for items in self.metastack]
        with contextlib.suppress(Broken, OverBound):
            trial.run()
        found = trial.evidence
        if (found.globals or found.dangerous) and all(_IDENTIFIERS.fullmatch(g) for g in found.globals):
            self.evidence.suspicious.append("bytes joblib reads as array data are opcodes to pickle.load")
            self.evidence.merge(found)


def _dtype_facts(dtype: Any) -> tuple[bool, int]:
    """(holds objects, bytes per item) of a pickled `numpy.dtype`."""
    if not isinstance(dtype, Made) or not isinstance(dtype.args, tuple) or not dtype.args:
        raise Broken("a joblib array of unreadable dtype")
    descr, state = dtype.args[0], dtype.state
    if not isinstance(descr, str) or not _DTYPE_NAME.fullmatch(descr):
        raise Broken("a joblib array of unreadable dtype")
    flags = state[7] if isinstance(state, tuple) and len(state) > 7 and isinstance(state[7], int) else 0
    size = state[5] if isinstance(state, tuple) and len(state) > 5 and isinstance(state[5], int) else -1
    has_objects = descr.startswith("O") or bool(flags & 1)
    try:
        return has_objects, size if size > 0 else numpy.dtype(descr).itemsize
    except TypeError:
        raise Broken("a joblib array of unreadable dtype") from None


def _string_value(raw: bytes) -> str:
    """A protocol 0 STRING argument: a quoted, escaped literal."""
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
        raise Broken("a STRING opcode without quotes")
    return codecs.escape_decode(raw[1:-1])[0].decode("latin-1")  # type: ignore[attr-defined]


def _latin1(data: bytes | Blob) -> str | Blob:
    return data if isinstance(data, Blob) else data.decode("latin-1")


def _keep(items: list[Any]) -> list[Any]:
    return items[:KEPT_ITEMS]


def _int_line(machine: Machine) -> Any:
    line = machine._line()
    if line in (b"00", b"01"):
        return line == b"01"
    return int(line)


def _dict_from(items: list[Any]) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in zip(items[0::2], items[1::2], strict=False):
        _set_item(result, key, value)
    return result


def _set_item(target: Any, key: Any, value: Any) -> None:
    if isinstance(target, dict) and len(target) < KEPT_ITEMS and isinstance(key, (str, int, bytes)):
        target[key] = value


def _append(target: Any, values: list[Any]) -> None:
    if isinstance(target, list):
        target.extend(values[: max(0, KEPT_ITEMS - len(target))])


def _stack_global(m: Machine) -> None:
    name, module = m.pop(), m.pop()
    if not isinstance(module, str) or not isinstance(name, str):
        m.evidence.dangerous.append("a global whose name is computed while loading (STACK_GLOBAL)")
        m.push(OPAQUE)
        return
    m.push(m.find_class(module, name))


def _global_lines(m: Machine) -> None:
    module = m._line().decode("utf-8")
    name = m._line().decode("utf-8")
    m.push(m.find_class(module, name))


def _inst(m: Machine) -> None:
    _global_lines(m)
    cls = m.pop()
    m.push(Made(cls, tuple(_keep(m.pop_mark()))))


def _obj(m: Machine) -> None:
    items = m.pop_mark()
    m.push(Made(items[0], tuple(_keep(items[1:]))))


def _reduce(m: Machine) -> None:
    args = m.pop()
    m.stack[-1] = Made(m.stack[-1], args)


def _newobj(m: Machine) -> None:
    args = m.pop()
    m.stack[-1] = Made(m.stack[-1], args)


def _newobj_ex(m: Machine) -> None:
    m.pop()  # keyword arguments
    _newobj(m)


def _extension(size: int) -> Callable[[Machine], None]:
    def handler(m: Machine) -> None:
        code = m._uint(size)
        m.evidence.suspicious.append(f"a global by extension code {code}, which only a registry lookup names")
        raise Broken(f"extension code {code} is not registered")

    return handler


def _proto(m: Machine) -> None:
    if m._uint(1) > HIGHEST_PROTOCOL:
        raise Broken("a pickle protocol above 5")


def _persid(m: Machine) -> None:
    m._line()
    m.push(OPAQUE)


def _binpersid(m: Machine) -> None:
    m.stack[-1] = OPAQUE


def _pop(m: Machine) -> None:
    if m.stack:
        m.pop()
    else:
        m.pop_mark()


def _setitems(m: Machine) -> None:
    items = m.pop_mark()
    target = m.stack[-1]
    for key, value in zip(items[0::2], items[1::2], strict=False):
        _set_item(target, key, value)


def _setitem(m: Machine) -> None:
    value, key = m.pop(), m.pop()
    _set_item(m.stack[-1], key, value)


def _long4(m: Machine) -> None:
    size = int.from_bytes(m._exact(4), "little", signed=True)
    if size < 0:
        raise Broken("a LONG4 of negative length")
    m._data(size)
    m.push(OPAQUE)


def _tuple_of_top(m: Machine, count: int) -> None:
    if len(m.stack) < count:
        raise Broken("a tuple opcode on too short a stack")
    items = tuple(m.stack[-count:])
    del m.stack[-count:]
    m.push(items)


def _appends(m: Machine) -> None:
    items = m.pop_mark()
    _append(m.stack[-1], items)


def _get(m: Machine, index: int) -> None:
    if index not in m.memo:
        raise Broken(f"the memo holds nothing at {index}")
    m.push(m.memo[index])


def _mark(m: Machine) -> None:
    m.metastack.append(m.stack)
    m.stack = []


def _next_buffer(m: Machine) -> None:
    raise Broken("an out-of-band buffer, which a loader given no buffers refuses")


_HANDLERS: dict[str, Callable[[Machine], Any]] = {
    "PROTO": _proto,
    "FRAME": lambda m: m._exact(8),
    "STOP": _stop,
    "MARK": _mark,
    "POP": _pop,
    "POP_MARK": lambda m: m.pop_mark(),
    "DUP": lambda m: m.push(m.stack[-1]),
    "NONE": lambda m: m.stack.append(None),
    "NEWTRUE": lambda m: m.push(True),
    "NEWFALSE": lambda m: m.push(False),
    "INT": lambda m: m.push(_int_line(m)),
    "BININT": lambda m: m.push(int.from_bytes(m._exact(4), "little", signed=True)),
    "BININT1": lambda m: m.push(m._uint(1)),
    "BININT2": lambda m: m.push(m._uint(2)),
    "LONG": lambda m: m.push(int(m._line().rstrip(b"L"))),
    "LONG1": lambda m: m.push(int.from_bytes(m._exact(m._uint(1)), "little", signed=True)),
    "LONG4": _long4,
    "FLOAT": lambda m: m.push(float(m._line())),
    "BINFLOAT": lambda m: m.push(struct.unpack(">d", m._exact(8))[0]),
    "STRING": lambda m: m.push(_string_value(m._line())),
    "BINSTRING": lambda m: m.push(_latin1(m._data(m._uint(4)))),
    "SHORT_BINSTRING": lambda m: m.push(m._exact(m._uint(1)).decode("latin-1")),
    "UNICODE": lambda m: m.push(m._line().decode("raw-unicode-escape")),
    "SHORT_BINUNICODE": lambda m: m.push(m._text(m._uint(1))),
    "BINUNICODE": lambda m: m.push(m._text(m._uint(4))),
    "BINUNICODE8": lambda m: m.push(m._text(m._uint(8))),
    "SHORT_BINBYTES": lambda m: m.push(m._exact(m._uint(1))),
    "BINBYTES": lambda m: m.push(m._data(m._uint(4))),
    "BINBYTES8": lambda m: m.push(m._data(m._uint(8))),
    "BYTEARRAY8": lambda m: m.push(m._data(m._uint(8))),
    "NEXT_BUFFER": _next_buffer,
    "READONLY_BUFFER": lambda m: None,
    "EMPTY_TUPLE": lambda m: m.push(()),
    "EMPTY_LIST": lambda m: m.push([]),
    "EMPTY_DICT": lambda m: m.push({}),
    "EMPTY_SET": lambda m: m.push(OPAQUE),
    "TUPLE": lambda m: m.push(tuple(_keep(m.pop_mark()))),
    "TUPLE1": lambda m: m.push((m.pop(),)),
    "TUPLE2": lambda m: _tuple_of_top(m, 2),
    "TUPLE3": lambda m: _tuple_of_top(m, 3),
    "LIST": lambda m: m.push(_keep(m.pop_mark())),
    "DICT": lambda m: m.push(_dict_from(m.pop_mark())),
    "FROZENSET": lambda m: (m.pop_mark(), m.push(OPAQUE)),
    "APPEND": lambda m: _append(m.stack[-2], [m.pop()]),
    "APPENDS": _appends,
    "SETITEM": _setitem,
    "SETITEMS": _setitems,
    "ADDITEMS": lambda m: m.pop_mark(),
    "GET": lambda m: _get(m, int(m._line())),
    "BINGET": lambda m: _get(m, m._uint(1)),
    "LONG_BINGET": lambda m: _get(m, m._uint(4)),
    "PUT": lambda m: m.put(int(m._line())),
    "BINPUT": lambda m: m.put(m._uint(1)),
    "LONG_BINPUT": lambda m: m.put(m._uint(4)),
    "MEMOIZE": lambda m: m.put(len(m.memo)),
    "GLOBAL": _global_lines,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "REDUCE": _reduce,
    "NEWOBJ": _newobj,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": lambda m: m.build(),
    "PERSID": _persid,
    "BINPERSID": _binpersid,
    "EXT1": _extension(1),
    "EXT2": _extension(2),
    "EXT4": _extension(4),
}


def _dispatch() -> dict[bytes, Callable[[Machine], Any]]:
    import pickletools

    table = {}
    for op in pickletools.opcodes:
        table[op.code.encode("latin-1")] = _HANDLERS[op.name]
    return table


_DISPATCH = _dispatch()
