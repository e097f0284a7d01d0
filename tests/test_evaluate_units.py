"""`hubmine evaluate`, the parts that need no Hub: metrics, label alignment, planning, resume, the
results file, and each task's inference on tiny models built here."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
import torch
import transformers as tf

from pipeline.evaluate import audio, data, executors, metrics, results, tasks
from pipeline.evaluate.labels import LabelMismatch, align
from pipeline.evaluate.plan import Selection, plan, read_claims, without
from pipeline.evaluate.runner import Options, evaluate_model
from pipeline.schemas import table_from_rows
from pipeline.store.files import write_json, write_parquet
from pipeline.store.layout import DataDir, Snapshot

SNAPSHOT_ID = "20261130T000000Z"


def claim_row(model_id: str, **fields: Any) -> dict[str, Any]:
    """A claims.parquet row: accuracy 0.9 on a text-classification dataset unless `fields` say otherwise."""
    row = {
        "model_id": model_id,
        "source": "model-index",
        "task_type": "text-classification",
        "dataset_id": "data/sst",
        "dataset_split": "test",
        "metric_type": "accuracy",
        "metric": "accuracy",
        "value": 90.0,
        "value_unit": 0.9,
        "counts": True,
    }
    return {**row, **fields}


def write_snapshot(
    data_dir: Path,
    models: dict[str, str | None],
    claims: list[dict[str, Any]],
    snapshot_id: str = SNAPSHOT_ID,
) -> Snapshot:
    """A complete snapshot whose models.parquet lists `models` (id -> sha) and whose claims are `claims`."""
    snapshot = DataDir(data_dir).snapshot(snapshot_id)
    write_json(snapshot.manifest, {"snapshot_id": snapshot_id, "status": "complete"})
    rows = [{"model_id": m, "sha": sha, "pipeline_tag": "text-classification"} for m, sha in models.items()]
    write_parquet(snapshot.models, table_from_rows("models", rows))
    write_parquet(snapshot.finding("claims"), table_from_rows("claims", claims))
    return snapshot


# --- metrics -------------------------------------------------------------------------------------


def test_classification_metrics() -> None:
    gold, predicted = [0, 1, 1, 0, 1], [0, 1, 0, 0, -1]  # -1: a model label the dataset lacks
    assert metrics.classification("accuracy", gold, predicted, 2) == pytest.approx(0.6)
    # binary F1 of class 1: tp 1, fp 0, fn 2
    assert metrics.classification("f1", gold, predicted, 2) == pytest.approx(0.5)
    assert metrics.classification("precision", gold, predicted, 2) == pytest.approx(1.0)
    assert metrics.classification("recall", gold, predicted, 2) == pytest.approx(1 / 3)
    # One label per example: micro F1 is accuracy, the -1 an error like any other.
    assert metrics.classification("f1_micro", gold, predicted, 2) == pytest.approx(0.6)
    three = metrics.classification("f1", [0, 1, 2], [0, 1, 1], 3)
    assert three == pytest.approx(metrics.classification("f1_macro", [0, 1, 2], [0, 1, 1], 3))


def test_entity_metrics() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["B-PER", "I-PER", "O", "O"]]
    assert metrics.entities("precision", gold, predicted) == 1.0
    assert metrics.entities("recall", gold, predicted) == 0.5
    assert metrics.entities("f1", gold, predicted) == pytest.approx(2 / 3)
    assert metrics.entities("accuracy", gold, predicted) == 0.75


def test_transcription_metrics() -> None:
    assert metrics.transcription("wer", ["the cat sat", "a dog"], ["the cat sit", "a dog"]) == pytest.approx(
        0.2
    )
    assert metrics.transcription("cer", ["abcd"], ["abce"]) == pytest.approx(0.25)


def test_answer_metrics_normalise_as_squad() -> None:
    assert metrics.normalise_answer("The  Eiffel Tower!") == "eiffel tower"
    assert (
        metrics.answers("exact_match", ["the Eiffel tower", "Paris"], [["Eiffel Tower"], ["London"]]) == 0.5
    )
    assert metrics.answers("f1", ["Eiffel"], [["Eiffel Tower", "tower"]]) == pytest.approx(2 / 3)


# --- labels --------------------------------------------------------------------------------------


def test_labels_align_by_normalised_name() -> None:
    assert align({0: "NEGATIVE", 1: "Positive"}, ["positive", "negative"]) == {0: 1, 1: 0}
    assert align({0: "B-PER", 1: "O", 2: "I_PER"}, ["O", "B-PER", "I-PER"]) == {0: 1, 1: 0, 2: 2}
    # A model label the dataset lacks maps nowhere (predicting it is wrong), but every class is covered.
    assert align({0: "neg", 1: "pos", 2: "neutral"}, ["neg", "pos"]) == {0: 0, 1: 1}


def test_unnamed_labels_align_in_order_only_when_the_counts_agree() -> None:
    assert align({0: "LABEL_0", 1: "LABEL_1"}, ["neg", "pos"]) == {0: 0, 1: 1}
    with pytest.raises(LabelMismatch):
        align({0: "LABEL_0", 1: "LABEL_1"}, ["neg", "neutral", "pos"])


def test_labels_that_cannot_align_are_a_mismatch() -> None:
    with pytest.raises(LabelMismatch, match="cat"):
        align({0: "negative", 1: "positive"}, ["cat", "dog"])


# --- plan ----------------------------------------------------------------------------------------


def test_plan_takes_claims_with_a_metric_and_a_dataset_at_the_snapshot_sha(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        {"a/one": "1" * 40, "b/two": "2" * 40},
        [
            claim_row("a/one"),
            claim_row("a/one", metric="f1", metric_type="f1", value=0.8, value_unit=0.8),
            claim_row("a/one"),  # the same claim twice on a card: measured once
            claim_row("a/one", metric=None, metric_type="bertscore"),
            claim_row("b/two", dataset_id=None, dataset_type="glue", dataset_config="sst2"),
            claim_row("b/two", dataset_id=None),
            claim_row("gone/model"),  # not in models.parquet
            # Another model's number in a comparison table, and one whose subject the card leaves open.
            claim_row("a/one", source="card-table", value_unit=0.7, subject="other", subject_name="bert"),
            claim_row("b/two", source="card-table", metric="f1", subject="unknown"),
        ],
    )
    claims = read_claims(snapshot)
    assert sorted((c.model_id, c.metric, c.dataset_id) for c in claims) == [
        ("a/one", "accuracy", "data/sst"),
        ("a/one", "f1", "data/sst"),
        ("b/two", "accuracy", "glue"),
    ]
    assert {c.sha for c in claims if c.model_id == "a/one"} == {"1" * 40}
    jobs = plan(snapshot, Selection())
    assert [(j.model_id, len(j.claims)) for j in jobs] == [("a/one", 2), ("b/two", 1)]
    assert [j.model_id for j in plan(snapshot, Selection(models=("b/two",)))] == ["b/two"]


def test_plan_filters_by_task_and_samples_the_same_models_every_time(tmp_path: Path) -> None:
    models = {f"org/m{i}": f"{i:040d}" for i in range(20)}
    rows = [claim_row(m) for m in models] + [
        claim_row("org/m0", task_type="automatic-speech-recognition", metric="wer", value=0.1, value_unit=0.1)
    ]
    snapshot = write_snapshot(tmp_path, models, rows)
    asr = plan(snapshot, Selection(tasks=("automatic-speech-recognition",)))
    assert [(j.model_id, [c.metric for c in j.claims]) for j in asr] == [("org/m0", ["wer"])]
    first = [j.model_id for j in plan(snapshot, Selection(sample=5))]
    assert len(first) == 5
    assert first == [j.model_id for j in plan(snapshot, Selection(sample=5))]
    assert set(first) <= {j.model_id for j in plan(snapshot, Selection(sample=10))}


def test_claims_decided_without_loading(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        {"a/one": "1" * 40, "b/two": None},
        [
            claim_row("a/one", task_type="summarization", metric="rouge1"),
            claim_row("a/one", metric="wer"),
            claim_row("a/one", dataset_id="../../etc"),
            claim_row("a/one", dataset_config="../../cache"),
            claim_row("a/one", dataset_split="test/../x"),
            claim_row("b/two"),
        ],
    )
    rows = [r for job in plan(snapshot, Selection()) for r in evaluate_model(job, Options())]
    assert sorted((r["model_id"], r["status"]) for r in rows) == [
        ("a/one", "dataset_unavailable"),
        ("a/one", "dataset_unavailable"),
        ("a/one", "dataset_unavailable"),
        ("a/one", "unsupported_metric"),
        ("a/one", "unsupported_task"),
        ("b/two", "error"),
    ]
    assert all(r["measured"] is None and r["error"] for r in rows)


# --- results and resume --------------------------------------------------------------------------


def test_results_append_replaces_the_same_claims_and_resume_skips_settled_ones(tmp_path: Path) -> None:
    snapshot = write_snapshot(
        tmp_path,
        {"a/one": "1" * 40, "b/two": "2" * 40, "c/three": "3" * 40},
        [claim_row("a/one"), claim_row("b/two"), claim_row("c/three")],
    )
    a, b, c = plan(snapshot, Selection())
    results.append(
        snapshot, [results.row(a.claims[0], "measured", measured=0.5, n_examples=10, device="cpu")]
    )
    results.append(snapshot, [results.row(b.claims[0], "error", error="boom\nline two")])
    results.append(snapshot, [results.row(c.claims[0], "pickle_refused", error="only pickles")])
    table = results.read(snapshot)
    assert table is not None and table.num_rows == 3
    assert table.column("error").to_pylist()[1] == "boom line two"
    done = results.done(snapshot, allow_pickle=False, max_examples=None)
    assert [len(without(job, done).claims) for job in (a, b, c)] == [0, 1, 0]
    with_pickles = results.done(snapshot, allow_pickle=True, max_examples=None)
    assert [len(without(job, with_pickles).claims) for job in (a, b, c)] == [0, 1, 1]
    # The retried error replaces its row instead of adding one.
    results.append(snapshot, [results.row(b.claims[0], "measured", measured=1.0, n_examples=10)])
    table = results.read(snapshot)
    assert table is not None and table.num_rows == 3
    assert sorted(table.column("status").to_pylist()) == ["measured", "measured", "pickle_refused"]


def test_a_claim_at_another_sha_is_not_settled(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path, {"a/one": "1" * 40}, [claim_row("a/one")])
    (job,) = plan(snapshot, Selection())
    results.append(snapshot, [results.row(job.claims[0], "measured", measured=0.5)])
    moved = write_snapshot(tmp_path, {"a/one": "9" * 40}, [claim_row("a/one")])
    (job,) = plan(moved, Selection())
    assert len(without(job, results.done(moved, allow_pickle=False, max_examples=None)).claims) == 1


def test_a_claim_measured_on_fewer_examples_is_measured_again_when_more_are_asked(tmp_path: Path) -> None:
    snapshot = write_snapshot(tmp_path, {"a/one": "1" * 40}, [claim_row("a/one")])
    (job,) = plan(snapshot, Selection())
    results.append(snapshot, [results.row(job.claims[0], "measured", measured=0.5, max_examples=100)])

    def left(max_examples: int | None) -> int:
        return len(without(job, results.done(snapshot, allow_pickle=False, max_examples=max_examples)).claims)

    assert [left(50), left(100), left(200), left(None)] == [0, 0, 1, 1]


def _killed(job: object, options: object, conn: Connection) -> None:
    """A child that dies as an out-of-memory kill would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_model_whose_process_dies_is_an_error_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = write_snapshot(
        tmp_path,
        {"a/one": "1" * 40},
        [claim_row("a/one"), claim_row("a/one", task_type="summarization", metric="rouge1")],
    )
    (job,) = plan(snapshot, Selection())
    monkeypatch.setattr(executors, "_child", _killed)
    found = {r["status"]: r for r in executors.evaluate_isolated(job, Options(), timeout_s=120)}
    assert sorted(found) == ["error", "unsupported_task"]
    assert "process died (exit code -9)" in found["error"]["error"]


