"""Errors raised while reading a card; `parse_card` turns them into problem codes."""

from __future__ import annotations

from pipeline.errors import HubmineError


class CardError(HubmineError):
    """A card part could not be read; `code` is the problem code recorded for the model."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
