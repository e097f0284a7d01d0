"""Measures: one module per finding, each reading snapshot tables and writing Parquet under `findings/`."""