def _report(job: object, options: object, conn: Connection) -> None:
    """A child that says where it came from and what it found loaded."""
    preloaded = "transformers.modeling_utils" in sys.modules
    conn.send([{"ppid": os.getppid(), "preloaded": preloaded, "endpoint": os.environ.get("HF_ENDPOINT")}])
    conn.close()


def test_cpu_children_fork_from_one_server_that_imported_the_libraries_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = write_snapshot(tmp_path, {"a/one": "1" * 40}, [claim_row("a/one")])
    (job,) = plan(snapshot, Selection())
    monkeypatch.setattr(executors, "_child", _report)
    # A fork server started by another part of this process (the card stage's pool), in another environment.
    monkeypatch.setattr(executors, "_server_started_in", None)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    other = multiprocessing.get_context("forkserver").Process(target=os.getpid)
    other.start()
    other.join()
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:1")
    first, second = (executors.evaluate_isolated(job, Options(), timeout_s=120)[0] for _ in range(2))
    assert first["preloaded"] and first["ppid"] == second["ppid"] != os.getpid()
    assert first["endpoint"] == "http://127.0.0.1:1"
    # The server's imports read the environment: a changed one starts a new server.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:2")
    third = executors.evaluate_isolated(job, Options(), timeout_s=120)[0]
    assert third["ppid"] not in (first["ppid"], os.getpid()) and third["endpoint"] == "http://127.0.0.1:2"
    # A process that may use CUDA is a fresh interpreter of this one.
    spawned = executors.evaluate_isolated(job, Options(device="cuda"), timeout_s=120)[0]
    assert spawned["ppid"] == os.getpid()


