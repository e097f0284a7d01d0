"""The simulator serves real model and dataset repositories: huggingface_hub, transformers and datasets
download from it unchanged, and the tiny forced models score what they were built to score."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import torch
from hub_serving import serving
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import RevisionNotFoundError
from tiny_repos import (
    TinyModel,
    TinyPair,
    image_classification_pair,
    mismatched_pair,
    parquet_bytes,
    question_answering_pair,
    speech_recognition_pair,
    text_classification_pair,
    text_classifier,
    token_classification_pair,
)

from hubsim import HubSimulator, Registry
from hubsim.tiny import register_configs

# Its tests share one served set of tiny models: xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("tiny-repos")

VARIANTS = {"pickle_only": "tiny/pickle-only", "remote_code": "tiny/remote-code", "fails": "tiny/fails"}
BUILDERS = {
    "text-classification": text_classification_pair,
    "token-classification": token_classification_pair,
    "question-answering": question_answering_pair,
    "image-classification": image_classification_pair,
    "automatic-speech-recognition": speech_recognition_pair,
    "mismatched": mismatched_pair,
}


@dataclass(frozen=True)
class Built:
    registry: Registry
    pairs: dict[str, TinyPair]
    variants: dict[str, TinyModel]


@pytest.fixture(scope="module")
def built() -> Built:
    registry = Registry()
    pairs = {task: build(registry) for task, build in BUILDERS.items()}
    variants = {flag: text_classifier(registry, name, **{flag: True}) for flag, name in VARIANTS.items()}
    return Built(registry, pairs, variants)


@pytest.fixture(scope="module")
def hub(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubSimulator, TinyPair]]:
    with serving(built.registry, tmp_path_factory.mktemp("caches")) as sim:
        yield sim, built.pairs["text-classification"]


def test_model_files_with_hub_headers(hub: tuple[HubSimulator, TinyPair], tmp_path: Path) -> None:
    sim, pair = hub
    model_id, sha = pair.model.model_id, pair.model.sha
    api = HfApi()
    info = api.model_info(model_id, revision=sha, files_metadata=True)
    assert info.sha == sha
    weights = next(s for s in info.siblings or [] if s.rfilename == "model.safetensors")
    assert weights.lfs is not None and weights.size == weights.lfs.size > 1000
    tree = {e.path: e for e in api.list_repo_tree(model_id, revision=sha, recursive=True)}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= tree.keys()
    assert getattr(tree["config.json"], "lfs", None) is None
    (info_entry,) = api.get_paths_info(model_id, ["model.safetensors", "missing.bin"], revision=sha)
    assert info_entry.lfs is not None and info_entry.lfs.sha256 == weights.lfs.sha256

    path = Path(hf_hub_download(model_id, "model.safetensors", revision=sha))
    content = path.read_bytes()
    assert len(content) == weights.size
    assert hashlib.sha256(content).hexdigest() == weights.lfs.sha256
    folder = Path(snapshot_download(model_id, revision=sha, cache_dir=tmp_path))
    assert (folder / "model.safetensors").read_bytes() == content
    assert folder.name == sha

    url = f"{sim.url}/{model_id}/resolve/{sha}/model.safetensors"
    head = requests.head(url, timeout=10)
    assert head.headers["X-Repo-Commit"] == sha
    assert head.headers["X-Linked-Etag"].strip('"') == weights.lfs.sha256
    assert int(head.headers["X-Linked-Size"]) == int(head.headers["Content-Length"]) == len(content)
    part = requests.get(url, headers={"Range": "bytes=8-15"}, timeout=10)
    assert part.status_code == 206 and part.content == content[8:16]


def test_dataset_repo_api(hub: tuple[HubSimulator, TinyPair], tmp_path: Path) -> None:
    sim, pair = hub
    dataset_id, sha = pair.dataset.dataset_id, pair.dataset.sha
    api = HfApi()
    info = api.dataset_info(dataset_id)
    assert info.sha == sha
    assert info.card_data is not None
    assert info.card_data["dataset_info"]["features"][1]["dtype"]["class_label"]["names"] == {
        "0": "negative",
        "1": "positive",
    }
    parquet = "data/test-00000-of-00001.parquet"
    tree = {e.path: e for e in api.list_repo_tree(dataset_id, repo_type="dataset", recursive=True)}
    assert set(tree) == {"README.md", "data", parquet}
    assert getattr(tree[parquet], "lfs", None) is not None
    top = [e.path for e in api.list_repo_tree(dataset_id, repo_type="dataset", revision=sha)]
    assert top == ["README.md", "data"]
    paths = api.get_paths_info(dataset_id, ["data", parquet], repo_type="dataset", revision=sha)
    assert [type(p).__name__ for p in paths] == ["RepoFolder", "RepoFile"]
    local = hf_hub_download(dataset_id, parquet, repo_type="dataset", revision=sha, cache_dir=tmp_path)
    assert Path(local).stat().st_size == tree[parquet].size
    # Where the Hub has nothing the client falls back: no parquet conversion, unknown revisions.
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info(dataset_id, revision="refs/convert/parquet")
    assert requests.get(f"{sim.url}/api/datasets/{dataset_id}/parquet", timeout=10).status_code == 404
    assert requests.post(f"{sim.url}/api/datasets/{dataset_id}", timeout=10).status_code == 405
    huge = requests.post(
        f"{sim.url}/api/datasets/{dataset_id}/paths-info/main", data=b"x" * (2 << 20), timeout=10
    )
    assert huge.status_code == 413


def test_forced_classifier_scores_the_label_share(hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    sim, pair = hub
    before = sim.counters["requests"]
    model_id, sha = pair.model.model_id, pair.model.sha
    model = AutoModelForSequenceClassification.from_pretrained(
        model_id, revision=sha, trust_remote_code=False, use_safetensors=True
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_id, revision=sha)
    data = datasets.load_dataset(pair.dataset.dataset_id, split="test")
    names = data.features["label"].names
    assert names == list(model.config.id2label.values()) == ["negative", "positive"]
    with torch.no_grad():
        logits = model(**tokenizer(list(data["text"]), return_tensors="pt", padding=True)).logits
    predicted = [model.config.id2label[int(k)] for k in logits.argmax(-1)]
    assert set(predicted) == {pair.model.predicted}
    accuracy = sum(p == names[y] for p, y in zip(predicted, list(data["label"]), strict=True)) / len(data)
    assert accuracy == pair.expected == 0.75
    assert len(data) == pair.dataset.rows
    # Model, tokenizer and dataset: a few dozen requests at most, none of them repeated endlessly.
    assert sim.counters["requests"] - before <= 40


def test_variants_fail_the_way_they_should(built: Built, hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # At a commit sha, never `main`: there transformers would ask a conversion service for safetensors.
    pickled = built.variants["pickle_only"]
    with pytest.raises(OSError, match="safetensors"):
        AutoModelForSequenceClassification.from_pretrained(
            pickled.model_id, revision=pickled.sha, use_safetensors=True
        )
    remote = built.variants["remote_code"]
    with pytest.raises(ValueError, match="trust_remote_code"):
        AutoModelForSequenceClassification.from_pretrained(
            remote.model_id, revision=remote.sha, trust_remote_code=False
        )
    fails = built.variants["fails"]
    model = AutoModelForSequenceClassification.from_pretrained(
        fails.model_id, revision=fails.sha, use_safetensors=True
    )
    tokenizer = AutoTokenizer.from_pretrained(fails.model_id, revision=fails.sha)
    with pytest.raises((RuntimeError, IndexError)):
        model(**tokenizer(["the movie was great and fun"], return_tensors="pt"))
    mismatched = built.pairs["mismatched"]
    other = datasets.load_dataset(mismatched.dataset.dataset_id, split="test")
    assert other.features["label"].names == ["sports", "politics"]
    assert set(mismatched.model.labels).isdisjoint(other.features["label"].names)


def test_tagger_scores_its_f1(built: Built, hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    from seqeval.metrics import f1_score
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    pair = built.pairs["token-classification"]
    model_id, sha = pair.model.model_id, pair.model.sha
    model = AutoModelForTokenClassification.from_pretrained(model_id, revision=sha, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(model_id, revision=sha)
    data = datasets.load_dataset(pair.dataset.dataset_id, split="test")
    names = data.features["ner_tags"].feature.names
    gold = [[names[t] for t in row] for row in data["ner_tags"]]
    predicted = []
    for words in data["tokens"]:
        encoded = tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            ids = model(**encoded).logits.argmax(-1)[0].tolist()
        first = {w: ids[k] for k, w in reversed(list(enumerate(encoded.word_ids()))) if w is not None}
        predicted.append([model.config.id2label[first[w]] for w in range(len(words))])
    assert f1_score(gold, predicted) == pytest.approx(pair.expected)


def test_reader_always_answers_paris(built: Built, hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    pair = built.pairs["question-answering"]
    model_id, sha = pair.model.model_id, pair.model.sha
    model = AutoModelForQuestionAnswering.from_pretrained(model_id, revision=sha, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(model_id, revision=sha)
    data = datasets.load_dataset(pair.dataset.dataset_id, split="validation")
    answers = []
    for row in data:
        encoded = tokenizer(row["question"], row["context"], return_offsets_mapping=True, return_tensors="pt")
        offsets = encoded.pop("offset_mapping")[0]
        with torch.no_grad():
            out = model(**encoded)
        start, end = int(out.start_logits.argmax()), int(out.end_logits.argmax())
        answers.append(row["context"][int(offsets[start][0]) : int(offsets[end][1])])
    assert set(answers) == {"paris"}
    exact = sum(a in row["answers"]["text"] for a, row in zip(answers, data, strict=True)) / len(data)
    assert exact == pair.expected


def test_image_classifier_scores_the_label_share(built: Built, hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    pair = built.pairs["image-classification"]
    model_id, sha = pair.model.model_id, pair.model.sha
    model = AutoModelForImageClassification.from_pretrained(model_id, revision=sha, use_safetensors=True)
    processor = AutoImageProcessor.from_pretrained(model_id, revision=sha)
    data = datasets.load_dataset(pair.dataset.dataset_id, split="test")
    encoded = processor(images=[image.convert("RGB") for image in data["image"]], return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
    names = data.features["label"].names
    predicted = [model.config.id2label[int(k)] for k in logits.argmax(-1)]
    assert set(predicted) == {"dog"}
    accuracy = sum(p == names[y] for p, y in zip(predicted, data["label"], strict=True)) / len(data)
    assert accuracy == pytest.approx(pair.expected)


def test_speech_recognizer_transcribes_its_letter(built: Built, hub: tuple[HubSimulator, TinyPair]) -> None:
    import datasets
    import jiwer
    import soundfile
    from transformers import AutoModelForCTC, AutoProcessor

    pair = built.pairs["automatic-speech-recognition"]
    model_id, sha = pair.model.model_id, pair.model.sha
    model = AutoModelForCTC.from_pretrained(model_id, revision=sha, use_safetensors=True)
    processor = AutoProcessor.from_pretrained(model_id, revision=sha)
    data = datasets.load_dataset(pair.dataset.dataset_id, split="test")
    # Read the clips' bytes here: decoding audio in datasets needs torchcodec, which may not load.
    clips = data.cast_column("audio", datasets.Audio(decode=False))["audio"]
    arrays = [soundfile.read(io.BytesIO(clip["bytes"]), dtype="float32")[0] for clip in clips]
    encoded = processor(arrays, sampling_rate=16000, return_tensors="pt", padding=True)
    with torch.no_grad():
        ids = model(**encoded).logits.argmax(-1)
    hypotheses = processor.batch_decode(ids)
    assert hypotheses == ["a"] * len(data)
    assert jiwer.wer(list(data["text"]), hypotheses) == pytest.approx(pair.expected)


def test_named_configs_and_splits(tmp_path: Path) -> None:
    import datasets

    registry = Registry()
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"])}
    )

    def rows(n: int) -> bytes:
        return parquet_bytes({"text": ["the film"] * n, "label": [k % 2 for k in range(n)]}, features)

    configs = {
        "sst2": ({"validation": rows(3), "test": rows(4)}, features),
        "cola": ({"test": rows(5)}, features),
    }
    built = register_configs(registry, "tiny/glue", configs)
    assert built["sst2"].split == "validation" and built["sst2"].rows == 3
    with serving(registry, tmp_path):
        assert len(datasets.load_dataset("tiny/glue", "sst2", split="validation")) == 3
        assert len(datasets.load_dataset("tiny/glue", "sst2", split="test")) == 4
        cola = datasets.load_dataset("tiny/glue", "cola", split="test", revision=built["cola"].sha)
        assert len(cola) == 5 and cola.features["label"].names == ["a", "b"]


def test_serving_restores_the_clients(tmp_path: Path) -> None:
    before = constants.ENDPOINT
    with serving(Registry(), tmp_path) as sim:
        assert sim.url == constants.ENDPOINT
    assert before == constants.ENDPOINT
