"""The table schema files, shipped in the wheel as `pipeline.schema_files` (package data)."""
