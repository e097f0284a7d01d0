"""`hubmine risks --scan-status --scan-pickles` against the Hub simulator: crafted malicious, benign, broken
and oversized pickles, the Hub's scan results, reuse by sha and the bounds on what is asked."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from crafted_pickles import (
    PAYLOAD_GLOBALS,
    archive_of,
    benign_state_dict,
    bypass_corpus,
    corrupt,
    opcode_dense,
    oversized,
    payloads,
    raw_pickle,
    torch_zip,
    truncated,
    zip_bomb,
)
from crawl_helpers import crawl
from huggingface_hub import HfApi
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.risks import scan_status
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import resolve_snapshot

BIG = 48 * 1024 * 1024
CAP = 256 * 1024
FLAGGED = {
    "status": "unsafe",
    "avScan": {"virusFound": False, "virusNames": None},
    "pickleImportScan": {
        "highestSafetyLevel": "dangerous",
        "imports": [
            {"module": "collections", "name": "OrderedDict", "safety": "innocuous"},
            {"module": "os", "name": "system", "safety": "dangerous"},
        ],
    },
}


def numpy_array() -> bytes:
    import numpy

    buffer = io.BytesIO()
    numpy.save(buffer, numpy.arange(6.0))
    return buffer.getvalue()


def _model(registry: Registry, model_id: str, files: dict[str, bytes], downloads: int) -> None:
    siblings = [{"rfilename": name} for name in ["README.md", *files]]
    registry.add({"id": model_id, "siblings": siblings, "downloads": downloads}, f"# {model_id}\n".encode())
    for path, content in files.items():
        registry.set_file(model_id, path, content)


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "CANARY"


@pytest.fixture
def hub(tmp_path: Path, canary: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HubSimulator, Path]]:
    """A simulator serving crafted models, and a data directory holding a snapshot of them."""
    registry = Registry()
    for n, (name, obj) in enumerate(payloads(canary).items()):
        _model(
            registry,
            f"evil/{name}",
            {"model.pkl": raw_pickle(obj), "pytorch_model.bin": torch_zip(obj)},
            900 + n,
        )
    _model(
        registry, "good/state-dict", {"pytorch_model.bin": benign_state_dict(), "x.safetensors": b"{}"}, 800
    )
    nested = {crafted.name: crafted for crafted in bypass_corpus()}
    _model(
        registry,
        "evil/archives",
        {
            "model.nemo": nested["nemo_tar_with_checkpoint"].build(canary),
            "arrays.npz": nested["npz_member_without_suffix"].build(canary),
            "vectors.npy": numpy_array(),
            "model.safetensors": b"{}",
        },
        300,
    )
    _model(registry, "bad/corrupt", {"weights.pt": corrupt()}, 700)
    _model(registry, "bad/truncated", {"pytorch_model.bin": truncated()}, 600)
    _model(registry, "bad/oversized", {"model.ckpt": oversized(BIG)}, 500)
    _model(registry, "plain/no-weights", {"config.json": b"{}"}, 400)
    registry.set_security("evil/os_system", "pytorch_model.bin", FLAGGED)
    for name in ("HF_TOKEN", "HUBMINE_MAX_PICKLE_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    data_dir = tmp_path / "data"
    with HubSimulator(registry) as sim:
        crawl(sim.url, data_dir, cards=False)
        monkeypatch.setenv("HF_ENDPOINT", sim.url)
        sim.reset_counters()
        yield sim, data_dir


def _risks(data_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["risks", "--data-dir", str(data_dir), "--workers", "2", *args])


def _snapshot(data_dir: Path) -> Snapshot:
    return resolve_snapshot(DataDir(data_dir), None)


def _rows(data_dir: Path, table: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    rows = pq.read_table(_snapshot(data_dir).finding(table)).to_pylist()
    return {(row["model_id"], row["file"]): row for row in rows}


def test_pickle_verdicts_and_the_canary(hub: tuple[HubSimulator, Path], canary: Path) -> None:
    sim, data_dir = hub
    evil = [f"evil/{name}" for name in PAYLOAD_GLOBALS]
    broken = ["bad/corrupt", "bad/truncated", "good/state-dict"]
    args = [arg for model in evil + broken for arg in ("--models", model)]
    result = _risks(data_dir, "--scan-pickles", *args)
    assert result.exit_code == 3, result.output  # the broken files are error rows
    assert "scan-pickles:" in result.output and "risks of 7 models" in result.output
    rows = _rows(data_dir, "pickle_scan")
    for name, wanted in PAYLOAD_GLOBALS.items():
        for path in ("model.pkl", "pytorch_model.bin"):
            row = rows[f"evil/{name}", path]
            assert row["verdict"] == "dangerous", row
            assert any(found.endswith(wanted) for found in row["globals"]), row
    good = rows["good/state-dict", "pytorch_model.bin"]
    assert good["verdict"] == "safe" and "torch._utils._rebuild_tensor_v2" in good["globals"]
    assert ("good/state-dict", "x.safetensors") not in rows
    for model, path in (("bad/corrupt", "weights.pt"), ("bad/truncated", "pytorch_model.bin")):
        assert rows[model, path]["verdict"] == "error" and rows[model, path]["error"], rows[model, path]
    # Nothing was loaded: no payload ran.
    assert not canary.exists()
    # One download per pickle file, nothing else.
    assert sim.counters[("resolve", 200)] == 2 * len(evil) + 3
    assert sim.counters["api"] == 0


def test_archives_and_arrays_are_downloaded_and_read_inside(
    hub: tuple[HubSimulator, Path], canary: Path
) -> None:
    sim, data_dir = hub
    result = _risks(data_dir, "--scan-pickles", "--models", "evil/archives")
    assert result.exit_code == 0, result.output
    rows = _rows(data_dir, "pickle_scan")
    nemo = rows["evil/archives", "model.nemo"]
    assert nemo["verdict"] == "dangerous" and "posix.system" in nemo["reason"]
    assert nemo["members"] == ["./model_weights.ckpt!archive/data.pkl"] and "tar" in nemo["loaders"]
    assert rows["evil/archives", "arrays.npz"]["verdict"] == "dangerous"
    array = rows["evil/archives", "vectors.npy"]
    assert (array["verdict"], array["reason"], array["loaders"]) == ("safe", None, ["npy"])
    assert ("evil/archives", "model.safetensors") not in rows
    assert sim.counters[("resolve", 200)] == 3
    assert not canary.exists()


def test_oversized_file_is_an_error_and_not_read_whole(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    result = _risks(data_dir, "--scan-pickles", "--models", "bad/oversized", "--max-bytes", str(CAP))
    assert result.exit_code == 3, result.output
    row = _rows(data_dir, "pickle_scan")["bad/oversized", "model.ckpt"]
    assert row["verdict"] == "error" and "--max-bytes" in row["error"]
    assert row["bytes_read"] == CAP
    # The server could write ahead only as far as the sockets' buffers hold, far from the whole file.
    assert sim.counters[("bytes_sent", "resolve")] < BIG // 4
    assert sim.counters["requests"] == 1


def test_scan_status_rows_from_the_hub(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    models = ["evil/os_system", "good/state-dict", "plain/no-weights"]
    result = _risks(data_dir, "--scan-status", *[a for m in models for a in ("--models", m)])
    assert result.exit_code == 0, result.output
    rows = _rows(data_dir, "scan_status")
    flagged = rows["evil/os_system", "pytorch_model.bin"]
    assert flagged["repo_flagged"] and flagged["repo_scans_done"]
    assert flagged["status"] == "unsafe" and flagged["pickle_safety"] == "dangerous"
    assert flagged["pickle_imports"] == ["collections.OrderedDict", "os.system"]
    assert flagged["av_virus_found"] is False and flagged["error"] is None
    plain = rows["evil/os_system", "model.pkl"]
    assert plain["status"] == "safe" and not plain["repo_flagged"]
    assert rows["good/state-dict", "x.safetensors"]["status"] == "safe"
    no_weights = rows["plain/no-weights", None]
    assert no_weights["repo_scans_done"] and no_weights["status"] is None and no_weights["error"] is None
    # Per model one revision request, and one paths-info request for those with weight files.
    assert sim.counters["model_info"] == 3 and sim.counters["paths_info"] == 2
    assert sim.counters["resolvers"] == 0
    # huggingface_hub reads the same answers into its own types.
    api = HfApi(endpoint=sim.url)
    (entry,) = api.get_paths_info("evil/os_system", ["pytorch_model.bin"], expand=True)
    assert entry.security is not None and entry.security.status == "unsafe"
    assert entry.security.pickle_import_scan["highestSafetyLevel"] == "dangerous"
    info = api.model_info("evil/os_system", securityStatus=True)
    assert "pytorch_model.bin" in str(info.security_repo_status["filesWithIssues"])


def test_scan_status_follows_a_renamed_model_and_posts_its_paths_again(
    hub: tuple[HubSimulator, Path],
) -> None:
    sim, data_dir = hub
    sim.registry.rename("good/state-dict", "good/renamed")  # the Hub answers 307 from the old id
    result = _risks(data_dir, "--scan-status", "--models", "good/state-dict")
    assert result.exit_code == 0, result.output
    rows = _rows(data_dir, "scan_status")
    # A 307 repeats the POST with its form: the statuses come from the new id.
    assert rows["good/state-dict", "x.safetensors"]["status"] == "safe"
    assert rows["good/state-dict", "pytorch_model.bin"]["error"] is None


def test_weight_files_are_asked_for_in_chunks_each_with_its_own_status(
    hub: tuple[HubSimulator, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, data_dir = hub
    monkeypatch.setattr(scan_status, "PATHS_PER_REQUEST", 1)
    result = _risks(data_dir, "--scan-status", "--models", "good/state-dict")
    assert result.exit_code == 0, result.output
    rows = _rows(data_dir, "scan_status")
    assert sim.counters["paths_info"] == 2  # one request per file
    for path in ("pytorch_model.bin", "x.safetensors"):
        assert (rows["good/state-dict", path]["http_status"], rows["good/state-dict", path]["error"]) == (
            200,
            None,
        )


def test_second_run_reuses_rows_by_sha(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    args = [
        "--scan-status",
        "--scan-pickles",
        "--models",
        "evil/builtins_eval",
        "--models",
        "good/state-dict",
    ]
    first = _risks(data_dir, *args)
    assert first.exit_code == 0, first.output
    before = _rows(data_dir, "scan_status"), _rows(data_dir, "pickle_scan")
    assert sim.counters["requests"] > 0
    sim.reset_counters()
    second = _risks(data_dir, *args)
    assert second.exit_code == 0, second.output
    assert sim.counters["requests"] == 0
    assert "2 models reused" in second.output
    assert (_rows(data_dir, "scan_status"), _rows(data_dir, "pickle_scan")) == before


def test_top_bounds_the_requests(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    result = _risks(data_dir, "--scan-status", "--top", "2")
    assert result.exit_code == 0, result.output
    models = {model for model, _ in _rows(data_dir, "scan_status")}
    # The two most-downloaded models, and no request for any other.
    assert models == {"evil/runpy_run_code", "evil/subprocess_popen"}
    assert sim.counters["model_info"] == 2 and sim.counters["paths_info"] == 2


def test_models_must_be_in_the_snapshot_and_valid(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    missing = _risks(data_dir, "--scan-status", "--models", "nobody/nothing")
    assert missing.exit_code == 1 and "not in snapshot" in missing.output
    invalid = _risks(data_dir, "--scan-status", "--models", "a/../b")
    assert invalid.exit_code == 1 and "not a Hub name" in invalid.output
    nothing = _risks(data_dir, "--models", "good/state-dict")
    assert nothing.exit_code == 2 and "--scan-status" in nothing.output
    both = _risks(data_dir, "--scan-status", "--top", "1", "--models", "good/state-dict")
    assert both.exit_code == 2 and "not both" in both.output
    with holding_lock(DataDir(data_dir), "crawl"):
        busy = _risks(data_dir, "--scan-status", "--top", "1")
    assert busy.exit_code == 1 and "crawled" in busy.output
    assert sim.counters["requests"] == 0


def test_a_later_snapshot_reuses_rows_of_the_same_sha(hub: tuple[HubSimulator, Path]) -> None:
    sim, data_dir = hub
    args = ["--scan-status", "--scan-pickles", "--models", "good/state-dict"]
    assert _risks(data_dir, *args).exit_code == 0
    crawl(sim.url, data_dir, cards=False, snapshot="later")
    assert _snapshot(data_dir).id == "later"
    sim.reset_counters()
    result = _risks(data_dir, *args)
    assert result.exit_code == 0, result.output
    assert sim.counters["requests"] == 0
    assert _rows(data_dir, "pickle_scan")["good/state-dict", "pytorch_model.bin"]["verdict"] == "safe"


def test_max_bytes_from_the_environment(
    hub: tuple[HubSimulator, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, data_dir = hub
    monkeypatch.setenv("HUBMINE_MAX_PICKLE_BYTES", str(CAP))
    result = _risks(data_dir, "--scan-pickles", "--models", "bad/oversized")
    assert result.exit_code == 3, result.output
    assert _rows(data_dir, "pickle_scan")["bad/oversized", "model.ckpt"]["bytes_read"] == CAP


def test_scan_fields_of_odd_shapes_are_null_not_errors() -> None:
    from pipeline.risks.scan_status import _file_fields, _flagged_paths

    odd = {"status": 3, "avScan": "yes", "pickleImportScan": {"highestSafetyLevel": [], "imports": [1, {}]}}
    assert _file_fields(odd) == {
        "status": None,
        "av_virus_found": None,
        "pickle_safety": None,
        "pickle_imports": [],
    }
    assert _flagged_paths({"filesWithIssues": [{"path": "a.bin"}, "b.pt", {"path": ["c"]}, 7]}) == {
        "a.bin",
        "b.pt",
    }
    assert _flagged_paths({"filesWithIssues": "all"}) == set()


def test_scans_that_could_exhaust_memory_stop_at_a_bound() -> None:
    from pipeline.risks.pickle_scan.bounds import Limits
    from pipeline.risks.pickle_scan.verdict import scan

    few_opcodes = Limits(opcodes=100_000)

    def judged(data: bytes, limits: Limits = few_opcodes) -> tuple[str, str | None]:
        verdict = scan(io.BytesIO(data), limits)
        return verdict.verdict, verdict.reason

    assert judged(opcode_dense(90_000)) == ("safe", None)
    for costly in (opcode_dense(500_000), archive_of(opcode_dense(500_000))):
        verdict, reason = judged(costly)
        assert verdict == "suspicious" and "opcodes" in (reason or ""), reason
    bomb = zip_bomb(8 * CAP)
    assert len(bomb) < CAP // 10
    verdict, reason = judged(bomb, Limits(expanded_bytes=4 * CAP))
    assert verdict == "suspicious" and "expands" in (reason or ""), reason
    assert judged(benign_state_dict()) == ("safe", None)
    assert judged(corrupt())[0] == "error" and judged(truncated())[0] == "error"