# --- tasks on tiny local models --------------------------------------------------------------------

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = [*SPECIAL, "the", "a", "good", "bad", "movie", "was", "john", "lives", "in", "paris", "where"]


def _tokenizer(tmp_path: Path) -> Any:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    return tf.BertTokenizerFast(vocab_file=str(vocab))


def _bert_config(id2label: dict[int, str]) -> tf.BertConfig:
    return tf.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )


def _force(head: torch.nn.Linear, label: int) -> None:
    """Make a classification head always pick `label`, whatever its input."""
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-10.0)
        head.bias[label] = 10.0


def test_text_classification_of_a_forced_model_scores_the_label_share(tmp_path: Path) -> None:
    model = tf.BertForSequenceClassification(_bert_config({0: "negative", 1: "positive"})).eval()
    _force(model.classifier, 1)
    labels = [1] * 7 + [0] * 13
    data = datasets.Dataset.from_dict(
        {"sentence": ["the movie was good"] * 20, "label": labels},
        features=datasets.Features(
            {
                "sentence": datasets.Value("string"),
                "label": datasets.ClassLabel(names=["positive", "negative"]),
            }
        ),
    )
    # The dataset numbers its classes the other way round: label 0 is positive.
    outcome = tasks.run("text-classification", model, _tokenizer(tmp_path), data, 8, "cpu")
    assert outcome.n_examples == 20
    assert outcome.score("accuracy") == 13 / 20


