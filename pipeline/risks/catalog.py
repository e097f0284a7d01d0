"""Every step of `hubmine risks`, registered once, in the order they run."""

from __future__ import annotations

from pipeline.risks.registry import RiskStep

STEPS: tuple[RiskStep, ...] = ()
