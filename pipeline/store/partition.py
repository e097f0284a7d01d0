"""Split rows keyed by model id into parts, so that each part can be worked on alone in bounded memory."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def write_partitions(
    chunks: Iterable[pa.Table | pa.RecordBatch], schema: pa.Schema, paths: list[Path]
) -> None:
    """Write `chunks` into the Parquet files `paths` by crc32(model_id) % len(paths): a model id lands in
    the same part whatever it is read with, so two tables split alike can be joined part by part."""
    writers = [pq.ParquetWriter(path, schema) for path in paths]
    try:
        for chunk in chunks:
            ids = chunk.column("model_id").to_pylist()
            owner = pa.array([zlib.crc32(model_id.encode()) % len(paths) for model_id in ids], pa.int64())
            for index, writer in enumerate(writers):
                writer.write(chunk.filter(pc.equal(owner, index)))
    finally:
        for writer in writers:
            writer.close()
