"""Single-arm change from baseline against R ``t.test(paired = TRUE)`` and ``wilcox.test(paired = TRUE)``
(``tests/reference/designs/make_designs.R``: MASS::anorexia family-therapy arm, datasets::sleep with
zeros and ties, ChickWeight diet 1 with two follow-ups and chicks lost).

Tolerance: 1e-10 relative (closed forms; p-values also 1e-15 absolute).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import PAIRED_CHANGE_COLUMNS, paired_change, signed_rank_test

REF = Path(__file__).resolve().parents[1] / "reference" / "designs"
CASES = pd.read_csv(REF / "paired_cases.csv", keep_default_na=False)
PAIRED = pd.read_csv(REF / "paired.csv")
RTOL = 1e-10


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=CASES["case"].tolist())
def test_matches_r(case):
    data = pd.read_csv(REF / f"paired_input_{case.input}.csv").assign(arm="single")
    visits = [case.baseline_visit, *case.followups.split(";")]
    res = paired_change(data, baseline_visit=case.baseline_visit, visits=visits)
    assert tuple(res.contrasts.columns) == PAIRED_CHANGE_COLUMNS
    ref = PAIRED[PAIRED.case == case.case]
    ours = res.contrasts.set_index(["outcome", "visit"]).loc[list(zip(ref.outcome, ref.visit, strict=True))]
    assert (ours["n"].to_numpy() == ref.n.to_numpy()).all() and (ours["status"] == "ok").all()
    pairs = {
        "estimate": "mean_change",
        "sd_change": "sd_change",
        "se": "se",
        "ci_low": "ci_low",
        "ci_high": "ci_high",
        "t": "t",
        "df": "df",
        "p": "p",
        "effect_size": "d_z",
        "percent_change": "percent_change",
        "wilcoxon_v": "wilcoxon_v",
        "wilcoxon_p": "wilcoxon_p",
    }
    for col, rcol in pairs.items():
        assert_allclose(
            ours[col].to_numpy(float),
            ref[rcol].to_numpy(float),
            rtol=RTOL,
            atol=1e-15 if col.endswith("p") else 0,
            err_msg=col,
        )
    assert (ours["contrast"] == [f"{v} - {case.baseline_visit}" for v in ref.visit]).all()


def test_exact_and_normal_wilcoxon_as_r_chooses():
    sleep = PAIRED[PAIRED.case == "sleep"].iloc[0]  # a zero and ties: normal approximation
    data = pd.read_csv(REF / "paired_input_sleep.csv").assign(arm="single")
    res = paired_change(data, baseline_visit="drug1")
    assert res.contrasts["wilcoxon_method"].tolist() == ["normal"]
    assert res.contrasts["wilcoxon_p"].iloc[0] == pytest.approx(sleep.wilcoxon_p, rel=1e-12)
    v, p, how = signed_rank_test(np.array([0.5, -0.2, 1.1, 0.9, 2.0]))  # no ties, no zeros: exact
    assert (v, how) == (14.0, "exact") and p == pytest.approx(2 * 2 / 32)  # P(V >= 14) = 2/32


def test_statuses_and_one_pair():
    d = pd.DataFrame(
        {
            "participant_id": ["a", "b", "a", "b", "a"],
            "arm": "single",
            "visit": ["w0", "w0", "w8", "w8", "w16"],
            "outcome": "x",
            "value": [1.0, 2.0, 1.5, 2.5, 3.0],
        }
    )
    res = paired_change(d, baseline_visit="w0", visits=["w0", "w8", "w16"])
    st = res.contrasts.set_index("visit")["status"].to_dict()
    assert st == {"w8": "constant_change", "w16": "too_few_observations"}
    assert res.contrasts["p"].isna().all()


def test_each_arm_alone_never_between_arms():
    data = pd.read_csv(REF / "paired_input_anorexia_ft.csv")
    data = data.assign(arm=np.where(data["participant_id"] < "a09", "A", "B"))
    res = paired_change(data, baseline_visit="pre", visits=["pre", "post"])
    assert sorted(res.contrasts["arm"]) == ["A", "B"]
    assert set(res.contrasts["contrast"]) == {"post - pre"}


def test_clda_with_one_arm_matches_nlme_gls():
    """cLDA of a single arm keeps the chicks lost before day 21: the change from baseline per visit
    against nlme::gls (unstructured covariance, REML); tolerances of tests/stats/test_clda.py."""
    from skintrial.stats import clda

    data = pd.read_csv(REF / "paired_input_chick_diet1.csv").assign(arm="single")
    ref = pd.read_csv(REF / "clda_one_arm.csv")
    res = clda(data, baseline_visit="day00", visits=["day00", "day10", "day21"])
    ours = res.tables()["clda"].set_index("visit").loc[ref.visit]
    assert ours["contrast"].tolist() == ref.contrast.tolist() and (ours["status"] == "ok").all()
    assert ours["primary_visit"].tolist() == [False, True]
    assert np.all(np.abs(ours["estimate"].to_numpy() - ref.estimate.to_numpy()) <= 2e-6 * ref.se.to_numpy())
    assert_allclose(ours["se"], ref.se, rtol=2e-6)
    assert_allclose(ours["df"], ref.df, rtol=0, atol=0)
    assert_allclose(ours["p"], ref.p, rtol=1e-4, atol=1e-12)
    assert ours["effect_size"].isna().all() and (ours["n"] == 20).all()
