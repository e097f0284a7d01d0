"""Risks: serialization exposure and look-alike names (from `hubmine analyze`), and the paper's Table IV
defenses beside this snapshot's, from the tables `hubmine risks` writes when it has run. Shared by the
report and notebook 04.

The `hubmine risks` tables are optional: each is read only when present, and only the columns used
here; a defense whose table is absent is `not measured`, with the command that measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.measures import paper
from pipeline.measures.comparison import Side, side
from pipeline.measures.lookalikes import Lookalike, LookalikesSection
from pipeline.measures.risks import ExposureSection
from pipeline.measures.summary import Summary
from pipeline.report.render import Block, Heading, Image, Para, Table
from pipeline.risks.catalog import STEPS
from pipeline.store.layout import Snapshot
from pipeline.store.tables import read_table

# The columns of each `hubmine risks` table read here.
RISK_COLUMNS: dict[str, list[str]] = {
    "signatures": [
        "model_id",
        "any_signed",
        "commits",
        "signed_commits",
        "clone_mode",
        "bytes_transferred",
        "error",
    ],
    "scan_status": ["model_id", "file", "repo_flagged", "status", "pickle_safety"],
    "pickle_scan": ["model_id", "file", "verdict", "globals", "bytes_read"],
    "maintainers": [
        "model_id",
        "n_authors",
        "bus_factor",
        "downstream_models",
        "single_owner_with_dependents",
    ],
}
NOT_IN_PAPER = "not in the paper"


def read_risk_table(snapshot: Snapshot, table: str) -> pd.DataFrame | None:
    """A `hubmine risks` table (its `RISK_COLUMNS`), or None before the step that writes it has run."""
    path = snapshot.finding(table)
    if not path.exists():
        return None
    return read_table(path, RISK_COLUMNS[table]).to_pandas()


def not_measured(table: str) -> str:
    flag = next((step.flag for step in STEPS if step.table == table), table.replace("_", "-"))
    return f"not measured: run `hubmine risks --{flag}`"


def count_of(value: Side | int) -> str:
    """A Table IV cell: small shares need two decimals."""
    if isinstance(value, int):
        return f"{value:,}"
    if value.count is None or value.of is None or value.share is None:
        return "n/a"
    return f"{value.count:,} / {value.of:,} ({100 * value.share:.2f}%)"


@dataclass(frozen=True)
class Defense:
    """A Table IV row: the paper's figure and this snapshot's, as text."""

    defense: str
    paper: str
    snapshot: str


def _verified_organizations(summary: Summary) -> Side | None:
    row = next(
        (r for r in summary.paper_comparison.documentation if r.measure == "organizations verified"), None
    )
    return row.snapshot if row is not None and isinstance(row.snapshot, Side) else None


def table_iv(snapshot: Snapshot, summary: Summary) -> list[Defense]:
    """The paper's Table IV defenses beside this snapshot's, and the risks the paper did not measure."""
    organizations = _verified_organizations(summary)
    rows = [
        Defense(
            "organizations verified",
            count_of(side(*paper.ORGANIZATIONS_VERIFIED)),
            count_of(organizations)
            if organizations
            else "not measured: crawl with `hubmine crawl --authors`",
        )
    ]
    signatures = read_risk_table(snapshot, "signatures")
    signed = not_measured("signatures")
    if signatures is not None:
        read = signatures[signatures["error"].isna()]
        signed = count_of(side(int(read["any_signed"].fillna(False).astype(bool).sum()), len(read)))
        if len(read) < len(signatures):
            signed += f"; {len(signatures) - len(read):,} not read"
    rows.append(
        Defense(
            "repositories with a GPG-signed commit", count_of(side(*paper.REPOSITORIES_GPG_SIGNED)), signed
        )
    )

    status = read_risk_table(snapshot, "scan_status")
    flagged = not_measured("scan_status")
    dangerous_hub = not_measured("scan_status")
    if status is not None:
        by_model = status.groupby("model_id")["repo_flagged"].apply(lambda s: bool(s.fillna(False).any()))
        flagged = count_of(side(int(by_model.sum()), len(by_model)))
        files = status[status["file"].notna()]
        dangerous_hub = count_of(side(int((files["pickle_safety"] == "dangerous").sum()), len(files)))
    rows.append(
        Defense(
            "repositories flagged by the Hub's malware scans",
            count_of(paper.REPOSITORIES_MALWARE_FLAGGED),
            flagged,
        )
    )
    rows.append(Defense("weight files the Hub's pickle scan calls dangerous", NOT_IN_PAPER, dangerous_hub))

    pickles = read_risk_table(snapshot, "pickle_scan")
    dangerous = not_measured("pickle_scan")
    if pickles is not None:
        scanned = pickles[pickles["verdict"] != "error"]
        dangerous = count_of(side(int((scanned["verdict"] == "dangerous").sum()), len(scanned)))
    rows.append(Defense("pickle files a static scan calls dangerous", NOT_IN_PAPER, dangerous))

    maintainers = read_risk_table(snapshot, "maintainers")
    single = not_measured("maintainers")
    if maintainers is not None:
        listed = maintainers[maintainers["n_authors"].notna()]
        owners = listed["single_owner_with_dependents"].fillna(False).astype(bool)
        single = count_of(side(int(owners.sum()), len(listed)))
    rows.append(Defense("repositories with one author and 5+ downstream models", NOT_IN_PAPER, single))
    return rows


def _exposure(exposure: ExposureSection) -> list[Block]:
    known = exposure.n_models - exposure.siblings_unknown
    if not known:
        return [Para("No model of this snapshot lists its files, so no weight format is measured.")]
    text = (
        f"Of {known:,} models whose files are listed, {exposure.pickle_only.count:,} "
        f"({_pct(exposure.pickle_only.share)}) hold their weights only as pickles, which run code when "
        f"loaded; they have {_pct(exposure.pickle_only_download_share)} of these models' downloads. "
        f"{exposure.safetensors.count:,} ({_pct(exposure.safetensors.share)}) have safetensors weights, "
        f"{exposure.pickle_files.count:,} ({_pct(exposure.pickle_files.share)}) any pickle-based file "
        f"(training state included), and {exposure.no_weights:,} no weight file at all."
    )
    if exposure.siblings_unknown:
        text += f" {exposure.siblings_unknown:,} models without a file list are left out."
    return [
        Para(text),
        Table(
            ["weight format", "models", "share of models with files listed"],
            [[name, f"{n:,}", _pct(n / known)] for name, n in exposure.formats.items()],
        ),
        Image(
            "exposure_by_year",
            "Pickle-only weights and safetensors by creation year; models per weight format",
        ),
    ]


# How each rule reads in the report's evidence column.
EVIDENCE = {
    "same_name_other_author": "same name, other author",
    "author_homoglyph": "author spelled with look-alike characters",
    "author_typo": "author one letter off",
    "name_homoglyph": "name spelled with look-alike characters",
    "name_typo": "name one letter off",
    "card_copy": "card copied from the popular model",
}


def _popular_rule(lookalikes: LookalikesSection) -> str:
    parts = []
    if lookalikes.min_downloads is not None:
        parts.append(f"at least {lookalikes.min_downloads:,} downloads in 30 days")
    if lookalikes.top_popular is not None:
        parts.append(f"among the {lookalikes.top_popular:,} most downloaded")
    return " or ".join(parts) or "no popularity rule set"


def _tutorial_rule(lookalikes: LookalikesSection) -> str:
    shared_by = lookalikes.tutorial_authors
    return "" if shared_by is None else f", and do not bear a name that {shared_by:,} or more authors share"


def evidence(entry: Lookalike) -> str:
    """A candidate's evidence: the rules that fired and the weights it holds."""
    rules = [EVIDENCE.get(rule, rule) for rule in entry.rules]
    return "; ".join([*rules, "weights: " + ", ".join(entry.weight_formats)])


