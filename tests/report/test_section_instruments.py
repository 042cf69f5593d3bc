"""The report's instruments section: overlays are chosen among the overlay assets only."""

from __future__ import annotations

import pandas as pd

from skintrial.pipeline import TrialResults
from skintrial.report._context import Context
from skintrial.report._figures import FigureSet
from skintrial.report._section_instruments import N_OVERLAYS, build
from skintrial.stage import StageResult


def test_overlays_are_filtered_before_the_first_few_are_taken():
    files = pd.DataFrame({"file": ["a.dcm", "b.dcm"], "instrument": "ultrasound", "qc": ["", ""]})
    assets = {f"aaa_other/{i}.png": b"x" for i in range(N_OVERLAYS + 2)}  # sorts before overlays/
    assets |= {"overlays/b.png": b"\x89PNG b", "overlays/a.png": b"\x89PNG a"}
    stage = StageResult(stage="instruments", tables={"instrument_files": files}, assets=assets)
    res = TrialResults(study=None, stages=(stage,))  # type: ignore[arg-type]
    section = build(Context(res=res, labels={}, decimals={}, figures=FigureSet(files=False)))[0]
    assert [o["name"] for o in section["overlays"]] == ["a.png", "b.png"]
    assert section["n_overlays"] == 2
    assert [name for _, name, _ in section["legend"]] == ["yellow", "cyan", "magenta", "green", "red"]


def _curve(file: str, mid: str) -> pd.DataFrame:
    t = pd.Series([0.0, 0.5, 1.0, 1.5, 2.0])
    return pd.DataFrame(
        {"file": file, "measurement_id": mid, "time_s": t, "deformation_mm": 0.1 * t, "pressure_mbar": 0.0}
    )


def test_flagged_files_come_first_and_flagged_curves_are_drawn():
    files = pd.DataFrame(
        {
            "file": ["c1.csv", "c2.csv", "c3.csv", "s1.dcm", "s2.dcm", "s3.dcm"],
            "instrument": ["cutometer"] * 3 + ["ultrasound"] * 3,
            "qc": ["", "probe_slip", "phases_inferred", "", "low_contrast", ""],
        }
    )
    curves = pd.concat([_curve("c1.csv", "a"), _curve("c2.csv", "b"), _curve("c3.csv", "c")])
    assets = {f"overlays/s{i}.png": b"\x89PNG" for i in (1, 2, 3)} | {"overlays/index.html": b"<html>"}
    tables = {"instrument_files": files, "cutometer_curves": curves}
    info = {"informational_flags": ["phases_inferred"]}
    stage = StageResult(stage="instruments", tables=tables, assets=assets, settings=info)
    res = TrialResults(study=None, stages=(stage,))  # type: ignore[arg-type]
    figures = FigureSet(files=False)
    section = build(Context(res=res, labels={}, decimals={}, figures=figures))[0]
    assert [o["name"] for o in section["overlays"]] == ["s2.png", "s1.png", "s3.png"]
    assert [o["qc"] for o in section["overlays"]] == ["low_contrast", "", ""]
    assert section["n_flagged_overlays"] == 1
    assert section["flagged_curves"] is not None and section["curves"] is not None
    # informational flags are not "flagged": phases_inferred is used, and drawn with the clean curves
    assert [r[0] for r in section["flagged"]] == ["c2.csv", "s2.dcm"]


def _two_measurement_section(curve_rows):
    files = pd.DataFrame(
        {
            "file": ["long.csv"] * 3 + ["one.csv"],
            "measurement_id": ["m1", "m2", "m5", "x"],
            "instrument": "cutometer",
            "qc": ["", "drift", "clipped;phases_inferred", "slip"],
        }
    )
    tables = {"instrument_files": files, "cutometer_curves": curve_rows}
    assets = {"overlays/flagged_curves.html": b"<html>"}
    info = {"informational_flags": ["phases_inferred"]}
    stage = StageResult(stage="instruments", tables=tables, assets=assets, settings=info)
    res = TrialResults(study=None, stages=(stage,))  # type: ignore[arg-type]
    return build(Context(res=res, labels={}, decimals={}, figures=FigureSet(files=False)))[0]


def test_a_file_with_several_measurements_lists_every_flag_and_draws_flagged_ones_apart(monkeypatch):
    import skintrial.report._section_instruments as sec

    drawn = {}
    real = sec._flagged_curves_figure

    def spy(curves, flags, bad):
        fig = real(curves, flags, bad)
        drawn["fig"] = fig
        return fig

    monkeypatch.setattr(sec, "_flagged_curves_figure", spy)
    curves = pd.concat([_curve("long.csv", m) for m in ("m1", "m2", "m5")])
    section = _two_measurement_section(curves)
    assert section["flagged_curves"] is not None
    fig = drawn["fig"]
    ax = fig.axes[0]
    assert "m2: drift" in ax.get_title() and "m5: clipped" in ax.get_title()
    colours = [line.get_color() for line in ax.get_lines()]
    assert len(set(colours)) == 2 and colours[0] != colours[1] == colours[2]  # m1 clean, m2 and m5 flagged
    (legend,) = fig.legends
    assert {t.get_text() for t in legend.get_texts()} == {
        "flagged measurement",
        "clean measurement (same file)",
    }
    fig.canvas.draw()
    box, page = legend.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    # the caption counts: one of the two flagged files is drawn here, the page holds both
    assert section["n_flagged_curves"] == 2 and section["n_flagged_curves_drawn"] == 1
    assert section["flagged_curves_page"] == "overlays/flagged_curves.html"


def test_the_page_says_how_many_flagged_curves_it_shows_and_links_the_rest():
    from skintrial.report._html import _environment

    curves = pd.concat([_curve("long.csv", m) for m in ("m1", "m2", "m5")])
    section = _two_measurement_section(curves)
    section["flagged_curves"] = {"uri": "data:,", "name": "x", "hotspots": []}
    page = _environment().get_template("section_instruments.html.j2").render(s=section)
    assert "1 of the 2 flagged files shown here" in page
    assert "The other 1 flagged Cutometer files are not drawn in this report; all 2" in page
    assert '<a href="overlays/flagged_curves.html">' in page
