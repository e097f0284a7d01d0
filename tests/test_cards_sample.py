"""The card parser on the hub2022 sample, checked against counts made a second, independent way.

Without the real sample the same checks run on its synthetic stand-in (see `hub2022` in conftest.py);
only the counts known of the real sample need it.

The second way is what a user of huggingface_hub would write: its `REGEX_YAML_BLOCK`, PyYAML's
pure-Python `yaml.safe_load` and `ModelCardData`. Known, explained differences:

- YAML 1.1 (`safe_load`) reads unquoted `no`/`yes`/`on`/`off` as booleans and dates as `date`
  objects; the parser reads YAML 1.2 as the Hub does, keeping strings.
- libyaml accepts tabs as separation inside flow collections; the pure-Python scanner rejects them.
- huggingface_hub's `model_index_to_eval_results` needs both dataset `type` and `name`; hubmine's
  has_eval_claims needs either. On this sample the counts agree all the same.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import ModelCardData
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from pipeline.cards import ParsedCard, parse_card
from pipeline.schemas import table_from_rows

YAML11_BOOLS = {"yes", "no", "on", "off", "true", "false"}


@pytest.fixture(scope="module")
def readmes(hub2022: Path) -> list[tuple[str, str]]:
    table = pq.read_table(hub2022 / "readmes.parquet")
    return list(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))


@pytest.fixture(scope="module")
def parsed(readmes: list[tuple[str, str]]) -> dict[str, ParsedCard]:
    return {model_id: parse_card(model_id, readme, None) for model_id, readme in readmes}


def explained(ours: Any, ref: Any, path: str, found: list[str]) -> bool:
    """Whether `ours` equals `ref` up to the YAML 1.1 / 1.2 differences; records each difference."""
    if isinstance(ref, dict) and isinstance(ours, dict):
        return ours.keys() == ref.keys() and all(
            explained(ours[k], ref[k], f"{path}/{k}", found) for k in ref
        )
    if isinstance(ref, list) and isinstance(ours, list):
        return len(ours) == len(ref) and all(
            explained(o, r, path, found) for o, r in zip(ours, ref, strict=True)
        )
    if isinstance(ref, bool) and isinstance(ours, str) and ours.lower() in YAML11_BOOLS:
        found.append(f"{path}={ours}")
        return True
    if isinstance(ref, (datetime.date, datetime.datetime)) and isinstance(ours, str):
        found.append(f"{path}=date")
        return ours.replace("T", " ").startswith(str(ref)[:10])
    return type(ours) is type(ref) and (ours == ref or ours != ours)  # NaN != NaN


@dataclass
class MetadataComparison:
    disagree: list[str]  # cards whose front matter or metadata differ beyond the explained differences
    differences: list[str]  # the explained YAML 1.1 / 1.2 differences, as path=value
    tab_cards: list[str]  # cards only libyaml reads: tabs as separation inside flow collections


Reference = tuple[bool, Any, bool]


def reference_metadata(readme: str) -> Reference:
    """(has block, safe_load value or None, safe_load failed) the huggingface_hub way."""
    match = REGEX_YAML_BLOCK.search(readme)
    if not match:
        return False, None, False
    try:
        return True, yaml.safe_load(match.group(2)), False
    except yaml.YAMLError:
        return True, None, True


@pytest.fixture(scope="module")
def reference(readmes: list[tuple[str, str]]) -> dict[str, Reference]:
    return {model_id: reference_metadata(readme) for model_id, readme in readmes}


@pytest.fixture(scope="module")
def metadata_comparison(
    parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]], reference: dict[str, Reference]
) -> MetadataComparison:
    found = MetadataComparison([], [], [])
    for model_id, readme in readmes:
        card = parsed[model_id]
        if "binary_readme" in card.problems:
            continue
        has_block, ref, failed = reference[model_id]
        if failed:
            found.tab_cards.append(model_id)
            agree = card.metadata is not None and "\t" in readme
        elif not has_block:
            agree = card.metadata is None
        elif isinstance(ref, dict) or ref is None:
            agree = explained(card.metadata, ref or {}, "", found.differences)
        else:
            agree = card.metadata is None and "yaml_not_mapping" in card.problems
        if card.has_front_matter != has_block or not agree:
            found.disagree.append(model_id)
    return found


@pytest.fixture(scope="module")
def eval_claims(parsed: dict[str, ParsedCard], reference: dict[str, Reference]) -> dict[str, tuple[int, int]]:
    """(cards with a non-empty model-index, cards with a counting claim), ours and huggingface_hub's."""
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    ref_index = ref_claims = 0
    for _, ref, _ in reference.values():
        if not isinstance(ref, dict):
            continue
        if isinstance(ref.get("model-index"), list) and ref["model-index"]:
            ref_index += 1
        results = ModelCardData(**ref, ignore_metadata_errors=True).eval_results or []
        ref_claims += any(
            r.task_type and r.metric_type and (r.dataset_type or r.dataset_name) and _numeric(r.metric_value)
            for r in results
        )
    ours_index = sum(
        isinstance((card.metadata or {}).get("model-index"), list) and bool(card.metadata["model-index"])
        for card in parsed.values()
    )
    ours_claims = sum(any(claim["counts"] for claim in card.claims) for card in parsed.values())
    return {"ours": (ours_index, ours_claims), "huggingface_hub": (ref_index, ref_claims)}