def _lookalikes(lookalikes: LookalikesSection) -> list[Block]:
    blocks: list[Block] = [
        Heading(3, "Look-alike names: candidates for review"),
        Para(
            "The list holds models with loadable weights whose id differs from a popular model's "
            f"({_popular_rule(lookalikes)}; {lookalikes.popular:,} models here) of another author by one "
            "character-level trick (look-alike characters or a one-letter typo in the author or the name, "
            "or the same name under another author), and that are not a systematic variant of it "
            "(language, size, task, architecture, number, casing, separator, format), do not declare their "
            f"relation to it{_tutorial_rule(lookalikes)}; nobody has reviewed them, so they are "
            "candidates, not attacks."
        ),
    ]
    excluded = ", ".join(f"{why} {n:,}" for why, n in lookalikes.excluded.items()) or "none"
    blocks.append(
        Para(
            f"{lookalikes.suspects:,} models look like a popular model by name; {lookalikes.candidates:,} "
            f"remain for review. Why the others were left out (a model may have several reasons): "
            f"{excluded}."
        )
    )
    if lookalikes.top:
        blocks.append(
            Table(
                ["candidate", "downloads", "looks like", "its downloads", "evidence"],
                [
                    [
                        e.model_id,
                        f"{e.downloads or 0:,}",
                        e.popular_model,
                        f"{e.popular_downloads:,}",
                        evidence(e),
                    ]
                    for e in lookalikes.top
                ],
            )
        )
    return blocks


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def report_blocks(snapshot: Snapshot, summary: Summary) -> list[Block]:
    """The report's "Risks" section."""
    return [
        Heading(2, "Risks"),
        Heading(3, "Serialization exposure"),
        *_exposure(summary.section(ExposureSection)),
        *_lookalikes(summary.section(LookalikesSection)),
        Heading(3, "Table IV: defenses, the paper (August 2022) and this snapshot"),
        Table(
            ["defense", "paper", "this snapshot"],
            [[row.defense, row.paper, row.snapshot] for row in table_iv(snapshot, summary)],
        ),
    ]
