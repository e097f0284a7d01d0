"""Serialization exposure: which weight formats each model's files are in, and who loads pickle only.

Read from the file names models.parquet lists (`siblings`), with no request. A pickle-capable file is
one that `torch.load`, `pickle.load`, `joblib.load` or `numpy.load` can unpickle: a pickle format, or an
archive, array or compressed stream that carries one (`.pth.tar`, `.nemo`, `.mar`, `.zip`, `.npy`,
`.npz`, `.pkl.gz`, ...), chosen by `pipeline.risks.pickle_scan.formats`, the same list the pickle scan
downloads. Safetensors and the other formats of `FORMATS` hold data only. Training state
(`NOT_WEIGHTS`: trainer arguments, optimizer, scheduler, RNG and scaler state) is pickled too, but
nobody loads it to use the model, so `has_pickle_files` counts it and `has_pickle_weights` does not;
nor does it count archives and arrays that are not themselves a pickle format (`.npz` stays `npz`).
A model is `pickle_only` when it has pickle weights and no other weight format. A model whose file
list is unknown (`siblings` null) is counted apart and is false on every rate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.measures.registry import Context, Measure
from pipeline.measures.section import Count, HeadlineItem, Section, Share, share
from pipeline.risks.pickle_scan.formats import (
    NOT_WEIGHTS,
    is_pickle_weight_name,
    loadable_files,
    not_a_pickle,
)
from pipeline.schemas import load_schema
from pipeline.store.layout import Snapshot
from pipeline.store.tables import iter_columns, write_finding

# Weight formats by file ending, in the order `weight_formats` lists them.
SUFFIX_FORMATS: dict[str, str] = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".ggml": "gguf",
    ".onnx": "onnx",
    ".h5": "keras_h5",
    ".hdf5": "keras_h5",
    ".keras": "keras_h5",
    ".msgpack": "flax_msgpack",
    ".tflite": "tflite",
    ".mlmodel": "coreml",
    ".npz": "npz",
    # Other framework weights: TensorFlow frozen graphs, PaddlePaddle, NeMo archives, rust-bert, MXNet,
    # Caffe, TensorRT, TorchServe.
    ".pb": "other",
    ".pdparams": "other",
    ".nemo": "other",
    ".ot": "other",
    ".params": "other",
    ".caffemodel": "other",
    ".engine": "other",
    ".mar": "other",
}
FORMATS = (
    "safetensors",
    "pickle",
    "gguf",
    "onnx",
    "keras_h5",
    "flax_msgpack",
    "tflite",
    "coreml",
    "tensorflow_savedmodel",
    "openvino",
    "npz",
    "other",
)
# Pickled file names kept per model; `n_pickle_files` counts them all.
MAX_LISTED = 50


@dataclass(frozen=True)
class FileFacts:
    """What one model's file list says about its weights."""

    formats: list[str]
    pickle_files: list[str]
    pickle_weights: int


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def classify(siblings: list[str]) -> FileFacts:
    """The weight formats of a repository's file paths and its pickle-capable files."""
    lowered = [path.lower() for path in siblings]
    xml_stems = {path[:-4] for path in lowered if path.endswith(".xml")}
    found: set[str] = set()
    for low in lowered:
        name = low.rsplit("/", 1)[-1]
        suffix = _suffix(name)
        if ".mlpackage/" in low or suffix == ".mlpackage":
            found.add("coreml")  # a package's weight.bin is Core ML's own format
        elif suffix == ".bin" and low[:-4] in xml_stems:
            found.add("openvino")
        elif suffix == ".bin" and "ggml" in name:
            found.add("gguf")  # llama.cpp's legacy ggml weights, not a pickle
        elif is_pickle_weight_name(name) and not not_a_pickle(low, name, xml_stems):
            if not NOT_WEIGHTS.match(name):
                found.add("pickle")
        elif name == "saved_model.pb":
            found.add("tensorflow_savedmodel")
        elif suffix in SUFFIX_FORMATS:
            found.add(SUFFIX_FORMATS[suffix])
    pickles, weights = loadable_files(siblings)
    return FileFacts([f for f in FORMATS if f in found], pickles, weights)


COLUMNS = (
    "model_id",
    "siblings_known",
    "has_safetensors",
    "has_pickle_files",
    "has_pickle_weights",
    "pickle_only",
    "weight_formats",
    "n_pickle_files",
    "pickle_files",
    "downloads",
)