def test_rows_without_a_label_are_not_scored_and_a_split_without_labels_is_unavailable(
    tmp_path: Path,
) -> None:
    model = tf.BertForSequenceClassification(_bert_config({0: "negative", 1: "positive"})).eval()
    _force(model.classifier, 1)
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"])}
    )
    # GLUE publishes its test splits with every label -1.
    mixed = datasets.Dataset.from_dict(
        {"sentence": ["good"] * 6, "label": [1, 1, 0, -1, -1, -1]}, features=features
    )
    outcome = tasks.run("text-classification", model, _tokenizer(tmp_path), mixed, 8, "cpu")
    assert outcome.n_examples == 3 and outcome.score("accuracy") == 2 / 3
    unlabelled = datasets.Dataset.from_dict({"sentence": ["good"] * 4, "label": [-1] * 4}, features=features)
    with pytest.raises(tasks.ColumnsNotFound, match="no row of the split has a label"):
        tasks.run("text-classification", model, _tokenizer(tmp_path), unlabelled, 8, "cpu")


def test_token_classification_follows_words_through_sub_tokens(tmp_path: Path) -> None:
    names = ["O", "B-PER", "I-PER", "B-LOC"]
    model = tf.BertForTokenClassification(_bert_config(dict(enumerate(names)))).eval()
    _force(model.classifier, 0)
    data = datasets.Dataset.from_dict(
        {"tokens": [["john", "lives", "in", "paris"], ["the", "movie"]], "ner_tags": [[1, 0, 0, 3], [0, 0]]},
        features=datasets.Features(
            {
                "tokens": datasets.List(datasets.Value("string")),
                "ner_tags": datasets.List(datasets.ClassLabel(names=names)),
            }
        ),
    )
    outcome = tasks.run("token-classification", model, _tokenizer(tmp_path), data, 4, "cpu")
    assert outcome.score("recall") == 0.0
    assert outcome.score("accuracy") == pytest.approx(4 / 6)


def test_question_answering_returns_a_span_of_the_context(tmp_path: Path) -> None:
    model = tf.BertForQuestionAnswering(_bert_config({0: "LABEL_0", 1: "LABEL_1"})).eval()
    data = datasets.Dataset.from_dict(
        {
            "question": ["where lives john"],
            "context": ["john lives in paris"],
            "answers": [{"text": ["paris"], "answer_start": [14]}],
        }
    )
    outcome = tasks.run("question-answering", model, _tokenizer(tmp_path), data, 4, "cpu")
    assert 0.0 <= outcome.score("f1") <= 1.0
    assert outcome.score("exact_match") in (0.0, 1.0)


