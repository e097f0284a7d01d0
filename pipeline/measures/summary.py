"""`findings/summary.json`: headline numbers of every finding and the paper-comparison tables."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.measures import paper
from pipeline.measures.attributes import ALL_COLUMNS
from pipeline.measures.tables import iter_rows, read_table
from pipeline.store.files import write_json
from pipeline.store.layout import Snapshot

FINDING_TABLES = ("parsed_cards", "claims", "attributes", "lineage", "scores", "breakdowns")
FIG6_TOP = 10


def _share(count: int | None, total: int | None) -> float | None:
    return count / total if count is not None and total else None


def _side(count: int | None, total: int | None) -> dict[str, Any]:
    return {"count": count, "of": total, "share": _share(count, total)}


def claims_summary(snapshot: Snapshot) -> dict[str, Any]:
    by_source: dict[str, int] = {}
    counting = 0
    for source, counts in iter_rows(snapshot.finding("claims"), ["source", "counts"]):
        by_source[source] = by_source.get(source, 0) + 1
        counting += bool(counts)
    return {"n_claims": sum(by_source.values()), "by_source": by_source, "n_counting_model_index": counting}


def claims_by_task(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Fig. 7: models with model-index claims per task, paper vs snapshot; other tasks include none."""
    # attributes.parquet has one row per model of models.parquet, in the same order.
    has_claims = read_table(snapshot.finding("attributes"), ["has_eval_claims"]).column(0)
    tags = read_table(snapshot.models, ["pipeline_tag"]).column(0)
    known = pc.fill_null(pc.is_in(tags, value_set=pa.array(list(paper.CLAIMS_BY_TASK), pa.string())), False)
    grouped = (
        pa.table({"task": pc.if_else(known, tags, paper.OTHER_TASKS), "claims": has_claims})
        .group_by("task")
        .aggregate([("claims", "sum"), ("claims", "count", pc.CountOptions(mode="all"))])
    )
    counts = {
        task: (claims, models)
        for task, claims, models in zip(
            *(grouped.column(name).to_pylist() for name in ("task", "claims_sum", "claims_count")),
            strict=True,
        )
    }
    rows = []
    for name, (p_claims, p_models) in [
        *paper.CLAIMS_BY_TASK.items(),
        (paper.OTHER_TASKS, paper.CLAIMS_OTHER_TASKS),
    ]:
        claims, models = counts.get(name, (0, 0))
        rows.append(
            {
                "task": name,
                "paper": _side(p_claims, p_models),
                "snapshot": _side(claims, models),
            }
        )
    return rows


def verified_organizations(snapshot: Snapshot) -> dict[str, Any] | None:
    """Verified share of the snapshot's organizations; None unless the crawl asked (`--authors`)."""
    path = snapshot.authors
    if not path.exists():
        return None
    kinds = read_table(path, ["kind", "verified"]).to_pylist()
    organizations = [row for row in kinds if row["kind"] == "organization"]
    return _side(sum(1 for row in organizations if row["verified"]), len(organizations))


def paper_comparison(sections: dict[str, Any], snapshot: Snapshot) -> dict[str, Any]:
    present = sections["attributes"]["present"]
    total = sections["attributes"]["n_models"]
    arch = sections["dependencies"]["architectures"]
    top_name, top_share = paper.TOP_ARCHITECTURE
    top_here = next((e for e in arch["top"] if e["model_type"] == top_name), None)
    documentation = [
        {"measure": "models", "paper": paper.MODELS_WITH_METADATA, "snapshot": total},
        {
            "measure": "models with model-index performance claims",
            "paper": _side(paper.MODELS_WITH_CLAIMS, paper.MODELS_WITH_METADATA),
            "snapshot": _side(present["has_eval_claims"]["count"], total),
        },
        {
            "measure": "architecture (config.model_type) missing",
            "paper": {"share": paper.ARCHITECTURE_MISSING_SHARE},
            "snapshot": _side(arch["missing"]["count"], total),
        },
        {
            "measure": f"{top_name} share of models",
            "paper": {"share": top_share},
            "snapshot": _side(top_here["count"] if top_here else 0, total),
        },
        {
            "measure": "organizations verified",
            "paper": _side(*paper.ORGANIZATIONS_VERIFIED),
            "snapshot": verified_organizations(snapshot),
        },
    ]
    documentation += [
        {
            "measure": f"{name} missing",
            "paper": None,
            "snapshot": _side(total - present[name]["count"], total),
        }
        for name in ALL_COLUMNS
        if name not in ("has_eval_claims", "has_architecture")
    ]
    datasets = sections["dependencies"]["datasets"]
    return {
        "paper": f"Jiang et al., ICSE 2023, on the Hub of {paper.SNAPSHOT}",
        "note": "paper null: the paper did not measure it (or its number is not in DESIGN.md)",
        "documentation": documentation,
        "fig6_architectures": {
            "paper": {
                "missing_share": paper.ARCHITECTURE_MISSING_SHARE,
                "top": [{"model_type": top_name, "share": top_share}],
            },
            "snapshot": {"missing_share": arch["missing"]["share"], "top": arch["top"][:FIG6_TOP]},
        },
        "fig6_datasets": {
            "note": datasets["metric_entries"]["note"],
            "paper": None,
            "snapshot_metric_entries": datasets["metric_entries"]["top"][:FIG6_TOP],
            "snapshot_models": datasets["per_model"]["top"][:FIG6_TOP],
        },
        "fig7_claims_by_task": claims_by_task(snapshot),
    }


def headline(sections: dict[str, Any]) -> dict[str, Any]:
    present = sections["attributes"]["present"]
    lineage = sections["dependencies"]["lineage"]
    most = sections["dependencies"]["datasets"]["per_model"]["most_downstream"]
    return {
        "n_models": sections["attributes"]["n_models"],
        **{f"share_{name}": present[name]["share"] for name in ALL_COLUMNS},
        "architecture_missing_share": sections["dependencies"]["architectures"]["missing"]["share"],
        "mean_provenance_score": sections["scores"]["provenance"]["mean"],
        "mean_reproducibility_score": sections["scores"]["reproducibility"]["mean"],
        "mean_portability_score": sections["scores"]["portability"]["mean"],
        "lineage_edges": lineage["n_edges"],
        "models_with_base": lineage["models_with_base"],
        "max_chain_depth": lineage["depth"]["max"],
        "largest_family": lineage["families"]["top"][0] if lineage["families"]["top"] else None,
        "dataset_with_most_downstream_models": most,
    }


def write(snapshot: Snapshot, sections: dict[str, Any]) -> dict[str, Any]:
    """Assemble the measures' sections into `findings/summary.json` and return it."""
    summary = {
        "snapshot_id": snapshot.id,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "headline": headline(sections),
        **sections,
        "claims": claims_summary(snapshot),
        "paper_comparison": paper_comparison(sections, snapshot),
        "files": {name: str(snapshot.finding(name).relative_to(snapshot.dir)) for name in FINDING_TABLES},
    }
    write_json(snapshot.summary, summary)
    return summary


def load(snapshot: Snapshot) -> dict[str, Any]:
    return json.loads(snapshot.summary.read_text())
