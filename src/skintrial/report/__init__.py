"""The report: one self-contained HTML file (tables, figures, methods, exclusions) from pipeline results."""

from skintrial.report._html import render_report, write_report

__all__ = ["render_report", "write_report"]
