"""The documented example bundle stays valid and analysable (docs/bundle.md points to it)."""

from __future__ import annotations

from pathlib import Path

from skintrial.pipeline import analyse
from skintrial.study import load_study, validate_study

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example_bundle"


def test_example_bundle_is_valid_and_runs():
    assert validate_study(EXAMPLE) == []
    study = load_study(EXAMPLE)
    r2 = study.measurements.query("outcome == 'r2'")
    assert (r2["n_replicates"] == 3).all()  # replicates combined by the declared median rule
    res = analyse(study)
    anc = res.tables["ancova"]
    assert sorted(anc["contrast"].unique()) == ["AT - CON", "RT - CON"]
    n = anc.groupby("contrast")["n"].unique().apply(list).to_dict()
    assert n == {"AT - CON": [6], "RT - CON": [5]}  # 3 + 3, and 3 + 3 minus E09 (withdrawn from RT)
    assert list(res.tables["exclusions"]["participant_id"].unique()) == ["E09"]
