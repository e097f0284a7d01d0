"""hubmine: mine the Hugging Face model registry into Parquet snapshots and measure them."""

__version__ = "0.1.0"
