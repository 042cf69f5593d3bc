"""``report.docx`` of a study that is not randomised (issue 11): the design named, the characteristics by
group, the design's own analysis tables and figures, and the methods paragraph, in the journal style of
:mod:`skintrial.report._docx` (and never the word "randomised")."""

from __future__ import annotations

import io

from skintrial.report._context import Context
from skintrial.report._docx import _picture, journal_table
from skintrial.report._section_design import DESIGN_TITLES, NO_CONTROL, OBSERVATIONAL, build

__all__ = ["design_docx"]


def _rows(section: dict) -> tuple[list[str], list[list[str] | str]]:
    return list(section["headers"]), [list(r) for r in section["rows"]]


def design_docx(ctx: Context) -> bytes:
    """The manuscript document of a cross-sectional or single-arm study as ``.docx`` bytes."""
    from docx import Document
    from docx.shared import Pt

    from skintrial.report._methods import methods_text

    res = ctx.res
    s = res.study.spec
    design = s.study.design
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(11)
    doc.core_properties.title = s.study.name
    doc.core_properties.author = "skintrial"
    doc.add_heading(s.study.name, level=1)
    doc.add_paragraph(
        f"{DESIGN_TITLES[design]}. {OBSERVATIONAL if design == 'cross_sectional' else NO_CONTROL}"
    )
    sections = {sec["id"]: sec for sec in build(ctx, figures=False) or []}
    number = 1
    for key, caption in (
        (
            "characteristics",
            "Characteristics by group." if design == "cross_sectional" else "Baseline characteristics.",
        ),
        ("group-comparison", "Adjusted differences between groups."),
        ("two-way-anova", "Two-way ANOVA."),
        ("simple-effects", "Group differences within each level of the second factor."),
        ("change", "Change from baseline."),
        ("clda", "cLDA: change from baseline at every visit, every participant's values."),
    ):
        sec = sections.get(key)
        if sec is None or "headers" not in sec:
            continue
        headers, rows = _rows(sec)
        journal_table(
            doc,
            caption=f"Table {number}. {caption}",
            headers=headers,
            rows=rows,
            text_columns=int(sec.get("text_columns", 1)),
            footnotes=[n for n in (sec.get("intro", ""), sec.get("note", "")) if n],
        )
        number += 1
    figures = ctx.figures.rendered
    k = 1
    for name, png in figures.items():
        if name.endswith(".png") and (
            name.startswith("figures/interaction-") or name.startswith("figures/flow-")
        ):
            _picture(
                doc,
                png,
                f"Figure {k}. {name.removeprefix('figures/').removesuffix('.png').replace('-', ' ')}.",
            )
            k += 1
    doc.add_heading("Methods", level=2)
    doc.add_paragraph(methods_text(res))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
