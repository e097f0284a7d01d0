"""One model's card, parsed: `parse_card` never raises, whatever the README and cardData hold."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.cards.claims import extract_claims, to_json
from pipeline.cards.errors import CardError
from pipeline.cards.finetuned import finetuned_from
from pipeline.cards.frontmatter import split_front_matter
from pipeline.cards.links import find_links
from pipeline.cards.metrics import normalise_claims
from pipeline.cards.results import body_claims
from pipeline.cards.sections import find_headings, find_sections, normalise_newlines
from pipeline.cards.subject import SELF, attribute, card_model
from pipeline.cards.tables import split_in_text
from pipeline.cards.training import trainer_lists
from pipeline.cards.yaml_safe import load_yaml

PROBLEM_CODES = {
    "binary_readme": "the README holds NUL characters (not text); nothing else was read from it",
    "invalid_utf8": "the README bytes are not valid UTF-8 (read with replacement characters)",
    "readme_wrong_type": "the README given is neither text nor bytes",
    "no_front_matter": "the README has no YAML front matter",
    "unclosed_front_matter": "an opening `---` line with no closing one; the whole README is body",
    "yaml_error": "the front matter is not valid YAML",
    "yaml_too_large": "the front matter is over the size cap",
    "yaml_too_deep": "the front matter nests deeper than the cap",
    "yaml_alias_bomb": "the front matter's aliases expand too far, or refer to themselves",
    "yaml_not_mapping": "the front matter is YAML but not a mapping",
    "card_data_invalid": "cardData is not valid JSON",
    "card_data_not_mapping": "cardData is not a mapping",
    "card_data_wrong_type": "the cardData given is neither JSON text nor a mapping",
    "legacy_model_index": "metadata uses the legacy `model_index` key (read, never counted)",
    "model_index_empty": "model-index is null or an empty list",
    "model_index_wrong_type": "model-index is not a list",
    "model_index_entry_wrong_type": "a model-index entry is not a mapping",
    "results_missing": "a model-index entry has no results",
    "results_wrong_type": "results is not a list",
    "result_wrong_type": "a result is not a mapping",
    "task_wrong_type": "a result's task is not a mapping",
    "dataset_wrong_type": "a result's dataset is not a mapping",
    "metrics_missing": "a result has no metrics",
    "metrics_wrong_type": "metrics is not a list",
    "metric_wrong_type": "a metric is not a mapping",
    "body_claims_capped": "the body's Trainer results and tables hold more claims than are read",
    "card_tables_capped": "the body holds more Markdown tables than are read (tables.MAX_TABLES)",
    "internal_error": "parsing failed unexpectedly; only the model id is recorded",
}


@dataclass(slots=True)
class ParsedCard:
    model_id: str
    readme_given: bool = False  # a README text was passed (the card was fetched)
    has_card: bool = False
    has_card_body: bool = False
    has_front_matter: bool = False
    metadata: dict[str, Any] | None = None
    metadata_source: str = "none"  # front_matter, card_data or none
    problems: list[str] = field(default_factory=list)
    yaml_error: str | None = None
    headings: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    sections_with_content: list[str] = field(default_factory=list)
    arxiv_ids: list[str] = field(default_factory=list)
    github_repos: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    framework_versions: dict[str, str] = field(default_factory=dict)
    body_chars: int = 0
    claims: list[dict[str, Any]] = field(default_factory=list)

    def to_row(self, card_status: str | None = None) -> dict[str, Any]:
        """A parsed_cards row; `card_status` defaults to ok for a given README, else not_fetched."""
        return {
            "model_id": self.model_id,
            "card_status": card_status or ("ok" if self.readme_given else "not_fetched"),
            "has_card": self.has_card,
            "has_card_body": self.has_card_body,
            "has_front_matter": self.has_front_matter,
            "metadata_source": self.metadata_source,
            "metadata": None if self.metadata is None else to_json(self.metadata),
            "problems": self.problems,
            "yaml_error": self.yaml_error,
            "headings": self.headings,
            "sections": self.sections,
            "sections_with_content": self.sections_with_content,
            "arxiv_ids": self.arxiv_ids,
            "github_repos": self.github_repos,
            "dois": self.dois,
            "hyperparameters": to_json(self.hyperparameters) if self.hyperparameters else None,
            "framework_versions": to_json(self.framework_versions) if self.framework_versions else None,
            "body_chars": self.body_chars,
            "n_claims": sum(1 for claim in self.claims if claim["counts"]),
            "n_claim_rows": len(self.claims),
        }


def parse_card(
    model_id: str, readme: str | bytes | None, card_data: str | dict[str, Any] | None
) -> ParsedCard:
    """Parse one model's README (None when not fetched) and the Hub's cardData (JSON text or mapping).

    The metadata used by the measures is the front matter when the README was fetched, else
    cardData (docs/definitions.md). A README whose front matter is missing or unreadable has no metadata even
    when cardData exists: the card is what the Hub renders.
    """
    card = ParsedCard(model_id=model_id)
    try:
        _fill(card, readme, card_data)
    except MemoryError:  # past the worker's memory bound (stage.py): this card, not the snapshot
        card = ParsedCard(model_id=model_id, readme_given=readme is not None, problems=["memory_exceeded"])
    except Exception:  # the last guard: a bug must cost one model, not the snapshot
        card = ParsedCard(model_id=model_id, readme_given=readme is not None, problems=["internal_error"])
    card.problems = list(dict.fromkeys(card.problems))
    return card


def _fill(card: ParsedCard, readme: object, card_data: object) -> None:
    text = _readme_text(readme, card.problems)
    if text is not None:
        card.readme_given = True
        _read_readme(card, text)
    else:
        _read_card_data(card, card_data)
    if card.metadata is not None:
        index_claims, problems = extract_claims(card.model_id, card.metadata)
        listed = next((r for r in card.claims if r["source"] == "trainer-results"), None)
        for row in index_claims:
            row["subject"], row["subject_name"] = SELF, row["model_name"]
            row["dataset_split"] = row["dataset_split"] or _metric_split(row)
            if listed is not None:  # the Trainer wrote the model-index and the list from one evaluation
                row["dataset_split"] = row["dataset_split"] or listed["dataset_split"]
                row["list_vs_table"] = listed["list_vs_table"]
        card.claims = index_claims + card.claims
        card.problems += problems
    normalise_claims(card.claims)


def _readme_text(readme: object, problems: list[str]) -> str | None:
    if isinstance(readme, (bytes, bytearray, memoryview)):
        data = bytes(readme)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("invalid_utf8")
            return data.decode("utf-8", errors="replace")
    if readme is not None and not isinstance(readme, str):
        problems.append("readme_wrong_type")
        return None
    return readme


def _read_readme(card: ParsedCard, text: str) -> None:
    card.has_card = not text.isspace() and text != ""
    if "\x00" in text:
        card.problems.append("binary_readme")
        card.has_card_body, card.body_chars = card.has_card, len(text)
        return
    split = split_front_matter(text)
    body = split.body
    card.has_card_body = bool(body) and not body.isspace()
    card.body_chars = len(body)
    if split.yaml is None:
        card.problems.append("unclosed_front_matter" if split.unclosed else "no_front_matter")
    else:
        card.has_front_matter = True
        _read_front_matter(card, split.yaml)
    body = normalise_newlines(body)
    headings = find_headings(body)
    card.headings = [heading.text for heading in headings]
    card.sections, card.sections_with_content = find_sections(body, headings)
    card.hyperparameters, card.framework_versions = trainer_lists(body, headings)
    card.claims, problems = body_claims(
        card.model_id, body, headings, card.hyperparameters, _masked_lm(card.metadata)
    )
    card.problems += problems
    template = finetuned_from(body)
    attribute(
        card.claims,
        card_model(card.model_id, card.metadata, headings, template and template.base_model),
        body,
    )
    links = find_links(text)
    card.arxiv_ids, card.github_repos, card.dois = links.arxiv_ids, links.github_repos, links.dois


def _metric_split(row: dict[str, Any]) -> str | None:
    """The split a model-index metric's name says ("Test WER"); a model-index that names no split
    in a card with the Trainer's results list is the Trainer's, measured on its evaluation set."""
    names = " ".join(text for text in (row["metric_name"], row["metric_type"]) if isinstance(text, str))
    return split_in_text(names)


def _masked_lm(metadata: dict[str, Any] | None) -> bool:
    """Whether the metadata says the model is a masked-language model (its losses vary between runs)."""
    if not metadata:
        return False
    tags = metadata.get("tags")
    named = [metadata.get("pipeline_tag"), *(tags[:100] if isinstance(tags, list) else [tags])]
    index = metadata.get("model-index")
    for entry in index[:100] if isinstance(index, list) else []:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results[:100] if isinstance(results, list) else []:
            task = result.get("task") if isinstance(result, dict) else None
            named.append(task.get("type") if isinstance(task, dict) else None)
    return "fill-mask" in named


def _read_front_matter(card: ParsedCard, yaml_text: str) -> None:
    try:
        value = load_yaml(yaml_text)
    except CardError as exc:
        card.problems.append(exc.code)
        card.yaml_error = str(exc)
        return
    if value is None:  # an empty block is empty metadata, as on the Hub
        value = {}
    if isinstance(value, dict):
        card.metadata, card.metadata_source = value, "front_matter"
    else:
        card.problems.append("yaml_not_mapping")


def _read_card_data(card: ParsedCard, card_data: object) -> None:
    value = card_data
    if isinstance(card_data, (str, bytes)):
        try:
            value = json.loads(card_data)
        except (ValueError, RecursionError):
            card.problems.append("card_data_invalid")
            return
    elif card_data is not None and not isinstance(card_data, dict):
        card.problems.append("card_data_wrong_type")
        return
    if value is None:
        return
    if isinstance(value, dict):
        card.metadata, card.metadata_source = value, "card_data"
    else:
        card.problems.append("card_data_not_mapping")
