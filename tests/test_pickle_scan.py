"""The static pickle scan on crafted and real files: every bypass class is dangerous, real checkpoints of
torch, transformers, scikit-learn, numpy and pandas are safe, archive layout tricks are named, and
every bound ends in a verdict. The files are only ever handed to the scanner, never loaded."""

from __future__ import annotations

import gzip
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from benign_checkpoints import benign_corpus
from crafted_pickles import (
    _benign_pickle,
    _evil_pickle,
    _torch_entries,
    _zip_of,
    archive_of,
    bypass_corpus,
    corrupt,
    opcode_dense,
    truncated,
)

from pipeline.risks.pickle_scan.allowlist import Level, level
from pipeline.risks.pickle_scan.bounds import Limits
from pipeline.risks.pickle_scan.verdict import Verdict, scan

CORPUS = {crafted.name: crafted for crafted in bypass_corpus()}
BENIGN = {benign.name: benign for benign in benign_corpus()}


def _scan(data: bytes, limits: Limits | None = None) -> Verdict:
    return scan(io.BytesIO(data), limits)


@pytest.fixture
def canary() -> Iterator[Path]:
    """A short path: one crafted file holds it in a pickle padding of at most 99 bytes, which the
    temporary folders of parallel test workers outgrow."""
    with tempfile.TemporaryDirectory(prefix="hm-") as folder:
        yield Path(folder) / "CANARY"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_bypass_class_is_dangerous(name: str, canary: Path) -> None:
    verdict = _scan(CORPUS[name].build(canary))
    assert verdict.verdict == "dangerous", verdict
    assert verdict.reason
    assert not canary.exists()


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_real_benign_files_are_safe(name: str) -> None:
    pytest.importorskip(
        {"sklearn": "sklearn", "pandas": "pandas", "transformers": "transformers"}.get(
            BENIGN[name].family, "torch"
        )
    )
    verdict = _scan(BENIGN[name].build())
    assert (verdict.verdict, verdict.reason) == ("safe", None), verdict
    assert verdict.loaders


def test_globals_off_the_allowlist_are_suspicious() -> None:
    # A class of the author's own code, as a whole-model pickle of a custom module names it.
    data = b"\x80\x02c__main__\nNet\n)\x81}b."
    verdict = _scan(data)
    assert verdict.verdict == "suspicious" and "__main__.Net" in (verdict.reason or "")
    assert verdict.globals == ["__main__.Net"]


def test_archives_torch_and_zipfile_read_differently_are_dangerous_with_the_reason() -> None:
    benign = _benign_pickle()
    duplicate = _zip_of([("archive/data.pkl", benign), *_torch_entries(benign)])
    case_variant = _zip_of([("archive/DATA.pkl", benign), *_torch_entries(benign)])
    for data, reason in ((duplicate, "appears twice"), (case_variant, "differs only in case")):
        verdict = _scan(data)
        assert verdict.verdict == "dangerous" and reason in (verdict.reason or ""), verdict
    encrypted = bytearray(_zip_of(_torch_entries(benign)))
    encrypted[encrypted.index(b"PK\x01\x02") + 8] |= 1
    assert "encrypted" in (_scan(bytes(encrypted)).reason or "")
    mismatch = _scan(CORPUS["zip_local_header_name_differs"].build(Path("c"))).reason or ""
    assert "local header" in mismatch
    assert "posix.system" in mismatch  # the payload is read where torch reads it


def test_each_pickle_of_a_stream_has_a_fresh_memo() -> None:
    verdict = _scan(CORPUS["legacy_memo_across_pickles"].build(Path("c")))
    assert "os.system" in verdict.globals and "collections.OrderedDict" not in verdict.globals


def test_joblib_array_data_is_passed_over_not_read_as_opcodes() -> None:
    import joblib
    import numpy

    # Array bytes that read like a pickle calling os.system: joblib reads them as data.
    trap = numpy.frombuffer(b"cos\nsystem\n(S'x'\ntR." + b"\x00" * 3, dtype=numpy.uint8)
    buffer = io.BytesIO()
    joblib.dump({"w": trap, "b": numpy.arange(3.0)}, buffer)
    verdict = _scan(buffer.getvalue())
    assert (verdict.verdict, verdict.loaders) == ("safe", ["joblib", "pickle"]), verdict
    assert not any("system" in name for name in verdict.globals)


def test_nested_members_are_named_by_their_path() -> None:
    verdict = _scan(CORPUS["mar_with_checkpoint"].build(Path("c")))
    assert verdict.members == ["model.pt!archive/data.pkl"]
    assert {"zip", "pickle"} <= set(verdict.loaders)


def test_files_no_loader_reads_are_errors() -> None:
    for data in (corrupt(), truncated(), b"", b"\x93NUMPY\x09\x00"):
        verdict = _scan(data)
        assert verdict.verdict == "error" and verdict.reason, verdict


