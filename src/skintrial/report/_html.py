"""Render :class:`~skintrial.pipeline.TrialResults` into the report's files.

``report.html`` is one self-contained file: CSS and a small hand-written script (``report.css``,
``report.js`` beside the templates) are inline, figures are embedded as ``data:`` SVG images, and no
resource is fetched (no CDN, no fonts), so it opens offline and can be archived with the results. The
page reads fully without JavaScript; the script adds sorting, filtering and the full data tables.
Every string that comes from input files is HTML-escaped by Jinja2's autoescaping (JSON for the
script is escaped by :func:`skintrial.report._datatable.script_json`).

Beside it: ``report.docx`` (the manuscript tables, :mod:`skintrial.report._docx`) and ``figures/``
(every figure as SVG, PDF and 300-dpi PNG, docs/report.md).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from skintrial.pipeline import TrialResults

__all__ = ["render_report", "report_files", "write_report"]


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("skintrial.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    return (resources.files("skintrial.report") / "templates" / name).read_text(encoding="utf-8")


def _render(ctx) -> str:
    from skintrial.report._sections import build_sections, summary

    template = _environment().get_template("report.html.j2")
    return template.render(
        summary=summary(ctx),
        sections=build_sections(ctx),
        version=ctx.res.provenance.get("skintrial_version", ""),
        css=_asset("report.css"),
        js=_asset("report.js"),
    )


def render_report(results: TrialResults) -> str:
    """The report page as an HTML string (its figures rendered for the page only)."""
    from skintrial.report._context import make_context

    return _render(make_context(results, files=False))


def report_files(results: TrialResults) -> dict[str, bytes | str]:
    """Every file of the report by path relative to the output folder: ``report.html``,
    ``report.docx`` and ``figures/<name>.svg|pdf|png`` (each figure rendered once for all of them)."""
    from skintrial.report._context import make_context
    from skintrial.report._docx import report_docx
    from skintrial.report._docx_design import design_docx

    ctx = make_context(results, files=True)
    html = _render(ctx)
    docx = report_docx(ctx) if results.study.spec.study.randomised else design_docx(ctx)
    return {"report.html": html, "report.docx": docx, **ctx.figures.rendered}


def write_report(results: TrialResults, path: Path | str) -> Path:
    """Write ``report.html`` to ``path`` and the report's other files (:func:`report_files`) beside it,
    all or none of them (:func:`skintrial._io.write_files`); return the path of the page."""
    from skintrial._io import write_files

    path = Path(path)
    files = report_files(results)
    html = files.pop("report.html")
    write_files({path: html, **{path.parent / name: data for name, data in files.items()}})
    return path
