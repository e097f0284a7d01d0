"""Real, harmless files of the kinds that reach the Hub, written by the libraries themselves: torch
checkpoints (state dicts, a whole module, legacy formats, a Lightning-style dict), a transformers model
saved without safetensors, scikit-learn estimators through pickle and joblib (every compression),
numpy arrays and archives, pandas frames and plain pickles of every protocol. Each `build()` returns
the file's bytes; `family` groups files for the held-out split of the scan benchmark."""

from __future__ import annotations

import argparse
import collections
import io
import pickle
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.crafted_pickles import JOBLIB_EXTENSIONS


@dataclass(frozen=True)
class Benign:
    """A real file: its name in a repository, the loader that reads it, its family and its bytes."""

    name: str
    filename: str
    loader: str
    family: str
    build: Callable[[], bytes]


def _torch_save(obj: Any, **options: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, **options)
    return buffer.getvalue()


def _module() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.LayerNorm(8),
        torch.nn.Linear(8, 2),
    )


def _lstm_state() -> Any:
    import torch

    return torch.nn.LSTM(4, 4, batch_first=True).state_dict()


def _lightning_checkpoint() -> bytes:
    return _torch_save(
        {
            "epoch": 3,
            "global_step": 120,
            "state_dict": _module().state_dict(),
            "hyper_parameters": argparse.Namespace(lr=0.01, layers=2),
            "optimizer_states": [{"state": {}, "param_groups": [{"lr": 0.01}]}],
        }
    )


def _transformers_bin() -> bytes:
    """What `save_pretrained(safe_serialization=False)` writes: transformers 5 writes safetensors
    whatever it is asked, so the state dict is saved as 4.x saved it, with `torch.save`."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    return _torch_save(BertModel(config).state_dict())


def _estimator() -> Any:
    import numpy
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = numpy.random.default_rng(0)
    features = rng.random((40, 3))
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(
        features, features[:, 0] > 0.5
    )


def _forest() -> Any:
    import numpy
    from sklearn.ensemble import RandomForestClassifier

    rng = numpy.random.default_rng(0)
    features = rng.random((40, 3))
    return RandomForestClassifier(n_estimators=3, random_state=0).fit(features, features[:, 0] > 0.5)


def _joblib(obj: Any, compress: Any = 0) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


def _numpy(save: str, *arrays: Any, **named: Any) -> bytes:
    import numpy

    buffer = io.BytesIO()
    getattr(numpy, save)(buffer, *arrays, **named)
    return buffer.getvalue()


def _frame() -> Any:
    import pandas

    return pandas.DataFrame(
        {
            "label": pandas.Categorical(["a", "b", "a"]),
            "score": [0.5, 0.25, 1.0],
            "when": pandas.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "text": ["x", "y", "z"],
        }
    )


def _pandas_pickle(compression: str | None) -> bytes:
    buffer = io.BytesIO()
    _frame().to_pickle(buffer, compression=compression)
    return buffer.getvalue()


def _plain(protocol: int) -> bytes:
    value = {
        "sets": {1, 2, 3},
        "frozen": frozenset({"a"}),
        "ordered": collections.OrderedDict(a=1.5, b=b"bytes"),
        "nested": [(1, 2), {"k": None}, True],
    }
    return pickle.dumps(value, protocol=protocol)


def _nemo() -> bytes:
    buffer = io.BytesIO()
    entries = [
        ("./model_config.yaml", b"name: tiny\n"),
        ("./model_weights.ckpt", _torch_save(_module().state_dict())),
    ]
    with tarfile.open(fileobj=buffer, mode="w:") as archive:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _mar() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MAR-INF/MANIFEST.json", '{"model": {"serializedFile": "model.pt"}}')
        archive.writestr("model.pt", _torch_save(_module().state_dict()))
        archive.writestr("handler.py", "from ts.torch_handler.base_handler import BaseHandler\n")
    return buffer.getvalue()


def benign_corpus() -> list[Benign]:
    import numpy

    files = [
        Benign(
            "torch_state_dict",
            "pytorch_model.bin",
            "torch",
            "torch",
            lambda: _torch_save(_module().state_dict()),
        ),
        Benign("torch_lstm_state_dict", "lstm.pt", "torch", "torch", lambda: _torch_save(_lstm_state())),
        Benign("torch_whole_module", "model.pt", "torch", "torch", lambda: _torch_save(_module())),
        Benign(
            "torch_legacy_format",
            "model.pth",
            "torch",
            "torch",
            lambda: _torch_save(_module().state_dict(), _use_new_zipfile_serialization=False),
        ),
        Benign(
            "torch_protocol_2",
            "model.ckpt",
            "torch",
            "torch",
            lambda: _torch_save(_lstm_state(), pickle_protocol=2),
        ),
        Benign(
            "torch_pth_tar",
            "checkpoint.pth.tar",
            "torch",
            "torch",
            lambda: _torch_save(_module().state_dict()),
        ),
        Benign("lightning_checkpoint", "last.ckpt", "torch", "lightning", _lightning_checkpoint),
        Benign("transformers_bin", "pytorch_model.bin", "torch", "transformers", _transformers_bin),
        Benign("nemo_archive", "model.nemo", "tar:./model_weights.ckpt", "archives", _nemo),
        Benign("torchserve_mar", "model.mar", "zip:model.pt", "archives", _mar),
        Benign("sklearn_pickle", "model.pkl", "pickle", "sklearn", lambda: pickle.dumps(_estimator())),
        Benign("sklearn_forest_pickle", "forest.pkl", "pickle", "sklearn", lambda: pickle.dumps(_forest())),
        Benign("sklearn_joblib", "model.joblib", "joblib", "sklearn", lambda: _joblib(_forest())),
        *[
            Benign(
                f"sklearn_joblib_{method}",
                f"model.joblib{JOBLIB_EXTENSIONS[method]}",
                "joblib",
                "sklearn",
                lambda method=method: _joblib(_estimator(), (method, 3)),
            )
            for method in ("zlib", "gzip", "bz2", "xz", "lz4")
        ],
        Benign(
            "joblib_object_array",
            "arrays.joblib",
            "joblib",
            "numpy",
            lambda: _joblib({"ids": numpy.array([{"a": 1}, None], dtype=object), "w": numpy.arange(10.0)}),
        ),
        Benign(
            "numpy_npy",
            "embeddings.npy",
            "numpy",
            "numpy",
            lambda: _numpy("save", numpy.arange(12.0).reshape(3, 4)),
        ),
        Benign(
            "numpy_npy_object",
            "vocab.npy",
            "numpy",
            "numpy",
            lambda: _numpy("save", numpy.array(["a", {"b": 2}], dtype=object), allow_pickle=True),
        ),
        Benign(
            "numpy_npz",
            "weights.npz",
            "numpy",
            "numpy",
            lambda: _numpy("savez", w=numpy.eye(3), b=numpy.zeros(3)),
        ),
        Benign(
            "numpy_npz_compressed",
            "weights.npz",
            "numpy",
            "numpy",
            lambda: _numpy("savez_compressed", w=numpy.eye(3)),
        ),
        Benign("pandas_pickle", "frame.pkl", "pandas", "pandas", lambda: _pandas_pickle(None)),
        Benign("pandas_pickle_gz", "frame.pkl.gz", "pandas", "pandas", lambda: _pandas_pickle("gzip")),
        *[
            Benign(f"plain_protocol_{p}", "data.pkl", "pickle", "protocols", lambda p=p: _plain(p))
            for p in range(pickle.HIGHEST_PROTOCOL + 1)
        ],
    ]
    return files
