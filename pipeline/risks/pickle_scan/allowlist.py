"""Which globals a pickle may import: an allowlist of specific safe ones, and the primitives known to
run code, import, reach the network or touch files. A global on neither list is of unknown safety.

Names are matched as `module.name` after Python 2's module names are mapped to Python 3's. A name
with dots is an attribute chain the unpickler follows from the module (protocol 4 and later); every
link of the chain is checked, so `torch.serialization.os.system` is `os.system`.
"""

from __future__ import annotations

import re
from enum import IntEnum


class Level(IntEnum):
    SAFE = 0
    SUSPICIOUS = 1
    DANGEROUS = 2


def _names(text: str) -> list[str]:
    return text.split()


_TORCH_STORAGES = (
    "Double Float Half BFloat16 Long Int Short Char Byte Bool ComplexDouble ComplexFloat QUInt8 QInt8 QInt32 "
    "QUInt4x2 QUInt2x4 Untyped"
)
_TORCH_DTYPES = (
    "float64 float32 float16 bfloat16 int64 int32 int16 int8 uint8 uint16 uint32 uint64 bool complex64 "
    "complex128 complex32 qint8 quint8 qint32 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz "
    "double float half long int short cfloat cdouble"
)
_TORCH_REBUILDS = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_sparse_tensor _rebuild_nested_tensor _rebuild_device_tensor_from_numpy _rebuild_qtensor "
    "_rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass _rebuild_from_type _rebuild_from_type_v2"
)

SAFE: frozenset[str] = frozenset(
    [f"torch.{kind}Storage" for kind in _TORCH_STORAGES.split()]
    + [f"torch.{kind}Tensor" for kind in _TORCH_STORAGES.split() if kind != "Untyped"]
    + [f"torch.{dtype}" for dtype in _TORCH_DTYPES.split()]
    + [f"torch._utils.{name}" for name in _TORCH_REBUILDS.split()]
    + [f"torch._tensor.{name}" for name in ("_rebuild_from_type", "_rebuild_from_type_v2")]
    + _names(
        """
    torch.Size torch.device torch.Tensor torch.storage.TypedStorage torch.storage.UntypedStorage
    torch.nn.parameter.Parameter torch.nn.parameter.Buffer torch.serialization._get_layout
    torch.strided torch.sparse_coo torch.sparse_csr torch.contiguous_format torch.channels_last
    torch.per_tensor_affine torch.per_channel_affine torch.torch_version.TorchVersion
    torch.nn.modules.module._IncompatibleKeys
    collections.OrderedDict collections.defaultdict collections.Counter collections.deque
    builtins.set builtins.frozenset builtins.dict builtins.list builtins.tuple builtins.slice
    builtins.complex builtins.bytearray builtins.bytes builtins.str builtins.int builtins.float
    builtins.bool builtins.range builtins.object
    copyreg._reconstructor copyreg.__newobj__ _codecs.encode
    datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone
    decimal.Decimal fractions.Fraction uuid.UUID argparse.Namespace
    pathlib.PosixPath pathlib.WindowsPath pathlib.PurePosixPath pathlib.PureWindowsPath
    numpy.ndarray numpy.dtype numpy.core.multiarray._reconstruct numpy._core.multiarray._reconstruct
    numpy.core.multiarray.scalar numpy._core.multiarray.scalar numpy.core.numeric._frombuffer
    numpy._core.numeric._frombuffer numpy.ma.core._mareconstruct numpy.ma.core.MaskedArray
    numpy.random._pickle.__randomstate_ctor numpy.random._pickle.__bit_generator_ctor
    numpy.random._pickle.__generator_ctor numpy.random.mtrand.RandomState
    numpy.random._mt19937.MT19937 numpy.random._pcg64.PCG64 numpy.random.bit_generator.SeedSequence
    numpy.float64 numpy.float32 numpy.float16 numpy.int64 numpy.int32 numpy.int16 numpy.int8
    numpy.uint8 numpy.uint16 numpy.uint32 numpy.uint64 numpy.bool_ numpy.str_ numpy.complex128
    numpy.dtypes.Float64DType numpy.dtypes.Float32DType numpy.dtypes.Int64DType numpy.dtypes.Int32DType
    numpy.dtypes.BoolDType numpy.dtypes.ObjectDType numpy.dtypes.StrDType
    joblib.numpy_pickle.NumpyArrayWrapper
    pandas.DataFrame pandas.Series pandas.core.frame.DataFrame pandas.core.series.Series
    pandas.core.internals.managers.BlockManager pandas.core.internals.managers.SingleBlockManager
    pandas._libs.internals._unpickle_block pandas.core.internals.blocks.new_block
    pandas._libs.arrays.__pyx_unpickle_NDArrayBacked pandas.core.indexes.base._new_Index
    pandas.core.indexes.base.Index pandas.core.indexes.range.RangeIndex pandas.Index pandas.RangeIndex
    pandas.core.indexes.datetimes.DatetimeIndex pandas.core.indexes.datetimes._new_DatetimeIndex
    pandas.Categorical pandas.CategoricalDtype pandas.StringDtype pandas.MultiIndex pandas.DatetimeIndex
    pandas.Timestamp pandas.Timedelta pandas.DatetimeTZDtype pandas.Interval pandas.Period
    pandas.core.indexes.multi.MultiIndex pandas.core.arrays.datetimes.DatetimeArray
    pandas.arrays.DatetimeArray
    pandas.core.arrays.string_.StringDtype pandas.core.arrays.string_arrow.ArrowStringArray
    pandas.arrays.ArrowStringArray pandas.arrays.StringArray pandas.core.arrays.string_.StringArray
    pandas.core.arrays.categorical.Categorical pandas.core.dtypes.dtypes.CategoricalDtype
    pandas.core.dtypes.dtypes.DatetimeTZDtype pandas._libs.tslibs.timestamps._unpickle_timestamp
    pandas._libs.tslibs.timedeltas._timedelta_unpickle pandas._libs.tslibs.offsets.Day
    pyarrow.lib._restore_array pyarrow.lib.type_for_alias pyarrow.lib.py_buffer
    scipy.sparse._csr.csr_matrix scipy.sparse._csc.csc_matrix scipy.sparse._coo.coo_matrix
    scipy.sparse.csr.csr_matrix scipy.sparse.csc.csc_matrix
    transformers.training_args.TrainingArguments transformers.training_args.OptimizerNames
    transformers.trainer_utils.IntervalStrategy transformers.trainer_utils.SchedulerType
    transformers.trainer_utils.HubStrategy transformers.trainer_utils.SaveStrategy
    transformers.training_args_seq2seq.Seq2SeqTrainingArguments
    transformers.debug_utils.DebugOption transformers.trainer_pt_utils.AcceleratorConfig
    transformers.generation.configuration_utils.GenerationConfig
    accelerate.utils.dataclasses.DistributedType accelerate.state.PartialState
    pytorch_lightning.utilities.parsing.AttributeDict lightning_fabric.utilities.data.AttributeDict
    lightning.fabric.utilities.data.AttributeDict
    omegaconf.dictconfig.DictConfig omegaconf.listconfig.ListConfig omegaconf.base.ContainerMetadata
    omegaconf.base.Metadata omegaconf.nodes.AnyNode omegaconf.nodes.StringNode omegaconf.nodes.IntegerNode
    omegaconf.nodes.FloatNode omegaconf.nodes.BooleanNode typing.Any
    """
    )
)
# Modules whose public classes (a capitalised name, no dots) are plain data and layers: constructing one
# and setting its state runs only the library's own code.
_CLASS_MODULES = re.compile(r"^(torch\.nn\.modules|sklearn|scipy\.sparse)(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")

