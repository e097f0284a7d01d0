"""Serialization exposure: weight formats by file name, pickle-only models, and their share of downloads."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.analyze import run_analyze
from pipeline.errors import SchemaError
from pipeline.measures.risks import MAX_LISTED, ExposureSection, classify
from pipeline.measures.summary import load, load_summary, validate
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot


@pytest.mark.parametrize(
    ("siblings", "formats"),
    [
        (["model.safetensors", "model.safetensors.index.json"], ["safetensors"]),
        (["pytorch_model.bin"], ["pickle"]),
        (["ckpt/Model.PT", "a.pth", "b.ckpt", "c.pkl", "d.pickle", "e.joblib", "f.dill"], ["pickle"]),
        (["model.Q4_K_M.gguf", "old.ggml", "ggml-model-q4_0.bin"], ["gguf"]),
        (["model.onnx", "onnx/decoder.onnx"], ["onnx"]),
        (["tf_model.h5"], ["keras_h5"]),
        (["model.keras", "w.hdf5"], ["keras_h5"]),
        (["flax_model.msgpack"], ["flax_msgpack"]),
        (["model.tflite"], ["tflite"]),
        (["m.mlmodel"], ["coreml"]),
        (["Model.mlpackage/Data/com.apple.CoreML/weights/weight.bin"], ["coreml"]),
        (["saved_model/saved_model.pb", "saved_model/variables/variables.index"], ["tensorflow_savedmodel"]),
        (["frozen_graph.pb"], ["other"]),
        (["openvino/openvino_model.xml", "openvino/openvino_model.bin"], ["openvino"]),
        (["weights.npz"], ["npz"]),
        (["model.pdparams", "rust_model.ot", "x.nemo"], ["other"]),
        (["README.md", "config.json", "tokenizer.json", "vocab.txt"], []),
        (
            ["model.safetensors", "pytorch_model.bin", "tf_model.h5", "model.onnx", "x.gguf"],
            ["safetensors", "pickle", "gguf", "onnx", "keras_h5"],
        ),
    ],
)
def test_formats(siblings: list[str], formats: list[str]) -> None:
    assert classify(siblings).formats == formats


def test_training_state_is_pickled_but_not_weights() -> None:
    state = ["training_args.bin", "ckpt-10/optimizer.pt", "scheduler.pt", "rng_state_0.pth", "scaler.pt"]
    facts = classify(state)
    assert facts.pickle_files == state and facts.pickle_weights == 0 and facts.formats == []
    assert classify([*state, "pytorch_model.bin"]).pickle_weights == 1


@pytest.mark.parametrize(
    ("siblings", "formats", "pickle_files", "weights"),
    [
        (["resnet.pth.tar", "model.pkl.gz", "m.joblib.xz"], ["pickle"], 3, 3),
        (["model.nemo", "handler.mar", "bundle.zip"], ["other"], 3, 0),
        (["weights.npz", "arr.npy"], ["npz"], 2, 0),
        (["data/train.csv.gz", "logs.tar.gz", "events.out.tfevents.1.x.gz"], [], 0, 0),
        (["openvino/openvino_model.xml", "openvino/openvino_model.bin"], ["openvino"], 0, 0),
    ],
)
def test_pickle_capable_archives_and_arrays(
    siblings: list[str], formats: list[str], pickle_files: int, weights: int
) -> None:
    facts = classify(siblings)
    assert (facts.formats, len(facts.pickle_files), facts.pickle_weights) == (formats, pickle_files, weights)


def test_the_scan_downloads_the_files_the_measure_counts() -> None:
    from pipeline.risks.pickles import pickle_files

    loadable = ["a.pth.tar", "b.nemo", "c.npy", "d.npz", "e.pkl.gz", "f.zip", "g.mar"]
    siblings = [*loadable, "x.safetensors", "c.json", "t.tar.gz"]
    assert pickle_files(tuple(siblings)) == classify(siblings).pickle_files == loadable


def _snapshot(data_dir: Path, rows: list[dict[str, Any]]) -> Snapshot:
    snapshot = DataDir(data_dir).snapshot("s")
    write_json(snapshot.manifest, {"snapshot_id": "s", "status": "complete"})
    models = [{"tags": [], "sha": "0" * 40, "author": r["model_id"].split("/")[0], **r} for r in rows]
    write_parquet(snapshot.models, table_from_rows("models", models))
    return snapshot


MODELS = [
    # pickle weights only: pickle_only
    {"model_id": "a/pickled", "siblings": ["pytorch_model.bin", "config.json"], "downloads": 60},
    # pickle beside safetensors: exposed files, but not pickle_only
    {"model_id": "a/both", "siblings": ["pytorch_model.bin", "model.safetensors"], "downloads": 30},
    # only training state: pickle files, no pickle weights, no weights at all
    {"model_id": "b/state", "siblings": ["training_args.bin", "README.md"], "downloads": 5},
    # safetensors with training state: not pickle_only
    {"model_id": "b/safe", "siblings": ["model.safetensors", "training_args.bin"], "downloads": 5},
    # pickle beside gguf: another loadable format, so not pickle_only
    {"model_id": "c/gguf", "siblings": ["model.gguf", "extra.pt"], "downloads": 0},
    # file list unknown: counted apart, false on every rate
    {"model_id": "c/unknown", "siblings": None, "downloads": 100},
    # many pickled files: counted in full, listed up to the cap
    {"model_id": "d/many", "siblings": [f"part-{i}.bin" for i in range(MAX_LISTED + 5)], "downloads": None},
]


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    data_dir = tmp_path_factory.mktemp("data")
    snapshot = _snapshot(data_dir, MODELS)
    run_analyze(data_dir, "s")
    return snapshot


def test_rows(analyzed: Snapshot) -> None:
    rows = {row["model_id"]: row for row in pq.read_table(analyzed.finding("risks")).to_pylist()}
    assert list(rows) == [m["model_id"] for m in MODELS]  # models.parquet's order, for breakdowns
    flags = ("siblings_known", "has_safetensors", "has_pickle_files", "has_pickle_weights", "pickle_only")
    expected = {
        "a/pickled": (True, False, True, True, True),
        "a/both": (True, True, True, True, False),
        "b/state": (True, False, True, False, False),
        "b/safe": (True, True, True, False, False),
        "c/gguf": (True, False, True, True, False),
        "c/unknown": (False, False, False, False, False),
        "d/many": (True, False, True, True, True),
    }
    assert {m: tuple(row[f] for f in flags) for m, row in rows.items()} == expected
    assert rows["c/unknown"]["weight_formats"] is None and rows["c/unknown"]["pickle_files"] is None
    assert rows["c/gguf"]["weight_formats"] == ["pickle", "gguf"]
    assert (
        rows["d/many"]["n_pickle_files"] == MAX_LISTED + 5
        and len(rows["d/many"]["pickle_files"]) == MAX_LISTED
    )


def test_section(analyzed: Snapshot) -> None:
    section = load_summary(analyzed).section(ExposureSection)
    assert (section.n_models, section.siblings_unknown) == (7, 1)
    assert section.pickle_only.count == 2 and section.pickle_only.share == pytest.approx(2 / 6)
    assert section.pickle_files.count == 6 and section.pickle_weights.count == 4
    assert section.safetensors.count == 2 and section.no_weights == 1
    assert section.formats == {"safetensors": 2, "pickle": 4, "gguf": 1}
    # downloads of models whose file list is known; the unknown model's 100 are left out
    assert section.downloads == 100 and section.pickle_only_downloads == 60
    assert section.pickle_only_download_share == pytest.approx(0.6)
    assert section.safetensors_download_share == pytest.approx(0.35)


def test_breakdowns_give_the_rates(analyzed: Snapshot) -> None:
    long = pq.read_table(analyzed.finding("breakdowns")).to_pandas()
    rates = long[long["dimension"] == "popularity_decile"]
    assert {"has_safetensors", "has_pickle_files", "pickle_only"} <= set(rates["measure"])
    everyone = long[(long["dimension"] == "task") & (long["measure"] == "pickle_only")]
    assert everyone["value"].tolist() == [pytest.approx(2 / 7)]


def test_summary_refuses_a_share_above_one(analyzed: Snapshot) -> None:
    data = copy.deepcopy(load(analyzed))
    validate(data)
    data["exposure"]["pickle_only"]["share"] = 1.5
    with pytest.raises(SchemaError, match=re.escape("at exposure/pickle_only/share:")):
        validate(data)


def test_empty_snapshot(tmp_path: Path) -> None:
    snapshot = _snapshot(tmp_path, [])
    run_analyze(tmp_path, "s")
    section = load_summary(snapshot).section(ExposureSection)
    assert section.n_models == 0 and section.pickle_only.share is None
    assert section.pickle_only_download_share is None
