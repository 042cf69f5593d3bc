"""Pilot estimates (SD, rho, mean change with intervals) and the planning built on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sps

from skintrial.errors import InputError
from skintrial.plan.pilot import (
    CHANGE_COLUMNS,
    CURVE_COLUMNS,
    OUTCOME_COLUMNS,
    PLAN_COLUMNS,
    pilot_estimates,
    plan_trial,
    power_curve,
)
from skintrial.plan.power import ancova_power
from skintrial.plan.synthetic import synthetic_study


def _long(seed=1, **kw):
    s = synthetic_study(seed=seed, **kw)
    return s, s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")


@pytest.fixture(scope="module")
def pilot():
    s, long = _long()
    return s, long, pilot_estimates(long, baseline_visit="week0", followup_visit="week16")


def _wide(long, outcome):
    w = long[long.outcome == outcome].pivot_table(
        index=["participant_id", "arm"], columns="visit", values="value"
    )
    return w.dropna().reset_index()


def test_schemas(pilot):
    _, _, est = pilot
    assert list(est.outcomes.columns) == list(OUTCOME_COLUMNS)
    assert list(est.changes.columns) == list(CHANGE_COLUMNS)


def test_sd_and_rho_are_pooled_within_arm(pilot):
    _, long, est = pilot
    w = _wide(long, "dermal_thickness")
    c = w.groupby("arm")[["week0", "week16"]].transform(lambda x: x - x.mean())
    df = len(w) - 2
    sd = np.sqrt((c["week0"] ** 2).sum() / df)
    rho = (c["week0"] * c["week16"]).sum() / np.sqrt((c["week0"] ** 2).sum() * (c["week16"] ** 2).sum())
    row = est.outcomes.set_index("outcome").loc["dermal_thickness"]
    assert_allclose([row["sd"], row["rho"]], [sd, rho], rtol=1e-12)
    assert_allclose(row["sd_ci_high"], np.sqrt(df * sd**2 / sps.chi2.ppf(0.025, df)), rtol=1e-12)
    z = np.arctanh(rho)
    assert_allclose(row["rho_ci_low"], np.tanh(z - 1.959963984540054 / np.sqrt(df - 2)), rtol=1e-12)
    assert row["n"] == len(w)


def test_mean_change_and_ancova_residual_sd(pilot):
    import statsmodels.formula.api as smf

    _, long, est = pilot
    w = _wide(long, "r2")
    w["change"] = w["week16"] - w["week0"]
    fit = smf.ols("change ~ 0 + C(arm)", data=w).fit()
    ch = est.changes[est.changes.outcome == "r2"].set_index("arm")
    for arm in ("AT", "RT"):
        assert_allclose(ch.loc[arm, "mean_change"], w.loc[w.arm == arm, "change"].mean(), rtol=1e-12)
        assert_allclose(ch.loc[arm, "se"], fit.bse[f"C(arm)[{arm}]"], rtol=1e-10)
        assert_allclose(
            ch.loc[arm, ["ci_low", "ci_high"]].to_numpy(float),
            fit.conf_int().loc[f"C(arm)[{arm}]"].to_numpy(),
            rtol=1e-10,
        )
    anc = smf.ols("week16 ~ week0 + C(arm)", data=w).fit()
    assert_allclose(
        est.outcomes.set_index("outcome").loc["r2", "ancova_residual_sd"], np.sqrt(anc.scale), rtol=1e-10
    )


def test_truth_recovered_in_a_large_synthetic_study():
    s, long = _long(seed=7, n=600, dropout=False)
    est = pilot_estimates(long, baseline_visit="week0")
    truth = s.truth.drop_duplicates("outcome").set_index("outcome")
    o = est.outcomes.set_index("outcome")
    # rho is the correlation given age in the generator; the marginal one is a little higher
    for name in ("r2", "dermal_thickness"):
        assert o.loc[name, "rho_ci_low"] - 0.1 < truth.loc[name, "rho"] < o.loc[name, "rho_ci_high"] + 0.05
    ch = est.changes.set_index(["outcome", "arm"])
    for (name, arm), t in s.truth.set_index(["outcome", "arm"])["mean_change"].items():
        if name in ("r2", "dermal_thickness"):
            r = ch.loc[(name, arm)]
            assert abs(r["mean_change"] - t) < 4 * r["se"]


def test_plan_trial_effects_and_scenarios(pilot):
    _, _, est = pilot
    plan = plan_trial(est, primary="r2", control_change=0.005, dropout=0.1)
    assert list(plan.columns) == list(PLAN_COLUMNS)
    ch = est.changes[est.changes.outcome == "r2"].set_index("arm")["mean_change"]
    p = plan[plan.scenario == "pilot"].set_index("arm")
    assert_allclose(p["effect"], ch[["AT", "RT"]].to_numpy() - 0.005, rtol=1e-12)
    cons = plan[plan.scenario == "conservative"]
    assert cons["n_enrolled_arm"].iloc[0] >= p["n_enrolled_arm"].iloc[0]
    assert (plan["power"] >= 0.8).all()
    over = plan_trial(est, primary="r2", effects={"AT": 0.03, "RT": 0.03})
    assert_allclose(over["effect"], 0.03)


def test_plan_trial_errors(pilot):
    _, _, est = pilot
    with pytest.raises(InputError, match="not in the pilot data"):
        plan_trial(est, primary="wrinkles")
    with pytest.raises(InputError, match="HIIT"):
        plan_trial(est, primary="r2", arms=("CON", "AT", "HIIT"))


def test_power_curve(pilot):
    _, _, est = pilot
    c = power_curve(est, primary="dermal_thickness", n_per_arm=[10, 20, 40, 80], dropout=0.2)
    assert list(c.columns) == list(CURVE_COLUMNS)
    for _, g in c.groupby(["scenario", "contrast"]):
        assert np.all(np.diff(g["power"].to_numpy()) > 0)
    row = c[(c.scenario == "pilot") & (c.n_per_arm == 40)].set_index("contrast")
    ref = ancova_power(
        effects=dict(zip(row.index.str[:2], row["effect"], strict=True)),
        sd=row["sd"].iloc[0],
        rho=row["rho"].iloc[0],
        n_per_arm=40,
        dropout=0.2,
    )
    assert_allclose(row["power"].to_numpy(), ref["power"].to_numpy(), rtol=1e-12)


def test_needs_a_followup_visit():
    long = pd.DataFrame(
        {
            "participant_id": ["a", "b"],
            "arm": ["AT", "RT"],
            "visit": "week0",
            "outcome": "r2",
            "value": [0.6, 0.7],
        }
    )
    with pytest.raises(InputError, match="follow-up"):
        pilot_estimates(long, baseline_visit="week0")


@pytest.fixture(scope="module")
def pilot_with_control():
    s, long = _long(seed=3, control_arm=True)
    return long, pilot_estimates(long, baseline_visit="week0", followup_visit="week16")


def test_plan_uses_the_pilots_own_control_arm(pilot_with_control):
    _, est = pilot_with_control
    ch = est.changes[est.changes.outcome == "r2"].set_index("arm")["mean_change"]
    plan = plan_trial(est, primary="r2", control_change=0.5)  # ignored: the pilot has CON
    p = plan[plan.scenario == "pilot"].set_index("arm")
    assert_allclose(p["effect"], ch[["AT", "RT"]].to_numpy() - ch["CON"], rtol=1e-12)
    assert (p["effect_basis"] == "pilot_control").all()
    assert_allclose(p["control_change"], ch["CON"], rtol=1e-12)
    curve = power_curve(est, primary="r2", n_per_arm=[20])
    c = curve[curve.scenario == "pilot"].set_index("contrast")
    assert_allclose(c["effect"], ch[["AT", "RT"]].to_numpy() - ch["CON"], rtol=1e-12)
    assert (c["effect_basis"] == "pilot_control").all()


def test_plan_without_control_in_pilot_states_the_assumption(pilot):
    _, _, est = pilot
    plan = plan_trial(est, primary="r2", control_change=0.005, effects={"RT": 0.03})
    p = plan[plan.scenario == "pilot"].set_index("arm")
    assert p.loc["AT", "effect_basis"] == "assumed_control_change"
    assert_allclose(p.loc["AT", "control_change"], 0.005)
    assert p.loc["RT", "effect_basis"] == "given" and np.isnan(p.loc["RT", "control_change"])


def test_plan_refuses_effects_for_arms_not_planned(pilot):
    _, _, est = pilot
    with pytest.raises(InputError, match="ZZ"):
        plan_trial(est, primary="r2", effects={"ZZ": 0.1})
    with pytest.raises(InputError, match="control"):
        plan_trial(est, primary="r2", effects={"CON": 0.1})
    with pytest.raises(InputError, match="control arm"):
        plan_trial(est, primary="r2", arms=("AT", "RT"), control_arm="CON")


def _three_visits(long):
    """The pilot with a week8 visit halfway between week0 and week16: 'week8' sorts after 'week16'."""
    w = long.pivot_table(index=["participant_id", "arm", "outcome"], columns="visit", values="value").dropna()
    mid = ((w["week0"] + w["week16"]) / 2).rename("value").reset_index().assign(visit="week8")
    return pd.concat([long, mid], ignore_index=True)


def test_three_visits_need_the_followup_named(pilot):
    _, long, est = pilot
    three = _three_visits(long)
    with pytest.raises(InputError, match=r"2 visits besides the baseline 'week0': \['week8', 'week16'\]"):
        pilot_estimates(three, baseline_visit="week0")
    named = pilot_estimates(three, baseline_visit="week0", followup_visit="week16")
    assert named.followup_visit == "week16"
    pd.testing.assert_frame_equal(named.changes, est.changes)
    early = pilot_estimates(three, baseline_visit="week0", followup_visit="week8")
    assert_allclose(early.changes["mean_change"], est.changes["mean_change"] / 2, rtol=1e-9)
    with pytest.raises(InputError, match="'week12' is not in the data"):
        pilot_estimates(three, baseline_visit="week0", followup_visit="week12")


def test_planned_effect_has_a_pooled_t_interval_as_statsmodels_ols(pilot_with_control, pilot):
    """Effect vs the pilot's own control: difference of two independent change means, pooled within-arm
    SD over all pilot arms (df N - A), as OLS of change on arm gives it. Assumed control change: the arm's
    own interval shifted. Given effects: no interval."""
    import statsmodels.formula.api as smf

    long, est = pilot_with_control
    w = _wide(long, "r2").assign(change=lambda d: d["week16"] - d["week0"])
    fit = smf.ols("change ~ C(arm, Treatment('CON'))", data=w).fit()
    p = plan_trial(est, primary="r2").query("scenario == 'pilot'").set_index("arm")
    for arm in ("AT", "RT"):
        ci = fit.conf_int(0.05).loc[f"C(arm, Treatment('CON'))[T.{arm}]"].to_numpy()
        assert_allclose(p.loc[arm, ["effect_ci_low", "effect_ci_high"]].to_numpy(float), ci, rtol=1e-9)
    assert (p["effect_ci_level"] == 0.95).all()
    _, _, est2 = pilot
    q = plan_trial(est2, primary="r2", control_change=0.005, effects={"RT": 0.03}).query(
        "scenario == 'pilot'"
    )
    q = q.set_index("arm")
    at = est2.changes.query("outcome == 'r2' and arm == 'AT'").iloc[0]
    assert_allclose(
        q.loc["AT", ["effect_ci_low", "effect_ci_high"]].to_numpy(float),
        [at["ci_low"] - 0.005, at["ci_high"] - 0.005],
        rtol=1e-12,
    )
    assert q.loc["RT", ["effect_ci_low", "effect_ci_high"]].isna().all()


def test_outcome_without_values_at_the_followup_gives_nan_not_a_warning():
    """VO2peak not measured at week8: planning from the week-8 change leaves it NaN (warnings are errors here)."""
    rng = np.random.default_rng(4)
    rows = [
        (f"p{i}", ("AT", "RT")[i % 2], v, o, rng.normal(10, 1))
        for i in range(20)
        for o in ("skin", "vo2")
        for v in ("week0", "week8", "week16")
        if not (o == "vo2" and v == "week8")
    ]
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    est = pilot_estimates(d, baseline_visit="week0", followup_visit="week8")
    out = est.outcomes.set_index("outcome")
    assert out.loc["vo2", "n"] == 0 and np.isnan(out.loc["vo2", "sd"])
    assert out.loc["skin", "n"] == 20 and np.isfinite(out.loc["skin", "sd"])
    assert np.isnan(est.changes.set_index(["outcome", "arm"]).loc[("vo2", "AT"), "baseline_mean"])
