"""Measures across time: snapshots compared, and the histories of repositories."""
