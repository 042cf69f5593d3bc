"""overlays/index.html: every overlay on one page, flagged scans first, names escaped."""

from __future__ import annotations

import pandas as pd

from skintrial.instruments._study_layer import _contact_sheet


def test_contact_sheet_lists_flagged_overlays_first_and_escapes_names():
    files = pd.DataFrame(
        {
            "file": ["scans/a.dcm", "scans/b<x>.dcm", "scans/c.dcm", "curve.csv"],
            "instrument": ["ultrasound", "ultrasound", "ultrasound", "cutometer"],
            "qc": ["", "low_contrast", "error: unreadable", "probe_slip"],
        }
    )
    overlays = {"overlays/a.png": b"1", "overlays/b<x>.png": b"2"}
    page = _contact_sheet(files, overlays)["overlays/index.html"].decode("utf-8")
    assert page.index("b&lt;x&gt;.png") < page.index('src="a.png"')
    assert "<b>low_contrast</b>" in page and "b<x>" not in page
    assert page.count("<figure") == 2 and 'class="flagged"' in page


def test_contact_sheet_links_the_flagged_curves_page_only_when_there_is_one():
    files = pd.DataFrame({"file": ["scans/a.dcm"], "instrument": ["ultrasound"], "qc": [""]})
    overlays = {"overlays/a.png": b"1"}
    without = _contact_sheet(files, overlays)["overlays/index.html"].decode("utf-8")
    linked = _contact_sheet(files, overlays, n_flagged_curves=30)["overlays/index.html"].decode("utf-8")
    assert "flagged_curves.html" not in without
    assert 'Flagged Cutometer curves (30 files): <a href="flagged_curves.html">' in linked
