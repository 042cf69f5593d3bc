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
