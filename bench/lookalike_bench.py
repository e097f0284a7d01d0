"""Look-alike names on the real samples against hand labels, and crafted impersonations it must catch.

    python -m bench.lookalike_bench [--sample DIR] [--unlabelled]

1. Each real sample is served by the Hub simulator, crawled and analyzed: hub2022 with its cards, its
   creation dates dropped (the 2022 scrape recorded none; the simulator's are made up); hub2024
   without cards (the sample holds no README; the simulator's would be made up too).
2. The labelled suspects, `bench/lookalike_labels.jsonl`: every suspect of a broad net, the measure run
   with the snapshot's 1,000 most downloaded models as the popular ones
   (`Settings(min_downloads=None, top=1000)`, the popular set the finding used before it had a floor),
   with the popular model it was paired with. Each was labelled by hand from both ids, the authors,
   the suspect's files and both cards, never from the measure's exclusions, by these rules, the
   first that holds:
   - benign `empty`: the suspect's files hold no weights (nothing to load);
   - benign `tutorial`: the name is a course or tutorial default that learners upload by the dozen
     (DialoGPT-small-<character>, <base>-finetuned-<dataset>, ppo-LunarLander-v2, my_awesome_model);
   - benign `variant`: the ids name two members of a family (language pair, task, size, seed,
     architecture, version);
   - benign `declared`: the suspect's card says what it was built from or that it copies the popular
     model;
   - benign `own_model`: the suspect's card or files describe its author's own, different model (own
     data, results or training run); the shared name is descriptive (base model and task);
   - benign `original`: the suspect is the original or its maintainers' (a legacy id moved into the
     model's organisation, the popular model's card names the suspect as its source, the author is
     the model's author);
   - impersonation: a trick in the id (look-alike characters, a one-letter typo, the same name with a
     copied card), weights, and nothing that says it is another model;
   - unclear: a same-name repository with weights and no card, or a card that says nothing of the
     relation, by an unrelated author: a mirror or a substitute, which ids, cards and files cannot
     tell apart.
3. The measure with its defaults (popular from 1,000 downloads) runs on the same snapshots; a labelled
   suspect is caught when it is counted. Precision = impersonation / (impersonation + benign) among the
   caught (unclear ones reported apart); the same with the broad net's popular set shows what the floor
   does. `precision_with_controls` counts the controls with the labelled suspects.
4. Crafted controls are added to the 2022 sample (`CONTROLS`): impersonations of its popular models
   (look-alike authors, one-letter typos in the author or the name, look-alike characters in the name,
   a popular card copied under another author), each with weights, which must all be caught; and
   benign look-alikes (no weights, a declared mirror, another language pair), which must not be.

The figures are per sample and per label reason. Prints one JSON object; writes
bench/results/lookalikes.json. `--unlabelled` prints the suspects of the net that have no label yet,
as label lines to fill in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bench.claims_bench import sample_dir
from bench.parse_bench import REPO_ROOT
from hubsim import HubSimulator, Registry
from pipeline.analyze import run_analyze
from pipeline.measures.lookalikes import Settings, build
from pipeline.store.files import write_parquet
from pipeline.store.layout import DataDir, Snapshot
from tests.crawl_helpers import crawl

LABELS = REPO_ROOT / "bench" / "lookalike_labels.jsonl"
RESULTS = REPO_ROOT / "bench" / "results"
NET = Settings(min_downloads=None, top=1_000)
SAMPLES = {"hub2022": ("hub2022-sample", True), "hub2024": ("hub2024-sample", False)}
WEIGHTS = ["config.json", "pytorch_model.bin"]


@dataclass(frozen=True)
class Control:
    model_id: str
    popular_model: str
    trick: str
    impersonation: bool
    files: tuple[str, ...] = tuple(WEIGHTS)
    # The popular model's card, copied; with `header`, the lines put above the copy.
    copies_card: bool = False
    header: str = ""
    # The base model a Trainer card names, for a card of its own.
    trainer_card: str = ""


CONTROLS = (
    Control(
        "sentence-transf0rmers/all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2",
        "author_homoglyph",
        True,
    ),
    Control("rnicrosoft/DialoGPT-small", "microsoft/DialoGPT-small", "author_homoglyph", True),
    Control("EIeutherAI/gpt-neo-2.7B", "EleutherAI/gpt-neo-2.7B", "author_homoglyph", True),
    Control("Helsinki-NPL/opus-mt-ar-en", "Helsinki-NLP/opus-mt-ar-en", "author_typo", True),
    Control("microsft/deberta-v3-large", "microsoft/deberta-v3-large", "author_typo", True),
    Control("bert-tools/bert-large-uncsed", "bert-large-uncased", "name_typo", True),
    Control("nlp-models/distilbrat-cnn-6-6", "sshleifer/distilbart-cnn-6-6", "name_typo", True),
    Control(
        "vision-models/electra-smaII-discriminator",
        "google/electra-small-discriminator",
        "name_homoglyph",
        True,
    ),
    Control("ml-hub/wav2vec2-base-96Oh", "facebook/wav2vec2-base-960h", "name_homoglyph", True),
    Control("bart-models/bart-base", "facebook/bart-base", "card_copy", True, copies_card=True),
    Control(
        "sbert/paraphrase-mpnet-base-v2",
        "sentence-transformers/paraphrase-mpnet-base-v2",
        "card_copy",
        True,
        files=("config.json", "model.safetensors"),
        copies_card=True,
    ),
    Control(
        "cardiffn1p/twitter-roberta-base",
        "cardiffnlp/twitter-roberta-base",
        "author_homoglyph",
        True,
        copies_card=True,
    ),
    Control(
        "g00gle/t5-v1_1-small", "google/t5-v1_1-small", "author_homoglyph", False, files=(".gitattributes",)
    ),
    Control(
        "mirrors/flaubert_base_cased",
        "flaubert/flaubert_base_cased",
        "declared mirror",
        False,
        copies_card=True,
        header="A mirror of flaubert/flaubert_base_cased, kept for offline use.",
    ),
    Control(
        "student/camembert-bas",
        "camembert-base",
        "declared fine-tune",
        False,
        trainer_card="camembert-base",
    ),
    Control("Helsinki-NLP-tc/opus-mt-ru-es", "Helsinki-NLP/opus-mt-ru-en", "another language pair", False),
)


def read_labels(path: Path = LABELS) -> dict[tuple[str, str], dict[str, Any]]:
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[(row["sample"], row["model_id"])] = row
    return labels


def _registry(sample: Path, part: str, controls: bool) -> Registry:
    registry = Registry.from_sample(sample / part)
    if not controls:
        return registry
    for control in CONTROLS:
        readme = None
        if control.trainer_card:
            readme = (
                f"This model is a fine-tuned version of [{control.trainer_card}]"
                f"(https://huggingface.co/{control.trainer_card}) on the allocine dataset.\n"
            ).encode()
        if control.copies_card:
            index = registry.index_of(control.popular_model)
            copied = (registry.readme(index) if index is not None else None) or b""
            readme = (control.header.encode() + b"\n\n" if control.header else b"") + copied
        siblings = [{"rfilename": name} for name in (*control.files, *(["README.md"] if readme else []))]
        registry.add({"id": control.model_id, "siblings": siblings, "downloads": 0}, readme)
    return registry


def _without_creation_dates(snapshot: Snapshot) -> None:
    table = pq.read_table(snapshot.models)
    column = table.column_names.index("created_at")
    nulls = pa.nulls(table.num_rows, table.schema.field("created_at").type)
    write_parquet(snapshot.models, table.set_column(column, table.schema.field("created_at"), nulls))


def crawled(sample: Path, name: str, folder: Path, controls: bool = False) -> Snapshot:
    """The sample `name` (with the controls when asked) crawled and analyzed under `folder`."""
    part, has_cards = SAMPLES[name]
    data_dir = folder / (name + ("-controls" if controls else ""))
    with HubSimulator(_registry(sample, part, controls)) as sim:
        crawl(sim.url, data_dir, snapshot="s", cards=has_cards)
    snapshot = DataDir(data_dir).snapshot("s")
    if name == "hub2022":
        _without_creation_dates(snapshot)
    run_analyze(data_dir, "s")
    return snapshot


def suspects(snapshot: Snapshot, settings: Settings) -> dict[str, dict[str, Any]]:
    return {row["model_id"]: row for row in build(snapshot, settings)[0].to_pylist()}


def precision(caught: Counter[str]) -> float | None:
    judged = caught["impersonation"] + caught["benign"]
    return round(caught["impersonation"] / judged, 3) if judged else None


def score(labels: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Labels of the suspects counted, and by label reason how many of each were counted."""
    caught: Counter[str] = Counter()
    by_reason: dict[str, list[int]] = {}
    for model_id, label in labels.items():
        counted = bool(found.get(model_id, {}).get("counted"))
        caught[label["label"]] += counted
        key = f"{label['label']}/{label['reason']}" if label["reason"] else label["label"]
        by_reason.setdefault(key, [0, 0])
        by_reason[key][0] += counted
        by_reason[key][1] += 1
    return {
        "labelled": len(labels),
        "labels": dict(Counter(label["label"] for label in labels.values())),
        "caught": dict(caught),
        "precision": precision(caught),
        "caught_of_labelled_by_reason": {key: f"{n}/{of}" for key, (n, of) in sorted(by_reason.items())},
    }