def test_an_opcode_bomb_in_any_member_stops_at_the_bound() -> None:
    limits = Limits(opcodes=50_000)
    bomb = _zip_of([*_torch_entries(_benign_pickle()), ("archive/.data", opcode_dense(200_000))])
    for data in (bomb, archive_of(opcode_dense(200_000)), opcode_dense(200_000)):
        verdict = _scan(data, limits)
        assert verdict.verdict == "suspicious" and "opcodes" in (verdict.reason or ""), verdict


def test_members_depth_and_expansion_are_bounded() -> None:
    many = _zip_of([(f"f{i}.txt", b"") for i in range(300)])
    assert "300 entries" in (_scan(many, Limits(members=100)).reason or "")
    checkpoint = _zip_of(_torch_entries(_benign_pickle()))
    nested = checkpoint
    for depth in range(6):
        nested = _zip_of([(f"level{depth}.zip", nested)])
    assert _scan(nested).verdict == "suspicious" and "nested" in (_scan(nested).reason or "")
    assert _scan(_zip_of([("level0.zip", checkpoint)])).verdict == "safe"
    bomb = gzip.compress(b"\x80\x04" + b"N0" * 4_000_000 + b"N.")
    verdict = _scan(bomb, Limits(expanded_bytes=1 << 20))
    assert verdict.verdict == "suspicious" and "expands" in (verdict.reason or "")


def test_a_dangerous_global_counts_even_when_the_pickle_breaks_after_it(canary: Path) -> None:
    cut = _evil_pickle(canary)[:-1]  # the call runs before the missing STOP would fail the load
    assert _scan(cut).verdict == "dangerous"
    assert not canary.exists()


def test_zip_members_torch_reads_raw_are_not_read_as_pickles() -> None:
    data = _zip_of([*_torch_entries(_benign_pickle()), ("archive/data/0", b"cos\nsystem\n")])
    assert _scan(data).verdict == "safe"
    stray = _zip_of([*_torch_entries(_benign_pickle()), ("archive/extra.pkl", _evil_pickle(Path("c")))])
    assert _scan(stray).verdict == "dangerous"  # every .pkl is read, wherever it sits
    assert zipfile.is_zipfile(io.BytesIO(stray))


def test_a_broken_member_does_not_hide_the_members_after_it() -> None:
    broken = [
        ("a/first.pkl", b"\x80\x04\xff"),
        ("a/notes.txt.gz", b"\x1f\x8bnot gzip"),
        ("a/x.npy", b"\x93NUMPY"),
    ]
    data = _zip_of([*broken, *_torch_entries(_evil_pickle(Path("c")))])
    verdict = _scan(data)
    assert verdict.verdict == "dangerous" and "posix.system" in verdict.globals
    assert verdict.members == ["archive/data.pkl"]


@pytest.mark.parametrize(
    ("qualified", "expected"),
    [
        ("torch._utils._rebuild_tensor_v2", Level.SAFE),
        ("torch.nn.modules.linear.Linear", Level.SAFE),
        ("sklearn.ensemble._forest.RandomForestClassifier", Level.SAFE),
        ("builtins.set", Level.SAFE),
        ("__main__.Net", Level.SUSPICIOUS),
        ("builtins.print", Level.SUSPICIOUS),
        ("sklearn.utils.some_function", Level.SUSPICIOUS),
        ("posix.system", Level.DANGEROUS),
        ("builtins.getattr", Level.DANGEROUS),
        ("torch.serialization.os.system", Level.DANGEROUS),
        ("sklearn.base.os", Level.DANGEROUS),
        ("numpy.__builtins__", Level.DANGEROUS),
        ("torch.jit.unsupported_tensor_ops.execWrapper", Level.DANGEROUS),
        ("torch.nn.modules.linear.Linear.__init__.__globals__", Level.DANGEROUS),
    ],
)
def test_allowlist_and_primitives(qualified: str, expected: Level) -> None:
    assert level(qualified) is expected


def test_legacy_tar_records_are_read_past_their_raw_bytes() -> None:
    from crafted_pickles import _global0, _tar_of, _unicode

    record = b"\x80\x02(" + _unicode("0") + _unicode("cpu") + _global0("torch", "FloatStorage") + b"t."
    three_floats = (3).to_bytes(8, "little") + bytes(12)
    storages = b"\x80\x02K\x02." + (record + three_floats) * 2 + b"\x80\x02]."
    tensor = (
        b"\x80\x02(K\x00K\x00"
        + _global0("torch", "FloatTensor")
        + b"t."
        + (1).to_bytes(4, "little")
        + bytes(28)
    )
    tensors = b"\x80\x02K\x01." + tensor
    data = _tar_of([("storages", storages), ("tensors", tensors), ("pickle", _benign_pickle())])
    verdict = _scan(data)
    assert verdict.verdict == "safe" and verdict.members == ["storages", "tensors", "pickle"], verdict
    assert verdict.globals == ["torch.FloatStorage", "torch.FloatTensor"]
