"""The claimed dataset split, loaded with `datasets` (data files only: datasets runs no loading scripts).

With `--max-examples N` the split is streamed and only its first N rows are read, so a claim on a
large dataset costs the bytes of N rows. A whole split is downloaded only when the dataset's files
together fit in HUBMINE_EVAL_MAX_DATASET_BYTES.
"""

from __future__ import annotations

from typing import Any

from huggingface_hub import HfApi

from pipeline.env import env_number
from pipeline.errors import HubmineError, one_line

DEFAULT_MAX_DATASET_BYTES = 10 * 1024**3


class DatasetUnavailable(HubmineError):
    """The claimed dataset, config or split could not be loaded."""


def load_split(dataset_id: str, config: str | None, split: str, max_examples: int | None) -> Any:
    """The first `max_examples` examples (all without it) of `dataset_id`'s `config` and `split`."""
    import datasets

    where = " ".join(part for part in (dataset_id, config, split) if part)
    try:
        if max_examples is not None:
            stream = datasets.load_dataset(dataset_id, config, split=split, streaming=True)
            rows = list(stream.take(max_examples))
            return datasets.Dataset.from_list(rows, features=stream.features)
        _check_size(dataset_id)
        return datasets.load_dataset(dataset_id, config, split=split)
    except DatasetUnavailable:
        raise
    except Exception as exc:  # a missing repo, config, split or file: whatever it is, the claim says why
        raise DatasetUnavailable(f"{where}: {type(exc).__name__}: {one_line(str(exc))[:300]}") from None


def _check_size(dataset_id: str) -> None:
    cap = env_number("HUBMINE_EVAL_MAX_DATASET_BYTES", DEFAULT_MAX_DATASET_BYTES, 1)
    info = HfApi().dataset_info(dataset_id, files_metadata=True)
    # File sizes where the server lists them, else the repository's storage as it reports it.
    total = max(sum(sibling.size or 0 for sibling in info.siblings or ()), info.used_storage or 0)
    if total > cap:
        raise DatasetUnavailable(
            f"{dataset_id}: {total:,} bytes of files exceed HUBMINE_EVAL_MAX_DATASET_BYTES={cap:,}; "
            "use --max-examples to read only the first rows"
        )
