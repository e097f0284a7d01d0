"""Claimed versus measured: gaps by task and source, statuses, and the paper's DeiT table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.report.claimed_vs_measured import (
    DEIT_MODELS,
    deit_comparison,
    gap_summary,
    gaps,
    read_evaluations,
    report_blocks,
    status_counts,
)
from pipeline.report.render import Para, Table, to_markdown
from pipeline.store.layout import Snapshot


def _evaluations() -> pd.DataFrame:
    rows = [
        # model_id, source, task_type, metric, claimed_unit, measured, status
        ("a/cls", "model-index", "text-classification", "accuracy", 0.90, 0.80, "measured"),
        ("b/cls", "model-index", "text-classification", "accuracy", 0.70, 0.70, "measured"),
        ("c/asr", "trainer-results", "automatic-speech-recognition", "wer", 0.10, 0.20, "measured"),
        ("d/asr", "trainer-results", "automatic-speech-recognition", "wer", 0.30, 0.20, "measured"),
        (DEIT_MODELS["tiny"], "card-table", "image-classification", "accuracy", 0.722, 0.665, "measured"),
        ("e/pkl", "model-index", "text-classification", "accuracy", 0.9, None, "pickle_refused"),
        ("f/loss", "trainer-results", "text-classification", "loss", None, None, "unsupported_metric"),
    ]
    columns = ["model_id", "source", "task_type", "metric", "claimed_unit", "measured", "status"]
    return pd.DataFrame(rows, columns=columns)


def test_gaps_only_measured_unit_claims_and_wer_direction() -> None:
    done = gaps(_evaluations()).set_index("model_id")
    assert set(done.index) == {"a/cls", "b/cls", "c/asr", "d/asr", DEIT_MODELS["tiny"]}
    assert done.loc["a/cls", "gap"] == pytest.approx(0.10)
    assert bool(done.loc["a/cls", "overclaimed"]) and not bool(done.loc["b/cls", "overclaimed"])
    # WER: claiming 0.10 where 0.20 is measured claims better than the model does.
    assert bool(done.loc["c/asr", "overclaimed"]) and not bool(done.loc["d/asr", "overclaimed"])


def test_gap_summary_by_task_and_source() -> None:
    table = gap_summary(_evaluations(), ["task_type", "source"]).set_index(["task_type", "source"])
    row = table.loc[("text-classification", "model-index")]
    assert row["claims"] == 2
    assert row["mean_gap"] == pytest.approx(0.05)
    assert row["overclaimed"] == pytest.approx(0.5)
    assert gap_summary(_evaluations().iloc[5:], ["task_type"]).empty


def test_status_counts_and_deit_table() -> None:
    evaluations = _evaluations()
    assert status_counts(evaluations) == {"measured": 5, "pickle_refused": 1, "unsupported_metric": 1}
    deit = deit_comparison(evaluations).set_index("model")
    assert deit.loc[DEIT_MODELS["tiny"], "paper_claimed"] == 72.2
    assert deit.loc[DEIT_MODELS["tiny"], "measured"] == pytest.approx(66.5)
    assert pd.isna(deit.loc[DEIT_MODELS["base"], "measured"])


def test_report_section_before_and_after_evaluate(tmp_path: Path) -> None:
    snapshot = Snapshot(tmp_path / "20260101T000000Z")
    snapshot.findings.mkdir(parents=True)
    before = to_markdown(report_blocks(snapshot, read_evaluations(snapshot)))
    assert "hubmine evaluate --snapshot 20260101T000000Z" in before

    evaluations = _evaluations()
    evaluations.loc[0, "task_type"] = "<script>alert(1)</script>"
    evaluations.to_parquet(snapshot.finding("evaluations"))
    blocks = report_blocks(snapshot, read_evaluations(snapshot))
    tables = [block for block in blocks if isinstance(block, Table)]
    # gaps by task and source, the largest gap of each model, then the DeiT table (one DeiT measured)
    assert len(tables) == 3
    widest = tables[1].rows
    assert len(widest) == len({row[0] for row in widest})  # one claim per model
    gaps_in_points = [abs(float(row[-1].split()[0])) for row in widest]
    assert gaps_in_points == sorted(gaps_in_points, reverse=True)
    texts = [block.text for block in blocks if isinstance(block, Para)]
    assert "7 claims tried: measured 5, pickle_refused 1, unsupported_metric 1." in texts
    assert "<script>" not in to_markdown(blocks)
