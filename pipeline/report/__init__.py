"""Reports: Markdown and a self-contained HTML page with PNG figures, from a snapshot's findings."""

from pipeline.report.build import run_report

__all__ = ["run_report"]
