"""The inference functions against scipy.stats, on arrays with the edge cases every caller meets.

Reference: ``scipy.stats.t`` / ``norm`` / ``f`` / ``chi2`` (the distributions R's ``pt``, ``qt``,
``pf`` compute). Tolerance 1e-12 relative: both sides are the same special functions, so agreement is
to a few ulps; far tails are compared as tails (p ~ 1e-100 keeps its relative accuracy).
Edge cases: df 0, negative, NaN (no fit) give NaN; df inf gives the normal limit; no warnings
(pytest turns warnings into errors).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats as sps

from skintrial.errors import InputError
from skintrial.stats import (
    f_pvalue,
    f_quantile,
    t_cdf,
    t_critical,
    t_inference,
    t_interval,
    t_pvalue,
    t_quantile,
    t_sf,
    z_critical,
    z_pvalue,
)

RTOL = 1e-12
DF = np.array([0.5, 1.0, 2.5, 3.0, 10.0, 57.0, 1e4, 1e7, np.inf])
BAD_DF = np.array([0.0, -1.0, np.nan, -np.inf])
X = np.array([-np.inf, -60.0, -3.0, -1e-3, 0.0, 1.0, 1.96, 8.0, 60.0, np.inf])


def _grid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(a, b, indexing="ij")


def test_t_tails_match_scipy():
    x, df = _grid(X, DF)
    assert_allclose(t_cdf(x, df), sps.t.cdf(x, df), rtol=RTOL, atol=0)
    assert_allclose(t_sf(x, df), sps.t.sf(x, df), rtol=RTOL, atol=0)
    assert_allclose(t_pvalue(x, df), 2 * sps.t.sf(np.abs(x), df), rtol=RTOL, atol=0)
    assert t_pvalue(60.0, 10.0) < 1e-13 and t_pvalue(60.0, 10.0) > 0  # a tail, not 1 - cdf


def test_t_with_unusable_df_or_statistic_is_nan():
    x, df = _grid(X, BAD_DF)
    for f in (t_cdf, t_sf, t_pvalue):
        assert np.isnan(f(x, df)).all()
    assert np.isnan(t_pvalue(np.nan, 10.0))
    assert_array_equal(t_pvalue([np.inf, -np.inf], 5.0), [0.0, 0.0])


def test_infinite_df_is_the_z_test():
    assert_allclose(t_pvalue(X, np.inf), 2 * sps.norm.sf(np.abs(X)), rtol=RTOL, atol=0)
    assert_allclose(z_pvalue(X), 2 * sps.norm.sf(np.abs(X)), rtol=RTOL, atol=0)
    assert_allclose(t_critical(0.95, np.inf), sps.norm.ppf(0.975), rtol=RTOL)
    level = np.array([0.5, 0.9, 0.95, 1 - 1e-9])
    assert_allclose(z_critical(level), sps.norm.isf((1 - level) / 2), rtol=RTOL)


@pytest.mark.parametrize("prob", [1e-12, 0.001, 0.025, 0.3, 0.5, 0.975, 1 - 1e-9])
def test_t_quantile_matches_scipy_with_one_probability(prob):
    df = np.array([[3.0, 3.0, 10.0, np.inf], [0.5, 10.0, 3.0, 2.5], [1e7, np.nan, 0.0, -2.0]])
    expected = np.where(df > 0, sps.t.ppf(prob, np.where(df > 0, df, 1.0)), np.nan)
    got = t_quantile(prob, df)
    assert got.shape == df.shape
    assert_allclose(got, expected, rtol=1e-11, equal_nan=True)


def test_t_quantile_with_an_array_of_probabilities():
    prob = np.array([[0.01], [0.5], [0.99], [0.0], [1.0], [-0.1], [1.5], [np.nan]])
    q = t_quantile(prob, DF[None, :])
    assert q.shape == (8, DF.size)
    assert_allclose(q[:3], sps.t.ppf(prob[:3], DF[None, :]), rtol=1e-11)
    assert np.all(q[3] == -np.inf) and np.all(q[4] == np.inf)
    assert np.isnan(q[5:]).all()
    assert np.isnan(t_quantile(prob[:3], BAD_DF[None, :])).all()
    assert np.all(t_quantile(0.0, DF) == -np.inf) and np.all(t_quantile(1.0, DF) == np.inf)
    assert np.all(t_quantile(1e-300, DF) < -30)  # far in the lower tail, never +inf


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 1 - 1e-8])
def test_t_critical_is_r_qt(level):
    # qt(1 - a/2) computed as the upper tail a/2 (``isf``): accurate also for a level near 1
    assert_allclose(t_critical(level, DF), sps.t.isf((1 - level) / 2, DF), rtol=1e-11)
    if level < 0.999:
        assert_allclose(t_critical(level, DF), sps.t.ppf(0.5 + level / 2, DF), rtol=1e-12)
    assert np.isnan(t_critical(level, BAD_DF)).all()


@pytest.mark.parametrize("level", [0.0, 1.0, 95.0, -0.5, np.nan])
def test_a_confidence_level_outside_0_1_is_an_input_error(level):
    with pytest.raises(InputError, match="ci_level"):
        t_critical(level, 10.0)
    with pytest.raises(InputError, match="ci_level"):
        z_critical(level)


def test_t_interval_and_t_inference_batched():
    rng = np.random.default_rng(0)
    est = rng.normal(size=(50, 3))
    se = rng.uniform(0.1, 2.0, size=(50, 3))
    df = np.repeat(rng.integers(1, 30, size=(50, 1)).astype(float), 3, axis=1)
    q = sps.t.ppf(0.975, df)
    low, high = t_interval(est, se, df, 0.95)
    assert_allclose(low, est - q * se, rtol=RTOL)
    assert_allclose(high, est + q * se, rtol=RTOL)
    r = t_inference(est, se, df[:, :1], ci_level=0.95)  # df broadcast over the contrasts
    assert_allclose(r.t, est / se, rtol=RTOL)
    assert_allclose(r.p, 2 * sps.t.sf(np.abs(est / se), df), rtol=RTOL)
    assert_allclose(r.ci_low, low, rtol=RTOL)
    assert_allclose(r.ci_high, high, rtol=RTOL)


def test_t_inference_edge_cases():
    est = np.array([1.0, 1.0, 1.0, 1.0, np.nan, 1.0, 1.0])
    se = np.array([0.5, 0.0, np.nan, -1.0, 0.5, 0.5, 0.5])
    df = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 0.0, np.inf])
    r = t_inference(est, se, df, ci_level=0.9)
    ok = np.array([True, False, False, False, False, False, True])
    assert_array_equal(np.isfinite(r.t), ok)
    assert_array_equal(np.isfinite(r.p), ok)
    assert_allclose(r.p[-1], 2 * sps.norm.sf(2.0), rtol=RTOL)  # df inf: the z test
    assert_allclose(r.ci_low[-1], 1.0 - sps.norm.ppf(0.95) * 0.5, rtol=RTOL)
    assert r.ci_low[1] == r.ci_high[1] == 1.0  # se 0: the zero-width interval
    assert np.isnan(r.ci_low[[2, 3, 4, 5]]).all()


def test_f_pvalue_matches_scipy():
    f = np.array([0.0, 1e-8, 0.5, 1.0, 3.0, 25.0, 400.0, np.inf])
    d1 = np.array([1.0, 2.0, 2.7, 5.0])
    d2 = np.array([0.8, 3.0, 10.0, 41.5, 1e4])
    F, D1, D2 = np.meshgrid(f, d1, d2, indexing="ij")
    assert_allclose(f_pvalue(F, D1, D2), sps.f.sf(F, D1, D2), rtol=RTOL, atol=1e-300)
    assert f_pvalue(400.0, 3.0, 1e4) < 1e-100  # the tail keeps its accuracy
    assert_allclose(f_pvalue(400.0, 3.0, 1e4), sps.f.sf(400.0, 3.0, 1e4), rtol=1e-10)


def test_f_pvalue_limits_and_edges():
    f = np.array([0.0, 0.5, 2.0, 9.0])
    assert_allclose(f_pvalue(f, 3.0, np.inf), sps.chi2.sf(3.0 * f, 3.0), rtol=RTOL)  # chi2(df1) / df1
    with np.errstate(divide="ignore"):
        expected = sps.chi2.cdf(7.0 / f, 7.0)
    assert_allclose(f_pvalue(f, np.inf, 7.0), expected, rtol=RTOL)  # df2 / chi2(df2)
    assert_array_equal(f_pvalue([-1e-17, -3.0], 2.0, 10.0), [1.0, 1.0])  # below the support
    for d1, d2 in [(0.0, 10.0), (2.0, 0.0), (np.nan, 10.0), (2.0, np.nan), (-1.0, 5.0), (np.inf, np.inf)]:
        assert np.isnan(f_pvalue(2.0, d1, d2))
    assert np.isnan(f_pvalue(np.nan, 2.0, 10.0))


# ---------------------------------------------------------------- properties (hypothesis)

_finite = st.floats(-1e6, 1e6, allow_nan=False)
_df = st.one_of(st.floats(0.5, 1e4), st.just(np.inf))
_prob = st.floats(1e-12, 1 - 1e-12)
_level = st.floats(0.5, 0.999)


@settings(max_examples=200, deadline=None)
@given(t=_finite, df=_df)
def test_two_sided_p_is_a_symmetric_probability(t, df):
    p = float(t_pvalue(t, df))
    assert 0.0 <= p <= 1.0
    assert p == float(t_pvalue(-t, df))


@settings(max_examples=200, deadline=None)
@given(a=_finite, b=_finite, df=_df)
def test_two_sided_p_falls_as_the_statistic_grows(a, b, df):
    lo, hi = sorted((abs(a), abs(b)))
    assert float(t_pvalue(hi, df)) <= float(t_pvalue(lo, df))


@settings(max_examples=200, deadline=None)
@given(prob=_prob, df=_df)
def test_the_t_quantile_inverts_the_tail(prob, df):
    q = float(t_quantile(prob, df))
    p_two = float(t_pvalue(q, df))  # = 2 min(prob, 1 - prob)
    assert np.isclose(p_two, 2 * min(prob, 1 - prob), rtol=1e-6, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(est=_finite, se=st.floats(1e-6, 1e3), df=_df, level=_level, wider=st.floats(0.0, 0.0009))
def test_intervals_contain_the_estimate_are_symmetric_and_grow_with_the_level(est, se, df, level, wider):
    low, high = (float(x) for x in t_interval(est, se, df, level))
    assert low <= est <= high
    assert np.isclose(est - low, high - est, rtol=1e-9, atol=1e-9 * max(1.0, abs(est)))
    low2, high2 = (float(x) for x in t_interval(est, se, df, level + wider))
    assert low2 <= low + 1e-9 * max(1.0, abs(low)) and high2 >= high - 1e-9 * max(1.0, abs(high))


@settings(max_examples=200, deadline=None)
@given(prob=st.floats(1e-9, 1 - 1e-9), d1=st.floats(0.5, 200), d2=_df)
def test_the_f_quantile_inverts_f_pvalue(prob, d1, d2):
    upper = float(f_quantile(prob, d1, d2, upper=True))
    assert np.isclose(float(f_pvalue(upper, d1, d2)), prob, rtol=1e-6, atol=1e-12)
    lower = float(f_quantile(prob, d1, d2))
    assert np.isclose(1 - float(f_pvalue(lower, d1, d2)), prob, rtol=1e-6, atol=1e-9)
