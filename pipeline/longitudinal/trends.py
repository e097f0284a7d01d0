"""`hubmine trends`: the headline measures, weight formats and download concentration of each analyzed
snapshot side by side, and the registry's growth by month from the newest one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from pipeline.hub.records import parse_timestamp
from pipeline.measures.summary import load_summary
from pipeline.schemas import table_from_rows
from pipeline.store.damage import warn
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir, Snapshot
from pipeline.store.lock import holding_lock
from pipeline.store.snapshot import list_snapshots, read_manifest, resolve_snapshot
from pipeline.store.tables import read_table

NUMERIC_FORMATS = ("count", "share", "score", "number")


def measured_at(snapshot: Snapshot) -> datetime | None:
    started = (read_manifest(snapshot) or {}).get("started_at")
    return parse_timestamp(started)


def rates(snapshot: Snapshot, when: datetime | None) -> list[dict[str, Any]]:
    """Every numeric headline item of the snapshot's summary.json."""
    return [
        {
            "snapshot": snapshot.id,
            "measured_at": when,
            "measure": item.key,
            "label": item.label,
            "format": item.format,
            "value": float(item.value),
        }
        for item in load_summary(snapshot).headline()
        if item.format in NUMERIC_FORMATS
        and isinstance(item.value, int | float)
        and not isinstance(item.value, bool)
    ]


def formats(snapshot: Snapshot, when: datetime | None) -> dict[str, Any] | None:
    """Safetensors and pickle adoption among models whose file list is known; None without risks.parquet."""
    if not snapshot.finding("risks").exists():
        return None
    table = read_table(
        snapshot.finding("risks"), ["siblings_known", "has_safetensors", "has_pickle_weights", "pickle_only"]
    )
    table = table.filter(table["siblings_known"])
    n = table.num_rows
    counts = {
        name: int(pc.sum(table[column]).as_py() or 0)
        for name, column in (
            ("safetensors", "has_safetensors"),
            ("pickle", "has_pickle_weights"),
            ("pickle_only", "pickle_only"),
        )
    }
    shares = {f"{name}_share": (count / n if n else None) for name, count in counts.items()}
    return {"snapshot": snapshot.id, "measured_at": when, "models": n, **counts, **shares}


def concentration(snapshot: Snapshot, when: datetime | None) -> dict[str, Any]:
    """Share of downloads of the top 1% and 10% of models (at least one model each) and the Gini."""
    downloads = read_table(snapshot.models, ["downloads"])["downloads"].fill_null(0).to_numpy().clip(min=0)
    values = np.sort(downloads.astype(np.float64))[::-1]
    n, total = len(values), float(values.sum())

    def top(fraction: float) -> float | None:
        return float(values[: max(1, int(n * fraction))].sum()) / total if total else None

    gini = None
    if total:
        ascending = values[::-1]
        gini = float(2 * np.sum(np.arange(1, n + 1) * ascending) / (n * total) - (n + 1) / n)
    return {
        "snapshot": snapshot.id,
        "measured_at": when,
        "models": n,
        "downloads": int(total),
        "top1_share": top(0.01),
        "top10_share": top(0.10),
        "gini": gini,
    }


def growth(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Models created and last updated per UTC month, with the running total of models created."""
    table = read_table(snapshot.models, ["created_at", "last_modified"])

    def months(column: str) -> Counter[str]:
        stamps = table[column].drop_null()
        return Counter(pc.strftime(stamps, format="%Y-%m", locale="C").to_pylist())

    created, updated = months("created_at"), months("last_modified")
    rows, total = [], 0
    for month in sorted(created.keys() | updated.keys()):
        total += created[month]
        rows.append(
            {"snapshot": snapshot.id, "month": month, "created": created[month], "updated": updated[month]}
            | {"total": total}
        )
    return rows


@dataclass(frozen=True)
class TrendsResult:
    snapshots: list[str]
    skipped: list[str]
    folder: Path

    def summary_line(self) -> str:
        skipped = f" ({len(self.skipped)} without findings skipped)" if self.skipped else ""
        return f"trends of {len(self.snapshots)} snapshots{skipped} -> {self.folder}"


def run_trends(data_dir: Path, snapshot_ids: list[str] | None = None) -> TrendsResult:
    """Write `trends/{rates,formats,growth,concentration}.parquet` over the chosen (default: every
    complete) snapshots, oldest first; a snapshot without findings is skipped with a warning."""
    data = DataDir(Path(data_dir))
    with holding_lock(data, "trends"):
        if snapshot_ids:
            # A snapshot named twice (or as `latest` and by id) is taken once.
            chosen = list({s.id: s for s in (resolve_snapshot(data, i) for i in snapshot_ids)}.values())
            order = list_snapshots(data)
            chosen.sort(key=lambda s: order.index(s.id))
        else:
            chosen = [data.snapshot(s) for s in list_snapshots(data, status="complete")]
        kept: list[Snapshot] = []
        for snapshot in chosen:
            if snapshot.summary.exists():
                kept.append(snapshot)
            else:
                hint = f"run `hubmine analyze --snapshot {snapshot.id}`"
                warn(f"skipping snapshot {snapshot.id}: no findings; {hint}")
        tables: dict[str, list[dict[str, Any]]] = {
            "rates": [],
            "formats": [],
            "concentration": [],
            "growth": [],
        }
        for snapshot in kept:
            when = measured_at(snapshot)
            tables["rates"].extend(rates(snapshot, when))
            tables["concentration"].append(concentration(snapshot, when))
            row = formats(snapshot, when)
            if row is not None:
                tables["formats"].append(row)
        if kept:
            tables["growth"] = growth(kept[-1])
        for name, rows in tables.items():
            write_parquet(data.trend(name), table_from_rows(f"trend_{name}", rows))
    skipped = [s.id for s in chosen if s not in kept]
    return TrendsResult([s.id for s in kept], skipped, data.trends)
