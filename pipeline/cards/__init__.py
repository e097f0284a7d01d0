"""Model-card parsing: front matter, safe YAML, sections, links, Trainer lists and performance claims."""

from pipeline.cards.parse import PROBLEM_CODES, ParsedCard, parse_card

__all__ = ["PROBLEM_CODES", "ParsedCard", "parse_card"]
