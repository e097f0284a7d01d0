"""Which files a pickle-capable loader reads: by name (to choose what to download) and by content (to
choose how to read what was downloaded). The one list of loadable formats, shared by the scan and the
exposure measure.
"""

from __future__ import annotations

import re
from enum import Enum

# File endings that `torch.load`, `pickle.load`, `joblib.load` or `numpy.load(allow_pickle=True)` read,
# directly or inside an archive or a compressed stream (matched on the lower-cased name).
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill")
# Archives and arrays that carry pickles: torch's legacy tar checkpoints, NeMo archives (tar),
# TorchServe archives and other zips, numpy arrays and archives of arrays.
ARCHIVE_SUFFIXES = (".tar", ".nemo", ".mar", ".zip", ".npy", ".npz")
# Compressed streams, counted when what they compress is a pickle format (`model.pkl.gz`, `m.joblib.xz`).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".lz4", ".z")
# Pickled training state, not weights (matched on the lower-cased file name).
NOT_WEIGHTS = re.compile(r"^(training_args\.bin|optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth)$")


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def is_pickle_weight_name(low_name: str) -> bool:
    """A pickle format by its ending alone (`model.pt`, `x.pth.tar`, `m.pkl.gz`)."""
    suffix = _suffix(low_name)
    if suffix in PICKLE_SUFFIXES:
        return True
    stem = low_name[: -len(suffix)] if suffix else ""
    return suffix in (".tar", *COMPRESSED_SUFFIXES) and _suffix(stem) in PICKLE_SUFFIXES


def is_loadable_name(path: str) -> bool:
    """Whether a loader that can unpickle reads a file of this name (matched lower-cased)."""
    name = path.lower().rsplit("/", 1)[-1]
    return is_pickle_weight_name(name) or _suffix(name) in ARCHIVE_SUFFIXES


class Kind(Enum):
    """What a file's first bytes say it is."""

    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bz2"
    XZ = "xz"
    LZMA = "lzma"
    LZ4 = "lz4"
    ZLIB = "zlib"
    NPY = "npy"
    PICKLE = "pickle"


# Magic prefixes as `joblib`, `numpy`, `zipfile` and `tarfile` test them.
_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"PK\x03\x04", Kind.ZIP),
    (b"PK\x05\x06", Kind.ZIP),
    (b"\x1f\x8b", Kind.GZIP),
    (b"BZh", Kind.BZIP2),
    (b"\xfd7zXZ\x00", Kind.XZ),
    (b"]\x00\x00", Kind.LZMA),
    (b"\x04\x22\x4d\x18", Kind.LZ4),
    (b"\x93NUMPY", Kind.NPY),
)
# joblib takes a first byte of 0x78 for zlib; a pickle never starts with it.
_ZLIB_FIRST = 0x78
TAR_MAGIC_OFFSET = 257
HEAD_BYTES = 512


def kind_of(head: bytes) -> Kind:
    """The format the first `HEAD_BYTES` of a file show; anything else is read as a pickle stream,
    as `torch.load` and `pickle.load` read it."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar":
        return Kind.TAR
    if head[:1] and head[0] == _ZLIB_FIRST:
        return Kind.ZLIB
    return Kind.PICKLE


def loadable_files(siblings: list[str]) -> tuple[list[str], int]:
    """The files of a repository that a pickle-capable loader reads, in file-list order, and how many
    of them are pickle weights (neither training state nor an archive of another kind)."""
    lowered = [path.lower() for path in siblings]
    # OpenVINO IR is an .xml graph beside a raw .bin of the same stem: that .bin is no pickle.
    xml_stems = {path[:-4] for path in lowered if path.endswith(".xml")}
    found: list[str] = []
    weights = 0
    for path, low in zip(siblings, lowered, strict=True):
        name = low.rsplit("/", 1)[-1]
        if not is_loadable_name(low) or not_a_pickle(low, name, xml_stems):
            continue
        found.append(path)
        weights += is_pickle_weight_name(name) and not NOT_WEIGHTS.match(name)
    return found, weights


def not_a_pickle(low: str, name: str, xml_stems: set[str]) -> bool:
    """A `.bin` of another format: Core ML package weights, OpenVINO IR beside its .xml, legacy ggml."""
    if ".mlpackage/" in low:
        return True
    return name.endswith(".bin") and (low[:-4] in xml_stems or "ggml" in name)
