"""Claimed versus measured: what `hubmine evaluate` found, by task and by claim source, and the paper's
DeiT experiment beside the same models measured here. Shared by the report and notebook 03.

Only claims about the card's own model are evaluated (`hubmine evaluate` plans `subject` self
claims), so every gap here is a model's claim about itself. A gap is `claimed_unit - measured`, both
on the 0-1 scale, for claims whose status is `measured` and whose metric has a unit scale (WER and
CER included: for them a positive gap means the model does better than claimed). A claim is
`overclaimed` when the card says better than measured by more than one point (0.01) on a
higher-is-better metric, or lower than measured by as much on WER and CER.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pipeline.measures import paper
from pipeline.report.render import Block, Heading, Para, Table
from pipeline.store.layout import Snapshot
from pipeline.store.tables import read_table

COLUMNS = ["model_id", "source", "task_type", "metric", "claimed_unit", "measured", "status"]
LOWER_IS_BETTER = frozenset({"wer", "cer"})
TOLERANCE = 0.01
TOP_GAPS = 15  # models in the table of the largest gaps
# The paper's DeiT variants as Hub ids.
DEIT_MODELS = {
    "tiny": "facebook/deit-tiny-patch16-224",
    "small": "facebook/deit-small-patch16-224",
    "base": "facebook/deit-base-patch16-224",
    "small-distilled": "facebook/deit-small-distilled-patch16-224",
}


def read_evaluations(snapshot: Snapshot) -> pd.DataFrame | None:
    """The snapshot's evaluations (only the columns compared here), or None before `hubmine evaluate`."""
    path = snapshot.finding("evaluations")
    if not path.exists():
        return None
    return read_table(path, COLUMNS).to_pandas()


def gaps(evaluations: pd.DataFrame) -> pd.DataFrame:
    """Measured claims on a unit scale, with `gap` and `overclaimed`."""
    done = evaluations[
        (evaluations["status"] == "measured")
        & evaluations["claimed_unit"].notna()
        & evaluations["measured"].notna()
    ].copy()
    done["gap"] = done["claimed_unit"] - done["measured"]
    lower = done["metric"].isin(LOWER_IS_BETTER)
    done["overclaimed"] = (~lower & (done["gap"] > TOLERANCE)) | (lower & (done["gap"] < -TOLERANCE))
    return done


def gap_summary(evaluations: pd.DataFrame, by: Iterable[str]) -> pd.DataFrame:
    """Per group: measured claims, mean and median gap, and the share overclaimed."""
    done = gaps(evaluations)
    keys = list(by)
    if done.empty:
        return pd.DataFrame(columns=[*keys, "claims", "mean_gap", "median_gap", "overclaimed"])
    grouped = done.groupby(keys, dropna=False)
    return grouped.agg(
        claims=("gap", "size"),
        mean_gap=("gap", "mean"),
        median_gap=("gap", "median"),
        overclaimed=("overclaimed", "mean"),
    ).reset_index()


def largest_gaps(evaluations: pd.DataFrame, top: int = TOP_GAPS) -> pd.DataFrame:
    """Per model, its measured claim furthest from what was measured; the `top` models by that gap."""
    done = gaps(evaluations)
    if done.empty:
        return done
    done["size"] = done["gap"].abs()
    widest = done.sort_values(["size", "model_id"], ascending=[False, True]).drop_duplicates("model_id")
    return widest.head(top).reset_index(drop=True)


def status_counts(evaluations: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in evaluations["status"].value_counts().sort_index().items()}


def deit_comparison(evaluations: pd.DataFrame) -> pd.DataFrame:
    """The paper's DeiT top-1 (claimed, measured) beside this snapshot's, in percent; null where the
    model was not measured here."""
    done = gaps(evaluations)
    done = done[done["metric"] == "accuracy"]
    rows = []
    for variant, (claimed, measured) in paper.DEIT_TOP1.items():
        ours = done[done["model_id"] == DEIT_MODELS[variant]]
        rows.append(
            {
                "model": DEIT_MODELS[variant],
                "paper_claimed": claimed,
                "paper_measured": measured,
                "claimed": 100 * ours["claimed_unit"].iloc[0] if len(ours) else None,
                "measured": 100 * ours["measured"].iloc[0] if len(ours) else None,
            }
        )
    return pd.DataFrame(rows)


def _points(value: float) -> str:
    return f"{100 * value:+.1f} pts"


def _percent(value: float | None) -> str:
    return "not measured" if value is None or pd.isna(value) else f"{value:.1f}"


def report_blocks(snapshot: Snapshot, evaluations: pd.DataFrame | None) -> list[Block]:
    """The report's "Claimed versus measured" section, from the snapshot's `read_evaluations`."""
    blocks: list[Block] = [Heading(2, "Claimed versus measured")]
    if evaluations is None or evaluations.empty:
        blocks.append(
            Para(
                "No claim of this snapshot has been re-measured; "
                f"`hubmine evaluate --snapshot {snapshot.id}` runs the models on their claimed datasets."
            )
        )
        return blocks
    statuses = ", ".join(f"{status} {n:,}" for status, n in status_counts(evaluations).items())
    blocks.append(Para(f"{len(evaluations):,} claims tried: {statuses}."))
    table = gap_summary(evaluations, ["task_type", "source"])
    if table.empty:
        blocks.append(Para("No claim with a unit-scale metric was measured, so no gap is shown."))
    else:
        blocks.append(
            Table(
                ["task", "source", "claims", "mean gap", "median gap", "overclaimed"],
                [
                    [
                        str(row.task_type),
                        str(row.source),
                        f"{row.claims:,}",
                        _points(row.mean_gap),
                        _points(row.median_gap),
                        f"{100 * row.overclaimed:.0f}%",
                    ]
                    for row in table.itertuples()
                ],
            )
        )
    widest = largest_gaps(evaluations)
    if not widest.empty:
        blocks.append(Heading(3, "The largest gaps, one claim per model"))
        blocks.append(
            Table(
                ["model", "task", "source", "metric", "claimed", "measured", "gap"],
                [
                    [
                        str(row.model_id),
                        str(row.task_type),
                        str(row.source),
                        str(row.metric),
                        f"{100 * row.claimed_unit:.1f}",
                        f"{100 * row.measured:.1f}",
                        _points(row.gap),
                    ]
                    for row in widest.itertuples()
                ],
            )
        )
    deit = deit_comparison(evaluations)
    if deit["measured"].notna().any():
        blocks.append(Heading(3, "The paper's DeiT experiment (ImageNet top-1, %)"))
        blocks.append(
            Table(
                ["model", "paper: claimed", "paper: measured", "claimed", "measured here"],
                [
                    [
                        row.model,
                        _percent(row.paper_claimed),
                        _percent(row.paper_measured),
                        _percent(row.claimed),
                        _percent(row.measured),
                    ]
                    for row in deit.itertuples()
                ],
            )
        )
    return blocks
