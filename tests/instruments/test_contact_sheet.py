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
