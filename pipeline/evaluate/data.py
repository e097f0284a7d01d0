"""The claimed dataset split, loaded with `datasets` (data files only: datasets runs no loading scripts)."""

from __future__ import annotations

from typing import Any

from pipeline.errors import HubmineError, one_line


class DatasetUnavailable(HubmineError):
    """The claimed dataset, config or split could not be loaded."""


def load_split(dataset_id: str, config: str | None, split: str, max_examples: int | None) -> Any:
    """The first `max_examples` examples (all without it) of `dataset_id`'s `config` and `split`."""
    import datasets

    try:
        data = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as exc:  # a missing repo, config, split or file: whatever it is, the claim says why
        raise DatasetUnavailable(
            f"{dataset_id} {config or ''} {split}: {type(exc).__name__}: {one_line(str(exc))[:300]}"
        ) from None
    if max_examples is not None and len(data) > max_examples:
        data = data.select(range(max_examples))
    return data
