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
