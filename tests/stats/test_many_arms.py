"""Dunnett and Tukey single-step inference for ANCOVA contrasts against R multcomp::glht
(tests/reference/many_arms/make_many_arms.R, versions.txt beside it).

Tolerances: estimates, SEs, t and df are closed forms (1e-10 relative). The adjusted p-values and the
critical values are multivariate-t integrals: ours by randomised quasi-Monte-Carlo (262,144 points,
Monte-Carlo SE reported, at most 4e-5 here), R's by Genz-Bretz at abseps = 1e-6 (which warned once that
it missed that target). Largest differences seen: 3e-5 absolute in p_adj, 1.5e-4 relative in the
critical value; asserted at 1e-4 absolute and 5e-4 relative. emmeans' ``adjust = "mvt"`` (the same
exact procedure at emmeans' default precision) within 5e-4. emmeans' named adjustments ("dunnettx",
"tukey" = Tukey-Kramer's studentized range) are approximations with covariates or unequal arms (up to
0.03 away in these cases); the fixture records them, they are not matched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import ancova
from skintrial.stats.many_arms import many_arm_contrasts

REF = Path(__file__).parents[1] / "reference"
CASES = {
    "anorexia": ("anorexia", "pre", "post", ["Cont", "CBT", "FT"], []),
    "baumann": ("baumann", "pre", "post", ["Basal", "DRTA", "Strat"], []),
    "chickweight": ("chickweight", "day00", "day21", ["diet1", "diet2", "diet3", "diet4"], []),
    "synthetic_covariates": ("synthetic", "pre", "post", ["A", "B", "C"], ["age", "sex"]),
}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REF / "many_arms" / "many_arms.csv")


def _run(case: str, family: str, **kw) -> pd.DataFrame:
    inp, pre, post, arms, cov = CASES[case]
    d = pd.read_csv(REF / "stats" / f"input_{inp}.csv")
    return many_arm_contrasts(
        d, baseline_visit=pre, followup_visit=post, arms=arms, covariates=cov, family=family, **kw
    )


@pytest.mark.parametrize("family", ["dunnett", "tukey"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_against_multcomp(reference, case, family):
    ref = reference[(reference["case"] == case) & (reference["family"] == family)]
    ours = _run(case, family)
    m = ref.merge(ours, on=["outcome", "contrast"], suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(ref) > 0
    assert (m["status"] == "ok").all()
    for col in ["estimate", "se", "t", "df"]:
        assert_allclose(m[col], m[f"{col}_r"], rtol=1e-10)
    assert_allclose(m["p_adj"], m["p_adj_r"], atol=1e-4, rtol=0)
    assert_allclose(m["critical"], m["critical_r"], rtol=5e-4)
    assert_allclose(m["ci_low"], m["ci_low_r"], rtol=5e-4, atol=5e-4 * m["se"].max())
    assert_allclose(m["ci_high"], m["ci_high_r"], rtol=5e-4, atol=5e-4 * m["se"].max())
    assert (m["mc_error"] < 1e-4).all()
    # emmeans' adjust = "mvt" is the same procedure with emmeans' default integration (abseps 1e-3):
    # largest difference seen 1.6e-4
    assert_allclose(m["p_adj"], m["p_adj_emmeans_mvt"], atol=5e-4, rtol=0)


def test_adjusted_not_below_raw_and_monotone_in_t():
    r = _run("baumann", "tukey")
    assert (r["p_adj"] >= r["p"] - 1e-12).all()
    for _, g in r.groupby("outcome"):
        order = np.argsort(-np.abs(g["t"].to_numpy()))
        assert np.all(np.diff(g["p_adj"].to_numpy()[order]) >= 0)


def test_same_seed_same_answer_and_seed_recorded():
    a, b = _run("anorexia", "dunnett", seed=7), _run("anorexia", "dunnett", seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert (a["seed"] == 7).all()


def test_two_arms_is_the_t_test_exactly():
    d = pd.read_csv(REF / "stats" / "input_anorexia.csv")
    d = d[d["arm"] != "FT"]
    r = many_arm_contrasts(d, baseline_visit="pre", followup_visit="post", arms=["Cont", "CBT"])
    a = ancova(d, baseline_visit="pre", followup_visit="post", arms=["Cont", "CBT"], reference_arm="Cont")
    c = a.contrasts
    assert_allclose(r["p_adj"], c["p"], rtol=1e-14)
    assert_allclose(r["ci_low"], c["ci_low"], rtol=1e-12)
    assert (r["mc_error"] == 0).all()


def test_outcome_not_estimable_is_nan_with_its_status():
    d = pd.read_csv(REF / "stats" / "input_anorexia.csv")
    const = d.copy()
    const["outcome"] = "flat"
    const["value"] = 5.0
    r = many_arm_contrasts(
        pd.concat([d, const]), baseline_visit="pre", followup_visit="post", arms=["Cont", "CBT", "FT"]
    )
    flat = r[r["outcome"] == "flat"]
    assert (flat["status"] != "ok").all() and flat["p_adj"].isna().all()
    assert (r.loc[r["outcome"] == "weight", "status"] == "ok").all()
    assert list(r.columns) == list(many_arm_contrasts.__globals__["MANY_ARMS_COLUMNS"])


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="dunnett"):
        _run("anorexia", "scheffe")
