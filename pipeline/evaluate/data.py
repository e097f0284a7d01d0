"""The claimed dataset split, loaded from the Hub with `datasets` (4 or later: data files only, it runs no
loading scripts).

With `--max-examples N` the split is streamed and only its first N rows are read, so a claim on a
large dataset costs the bytes of N rows. A whole split is downloaded only when the dataset's files
together fit in HUBMINE_EVAL_MAX_DATASET_BYTES.
"""

from __future__ import annotations

import os
from typing import Any

from huggingface_hub import HfApi

from pipeline import settings
from pipeline.errors import HubmineError, one_line


class DatasetUnavailable(HubmineError):
    """The claimed dataset, config or split could not be loaded."""


def load_split(dataset_id: str, config: str | None, split: str, max_examples: int | None) -> Any:
    """The first `max_examples` examples (all without it) of `dataset_id`'s `config` and `split`."""
    import datasets

    where = " ".join(part for part in (dataset_id, config, split) if part)
    _hub_only(dataset_id)
    try:
        if max_examples is not None:
            return _first_rows(
                datasets.load_dataset(dataset_id, config, split=split, streaming=True), max_examples
            )
        _check_size(dataset_id)
        return datasets.load_dataset(dataset_id, config, split=split)
    except DatasetUnavailable:
        raise
    except Exception as exc:  # a missing repo, config, split or file: whatever it is, the claim says why
        raise DatasetUnavailable(f"{where}: {type(exc).__name__}: {one_line(str(exc))[:300]}") from None


def _hub_only(dataset_id: str) -> None:
    """Refuse a name `datasets` would read from this machine instead of the Hub: a folder or file here
    (`data`, `tests`) or one of its packaged builders (`parquet`, `json`, `imagefolder`)."""
    from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES

    if dataset_id in _PACKAGED_DATASETS_MODULES or os.path.lexists(dataset_id):
        raise DatasetUnavailable(
            f"{dataset_id}: names a local path or a datasets builder, not a Hub dataset; not loaded"
        )


def _first_rows(stream: Any, n: int) -> Any:
    """The first `n` rows of a streamed split as a Dataset, taken as Arrow: no row is decoded or encoded
    again (audio stays bytes, for the task to decode)."""
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    features = stream.features
    if features is not None:
        for name, feature in features.items():
            if isinstance(feature, datasets.Audio):
                stream = stream.cast_column(
                    name, datasets.Audio(sampling_rate=feature.sampling_rate, decode=False)
                )
        features = stream.features
    batches = stream.with_format("arrow").iter(batch_size=n)
    table = next(iter(batches), None)
    if table is None:
        table = features.arrow_schema.empty_table() if features is not None else pa.table({})
    table = table.slice(0, n)
    if features is not None:
        table = table.cast(features.arrow_schema)
    return datasets.Dataset(InMemoryTable(table), info=datasets.DatasetInfo(features=features))


def _check_size(dataset_id: str) -> None:
    cap = settings.EVAL_MAX_DATASET_BYTES.read()
    info = HfApi().dataset_info(dataset_id, files_metadata=True)
    # File sizes where the server lists them, else the repository's storage (which counts its history).
    listed = sum(sibling.size or 0 for sibling in info.siblings or ())
    total = listed or info.used_storage or 0
    if total > cap:
        raise DatasetUnavailable(
            f"{dataset_id}: {total:,} bytes of files exceed HUBMINE_EVAL_MAX_DATASET_BYTES={cap:,}; "
            "use --max-examples to read only the first rows"
        )
