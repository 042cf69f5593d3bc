"""``report.docx``: the manuscript's tables, figures and methods as an editable Word document.

Written with python-docx. Tables are in the three-line journal style (a rule above and below the
header row and one below the last row, no vertical rules), numbers right-aligned to each outcome's
precision (:mod:`skintrial.report._format`), units in the row or column headers, and footnotes that
spell out abbreviations and name the tests:

* Table 1 — baseline characteristics by arm, ``n`` randomised in each arm's header;
* Table 2 — adjusted between-arm differences (the primary ANCOVA): difference, CI, p, adjusted p,
  grouped into primary, secondary and other outcomes;
* Table 3 — within-arm change from baseline to follow-up (description);
* Figure 1 — the CONSORT flow diagram (randomised designs), Figure 2 — the forest plot;
* the methods paragraph.
"""

from __future__ import annotations

import io
from datetime import datetime

from skintrial.report._context import Context
from skintrial.report._format import ci, count_of, fixed, pval

__all__ = ["report_docx", "journal_table"]

_RULE_THICK, _RULE_THIN = 12, 6  # eighths of a point: 1.5 pt and 0.75 pt


def _set_borders(cell, **edges: int) -> None:
    """Single rules of the given widths (eighths of a point) on the named edges of a cell."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, size in edges.items():
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)


def _cell_text(cell, text: str, *, right: bool = False, italic: bool = False, size: float = 9.0) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    para = cell.paragraphs[0]
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.space_before = Pt(0)
    if right:
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = para.add_run(text)
    run.font.size = Pt(size)
    run.italic = italic


def journal_table(
    doc,
    *,
    caption: str,
    headers: list[str],
    rows: list[list[str] | str],
    text_columns: int = 1,
    footnotes: list[str] = (),  # type: ignore[assignment]
) -> object:
    """Add a three-line table: ``caption`` above, ``footnotes`` below. A row given as a string is a
    group heading spanning the table (italic)."""
    from docx.shared import Pt

    title = doc.add_paragraph()
    head, _, rest = caption.partition(". ")
    title.add_run(head + ".").bold = True
    title.add_run(" " + rest)
    title.paragraph_format.space_after = Pt(3)
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.autofit = True
    for j, h in enumerate(headers):
        cell = table.rows[0].cells[j]
        _cell_text(cell, h, right=j >= text_columns)
        _set_borders(cell, top=_RULE_THICK, bottom=_RULE_THIN)
    for i, row in enumerate(rows, start=1):
        cells = table.rows[i].cells
        if isinstance(row, str):
            merged = cells[0].merge(cells[-1])
            _cell_text(merged, row, italic=True)
            continue
        for j, text in enumerate(row):
            indent = j == 0 and text.startswith("  ")
            _cell_text(cells[j], ("    " + text.strip()) if indent else text, right=j >= text_columns)
    for cell in table.rows[-1].cells:
        _set_borders(cell, bottom=_RULE_THICK)
    for note in footnotes:
        p = doc.add_paragraph()
        run = p.add_run(note)
        run.font.size = Pt(8.5)
        p.paragraph_format.space_after = Pt(0)
    doc.add_paragraph()
    return table


def _table1(ctx: Context) -> tuple[list[str], list[list[str] | str]]:
    from skintrial.report._sections import arm_sizes, baseline_rows

    sizes = arm_sizes(ctx)
    headers = ["Characteristic", *(f"{a} (n = {sizes[a]})" for a in ctx.res.study.arms)]
    rows: list[list[str] | str] = []
    for r in baseline_rows(ctx):
        name = f"  {r['variable']}" if r.get("level") else r["variable"]
        rows.append([name, *r["cells"]])
    return headers, rows


def _table2(ctx: Context) -> tuple[list[str], list[list[str] | str]]:
    from skintrial.report._methods import MULTIPLICITY

    s = ctx.res.study.spec
    a = s.analysis
    anc = ctx.res.table("ancova")
    groups = [
        ("Primary outcomes", list(a.primary)),
        ("Secondary outcomes", list(a.secondary or [])),
        ("Other outcomes", [o for o in s.outcomes if o not in a.primary and o not in (a.secondary or [])]),
    ]
    headers = [
        "Outcome (unit)",
        "Contrast",
        "n",
        "Adjusted difference",
        f"{a.ci_level:.0%} CI",
        "p",
        f"Adjusted p ({MULTIPLICITY.get(a.multiplicity, a.multiplicity)})",
    ]
    rows: list[list[str] | str] = []
    for title, outcomes in groups:
        part = anc[anc["outcome"].isin(outcomes)]
        if part.empty:
            continue
        rows.append(title)
        for o in [o for o in outcomes if o in set(part["outcome"])]:
            d = ctx.d(o)
            for k, r in enumerate(part[part["outcome"] == o].itertuples()):
                rows.append(
                    [
                        ctx.labelled(o) if k == 0 else "",
                        str(r.contrast),
                        count_of(r.n),
                        fixed(r.estimate, d),
                        ci(r.ci_low, r.ci_high, d),
                        pval(r.p),
                        pval(r.p_adj),
                    ]
                )
    return headers, rows


def _table3(ctx: Context) -> tuple[list[str], list[list[str] | str]] | None:
    from skintrial.report._sections import change_rows

    t = ctx.res.get("change")
    if t is None or t.empty:
        return None
    level = float(t["ci_level"].iloc[0])
    headers = ["Outcome (unit)", "Arm", "n", "Mean change ± SD", f"{level:.0%} CI", "Change (%)"]
    rows: list[list[str] | str] = []
    last = None
    for r in change_rows(ctx):
        rows.append([r[0] if r[0] != last else "", *r[1:]])
        last = r[0]
    return headers, rows


def _picture(doc, png: bytes, caption: str) -> None:
    from docx.shared import Inches, Pt

    doc.add_picture(io.BytesIO(png), width=Inches(6.0))
    p = doc.add_paragraph()
    head, _, rest = caption.partition(". ")
    p.add_run(head + ".").bold = True
    run = p.add_run(" " + rest)
    run.font.size = Pt(9)


def report_docx(ctx: Context) -> bytes:
    """The manuscript document of the run as ``.docx`` bytes (figures from ``ctx.figures``' files)."""
    from docx import Document
    from docx.shared import Pt

    from skintrial.report._methods import methods_text
    from skintrial.report._sections import model_words

    res = ctx.res
    s = res.study.spec
    a = s.analysis
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(11)
    created = str(res.provenance.get("created_utc", ""))
    core = doc.core_properties
    core.title = s.study.name
    core.author = "skintrial"
    core.comments = f"skintrial {res.provenance.get('skintrial_version', '')}"
    try:
        core.created = core.modified = datetime.fromisoformat(created).replace(tzinfo=None)
    except ValueError:
        pass
    doc.add_heading(s.study.name, level=1)
    abbreviations = "SD, standard deviation; CI, confidence interval"
    headers, rows = _table1(ctx)
    journal_table(
        doc,
        caption="Table 1. Baseline characteristics by arm.",
        headers=headers,
        rows=rows,
        footnotes=[
            "Values are mean ± SD or n (%); n in each header: participants randomised to the arm. "
            "No significance tests of baseline differences between randomised arms (CONSORT).",
            f"{abbreviations}.",
        ],
    )
    headers, rows = _table2(ctx)
    family = (
        "within the primary and within the secondary outcomes"
        if a.secondary
        else "across the primary outcomes"
    )
    journal_table(
        doc,
        caption=f"Table 2. Between-arm differences at {res.followup_visit}, adjusted for baseline (ANCOVA).",
        headers=headers,
        rows=rows,
        text_columns=2,
        footnotes=[
            f"{model_words(ctx)} (the primary analysis), complete cases; the adjusted difference is the "
            f"between-arm effect in the outcome's unit, with its {a.ci_level:.0%} t-interval. p-values "
            f"adjusted for multiplicity {family}; p below 0.001 is shown as <0.001.",
            f"ANCOVA, analysis of covariance; {abbreviations}.",
        ],
    )
    table3 = _table3(ctx)
    if table3 is not None:
        headers, rows = table3
        journal_table(
            doc,
            caption=f"Table 3. Within-arm change from {s.study.baseline_visit} to {res.followup_visit}.",
            headers=headers,
            rows=rows,
            text_columns=2,
            footnotes=[
                "Participants with both values; change (%) is the mean change over the arm's baseline "
                "mean. Within-arm changes are descriptive: the between-arm comparison is Table 2.",
                f"{abbreviations}.",
            ],
        )
    figures = ctx.figures.rendered
    number = 1
    if "figures/flow-consort.png" in figures:
        _picture(
            doc,
            figures["figures/flow-consort.png"],
            f"Figure {number}. CONSORT flow diagram: participants randomised, lost to follow-up and "
            "analysed in each arm.",
        )
        number += 1
    if "figures/outcomes-forest.png" in figures:
        _picture(
            doc,
            figures["figures/outcomes-forest.png"],
            f"Figure {number}. Adjusted between-arm differences (ANCOVA) with {a.ci_level:.0%} CIs, in "
            "baseline-SD units (Hedges' g scale); red: adjusted p < " + f"{a.alpha:g}.",
        )
    doc.add_heading("Methods", level=2)
    doc.add_paragraph(methods_text(res))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
