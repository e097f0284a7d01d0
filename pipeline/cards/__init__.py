"""Model-card parsing: front matter, safe YAML, sections, links, Trainer lists and model-index claims."""

from pipeline.cards.parse import ParsedCard, parse_card

__all__ = ["ParsedCard", "parse_card"]
