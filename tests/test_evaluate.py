"""`hubmine evaluate` end to end against the Hub simulator serving tiny real models and datasets: a forced
classifier measures exactly its label share, unsafe repos are refused, a mismatched dataset and a model
that raises become rows, a second run does no work for settled claims, and Ray gives the local rows."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hub_serving import serving
from test_evaluate_units import claim_row, write_snapshot
from tiny_repos import (
    TinyModel,
    TinyPair,
    image_classification_pair,
    question_answering_pair,
    sentiment_dataset,
    speech_recognition_pair,
    squad_v2_pair,
    text_classification_pair,
    text_classifier,
    token_classification_pair,
    whisper_recognition_pair,
)
from typer.testing import CliRunner

from hubsim import HubSimulator, Registry
from pipeline.cli import app
from pipeline.evaluate import results
from pipeline.store.layout import DataDir

# Its tests share one served set of tiny models: xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("evaluate")

MISMATCHED = "tiny/other-names"
MISSING = "tiny/no-such-dataset"


class Hub:
    def __init__(self, sim: HubSimulator, pair: TinyPair, models: dict[str, TinyModel]) -> None:
        self.sim, self.pair, self.models = sim, pair, models

    @property
    def requests(self) -> int:
        return self.sim.counters["requests"]

    def snapshot(self, data_dir: Path) -> None:
        """A snapshot claiming accuracy 0.9 for every tiny model on the sentiment dataset, plus a claim of
        the good model on a dataset with other class names and one on a dataset that does not exist."""
        good = self.pair.model.model_id
        dataset = self.pair.dataset.dataset_id
        claims = [claim_row(model.model_id, dataset_id=dataset) for model in self.models.values()]
        claims += [
            claim_row(good, dataset_id=dataset, metric="f1", metric_type="f1", value=0.8, value_unit=0.8),
            claim_row(good, dataset_id=MISMATCHED),
            claim_row(self.models["missing"].model_id, dataset_id=MISSING),
        ]
        write_snapshot(data_dir, {m.model_id: m.sha for m in self.models.values()}, claims)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    registry = Registry()
    pair = text_classification_pair(registry)
    models = {
        "good": pair.model,
        "pickle": text_classifier(registry, "tiny/pickle-only", pickle_only=True),
        "remote": text_classifier(registry, "tiny/remote-code", remote_code=True),
        "fails": text_classifier(registry, "tiny/fails", fails=True),
        "missing": text_classifier(registry, "tiny/bert-b"),
    }
    sentiment_dataset(registry, MISMATCHED, names=("sports", "politics"))
    with serving(registry, tmp_path_factory.mktemp("caches")) as sim:
        yield Hub(sim, pair, models)


def evaluate(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["evaluate", "--data-dir", str(data_dir), "--device", "cpu", *args])
    return result.exit_code, result.output


def rows(data_dir: Path) -> list[dict[str, Any]]:
    (snapshot_id,) = [p.name for p in DataDir(data_dir).snapshots.iterdir()]
    table = results.read(DataDir(data_dir).snapshot(snapshot_id))
    assert table is not None
    return sorted(table.to_pylist(), key=lambda r: (r["model_id"], r["dataset_id"], r["metric"]))


def by_model(found: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["model_id"], r["dataset_id"], r["metric"]): r for r in found}


def test_measures_refuses_and_records_what_went_wrong(hub: Hub, tmp_path: Path) -> None:
    hub.snapshot(tmp_path)
    code, output = evaluate(tmp_path)
    assert code == 3, output  # the raising model errored
    assert "evaluated 5 models" in output and "8 claims tried, 3 measured" in output
    found = by_model(rows(tmp_path))
    dataset = hub.pair.dataset.dataset_id
    good = found[(hub.pair.model.model_id, dataset, "accuracy")]
    assert good["status"] == "measured" and good["measured"] == hub.pair.expected == 0.75
    assert (good["claimed"], good["claimed_unit"], good["n_examples"]) == (90.0, 0.9, 20)
    assert good["sha"] == hub.pair.model.sha and good["device"] == "cpu"
    # Forced positive on 15 positive rows of 20: precision 0.75, recall 1.
    assert found[(hub.pair.model.model_id, dataset, "f1")]["measured"] == pytest.approx(2 * 0.75 / 1.75)
    expected = {
        (hub.pair.model.model_id, MISMATCHED): "label_mismatch",
        ("tiny/pickle-only", dataset): "pickle_refused",
        ("tiny/remote-code", dataset): "remote_code_refused",
        ("tiny/fails", dataset): "error",
        ("tiny/bert-b", MISSING): "dataset_unavailable",
        ("tiny/bert-b", dataset): "measured",
    }
    for (model_id, dataset_id), status in expected.items():
        row = found[(model_id, dataset_id, "accuracy")]
        assert row["status"] == status, row
        assert (row["measured"] is None) == (status != "measured")
        assert (row["error"] is None) == (status == "measured")
        assert "\n" not in (row["error"] or "")
    assert "sports" in found[(hub.pair.model.model_id, MISMATCHED, "accuracy")]["error"]


def test_a_second_run_does_no_work_for_settled_claims(hub: Hub, tmp_path: Path) -> None:
    hub.snapshot(tmp_path)
    chosen = (hub.pair.model.model_id, "tiny/pickle-only")
    settled = [arg for model_id in chosen for arg in ("--models", model_id)]
    assert evaluate(tmp_path, *settled, "--models", "tiny/remote-code")[0] == 0
    first = rows(tmp_path)
    before = hub.requests
    code, output = evaluate(tmp_path, *settled, "--models", "tiny/not-in-snapshot")
    assert code == 0 and "evaluated 0 models" in output and "4 settled before" in output
    assert "no claim to evaluate for tiny/not-in-snapshot" in output
    assert hub.requests == before
    assert rows(tmp_path) == first
    # A refusal that hangs on this machine (the model types transformers knows, the size cap) is tried
    # again, at the cost of the file list and config.json: no weight is asked for.
    resolved = hub.sim.counters["resolve"]
    assert evaluate(tmp_path, "--models", "tiny/remote-code")[0] == 0
    assert [r["status"] for r in rows(tmp_path) if r["model_id"] == "tiny/remote-code"] == [
        "remote_code_refused"
    ]
    assert hub.sim.counters["resolve"] - resolved <= 1
    # The error and the unavailable dataset are tried again; the measured claims are not repeated.
    assert evaluate(tmp_path)[0] == 3
    again = rows(tmp_path)
    assert {(r["model_id"], r["dataset_id"], r["status"]) for r in again} >= {
        ("tiny/fails", hub.pair.dataset.dataset_id, "error"),
        ("tiny/bert-b", MISSING, "dataset_unavailable"),
    }
    assert [r for r in again if r["model_id"] == hub.pair.model.model_id] == [
        r for r in first if r["model_id"] == hub.pair.model.model_id
    ]


def test_allow_pickle_measures_the_pickle_only_model(hub: Hub, tmp_path: Path) -> None:
    hub.snapshot(tmp_path)
    assert evaluate(tmp_path, "--models", "tiny/pickle-only")[0] == 0
    assert [r["status"] for r in rows(tmp_path)] == ["pickle_refused"]
    code, output = evaluate(tmp_path, "--models", "tiny/pickle-only", "--allow-pickle")
    assert code == 0, output
    (row,) = rows(tmp_path)
    assert (row["status"], row["measured"]) == ("measured", 0.75)


def test_max_examples_streams_the_first_rows_and_a_large_dataset_is_not_downloaded(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.snapshot(tmp_path)
    only = ("--models", hub.pair.model.model_id)
    monkeypatch.setenv("HUBMINE_EVAL_MAX_DATASET_BYTES", "100")
    assert evaluate(tmp_path, *only)[0] == 0
    found = by_model(rows(tmp_path))
    row = found[(hub.pair.model.model_id, hub.pair.dataset.dataset_id, "accuracy")]
    assert row["status"] == "dataset_unavailable" and "--max-examples" in row["error"]
    # The first 8 rows are all positive: the forced-positive model gets them all right.
    assert evaluate(tmp_path, *only, "--max-examples", "8")[0] == 0
    row = by_model(rows(tmp_path))[(hub.pair.model.model_id, hub.pair.dataset.dataset_id, "accuracy")]
    assert (row["status"], row["measured"], row["n_examples"]) == ("measured", 1.0, 8)


def test_max_examples_takes_the_first_audio_clips_as_bytes(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    registry = Registry()
    pair = speech_recognition_pair(registry)
    claim = claim_row(
        pair.model.model_id,
        task_type="automatic-speech-recognition",
        dataset_id=pair.dataset.dataset_id,
        dataset_split=pair.dataset.split,
        metric="wer",
        metric_type="wer",
    )
    write_snapshot(tmp_path, {pair.model.model_id: pair.model.sha}, [claim])
    with serving(registry, tmp_path_factory.mktemp("caches")):
        code, output = evaluate(tmp_path, "--max-examples", "3")
    assert code == 0, output
    (row,) = rows(tmp_path)
    # The first three clips say "a", as the model always does.
    assert (row["status"], row["measured"], row["n_examples"]) == ("measured", 0.0, 3), row


def test_cuda_without_a_gpu_is_one_line(hub: Hub, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    hub.snapshot(tmp_path)
    result = CliRunner().invoke(app, ["evaluate", "--data-dir", str(tmp_path), "--device", "cuda"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "--device cpu" in result.output


@pytest.mark.slow
def test_ray_gives_the_local_rows(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBMINE_EVAL_RAY_CPUS", "2")
    local, ray = tmp_path / "local", tmp_path / "ray"
    for data_dir in (local, ray):
        hub.snapshot(data_dir)
    assert evaluate(local)[0] == 3
    assert evaluate(ray, "--executor", "ray")[0] == 3

    def comparable(data_dir: Path) -> list[dict[str, Any]]:
        # Times differ, and so do the request ids that a server's error message quotes.
        found = [{k: v for k, v in r.items() if k not in ("seconds", "evaluated_at")} for r in rows(data_dir)]
        return [{**r, "error": re.sub(r"Request ID: [^)]*", "", r["error"] or "")} for r in found]

    assert comparable(ray) == comparable(local)
    assert pa.Table.from_pylist(rows(ray)).num_rows == 8


def test_a_model_past_the_time_cap_is_an_error_row_and_the_run_goes_on(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBMINE_EVAL_MODEL_TIMEOUT_S", "0.05")  # less than a child takes to start
    hub.snapshot(tmp_path)
    code, output = evaluate(tmp_path, "--models", "tiny/bert-b", "--models", "tiny/fails")
    assert code == 3 and "evaluated 2 models" in output
    found = rows(tmp_path)
    assert len(found) == 3
    assert all(r["status"] == "error" and "timed out after 0.05 s" in r["error"] for r in found)


# Each task's pairs (CTC and sequence-to-sequence speech recognition, SQuAD and SQuAD v2), and the
# other metrics its claims ask for with what they must measure.
TASK_PAIRS = (
    ("token-classification", token_classification_pair, {"precision": 0.75, "recall": 0.75}),
    ("question-answering", question_answering_pair, {"f1": 0.75}),
    ("question-answering", squad_v2_pair, {"f1": 0.75}),
    ("image-classification", image_classification_pair, {}),
    ("automatic-speech-recognition", speech_recognition_pair, {"cer": 0.25}),
    ("automatic-speech-recognition", whisper_recognition_pair, {"cer": 0.25}),
)


def test_every_task_measures_what_its_tiny_model_was_built_to_score(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    registry = Registry()
    pairs = [(task, build(registry), more) for task, build, more in TASK_PAIRS]
    claims = []
    for task, pair, more in pairs:
        for metric, _ in [(pair.metric, pair.expected), *more.items()]:
            claims.append(
                claim_row(
                    pair.model.model_id,
                    task_type=task,
                    dataset_id=pair.dataset.dataset_id,
                    dataset_split=pair.dataset.split,
                    metric=metric,
                    metric_type=metric,
                )
            )
    write_snapshot(tmp_path, {pair.model.model_id: pair.model.sha for _, pair, _ in pairs}, claims)
    with serving(registry, tmp_path_factory.mktemp("caches")):
        code, output = evaluate(tmp_path, "--batch-size", "3")
    assert code == 0, output
    found = by_model(rows(tmp_path))
    for _, pair, more in pairs:
        for metric, expected in [(pair.metric, pair.expected), *more.items()]:
            row = found[(pair.model.model_id, pair.dataset.dataset_id, metric)]
            assert (row["status"], row["measured"]) == ("measured", pytest.approx(expected)), row
            assert row["n_examples"] == pair.dataset.rows


@pytest.mark.slow
def test_a_stopped_run_keeps_the_models_it_finished_and_the_next_run_does_the_rest(
    hub: Hub, tmp_path: Path
) -> None:
    hub.snapshot(tmp_path)
    command = [sys.executable, "-m", "pipeline", "evaluate", "--data-dir", str(tmp_path), "--device", "cpu"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    written = next(DataDir(tmp_path).snapshots.iterdir()) / "findings" / "evaluations.parquet"
    for _ in range(600):  # until the first model's rows are in, at most a minute
        if written.exists() or run.poll() is not None:
            break
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1 and "run the same `hubmine evaluate` again" in err
    kept = Counter(row["model_id"] for row in rows(tmp_path))
    claims = {hub.pair.model.model_id: 3, "tiny/bert-b": 2}
    assert kept and all(n == claims.get(model_id, 1) for model_id, n in kept.items())  # whole models only
    assert evaluate(tmp_path)[0] == 3
    assert len(rows(tmp_path)) == 8