def test_image_classification_of_a_forced_model(tmp_path: Path) -> None:
    from PIL import Image

    config = tf.ViTConfig(
        image_size=8, patch_size=4, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, id2label={0: "cat", 1: "dog"}, label2id={"cat": 0, "dog": 1},
    )  # fmt: skip
    model = tf.ViTForImageClassification(config).eval()
    _force(model.classifier, 0)
    processor = tf.ViTImageProcessor(size={"height": 8, "width": 8})
    data = datasets.Dataset.from_dict(
        {"image": [Image.new("RGB", (10, 10), (i * 20, 0, 0)) for i in range(5)], "label": [0, 0, 1, 0, 1]},
        features=datasets.Features(
            {"image": datasets.Image(), "label": datasets.ClassLabel(names=["cat", "dog"])}
        ),
    )
    assert tasks.run("image-classification", model, processor, data, 2, "cpu").score("accuracy") == 3 / 5


def test_a_dataset_without_the_task_columns_is_named(tmp_path: Path) -> None:
    model = tf.BertForSequenceClassification(_bert_config({0: "a", 1: "b"})).eval()
    data = datasets.Dataset.from_dict({"blob": ["x"], "label": [0]})
    with pytest.raises(tasks.ColumnsNotFound, match="text"):
        tasks.run("text-classification", model, _tokenizer(tmp_path), data, 4, "cpu")


def test_the_schema_file_names_every_status() -> None:
    spec = json.loads((Path(__file__).parent.parent / "schemas" / "evaluations.json").read_text())
    status = next(col for col in spec["columns"] if col["name"] == "status")
    assert all(name in status["doc"] for name in results.STATUSES)


def _encoded(values: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, values, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def test_wav_clips_are_read_at_the_model_rate_and_made_mono() -> None:
    tone = _encoded(np.tile(np.array([0, 16384, -16384, 0], dtype=np.int16), 200), 8000, "WAV", "PCM_16")
    out = audio.decode_with_soundfile(tone, 16000)
    assert out.dtype.name == "float32" and len(out) == 1600
    stereo = _encoded(np.tile(np.array([[16384, 0]], dtype=np.int16), (10, 1)), 16000, "WAV", "PCM_16")
    assert audio.decode_with_soundfile(stereo, 16000).tolist() == [0.25] * 10
    assert len(audio.samples({"bytes": tone, "path": "x.wav"}, 16000)) == 1600


@pytest.mark.parametrize(
    ("fmt", "subtype"), [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")]
)
def test_compressed_clips_are_read_as_speech_sets_store_them(fmt: str, subtype: str) -> None:
    rng = np.random.default_rng(0)
    clip = (rng.uniform(-0.5, 0.5, 16000)).astype(np.float32)
    out = audio.samples({"bytes": _encoded(clip, 16000, fmt, subtype), "path": f"x.{fmt.lower()}"}, 16000)
    assert out.dtype.name == "float32"
    assert abs(len(out) - 16000) <= 1152  # MP3 pads to whole frames
    if fmt == "FLAC":  # lossless
        assert np.allclose(out, clip, atol=1 / 32768)


def test_clips_that_only_name_a_path_are_not_audio_or_decode_too_long_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(audio.AudioUndecodable, match="no embedded bytes"):
        audio.samples({"bytes": None, "path": "/etc/passwd"}, 16000)
    with pytest.raises(audio.AudioUndecodable, match="libsndfile cannot read"):
        audio.decode_with_soundfile(b"not an audio file at all", 16000)
    silence = _encoded(np.zeros(48_000, dtype=np.int16), 16000, "FLAC", "PCM_16")
    monkeypatch.setattr(audio, "MAX_CLIP_SAMPLES", 16_000)
    with pytest.raises(audio.AudioUndecodable, match="over 16,000 samples"):
        audio.decode_with_soundfile(silence, 16000)


def test_a_dataset_name_datasets_would_read_from_this_machine_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "train.csv").write_text("text,label\nprivate,1\n")
    for name in ("secrets", "parquet", "csv", "imagefolder"):
        with pytest.raises(data.DatasetUnavailable, match="local path or a datasets builder"):
            data.load_split(name, None, "train", None)
