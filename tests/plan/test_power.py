"""Analytic power and sample size: statsmodels, a G*Power protocol, Borm et al. (2007)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sps

from skintrial.errors import InputError
from skintrial.plan.power import POWER_COLUMNS, ancova_power, ancova_sample_size, contrast_power


@pytest.mark.parametrize(("d", "n"), [(0.2, 30), (0.5, 64), (0.8, 12), (1.3, 5)])
def test_followup_two_arms_equals_statsmodels_ttest(d, n):
    from statsmodels.stats.power import TTestIndPower

    t = ancova_power(effects={"T": d}, sd=1.0, rho=0.3, n_per_arm=n, analysis="followup", multiplicity="none")
    assert_allclose(t["power"].iloc[0], TTestIndPower().power(d, n, 0.05), rtol=1e-9)


@pytest.mark.parametrize(("d", "n"), [(0.4, 40), (0.9, 15)])
def test_gpower_f_is_d_over_2_and_matches_ftestanovapower(d, n):
    from statsmodels.stats.power import FTestAnovaPower

    t = ancova_power(effects={"T": d}, sd=2.0, rho=0.0, n_per_arm=n, analysis="followup", multiplicity="none")
    f = t["gpower_effect_size_f"].iloc[0]
    assert_allclose(f, d / 2 / 2.0, rtol=1e-12)  # effect d in units of sd = 2
    assert_allclose(t["power"].iloc[0], FTestAnovaPower().power(f, 2 * n, 0.05, k_groups=2), rtol=1e-8)


def test_gpower_ancova_protocol_reproduced():
    # G*Power 3.1, "F tests - ANCOVA: Fixed effects, main effects and interactions", post hoc:
    # f = 0.3692745, alpha = 0.05, numerator df 1, 4 groups, 0 covariates, N = 80
    # -> lambda = 10.9090925, denominator df 76, power = 0.9033556 (protocol printed by G*Power).
    f = 0.3692745
    delta = f * math.sqrt(8.0)  # 20 per arm: lambda = delta^2 / (2/20) = f^2 * 80
    t = ancova_power(
        effects={"A": delta, "B": delta, "C": delta},
        control_arm="R",
        sd=1.0,
        rho=0.0,
        n_per_arm=20,
        analysis="followup",
        multiplicity="none",
        method="approx",
    )
    assert_allclose(t["ncp"].iloc[0] ** 2, 10.9090925, rtol=1e-7)
    assert_allclose(t["df"].iloc[0], 76.0)
    assert_allclose(t["power"].iloc[0], 0.9033556, atol=5e-8)
    assert_allclose(t["gpower_effect_size_f"].iloc[0], f, rtol=1e-12)
    assert (t["gpower_groups"] == 4).all() and (t["gpower_covariates"] == 0).all()
    exact = ancova_power(
        effects={"A": delta},
        control_arm="R",
        sd=1.0,
        rho=0.0,
        n_per_arm=20,
        analysis="ancova",
        multiplicity="none",
    )
    assert exact["power"].iloc[0] < exact["gpower_power"].iloc[0]  # G*Power's fixed covariate is optimistic


def test_ancova_approx_is_noncentral_t_with_reduced_df():
    t = ancova_power(effects={"AT": 0.4}, sd=1.5, rho=0.7, n_per_arm=25, multiplicity="none", method="approx")
    se = 1.5 * math.sqrt(1 - 0.49) * math.sqrt(2 / 25)
    ncp, df = 0.4 / se, 50 - 2 - 1
    tc = sps.t.isf(0.025, df)
    expected = sps.nct.sf(tc, df, ncp) + sps.nct.cdf(-tc, df, ncp)
    assert_allclose(t["power"].iloc[0], expected, rtol=1e-9)
    assert t["gpower_covariates"].iloc[0] == 1
    assert t["gpower_statistical_test"].iloc[0].startswith("ANCOVA")


def test_exact_power_is_below_approx_and_converges():
    kw = dict(effect=0.5, sd=1.0, rho=0.6, n_arms=2, alpha=0.05)
    small = [
        contrast_power(n_arm=10, n_control=10, n_total=20, method=m, **kw)[0] for m in ("exact", "approx")
    ]
    big = [
        contrast_power(n_arm=400, n_control=400, n_total=800, method=m, **kw)[0] for m in ("exact", "approx")
    ]
    assert small[0] < small[1]  # random baseline imbalance costs power
    assert small[1] - small[0] < 0.02
    assert_allclose(big[0], big[1], atol=2e-4)


def test_exact_power_equals_numerical_integration_over_f():
    from scipy import integrate

    n, k, N = 12, 3, 36
    pw, ncp, df = contrast_power(
        effect=0.8, sd=1.0, rho=0.5, n_arm=n, n_control=n, n_total=N, n_arms=k, alpha=0.05
    )
    tc = sps.t.isf(0.025, df)

    def integrand(x):
        nc = ncp / math.sqrt(1 + x / (N - k))
        return (sps.nct.sf(tc, df, nc) + sps.nct.cdf(-tc, df, nc)) * sps.f.pdf(x, 1, N - k)

    ref = integrate.quad(integrand, 0, np.inf, limit=200)[0]
    assert_allclose(pw, ref, atol=1e-5)  # 64-point quadrature in probability: error ~3e-6


def test_change_and_followup_variance_factors():
    # the same power when the variance factors match: change at rho=0.5 has factor 2(1-0.5) = 1
    a = ancova_power(effects={"T": 0.5}, sd=1.0, rho=0.5, n_per_arm=30, analysis="change")
    b = ancova_power(effects={"T": 0.5}, sd=1.0, rho=0.9, n_per_arm=30, analysis="followup")
    assert_allclose(a["power"], b["power"], rtol=1e-12)
    c = ancova_power(effects={"T": 0.5}, sd=1.0, rho=0.5, n_per_arm=30, analysis="ancova")
    assert (c["power"] > a["power"]).all()  # 1 - rho^2 = 0.75 < 1


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.8])
def test_sample_size_follows_borm_design_factor(rho):
    # Borm et al. 2007: n_ancova ~= n_t (1 - rho^2), n_t = 2 (z_{1-a/2} + z_{1-b})^2 sd^2 / delta^2.
    delta, power = 0.5, 0.9
    z = sps.norm.isf(0.025) + sps.norm.ppf(power)
    n_normal = 2 * z**2 / delta**2 * (1 - rho**2)
    t = ancova_sample_size(effects={"T": delta}, sd=1.0, rho=rho, power=power, multiplicity="none")
    n = t["n_enrolled_arm"].iloc[0]
    # the t distribution and the random baseline add one or two participants per arm
    assert math.ceil(n_normal) <= n <= math.ceil(n_normal) + 2


def test_sample_size_is_the_smallest():
    kw = dict(effects={"AT": 0.3, "RT": 0.45}, sd=1.0, rho=0.6, power=0.8, multiplicity="holm")
    t = ancova_sample_size(**kw)
    n = int(t["n_enrolled_arm"].iloc[0])
    assert t["power"].min() >= 0.8
    below = ancova_power(effects=kw["effects"], sd=1.0, rho=0.6, n_per_arm=n - 1)
    assert below["power"].min() < 0.8
    assert (t["target_power"] == 0.8).all()
    assert list(t.columns) == list(POWER_COLUMNS)


def test_dropout_inflates_enrolment():
    t0 = ancova_sample_size(effects={"T": 0.5}, sd=1.0, rho=0.6, power=0.8, dropout=0.0)
    t1 = ancova_sample_size(effects={"T": 0.5}, sd=1.0, rho=0.6, power=0.8, dropout=0.15)
    n0 = t0["n_enrolled_arm"].iloc[0]
    assert t1["n_enrolled_arm"].iloc[0] == math.ceil(n0 / 0.85)
    assert_allclose(t1["n_analysed_arm"], t1["n_enrolled_arm"] * 0.85)
    assert t1["power"].iloc[0] >= 0.8


def test_participants_enrolled_are_whole_numbers():
    """Enrolled counts are integers (plan.csv says 96, not 96.0); the analysed ones are expectations."""
    counts = ["n_enrolled_arm", "n_enrolled_control", "n_enrolled_total"]
    t = ancova_sample_size(effects={"AT": 0.5, "RT": 0.4}, sd=1.0, rho=0.6, dropout=0.15)
    p = ancova_power(effects={"AT": 0.5}, sd=1.0, rho=0.6, n_per_arm={"CON": 30, "AT": 31.0}, dropout=0.1)
    for table in (t, p):
        assert all(pd.api.types.is_integer_dtype(table[c]) for c in counts), table[counts].dtypes
    assert p[counts].to_numpy().tolist() == [[31, 30, 61]] and ",31,30,61,0.1," in p.to_csv(index=False)
    assert t["n_analysed_arm"].dtype == float
    with pytest.raises(InputError, match="whole numbers") as exc:
        ancova_power(effects={"AT": 0.5}, sd=1.0, rho=0.6, n_per_arm={"CON": 30, "AT": 30.5})
    assert exc.value.problems[0].column == "n_per_arm" and "AT: 31" in exc.value.problems[0].fix


def test_allocation_ratio_and_holm_alpha():
    t = ancova_sample_size(
        effects={"AT": 0.5, "RT": 0.5},
        sd=1.0,
        rho=0.5,
        allocation={"CON": 1, "AT": 2, "RT": 2},
        n_outcomes=2,
        multiplicity="holm",
    )
    assert_allclose(t["alpha_test"], 0.05 / 4)
    assert t["n_hypotheses"].iloc[0] == 4
    assert_allclose(t["n_enrolled_arm"], 2 * t["n_enrolled_control"])


def test_power_monotone_in_n_and_rho():
    pw = [
        ancova_power(effects={"T": 0.4}, sd=1, rho=r, n_per_arm=n)["power"].iloc[0]
        for r, n in [(0.3, 20), (0.3, 40), (0.6, 40)]
    ]
    assert pw[0] < pw[1] < pw[2]


def test_bad_inputs_collected_in_one_error():
    with pytest.raises(InputError) as exc:
        ancova_power(
            effects={"T": 0.4}, sd=-1, rho=1.2, n_per_arm=20, alpha=2, dropout=1.0, multiplicity="xx"
        )
    assert len(exc.value.problems) == 5
    with pytest.raises(InputError, match="zero"):
        ancova_sample_size(effects={"T": 0.0}, sd=1, rho=0.5)


def test_far_tail_of_noncentral_t_gives_power_one_not_nan():
    # scipy's noncentral-t CDF returns NaN around df 380, ncp 7, t -2.5: the tail falls back to normal
    pw, _, _ = contrast_power(
        effect=1.0, sd=1.0, rho=0.75, n_arm=128, n_control=128, n_total=384, n_arms=3, alpha=0.0125
    )
    assert_allclose(pw, 1.0, atol=1e-12)
    t = ancova_sample_size(effects={"AT": 0.020115, "RT": 0.038733}, sd=0.064383, rho=0.752395)
    below = ancova_power(
        effects={"AT": 0.020115, "RT": 0.038733},
        sd=0.064383,
        rho=0.752395,
        n_per_arm=int(t["n_enrolled_arm"].iloc[0]) - 1,
    )
    assert below["power"].min() < 0.8 <= t["power"].min()


def test_control_arm_effect_and_too_small_arms_are_refused():
    with pytest.raises(InputError, match="control arm"):
        ancova_power(effects={"CON": 0.3}, sd=1.0, rho=0.5, n_per_arm=20)
    with pytest.raises(InputError, match="control arm"):
        ancova_sample_size(effects={"CON": 0.3, "AT": 0.3}, sd=1.0, rho=0.5)
    for n, dropout in ((1, 0.0), (0, 0.0), (4, 0.6), ({"CON": 10, "AT": 1}, 0.0)):
        with pytest.raises(InputError, match="at least 2"):
            ancova_power(effects={"AT": 0.3}, sd=1.0, rho=0.5, n_per_arm=n, dropout=dropout)
    with pytest.raises(InputError, match="finite"):
        ancova_power(effects={"AT": float("nan")}, sd=1.0, rho=0.5, n_per_arm=20)


@pytest.mark.parametrize(
    ("multiplicity", "bound"),
    [
        ("holm", "lower_bound"),
        ("hochberg", "lower_bound"),
        ("bh", "lower_bound"),
        ("bonferroni", "as_tested"),
        ("none", "as_tested"),
    ],
)
def test_power_bound_column(multiplicity, bound):
    t = ancova_power(effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.5, n_per_arm=30, multiplicity=multiplicity)
    assert (t["power_bound"] == bound).all()
    assert_allclose(t["alpha_test"], 0.05 if multiplicity == "none" else 0.025)


def test_by_is_powered_at_its_smallest_threshold_a_lower_bound():
    t = ancova_power(
        effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.5, n_per_arm=30, multiplicity="by", n_outcomes=2
    )
    assert_allclose(t["alpha_test"], 0.05 / (4 * (1 + 1 / 2 + 1 / 3 + 1 / 4)), rtol=1e-14)
    assert (t["power_bound"] == "lower_bound").all()
    from skintrial.plan.simulate import design_table, simulate_power

    d = design_table(
        effects={o: {"AT": 0.5, "RT": 0.5} for o in ("a", "b")},
        sd={"a": 1.0, "b": 1.0},
        rho={"a": 0.5, "b": 0.5},
    )
    sim = simulate_power(d, n_per_arm=30, multiplicity="by", n_sims=4000, seed=2).hypotheses
    assert (sim["power"] > t["power"].iloc[0] - 4 * sim["mcse"]).all(), (sim["power"], t["power"])


def test_fixed_sequence_first_hypothesis_as_tested_later_ones_an_upper_bound():
    t = ancova_power(
        effects={"AT": 0.5, "RT": 0.4}, sd=1.0, rho=0.5, n_per_arm=40, multiplicity="fixed_sequence"
    )
    assert_allclose(t["alpha_test"], 0.05)
    assert t["power_bound"].tolist() == ["as_tested", "upper_bound"]
    late = ancova_power(
        effects={"AT": 0.5, "RT": 0.4},
        sd=1.0,
        rho=0.5,
        n_per_arm=40,
        multiplicity="fixed_sequence",
        sequence_position=2,
    )
    assert (late["power_bound"] == "upper_bound").all()
    from skintrial.plan.simulate import design_table, simulate_power

    d = design_table(effects={"a": {"AT": 0.5, "RT": 0.4}}, sd={"a": 1.0}, rho={"a": 0.5})
    sim = simulate_power(d, n_per_arm=40, multiplicity="fixed_sequence", n_sims=4000, seed=3).hypotheses
    first, second = sim.iloc[0], sim.iloc[1]
    assert abs(first["power"] - t["power"].iloc[0]) < 4 * first["mcse"]
    assert second["power"] < t["power"].iloc[1] + 4 * second["mcse"]


@pytest.mark.parametrize("multiplicity", ["holm", "hochberg", "bh", "by", "fixed_sequence", "bonferroni"])
def test_one_hypothesis_is_as_tested_at_alpha(multiplicity):
    t = ancova_power(effects={"AT": 0.5}, sd=1.0, rho=0.5, n_per_arm=30, multiplicity=multiplicity)
    assert t["power_bound"].tolist() == ["as_tested"]
    assert_allclose(t["alpha_test"], 0.05, rtol=1e-14)