def row(model_id: str, siblings: list[str] | None, downloads: int | None) -> tuple[Any, ...]:
    """The risks row of one model, in `COLUMNS` order."""
    if siblings is None:
        return (model_id, False, False, False, False, False, None, None, None, downloads)
    facts = classify(siblings)
    return (
        model_id,
        True,
        "safetensors" in facts.formats,
        bool(facts.pickle_files),
        bool(facts.pickle_weights),
        facts.formats == ["pickle"],
        facts.formats,
        len(facts.pickle_files),
        facts.pickle_files[:MAX_LISTED],
        downloads,
    )


@dataclass(frozen=True)
class ExposureSection(Section):
    """summary.json `exposure`: counts and shares of the models whose file list is known."""

    n_models: int
    siblings_unknown: int
    safetensors: Count
    pickle_files: Count
    pickle_weights: Count
    pickle_only: Count
    no_weights: int
    formats: dict[str, int]
    downloads: int
    pickle_only_downloads: int
    pickle_only_download_share: Share | None
    safetensors_download_share: Share | None

    def headline(self) -> list[HeadlineItem]:
        return [
            HeadlineItem(
                "pickle_only_share", self.pickle_only.share, "models with pickle-only weights", "share"
            ),
            HeadlineItem(
                "pickle_only_download_share",
                self.pickle_only_download_share,
                "downloads of pickle-only models",
                "share",
            ),
        ]


_COUNTED = ("safetensors", "pickle_files", "pickle_weights", "pickle_only")


class _Tally:
    """The section's counts, added up batch by batch."""

    def __init__(self) -> None:
        self.n = self.unknown = self.no_weights = 0
        self.counts: Counter[str] = Counter()
        self.formats: Counter[str] = Counter()
        self.downloads: Counter[str] = Counter()

    def add(self, values: tuple[Any, ...]) -> None:
        self.n += 1
        _, known, safetensors, pickles, weights, only, formats, _, _, downloads = values
        if not known:
            self.unknown += 1
            return
        downloads = downloads or 0
        flags = (safetensors, pickles, weights, only)
        self.counts.update(name for name, on in zip(_COUNTED, flags, strict=True) if on)
        self.formats.update(formats)
        self.no_weights += not formats
        self.downloads["all"] += downloads
        self.downloads["pickle_only"] += downloads if only else 0
        self.downloads["safetensors"] += downloads if safetensors else 0

    def section(self) -> ExposureSection:
        known = self.n - self.unknown
        counts = {name: Count(self.counts[name], share(self.counts[name], known)) for name in _COUNTED}
        total = self.downloads["all"]
        return ExposureSection(
            n_models=self.n,
            siblings_unknown=self.unknown,
            **counts,
            no_weights=self.no_weights,
            formats={f: self.formats[f] for f in FORMATS if self.formats[f]},
            downloads=total,
            pickle_only_downloads=self.downloads["pickle_only"],
            pickle_only_download_share=share(self.downloads["pickle_only"], total),
            safetensors_download_share=share(self.downloads["safetensors"], total),
        )


def build(snapshot: Snapshot) -> tuple[pa.Table, ExposureSection]:
    """One row per model, in models.parquet's order (breakdowns relies on it), and the section."""
    schema = _schema()
    tally = _Tally()
    parts = []
    for model_ids, siblings, downloads in iter_columns(
        snapshot.models, ["model_id", "siblings", "downloads"]
    ):
        rows = [row(*values) for values in zip(model_ids, siblings, downloads, strict=True)]
        for values in rows:
            tally.add(values)
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
        arrays = [pa.array(values, field.type) for values, field in zip(columns, schema, strict=True)]
        parts.append(pa.Table.from_arrays(arrays, schema=schema))
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    return table, tally.section()


def _schema() -> pa.Schema:
    return pa.schema([load_schema("risks").field(name) for name in COLUMNS])


def run(context: Context) -> ExposureSection:
    """Write `findings/risks.parquet`; return the exposure counts."""
    table, section = build(context.snapshot)
    write_finding(context.snapshot, "risks", table)
    return section


MEASURE = Measure(
    name="exposure",
    run=run,
    summary_key="exposure",
    section=ExposureSection,
    reads=("models",),
    writes=("risks",),
    rates=("has_safetensors", "has_pickle_files", "pickle_only"),
)