# Modules (and every attribute under them) that run code, import, reach the network or touch files.
DANGEROUS_MODULES: frozenset[str] = frozenset(
    _names(
        """
    os posix nt posixpath ntpath subprocess _posixsubprocess pty sys builtins importlib imp runpy code
    codeop pdb bdb cProfile profile trace timeit pydoc webbrowser socket _socket ssl select http urllib
    urllib2 urllib3 requests httplib httpx aiohttp ftplib smtplib poplib imaplib telnetlib xmlrpc
    socketserver shutil ctypes _ctypes cffi marshal types pickle _pickle cPickle dill cloudpickle shelve
    multiprocessing concurrent asyncio threading _thread signal operator _operator functools inspect pip
    setuptools distutils ensurepip venv idlelib lib2to3 doctest commands popen2 platform tempfile io _io
    glob fileinput zipimport pkgutil site gc sqlite3 tarfile zipfile shlex pexpect paramiko yaml joblib
    numpy.f2py numpy.distutils numpy.testing numpy.lib.npyio numpy.load torch.hub torch.load
    torch.serialization.load torch.utils.cpp_extension torch.utils.collect_env torch.utils.bottleneck
    torch._inductor torch._dynamo torch.fx torch.jit torch.distributed torch.package
    torch.storage._load_from_bytes
    torch.ops torch._ops torch.classes torch.library torch.compile keras tensorflow.io
    pandas.read_pickle pandas.io
    """
    )
)
# Links of an attribute chain that reach a module of the list above from another module.
_DANGEROUS_LINKS = frozenset(
    {"__builtins__", "__builtin__", "__globals__", "__code__", "__class__", "__subclasses__"}
    | {name for name in DANGEROUS_MODULES if "." not in name}
)
# Callables that run code, import or open files whatever module holds them.
_DANGEROUS_NAMES = re.compile(
    r"^(_*(exec|eval|spawn|popen|system|compile|getattr|setattr|delattr|attrgetter|methodcaller|import_module"
    r"|__import__|load_inline|load_source|loads?|run_?code|run_?source|run_?string|run_?ctx|run_?path"
    r"|run_?module|check_output|check_call|getoutput|getstatusoutput|urlopen|urlretrieve|open|globals"
    r"|breakpoint|input|apply)\w*|\w*_guards_expression)$",
    re.IGNORECASE,
)
# Builtins on the allowlist above are safe; any other builtin is judged by name, so `builtins.print`
# is of unknown safety while `builtins.getattr` is dangerous.
_JUDGED_BY_NAME = frozenset({"builtins"})


def level(qualified: str) -> Level:
    """The safety of the global `qualified`, recorded as module + "." + name."""
    if qualified in SAFE:
        return Level.SAFE
    links = qualified.split(".")
    if _CLASS_MODULES.match(".".join(links[:-1])) and _CLASS_NAME.match(links[-1]):
        return Level.SAFE
    if any(_DANGEROUS_NAMES.match(link) for link in links[1:]):
        return Level.DANGEROUS
    for end in range(1, len(links) + 1):
        prefix = ".".join(links[:end])
        if prefix in DANGEROUS_MODULES and prefix not in _JUDGED_BY_NAME:
            return Level.DANGEROUS
    if any(link in _DANGEROUS_LINKS for link in links[1:]):
        return Level.DANGEROUS
    return Level.SUSPICIOUS
