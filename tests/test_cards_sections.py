from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest

from pipeline.cards.sections import canonical_sections, find_headings, find_sections, normalise_newlines


def headings(body: str) -> list[tuple[int, str]]:
    return [(h.level, h.text) for h in find_headings(normalise_newlines(body))]


def test_atx_headings() -> None:
    body = "# One\n## Two ##\n   ### Three\n    #### indented code\n#hashtag\n####### seven\n#\n"
    assert headings(body) == [(1, "One"), (2, "Two"), (3, "Three"), (1, "")]


def test_setext_headings() -> None:
    body = "Title\n=====\n\nSub\nline\n---\n\ntext\n\n---\n\n- item\n---\n> quote\n---\n"
    assert headings(body) == [(1, "Title"), (2, "Sub line")]


def test_headings_in_code_fences_are_ignored() -> None:
    body = (
        "```python\n# comment\n```\n# Real\n~~~~\n# no\n~~~\n# no\n~~~~\n"
        "````\n```\n# still code\n````\n## After\n```\n# unclosed runs to the end\n"
    )
    assert headings(body) == [(1, "Real"), (2, "After")]


def test_crlf_and_cr_bodies() -> None:
    assert headings("# A\r\ntext\r\n\r\nB\r\n---\r\n") == [(1, "A"), (2, "B")]
    assert headings("# A\rB\r===\r") == [(1, "A"), (1, "B")]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Uses", {"uses"}),
        ("Intended uses & limitations", {"uses", "limitations"}),
        ("Bias, Risks, and Limitations", {"limitations"}),
        ("Out-of-Scope Use", {"limitations"}),
        ("Training Details", {"training"}),
        ("Training procedure", {"training"}),
        ("Pre-training", {"training"}),
        ("Training hyperparameters", {"training", "hyperparameters"}),
        ("Evaluation results", {"evaluation"}),
        ("Benchmarks", {"evaluation"}),
        ("Testing Data, Factors & Metrics", {"evaluation"}),
        ("Environmental Impact", {"environmental_impact"}),
        ("BibTeX entry and citation info", {"citation"}),
        ("Citing & Authors", {"citation", "authors"}),
        ("How to Get Started with the Model", {"how_to_use"}),
        ("How to use", {"how_to_use"}),
        ("Usage", {"how_to_use"}),
        ("Quick start", {"how_to_use"}),
        ("Example", {"how_to_use"}),
        ("**1. Model [Description](#x)** [optional]", {"description"}),
        ("2.1 Training data", {"training"}),
        ("Framework versions", {"software"}),
        ("How does it work", set()),
        ("Constraints", set()),
    ],
)
def test_canonical_sections(text: str, names: set[str]) -> None:
    assert canonical_sections(text) == names


def test_every_template_section_is_recognised() -> None:
    template = Path(huggingface_hub.__file__).parent / "templates" / "modelcard_template.md"
    found, _ = find_sections(*_parsed(template.read_text()))
    for name in ("uses", "limitations", "training", "hyperparameters", "evaluation"):
        assert name in found
    for name in ("environmental_impact", "citation", "how_to_use"):
        assert name in found


def _parsed(body: str) -> tuple[str, list]:
    body = normalise_newlines(body)
    return body, find_headings(body)


def test_placeholder_sections_have_no_content() -> None:
    body = (
        "## Intended uses & limitations\n\nMore information needed\n\n"
        "## Training procedure\n\n### Training hyperparameters\n\n- learning_rate: 2e-05\n\n"
        "## Evaluation\n<!-- fill in -->\n{{ results | default('[More Information Needed]', true) }}\n"
        "## Citation\n\n```bibtex\n@article{x}\n```\n"
    )
    named, filled = find_sections(*_parsed(body))
    assert named == ["citation", "evaluation", "hyperparameters", "limitations", "training", "uses"]
    assert filled == ["citation", "hyperparameters", "training"]
