"""The report: one self-contained HTML file (tables, figures, methods, exclusions) from pipeline results."""

from skintrial.report._html import render_report, write_report
from skintrial.report._plan_text import (
    PlanPage,
    analysis_sentence,
    bound_note,
    effect_note,
    gpower_sentence,
    plan_note_text,
    plan_notes,
    power_simulation_sentence,
    render_plan,
)

__all__ = [
    "render_report",
    "write_report",
    "PlanPage",
    "render_plan",
    "plan_notes",
    "plan_note_text",
    "analysis_sentence",
    "effect_note",
    "bound_note",
    "gpower_sentence",
    "power_simulation_sentence",
]
