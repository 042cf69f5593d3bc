"""report.docx read back: the journal tables, their cells, the CONSORT figure and the methods."""

from __future__ import annotations

import io

import pytest

from skintrial.report import report_files

docx = pytest.importorskip("docx")


@pytest.fixture(scope="module")
def document(demo_results):
    files = report_files(demo_results)
    return docx.Document(io.BytesIO(files["report.docx"])), files


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def _captions(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.startswith(("Table ", "Figure "))]


def test_three_tables_with_captions_in_order(document):
    doc, _ = document
    assert len(doc.tables) == 3
    caps = _captions(doc)
    assert [c.split(".")[0] for c in caps] == ["Table 1", "Table 2", "Table 3", "Figure 1", "Figure 2"]
    assert "Baseline characteristics by arm" in caps[0] and "ANCOVA" in caps[1] and "Within-arm" in caps[2]


def test_table1_has_n_per_arm_and_labelled_rows(document, demo_results):
    doc, _ = document
    rows = _rows(doc.tables[0])
    flow = demo_results.table("flow")
    n = flow[flow["stage"] == "randomised"].set_index("arm")["n"]
    assert rows[0] == ["Characteristic", *(f"{a} (n = {n[a]})" for a in demo_results.study.arms)]
    names = [r[0] for r in rows[1:]]
    assert "Age, mean ± SD" in names and "Sex, n (%)" in names
    assert not any(name.startswith(("sex", "age_group")) for name in names), "labels, not internal names"
    age = rows[names.index("Age, mean ± SD") + 1]
    assert all(" ± " in c and c.split(" ± ")[0].count(".") == 1 for c in age[1:])


def test_table2_gives_adjusted_differences_cis_and_adjusted_p(document, demo_results):
    doc, _ = document
    rows = _rows(doc.tables[1])
    assert rows[0][:4] == ["Outcome (unit)", "Contrast", "n", "Adjusted difference"]
    assert rows[0][4] == "95% CI" and rows[0][5] == "p" and rows[0][6] == "Adjusted p (Holm)"
    assert rows[1][0] == "Primary outcomes" and any(r[0] == "Secondary outcomes" for r in rows)
    r2 = next(r for r in rows if r[0] == "Gross elasticity R2 (cheek) (ratio)")
    anc = demo_results.table("ancova").set_index("outcome").loc["r2"]
    assert r2[1] == anc["contrast"] and r2[2] == str(anc["n"])
    assert r2[3] == f"{anc['estimate']:.3f}".replace("-", "−")
    assert r2[4] == f"{anc['ci_low']:.3f} to {anc['ci_high']:.3f}".replace("-", "−")
    assert r2[5] in (f"{anc['p']:.3f}", "<0.001")


def test_table3_is_the_within_arm_change(document, demo_results):
    doc, _ = document
    rows = _rows(doc.tables[2])
    assert rows[0] == ["Outcome (unit)", "Arm", "n", "Mean change ± SD", "95% CI", "Change (%)"]
    assert len(rows) - 1 == len(demo_results.table("change"))
    assert all(r[5].endswith("%") for r in rows[1:] if r[5] != "–")


def test_tables_are_three_line_tables(document):
    doc, _ = document
    from docx.oxml.ns import qn

    for table in doc.tables:
        head = table.rows[0].cells[0]._tc.tcPr.find(qn("w:tcBorders"))
        last = table.rows[-1].cells[0]._tc.tcPr.find(qn("w:tcBorders"))
        assert head.find(qn("w:top")) is not None and head.find(qn("w:bottom")) is not None
        assert last.find(qn("w:bottom")) is not None
        middle = table.rows[len(table.rows) // 2].cells[1]._tc.tcPr
        assert middle is None or middle.find(qn("w:tcBorders")) is None, "no rules inside the body"


def test_consort_and_forest_figures_and_the_methods(document):
    doc, files = document
    assert len(doc.inline_shapes) == 2
    blobs = [
        doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        for s in doc.inline_shapes
    ]
    assert blobs[0] == files["figures/flow-consort.png"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Methods" in text and "The primary analysis was an analysis of covariance" in text
    assert "seed None" not in text
