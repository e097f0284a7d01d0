"""The demo's two tiny models, saved under demo/models/ (`python -m demo.models` writes them again; it needs
the evaluate extra). Both are the same BERT classifier, one label whatever the input: `demo/bert-sst2` as
safetensors, `demo/bert-sst2-pickle` as a pickle (pytorch_model.bin) only."""

from __future__ import annotations

import shutil
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"
# model id -> whether its weights are a pickle only
MODELS = {"demo/bert-sst2": False, "demo/bert-sst2-pickle": True}


def model_folder(model_id: str) -> Path:
    return MODELS_DIR / model_id.replace("/", "--")


def build() -> None:
    from hubsim.tiny import bert_tokenizer, forced_classifier, save_model

    for model_id, pickle_only in MODELS.items():
        folder = model_folder(model_id)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        save_model(folder, forced_classifier(), bert_tokenizer(), pickle_only=pickle_only)
        print(f"wrote {folder}")


if __name__ == "__main__":
    build()
