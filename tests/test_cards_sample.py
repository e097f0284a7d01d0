"""The card parser on the real hub2022 sample, checked against counts made a second, independent way.

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
def readmes(hub_sample: Path) -> list[tuple[str, str]]:
    table = pq.read_table(hub_sample / "hub2022-sample" / "readmes.parquet")
    return list(zip(table.column("id").to_pylist(), table.column("readme").to_pylist(), strict=True))


@pytest.fixture(scope="module")
def parsed(readmes: list[tuple[str, str]]) -> dict[str, ParsedCard]:
    return {model_id: parse_card(model_id, readme, None) for model_id, readme in readmes}


def reference_metadata(readme: str) -> tuple[bool, Any, bool]:
    """(has block, safe_load value or None, safe_load failed) the huggingface_hub way."""
    match = REGEX_YAML_BLOCK.search(readme)
    if not match:
        return False, None, False
    try:
        return True, yaml.safe_load(match.group(2)), False
    except yaml.YAMLError:
        return True, None, True


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


def test_whole_sample_parses_cleanly(parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]) -> None:
    assert len(parsed) == len(readmes) == 4142
    assert not any("internal_error" in card.problems for card in parsed.values())
    assert sum(card.has_card for card in parsed.values()) == sum(1 for _, text in readmes if text.strip())
    rows = [card.to_row() for card in parsed.values()]
    table_from_rows("parsed_cards", rows)
    table_from_rows("claims", [claim for card in parsed.values() for claim in card.claims])


def test_front_matter_and_metadata_match_huggingface_hub(
    parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]
) -> None:
    differences: list[str] = []
    tab_cards: list[str] = []
    for model_id, readme in readmes:
        card = parsed[model_id]
        if "binary_readme" in card.problems:
            continue
        has_block, ref, failed = reference_metadata(readme)
        assert card.has_front_matter == has_block, model_id
        if not has_block:
            assert card.metadata is None
            continue
        if failed:
            tab_cards.append(model_id)
            assert card.metadata is not None and "\t" in readme, model_id
            continue
        if isinstance(ref, dict) or ref is None:
            assert explained(card.metadata, ref or {}, "", differences), model_id
        else:
            assert card.metadata is None and "yaml_not_mapping" in card.problems
    assert tab_cards == ["lighteternal/stsb-xlm-r-greek-transfer"]
    # Every difference is YAML 1.1 reading Norwegian's `no` as False.
    assert differences and all(diff.endswith("=no") for diff in differences)
    assert any(diff.startswith("/language") for diff in differences)


def test_model_index_and_eval_claims_match_huggingface_hub(
    parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]
) -> None:
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    ref_index = ref_claims = 0
    for _, readme in readmes:
        _, ref, _ = reference_metadata(readme)
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
    assert (ours_index, ours_claims) == (ref_index, ref_claims) == (691, 248)


def _numeric(value: Any) -> bool:
    try:
        float(str(value).strip().removesuffix("%"))
    except ValueError:
        return False
    return not isinstance(value, bool)


def test_trainer_lists_and_sections(parsed: dict[str, ParsedCard], readmes: list[tuple[str, str]]) -> None:
    trainer = [
        mid for mid, text in readmes if re.search(r"(?m)^### Framework versions\n\n- Transformers ", text)
    ]
    assert len(trainer) > 500
    missed = [mid for mid in trainer if "transformers" not in parsed[mid].framework_versions]
    # These five cards (one author's) open a ```bash fence they never close (the command is one line
    # with literal "\\n"), so, as in CommonMark and on the Hub, everything after it is code.
    assert len(missed) == 5
    assert all(mid.startswith("gchhablani/") and "```bash" in dict(readmes)[mid] for mid in missed)
    for model_id in set(trainer) - set(missed):
        assert "software" in parsed[model_id].sections, model_id
    with_params = [mid for mid, text in readmes if "\n- learning_rate: " in text]
    assert sum("learning_rate" in parsed[mid].hyperparameters for mid in with_params) >= 0.95 * len(
        with_params
    )
