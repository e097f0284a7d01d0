"""Loading a model from the Hub safely: look at its files first, then load only what is safe to run.

Before any weight is downloaded the repository's file list (with sizes) and its `config.json` are read
at the snapshot's sha. A model whose only weights are pickles is refused (`pickle_refused`) unless
`--allow-pickle`; one whose config asks for its own code (`auto_map`) or names a model type this
transformers does not know is refused (`remote_code_refused`); one whose weights exceed
HUBMINE_EVAL_MAX_MODEL_BYTES is `too_large`. Loading always passes `trust_remote_code=False`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from huggingface_hub import HfApi, hf_hub_download

from pipeline import settings
from pipeline.errors import HubmineError

MAX_CONFIG_BYTES = 1024**2
SAFE_WEIGHTS = (".safetensors",)
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Pickles in a repo that are not model weights, and never loaded.
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt")


class Refused(HubmineError):
    """The model is not loaded; `status` says why (pickle_refused, remote_code_refused, too_large)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RepoCheck:
    """What the file list and config said: whether the weights are pickles, and the config."""

    pickle: bool
    config: dict[str, Any]


def max_model_bytes() -> int:
    return settings.EVAL_MAX_MODEL_BYTES.read()


def check_repo(model_id: str, sha: str, allow_pickle: bool) -> RepoCheck:
    """Read the file list and config of `model_id` at `sha`; `Refused` when it must not be loaded."""
    info = HfApi().model_info(model_id, revision=sha, files_metadata=True)
    # transformers loads weights from the repository's top level; subfolders (other pipelines' parts,
    # checkpoints) are never read, so they count neither as weights nor towards the size cap.
    sizes = {s.rfilename: s.size or 0 for s in info.siblings or () if "/" not in s.rfilename}
    safe = {name: size for name, size in sizes.items() if name.endswith(SAFE_WEIGHTS)}
    pickles = {
        name: size
        for name, size in sizes.items()
        if name.endswith(PICKLE_WEIGHTS) and PurePosixPath(name).name not in NOT_WEIGHTS
    }
    if not safe and not pickles:
        raise HubmineError("no safetensors or PyTorch weights in the repository")
    if not safe and not allow_pickle:
        raise Refused(
            "pickle_refused",
            f"only pickle weights ({', '.join(sorted(pickles)[:3])}); --allow-pickle loads them",
        )
    weights = safe or pickles
    total, cap = sum(weights.values()), max_model_bytes()
    if total > cap:
        raise Refused("too_large", f"weights of {total:,} bytes exceed HUBMINE_EVAL_MAX_MODEL_BYTES={cap:,}")
    config = read_config(model_id, sha, sizes.get("config.json"))
    return RepoCheck(pickle=not safe, config=config)


def read_config(model_id: str, sha: str, size: int | None) -> dict[str, Any]:
    """config.json, bounded in size; `Refused` when it asks for code from the repository."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if size is None:
        raise HubmineError("no config.json in the repository")
    if size > MAX_CONFIG_BYTES:
        raise HubmineError(f"config.json of {size:,} bytes is over {MAX_CONFIG_BYTES:,}")
    path = hf_hub_download(model_id, "config.json", revision=sha)
    with open(path, "rb") as handle:
        text = handle.read(MAX_CONFIG_BYTES + 1)
    if len(text) > MAX_CONFIG_BYTES:
        raise HubmineError(f"config.json is over {MAX_CONFIG_BYTES:,} bytes")
    config = json.loads(text)
    if not isinstance(config, dict):
        raise HubmineError("config.json is not a JSON object")
    if config.get("auto_map"):
        raise Refused("remote_code_refused", "config.json has auto_map: the model needs its own code")
    model_type = config.get("model_type")
    if model_type not in CONFIG_MAPPING_NAMES:
        raise Refused(
            "remote_code_refused", f"model_type {str(model_type)[:60]!r} is unknown to transformers"
        )
    return config


def load(task: str, model_id: str, sha: str, check: RepoCheck, device: str) -> tuple[Any, Any]:
    """(model, processor) for `task`, in eval mode on `device`; never runs code from the repository."""
    import transformers as tf
    from transformers.models.auto.modeling_auto import MODEL_FOR_CTC_MAPPING_NAMES

    model_class, processor_class = {
        "text-classification": (tf.AutoModelForSequenceClassification, tf.AutoTokenizer),
        "token-classification": (tf.AutoModelForTokenClassification, tf.AutoTokenizer),
        "question-answering": (tf.AutoModelForQuestionAnswering, tf.AutoTokenizer),
        "image-classification": (tf.AutoModelForImageClassification, tf.AutoImageProcessor),
        "automatic-speech-recognition": (
            tf.AutoModelForCTC
            if check.config.get("model_type") in MODEL_FOR_CTC_MAPPING_NAMES
            else tf.AutoModelForSpeechSeq2Seq,
            tf.AutoProcessor,
        ),
    }[task]
    common: dict[str, Any] = {"revision": sha, "trust_remote_code": False}
    # With --allow-pickle on a pickle-only repo, transformers loads them through torch's weights-only
    # unpickler; otherwise safetensors alone.
    model = model_class.from_pretrained(model_id, use_safetensors=None if check.pickle else True, **common)
    processor = processor_class.from_pretrained(model_id, **common)
    return model.to(device).eval(), processor
