"""The report: one self-contained HTML file (tables, figures, methods, exclusions) from pipeline results,
with report.docx (manuscript tables), figures/ (SVG, PDF, PNG) and, on request, report.pdf."""

from skintrial.report._fig_planning import PLAN_GENERATOR
from skintrial.report._html import render_report, report_files, write_report
from skintrial.report._pdf import pdf_engine, require_pdf_engine, write_pdf
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
    "PLAN_GENERATOR",
    "render_report",
    "write_report",
    "report_files",
    "write_pdf",
    "pdf_engine",
    "require_pdf_engine",
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
