"""Responder analyses against R glm and a committed R standardisation
(tests/reference/responders/make_responders.R, base R).

Tolerances: the logistic fit is iterative (IRLS to R's deviance criterion at 1e-12 on R's side, 1e-10
here): 1e-7 relative on estimates and risks; 1e-5 on the adjusted SEs, because glm's vcov is computed
from the weights of its last-but-one iteration (a deviance change of 1e-12 leaves the coefficients
~1e-6 from convergence; largest difference seen 1.3e-6 relative); the unadjusted proportions and
their SEs are closed forms (1e-12).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats.responders import ResponderRule, responder_analysis

REF = Path(__file__).parents[1] / "reference"
CASES = {
    "anorexia": ("anorexia", ["Cont", "CBT", "FT"], "weight", ResponderRule(change_at_least=2), []),
    "anorexia_percent": (
        "anorexia",
        ["Cont", "CBT", "FT"],
        "weight",
        ResponderRule(percent_change_at_least=5),
        [],
    ),
    "synthetic": ("synthetic", ["A", "B", "C"], "y1", ResponderRule(change_at_least=2), ["age", "sex"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_r(case):
    inp, arms, outcome, rule, cov = CASES[case]
    d = pd.read_csv(REF / "stats" / f"input_{inp}.csv")
    ours = responder_analysis(
        d,
        rules={outcome: rule},
        baseline_visit="pre",
        followup_visit="post",
        arms=arms,
        reference_arm=arms[0],
        covariates=cov,
    )
    ref = pd.read_csv(REF / "responders" / "responders.csv")
    ref = ref[ref["case"] == case]
    m = ref.merge(ours, on=["outcome", "contrast", "measure", "adjusted"], suffixes=("_r", ""))
    assert len(m) == len(ref) > 0 and (m["status"] == "ok").all()
    log = m["measure"] != "risk_difference"
    est_scale = np.where(log, np.log(m["estimate"]), m["estimate"])
    tol = np.where(m["adjusted"], 1e-7, 1e-12)
    assert np.all(np.abs(est_scale - m["est_scale"]) <= tol * np.abs(m["est_scale"]) + 1e-12)
    se_tol = np.where(m["adjusted"], 1e-5, 1e-12)  # glm's vcov uses the weights of its last-but-one step
    assert np.all(np.abs(m["se"] - m["se_r"]) <= se_tol * m["se_r"])
    assert_allclose(m["risk_arm"], m["risk_arm_r"], rtol=1e-7)
    assert_allclose(m["risk_reference"], m["risk_reference_r"], rtol=1e-7)
    assert (m["n"] == m["n_r"]).all()


def test_binary_outcome_and_no_variation():
    d = pd.read_csv(REF / "stats" / "input_anorexia.csv")
    b = d.copy()
    b["outcome"] = "firmer"
    b["value"] = (b["value"] > 85).astype(float)
    flat = d.copy()
    flat["outcome"] = "flat"
    flat["value"] = 1.0
    r = responder_analysis(
        pd.concat([b, flat]),
        rules={"firmer": ResponderRule(binary=True), "flat": ResponderRule(binary=True)},
        baseline_visit="pre",
        followup_visit="post",
        reference_arm="Cont",
    )
    assert (r.loc[r["outcome"] == "flat", "status"] == "no_variation").all()
    assert r.loc[r["outcome"] == "flat", "p"].isna().all()
    f = r[(r["outcome"] == "firmer") & ~r["adjusted"] & (r["measure"] == "risk_difference")]
    post = d[(d["visit"] == "post")]
    obs = post.assign(y=post["value"] > 85).groupby("arm")["y"].mean()
    assert_allclose(f["risk_arm"].to_numpy(), obs[["CBT", "FT"]].to_numpy(), rtol=1e-12)
    assert (r["rule"].isin(["binary"])).all()


def test_a_rule_needs_exactly_one_criterion():
    from skintrial.errors import InputError

    with pytest.raises(InputError, match="exactly one"):
        ResponderRule(change_at_least=1.0, percent_change_at_least=5.0)
    with pytest.raises(InputError, match="exactly one"):
        ResponderRule()
