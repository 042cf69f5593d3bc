"""Render :class:`~skintrial.pipeline.TrialResults` into one self-contained HTML file.

The page has no external resources (no CDN, no fonts, no scripts): CSS is inline and figures are
embedded as ``data:`` SVG images, so it opens offline and can be archived with the results. Every
string that comes from input files is HTML-escaped by Jinja2's autoescaping.
"""

from __future__ import annotations

from pathlib import Path

from skintrial.pipeline import TrialResults

__all__ = ["render_report", "write_report"]


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("skintrial.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(results: TrialResults) -> str:
    """The report as an HTML string."""
    from skintrial.report._sections import build_sections, summary

    template = _environment().get_template("report.html.j2")
    return template.render(
        summary=summary(results),
        sections=build_sections(results),
        version=results.provenance.get("skintrial_version", ""),
    )


def write_report(results: TrialResults, path: Path | str) -> Path:
    """Write the report to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(render_report(results), encoding="utf-8")
    return path
