"""Dose–response through the engine: statsmodels agreement, a known slope, invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.training import DOSE_COLUMNS, dose_response, dose_response_data


def _trial(seed=0, n=40, slope=0.5):
    rng = np.random.default_rng(seed)
    pid = [f"P{i:02d}" for i in range(n)]
    arm = np.where(np.arange(n) % 2 == 0, "AT", "RT")
    adherence = rng.uniform(0.5, 1.0, n)
    volume = np.where(arm == "RT", rng.uniform(5e4, 1e5, n), 0.0)
    summary = pd.DataFrame(
        {
            "participant_id": pid,
            "arm": arm,
            "sessions_planned": 32,
            "adherence": adherence,
            "volume_load_kg": volume,
        }
    )
    rows = []
    for k, (o, s) in enumerate([("r2", 1.0), ("thickness", 0.2)]):
        base = rng.normal(0, s, n)
        follow = 0.6 * base + (arm == "RT") * 0.3 + slope * adherence * (k + 1) + rng.normal(0, s * 0.5, n)
        rows += [
            pd.DataFrame({"participant_id": pid, "visit": "week0", "outcome": o, "value": base}),
            pd.DataFrame({"participant_id": pid, "visit": "week16", "outcome": o, "value": follow}),
        ]
    return pd.concat(rows, ignore_index=True), summary


def test_matches_statsmodels_pooled_and_per_arm():
    import statsmodels.formula.api as smf

    data, summary = _trial()
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["adherence", "volume_load_kg"])
    assert list(res.columns) == list(DOSE_COLUMNS)
    wide = dose_response_data(data, summary, baseline_visit="week0", dose_measures=["adherence"])
    for (o, m), d in wide.groupby(["outcome", "dose_measure"]):
        ref = smf.ols("followup ~ baseline + dose + C(arm)", data=d).fit()
        row = res[(res.outcome == o) & (res.dose_measure == m) & (res.arm == "all")].iloc[0]
        assert_allclose(
            [row.estimate, row.se, row.p],
            [ref.params["dose"], ref.bse["dose"], ref.pvalues["dose"]],
            rtol=1e-8,
        )
        assert_allclose([row.ci_low, row.ci_high], ref.conf_int().loc["dose"].to_numpy(), rtol=1e-8)
        assert row.df == ref.df_resid and row.n == len(d)
    d = wide[(wide.outcome == "r2") & (wide.dose_measure == "adherence") & (wide.arm == "AT")]
    ref = smf.ols("followup ~ baseline + dose", data=d).fit()
    row = res[(res.outcome == "r2") & (res.dose_measure == "adherence") & (res.arm == "AT")].iloc[0]
    assert_allclose([row.estimate, row.se], [ref.params["dose"], ref.bse["dose"]], rtol=1e-8)


def test_change_on_dose_equals_followup_on_dose():
    import statsmodels.formula.api as smf

    data, summary = _trial(seed=3)
    wide = dose_response_data(data, summary, baseline_visit="week0", dose_measures=["adherence"])
    d = wide[wide.outcome == "thickness"]
    a = smf.ols("change ~ baseline + dose + C(arm)", data=d).fit().params["dose"]
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["adherence"], by_arm=False)
    assert_allclose(res.loc[res.outcome == "thickness", "estimate"].iloc[0], a, rtol=1e-9)


def test_recovers_a_known_slope():
    data, summary = _trial(seed=1, n=400, slope=0.5)
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["adherence"], by_arm=False)
    r = res.set_index("outcome")
    # true slopes 0.5 (r2) and 1.0 (thickness): within 4 SE
    assert abs(r.loc["r2", "estimate"] - 0.5) < 4 * r.loc["r2", "se"]
    assert abs(r.loc["thickness", "estimate"] - 1.0) < 4 * r.loc["thickness", "se"]


def test_dose_constant_within_an_arm_is_flagged_not_fitted():
    data, summary = _trial()
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["volume_load_kg"])
    at = res[(res.arm == "AT")]
    assert (at["status"] == "rank_deficient").all() and at["estimate"].isna().all()
    assert (res[res.arm == "RT"]["status"] == "ok").all()
    # volume load varies in RT only: a pooled slope would be RT's slope claiming AT's participants too
    pooled = res[res.arm == "all"]
    assert (pooled["status"] == "not_pooled_one_arm").all() and pooled["estimate"].isna().all()


def _intensity_trial(seed=2, n=60):
    data, summary = _trial(seed=seed, n=n)
    rng = np.random.default_rng(seed)
    at = summary["arm"] == "AT"
    summary["adherence"] = np.where(at, rng.uniform(0.5, 0.7, n), rng.uniform(0.8, 1.0, n))  # arms differ
    summary["mean_relative_intensity"] = np.where(at, rng.uniform(60, 80, n), rng.uniform(55, 75, n))
    summary["relative_intensity_measure"] = np.where(at, "pct_hrpeak", "pct_1rm")
    return data, summary


def test_relative_intensity_on_different_scales_is_not_pooled():
    data, summary = _intensity_trial()
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["mean_relative_intensity"])
    pooled = res[res.arm == "all"]
    assert len(pooled) == 2 and (pooled["status"] == "not_pooled_scales_differ").all()
    assert pooled[["estimate", "se", "p", "dose_sd", "estimate_per_sd"]].isna().all(axis=None)
    assert (res[res.arm != "all"]["status"] == "ok").all()
    # the same scale in both arms (%HRpeak and age-predicted %HRmax are both % of a maximum heart rate): pooled
    summary["relative_intensity_measure"] = np.where(
        summary["arm"] == "AT", "pct_hrpeak", "pct_hrmax_age_predicted"
    )
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["mean_relative_intensity"])
    assert (res[res.arm == "all"]["status"] == "ok").all()


def test_pooled_dose_sd_is_the_within_arm_sd():
    import statsmodels.formula.api as smf

    data, summary = _intensity_trial()
    res = dose_response(data, summary, baseline_visit="week0", dose_measures=["adherence"])
    wide = dose_response_data(data, summary, baseline_visit="week0", dose_measures=["adherence"])
    d = wide[wide.outcome == "r2"]
    within = np.sqrt(smf.ols("dose ~ C(arm)", data=d).fit().scale)
    row = res[(res.outcome == "r2") & (res.arm == "all")].iloc[0]
    assert_allclose(row["dose_sd"], within, rtol=1e-10)
    assert row["dose_sd"] < 0.5 * d["dose"].std()  # the total SD is inflated by the arms' different means
    assert_allclose(row["estimate_per_sd"], row["estimate"] * within, rtol=1e-10)
    at = res[(res.outcome == "r2") & (res.arm == "AT")].iloc[0]
    assert_allclose(at["dose_sd"], d.loc[d.arm == "AT", "dose"].std(), rtol=1e-10)


def test_row_order_does_not_matter():
    data, summary = _trial(seed=5)
    a = dose_response(data, summary, baseline_visit="week0")
    b = dose_response(
        data.sample(frac=1, random_state=1), summary.sample(frac=1, random_state=2), baseline_visit="week0"
    )
    pd.testing.assert_frame_equal(a, b)


def test_unknown_dose_measure():
    from skintrial.errors import InputError

    data, summary = _trial()
    with pytest.raises(InputError, match="missing column"):
        dose_response(data, summary, baseline_visit="week0", dose_measures=["calories"])


def test_several_followup_visits_need_one_named():
    data, summary = _trial()
    mid = data[data["visit"] == "week0"].assign(visit="week8")  # 'week8' sorts after 'week16' as text
    three = pd.concat([data, mid], ignore_index=True)
    with pytest.raises(InputError, match=r"\['week8', 'week16'\]"):  # named in visit order, not row order
        dose_response_data(three, summary, baseline_visit="week0")
    named = dose_response(three, summary, baseline_visit="week0", followup_visit="week16")
    pd.testing.assert_frame_equal(named, dose_response(data, summary, baseline_visit="week0"))
