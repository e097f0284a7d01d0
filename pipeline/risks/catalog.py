"""Every step of `hubmine risks`, registered once, in the order they run."""

from __future__ import annotations

from pipeline.risks import maintainers, pickles, scan_status, signatures
from pipeline.risks.registry import RiskStep

STEPS: tuple[RiskStep, ...] = (scan_status.STEP, pickles.STEP, signatures.STEP, maintainers.STEP)