def real_figures(sample: Path, folder: Path, unlabelled: bool) -> dict[str, Any]:
    labels = read_labels()
    figures: dict[str, Any] = {}
    missing = []
    for name in SAMPLES:
        snapshot = crawled(sample, name, folder)
        net = suspects(snapshot, NET)
        mine = {model_id: labels[(name, model_id)] for model_id in net if (name, model_id) in labels}
        missing += [
            {
                "sample": name,
                "model_id": m,
                "popular_model": r["popular_model"],
                "label": None,
                "reason": None,
            }
            for m, r in net.items()
            if (name, m) not in labels
        ]
        table, section, _ = build(snapshot, Settings())
        default = {row["model_id"]: row for row in table.to_pylist()}
        figures[name] = {
            "popular": section.popular,
            "suspects": section.suspects,
            "excluded": section.excluded,
            "net_suspects": len(net),
            "stale_labels": sorted(m for (s, m) in labels if s == name and m not in net),
            "default": score(mine, default),
            "default_counted": sorted(m for m, r in default.items() if r["counted"]),
            "net": score(mine, net),
        }
    if unlabelled:
        for row in missing:
            print(json.dumps(row))
    figures["unlabelled"] = len(missing)
    return figures


def control_figures(sample: Path, folder: Path) -> dict[str, Any]:
    found = suspects(crawled(sample, "hub2022", folder, controls=True), Settings())
    rows = []
    for control in CONTROLS:
        row = found.get(control.model_id, {})
        rows.append(
            {
                "model_id": control.model_id,
                "trick": control.trick,
                "impersonation": control.impersonation,
                "counted": bool(row.get("counted")),
                "rules": row.get("rules"),
                "exclusions": row.get("exclusions"),
            }
        )
    positives = [r for r in rows if r["impersonation"]]
    negatives = [r for r in rows if not r["impersonation"]]
    return {
        "positives_caught": f"{sum(r['counted'] for r in positives)}/{len(positives)}",
        "negatives_counted": f"{sum(r['counted'] for r in negatives)}/{len(negatives)}",
        "caught": {
            "impersonation": sum(r["counted"] for r in positives),
            "benign": sum(r["counted"] for r in negatives),
        },
        "controls": rows,
    }


def combined_precision(real: dict[str, Any], controls: dict[str, Any]) -> float | None:
    """Precision over the labelled suspects of every sample and the controls together."""
    caught: Counter[str] = Counter(controls["caught"])
    for name in SAMPLES:
        caught.update(real[name]["default"]["caught"])
    return precision(caught)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=None)
    parser.add_argument("--unlabelled", action="store_true")
    args = parser.parse_args()
    sample = sample_dir(args.sample)
    if not (sample / "hub2022-sample").is_dir():
        raise SystemExit(f"no hub sample at {sample}; pass --sample DIR or set HUBMINE_HUB_SAMPLE")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["HF_HOME"] = str(Path(folder) / "hf-home")
        os.environ.pop("HF_TOKEN", None)
        os.environ["HUBMINE_BACKOFF_S"] = "0.01"
        real, controls = (
            real_figures(sample, Path(folder), args.unlabelled),
            control_figures(sample, Path(folder)),
        )
        figures = {
            "real": real,
            "controls": controls,
            "precision_with_controls": combined_precision(real, controls),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lookalikes.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not args.unlabelled:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
