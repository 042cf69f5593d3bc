"""Mixed ANOVA against afex::aov_ez (Type III, ges, GG/HF), one set of assertions over every case.

Fixtures: tests/reference/stats/mixed_anova*.csv written by make_stats.R. Closed forms: 1e-10 relative
(p-values also 1e-15 absolute, because some are below 1e-100).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.stats import mixed_anova
from skintrial.stats._schema import MIXED_ANOVA_COLUMNS

REF = Path(__file__).resolve().parents[1] / "reference" / "stats"
CASES = pd.read_csv(REF / "mixed_anova_cases.csv")
EXPECTED = pd.read_csv(REF / "mixed_anova.csv")
RTOL = 1e-10


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=CASES["case"].tolist())
def test_matches_afex(case):
    data = pd.read_csv(REF / f"input_{case.input}.csv")
    out = mixed_anova(data, visits=case.visits.split(";")).tests
    assert tuple(out.columns) == MIXED_ANOVA_COLUMNS
    ref = EXPECTED[EXPECTED.case == case.case]
    ours = out.set_index(["outcome", "term"]).loc[list(zip(ref.outcome, ref.term, strict=True))]
    # an arm without complete cases is dropped as afex drops it, and the status says so
    assert ours.status.isin(["ok", "arm_dropped"]).all()
    assert_allclose(ours.n, ref.n)
    for col in ["num_df", "den_df", "f", "mse", "ges", "gg_eps", "hf_eps"]:
        assert_allclose(
            ours[col].to_numpy(float), ref[col].to_numpy(float), rtol=RTOL, equal_nan=True, err_msg=col
        )
    for col in ["p", "p_gg", "p_hf"]:
        assert_allclose(
            ours[col].to_numpy(float),
            ref[col].to_numpy(float),
            rtol=RTOL,
            atol=1e-15,
            equal_nan=True,
            err_msg=col,
        )


def test_two_visit_interaction_is_the_change_score_t_squared():
    """With two visits and two arms, F(arm:visit) = t² of the unadjusted change-score t-test."""
    from scipy import stats as sps

    data = pd.read_csv(REF / "input_anorexia.csv")
    data = data[data.arm != "FT"]
    out = mixed_anova(data, visits=["pre", "post"]).tests.set_index("term")
    w = data.pivot(index=["participant_id", "arm"], columns="visit", values="value").reset_index()
    ch = w["post"] - w["pre"]
    t = sps.ttest_ind(ch[w.arm == "CBT"], ch[w.arm == "Cont"]).statistic
    assert_allclose(out.loc["arm:visit", "f"], t**2, rtol=1e-10)


def test_degenerate_outcomes_get_a_status():
    rows = []
    for i in range(6):
        a = "A" if i < 3 else "B"
        rows += [(f"s{i}", a, v, "flat", 1.0) for v in ("v0", "v1", "v2")]
        rows += [(f"s{i}", "A", v, "one_arm", float(i + j)) for j, v in enumerate(("v0", "v1", "v2"))]
    data = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    data.loc[(data.outcome == "one_arm"), "arm"] = data.loc[(data.outcome == "flat"), "arm"].to_numpy()
    data = data[~((data.outcome == "one_arm") & (data.arm == "B") & (data.visit == "v2"))]
    out = mixed_anova(data).tests.drop_duplicates("outcome").set_index("outcome")
    assert out.loc["flat", "status"] == "no_residual_variance"
    assert out.loc["one_arm", "status"] == "too_few_arms"
    assert np.isnan(out["f"]).all()


def test_bad_visits():
    data = pd.read_csv(REF / "input_anorexia.csv")
    with pytest.raises(InputError, match="at least two"):
        mixed_anova(data, visits=["pre", "week99"])


def test_an_arm_without_complete_cases_is_named_in_the_status():
    import numpy as np
    import pandas as pd

    from skintrial.stats import mixed_anova

    rng = np.random.default_rng(1)
    rows = [
        (f"p{i}", "ABC"[i % 3], v, "y", float(rng.normal(k, 1)))
        for i in range(18)
        for k, v in enumerate(["w0", "w16"])
        if not ("ABC"[i % 3] == "C" and v == "w16")
    ]
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    res = mixed_anova(d, arms=["A", "B", "C"], visits=["w0", "w16"]).tests
    assert set(res["status"]) == {"arm_dropped"}  # not ANCOVA's arm_without_complete_cases, which means NaN
    assert res.query("term == 'arm'")["num_df"].item() == 1.0  # A and B still analysed
    assert res[["f", "p", "ges"]].notna().all().all()


def test_outcome_measured_at_some_visits_is_analysed_on_those():
    """VO2peak at week0 and week16 beside skin at three visits: a 2 x 2 ANOVA on its visits, equal to
    analysing it alone; an outcome seen at one visit only gets its own status."""
    rng = np.random.default_rng(2)
    rows = []
    for i in range(24):
        a = ("AT", "RT")[i % 2]
        for o in ("skin", "vo2", "once"):
            for v in ("week0", "week8", "week16"):
                if (o == "vo2" and v == "week8") or (o == "once" and v != "week0"):
                    continue
                rows.append((f"p{i}", a, v, o, rng.normal() + (v == "week16") * (a == "RT")))
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    res = mixed_anova(d).tests
    assert list(res["outcome"]) == ["once"] * 3 + ["skin"] * 3 + ["vo2"] * 3
    by = res.set_index(["outcome", "term"])
    assert (by.loc["once", "status"] == "measured_at_fewer_than_two_visits").all()
    assert (by.loc["skin", "n_visits"] == 3).all() and (by.loc["vo2", "n_visits"] == 2).all()
    alone = mixed_anova(d[d["outcome"] == "vo2"], visits=["week0", "week16"]).tests.set_index("term")
    assert_allclose(by.loc["vo2"][["f", "p", "ges"]], alone[["f", "p", "ges"]], rtol=1e-12)
    assert by.loc[("vo2", "arm:visit"), "n"] == 24