def _numeric(value: Any) -> bool:
    try:
        float(str(value).strip().removesuffix("%"))
    except ValueError:
        return False
    return not isinstance(value, bool)


TRAINER_VERSIONS = re.compile(r"(?m)^### Framework versions\n\n- Transformers ")


@dataclass
class TrainerCards:
    listed: list[str]  # cards with the Trainer's "Framework versions" list
    missed: list[str]  # those whose list the parser did not read


@pytest.fixture(scope="module")
def trainer_cards(parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]) -> TrainerCards:
    listed = [mid for mid, text in readmes if TRAINER_VERSIONS.search(text)]
    missed = [mid for mid in listed if "transformers" not in parsed[mid].framework_versions]
    return TrainerCards(listed, missed)


def test_whole_sample_parses_cleanly(parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]) -> None:
    assert len(parsed) == len(readmes)
    assert not any("internal_error" in card.problems for card in parsed.values())
    assert sum(card.has_card for card in parsed.values()) == sum(1 for _, text in readmes if text.strip())
    rows = [card.to_row() for card in parsed.values()]
    table_from_rows("parsed_cards", rows)
    table_from_rows("claims", [claim for card in parsed.values() for claim in card.claims])


def test_front_matter_and_metadata_match_huggingface_hub(metadata_comparison: MetadataComparison) -> None:
    assert metadata_comparison.disagree == []
    assert any(diff.startswith("/language") for diff in metadata_comparison.differences)


def test_model_index_and_eval_claims_match_huggingface_hub(eval_claims: dict[str, tuple[int, int]]) -> None:
    assert eval_claims["ours"] == eval_claims["huggingface_hub"]
    assert min(eval_claims["ours"]) > 0


def test_trainer_lists_and_sections(
    parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]], trainer_cards: TrainerCards
) -> None:
    assert trainer_cards.listed
    # A list is missed only after a code fence that is never closed: as in CommonMark and on the Hub,
    # everything after it is code.
    texts = dict(readmes)
    assert all("```" in texts[mid] for mid in trainer_cards.missed)
    for model_id in set(trainer_cards.listed) - set(trainer_cards.missed):
        assert "software" in parsed[model_id].sections, model_id
    with_params = [mid for mid, text in readmes if "\n- learning_rate: " in text]
    assert sum("learning_rate" in parsed[mid].hyperparameters for mid in with_params) >= 0.95 * len(
        with_params
    )


def test_counts_of_the_real_2022_sample(
    hub_sample: Path,
    readmes: list[tuple[str, str]],
    metadata_comparison: MetadataComparison,
    eval_claims: dict[str, tuple[int, int]],
    trainer_cards: TrainerCards,
) -> None:
    assert len(readmes) == 4142
    assert metadata_comparison.tab_cards == ["lighteternal/stsb-xlm-r-greek-transfer"]
    # Every difference is YAML 1.1 reading Norwegian's `no` as False.
    assert metadata_comparison.differences
    assert all(diff.endswith("=no") for diff in metadata_comparison.differences)
    assert eval_claims["ours"] == (691, 248)
    assert len(trainer_cards.listed) > 500
    # These five cards (one author's) open a ```bash fence they never close (the command is one line
    # with literal "\\n").
    assert len(trainer_cards.missed) == 5
    texts = dict(readmes)
    assert all(mid.startswith("gchhablani/") and "```bash" in texts[mid] for mid in trainer_cards.missed)


def _sources(card: ParsedCard) -> set[str]:
    return {claim["source"] for claim in card.claims}


def test_trainer_results_claims(parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]) -> None:
    listed = [
        mid
        for mid, text in readmes
        if "\nIt achieves the following results on the evaluation set:\n- " in text
    ]
    read = [mid for mid in listed if "trainer-results" in _sources(parsed[mid])]
    assert len(read) >= 0.95 * len(listed)
    # Cards whose only claims are the Trainer's: what the model-index alone misses.
    assert [mid for mid in read if "model-index" not in _sources(parsed[mid])]


def test_trainer_claim_counts_of_the_real_2022_sample(
    hub_sample: Path, parsed: dict[str, ParsedCard]
) -> None:
    sources = [_sources(card) for card in parsed.values()]
    assert sum("trainer-results" in found for found in sources) == 524  # 13% of 4142 cards
    assert sum(found >= {"trainer-results"} and "model-index" not in found for found in sources) == 326
    assert sum("trainer-table" in found for found in sources) == 501
