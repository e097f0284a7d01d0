"""Snapshots on disk: layout, manifests, atomic writes, batched Parquet parts and the raw archive."""
