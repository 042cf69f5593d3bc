"""The batched engine against statsmodels OLS, outcome by outcome, on random designs.

Covers shared designs, per-outcome covariate columns (Z), missing values in Y and Z, a row mask, and
the degenerate statuses. Tolerance: 1e-10 relative on coefficients, SEs, sigma², t, p and F.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from skintrial.stats import fit_ols

RTOL = 1e-10


def _random_problem(seed: int, n: int = 40, K: int = 7, q: int = 1, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n)
    X = np.column_stack([np.ones(n), arm == 1, arm == 2, rng.normal(50, 10, n)]).astype(float)
    Z = rng.normal(size=(n, K, q)) * rng.uniform(0.5, 20, size=(1, K, q)) + rng.normal(0, 100, size=(1, K, q))
    beta = rng.normal(size=(X.shape[1] + q, K))
    Y = X @ beta[: X.shape[1]] + np.einsum("nkq,qk->nk", Z, beta[X.shape[1] :]) + rng.normal(size=(n, K))
    Y[rng.random((n, K)) < missing] = np.nan
    Z[rng.random((n, K, q)) < missing / 2] = np.nan
    return X, Y, Z


def _statsmodels(X, y, z, keep):
    D = np.column_stack([X, z])[keep]
    return sm.OLS(y[keep], D).fit()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("q", [0, 1, 2])
def test_matches_statsmodels(seed, q):
    X, Y, Z = _random_problem(seed, q=max(q, 1))
    Zq = Z[:, :, :q] if q else None
    mask = np.random.default_rng(seed + 100).random(Y.shape) > 0.05
    fit = fit_ols(X, Y, Z=Zq, mask=mask)
    L = np.zeros((2, X.shape[1] + q))
    L[0, 1], L[1, 2], L[1, 1] = 1.0, 1.0, -1.0
    con = fit.contrast(L)
    ft = fit.f_test(L)
    for k in range(Y.shape[1]):
        z = Zq[:, k, :] if q else np.empty((len(Y), 0))
        keep = np.isfinite(Y[:, k]) & np.isfinite(z).all(axis=1) & mask[:, k]
        r = _statsmodels(X, Y[:, k], z, keep)
        assert fit.status[k] == "ok" and fit.n[k] == keep.sum() and fit.df_resid[k] == r.df_resid
        assert_allclose(fit.coef[k], r.params, rtol=RTOL)
        assert_allclose(np.sqrt(np.diag(fit.sigma2[k] * fit.xtx_inv[k])), r.bse, rtol=RTOL)
        assert_allclose(fit.sigma2[k], r.scale, rtol=RTOL)
        tt = r.t_test(L)
        assert_allclose(con.estimate[k], tt.effect, rtol=RTOL)
        assert_allclose(con.se[k], tt.sd.ravel(), rtol=RTOL)
        assert_allclose(con.p[k], tt.pvalue.ravel(), rtol=1e-9)
        fr = r.f_test(L)
        assert_allclose(ft.f[k], np.squeeze(fr.fvalue), rtol=RTOL)
        assert_allclose(ft.p[k], np.squeeze(fr.pvalue), rtol=1e-9)
        assert_allclose(
            fit.means[k], X[keep].mean(axis=0).tolist() + z[keep].mean(axis=0).tolist(), rtol=RTOL
        )


def test_shared_design_path_equals_general_path():
    X, Y, Z = _random_problem(5, missing=0.0)
    shared = fit_ols(X, Y)
    general = fit_ols(X, Y, mask=np.ones(Y.shape, bool) & (np.arange(len(Y)) >= 0)[:, None])
    general_z = fit_ols(X[:, :-1], Y, Z=np.repeat(X[:, -1:, None], Y.shape[1], axis=1))
    for other in (general, general_z):
        assert_allclose(shared.coef, other.coef, rtol=1e-11)
        assert_allclose(shared.sigma2, other.sigma2, rtol=1e-11)


def test_ill_conditioned_baseline_is_accurate():
    """A baseline with a large mean and a small spread (e.g. weights ~ 1e4 ± 1) stays accurate."""
    rng = np.random.default_rng(3)
    n = 30
    X = np.column_stack([np.ones(n), np.arange(n) % 2])
    z = 1e4 + rng.normal(size=(n, 1, 1))
    y = 3 + 0.5 * X[:, 1] + 2 * (z[:, 0, 0] - 1e4) + rng.normal(size=n)
    fit = fit_ols(X, y[:, None], Z=z)
    r = _statsmodels(X, y, z[:, 0, :], np.ones(n, bool))
    assert_allclose(fit.coef[0], r.params, rtol=RTOL)
    assert_allclose(np.sqrt(np.diag(fit.sigma2[0] * fit.xtx_inv[0])), r.bse, rtol=RTOL)


def test_degenerate_statuses_never_crash():
    rng = np.random.default_rng(0)
    n = 12
    arm = np.repeat([0, 1, 2], 4)
    X = np.column_stack([np.ones(n), arm == 1, arm == 2]).astype(float)
    Y = rng.normal(size=(n, 5))
    Y[:, 1] = 4.0  # constant
    Y[arm == 2, 2] = np.nan  # an arm without data
    Y[3:, 3] = np.nan  # three observations, three parameters
    Z = rng.normal(size=(n, 5, 1))
    Z[:, 4, 0] = 2 * X[:, 1]  # the per-outcome column is collinear with an arm dummy
    fit = fit_ols(X, Y, Z=Z)
    assert fit.status.tolist() == [
        "ok",
        "no_residual_variance",
        "rank_deficient",
        "too_few_observations",
        "rank_deficient",
    ]
    assert np.isfinite(fit.coef[0]).all() and np.isnan(fit.coef[1:]).all()
    con = fit.contrast(np.eye(4)[1:2])
    assert np.isfinite(con.p[0]).all() and np.isnan(con.p[1:]).all()
    assert np.isnan(fit.f_test(np.eye(4)[1:3]).f[1:]).all()


def test_shape_errors():
    with pytest.raises(ValueError, match="rows"):
        fit_ols(np.ones((3, 1)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="names"):
        fit_ols(np.ones((3, 1)), np.ones((3, 2)), outcomes=["a"])


def test_contrast_and_f_test_df_are_nan_for_outcomes_not_fitted():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(6), np.repeat([0.0, 1.0], 3)])
    Y = np.column_stack([rng.normal(size=6), np.full(6, 2.0), [1.0, 2.0] + [np.nan] * 4])
    fit = fit_ols(X, Y)
    assert fit.status.tolist() == ["ok", "no_residual_variance", "too_few_observations"]
    assert fit.df_resid.tolist() == [4.0, 4.0, 0.0]  # the raw count stays
    con = fit.contrast([[0.0, 1.0]])
    assert con.df[:, 0].tolist()[0] == 4.0 and np.isnan(con.df[1:]).all()
    lo, hi = con.ci()
    assert np.isnan(lo[1:]).all() and np.isfinite(hi[0]).all()
    ft = fit.f_test([[0.0, 1.0]])
    assert ft.den_df[0] == 4.0 and np.isnan(ft.den_df[1:]).all() and np.isnan(ft.p[1:]).all()


@pytest.mark.parametrize("q", [0, 1])
def test_dropped_columns_fit_the_model_without_them(q):
    """An arm with no rows for an outcome, its dummy dropped: the fit equals statsmodels on the design
    without that column; contrasts that do not involve it are estimated, the others are NaN."""
    X, Y, Z = _random_problem(7, missing=0.0)
    Zq = Z[:, :, :q] if q else None
    arm2 = X[:, 2] == 1
    Y[arm2, 0] = np.nan  # outcome 0: arm 2 has no observations
    drop = np.zeros((Y.shape[1], X.shape[1] + q), bool)
    drop[0, 2] = True
    fit = fit_ols(X, Y, Z=Zq, drop=drop)
    assert (fit.status == "ok").all()
    z = Zq[:, 0, :] if q else np.empty((len(Y), 0))
    keep = ~arm2 & np.isfinite(z).all(axis=1)
    r = _statsmodels(np.delete(X, 2, axis=1), Y[:, 0], z, keep)
    kept = np.delete(np.arange(X.shape[1] + q), 2)
    assert fit.df_resid[0] == r.df_resid and np.isnan(fit.coef[0, 2])
    assert_allclose(fit.coef[0, kept], r.params, rtol=RTOL)
    assert_allclose(fit.sigma2[0], r.scale, rtol=RTOL)
    L = np.zeros((2, X.shape[1] + q))
    L[0, 1], L[1, 2], L[1, 1] = 1.0, 1.0, -1.0  # arm 1 - arm 0 (estimable), arm 2 - arm 1 (not)
    con = fit.contrast(L)
    tt = r.t_test(np.delete(L[:1], 2, axis=1))
    assert_allclose(con.estimate[0, 0], tt.effect[0], rtol=RTOL)
    assert_allclose(con.se[0, 0], tt.sd.ravel()[0], rtol=RTOL)
    assert (
        con.df[0, 0] == r.df_resid
        and np.isnan([con.estimate[0, 1], con.se[0, 1], con.df[0, 1], con.p[0, 1]]).all()
    )
    assert np.isfinite(con.p[1:]).all()  # the other outcomes keep every contrast
    grid = np.broadcast_to(L, (Y.shape[1], *L.shape))  # per-outcome rows follow the same rule
    assert_allclose(fit.contrast(grid).estimate, con.estimate, rtol=1e-12)
    ft = fit.f_test(L)
    assert np.isnan([ft.f[0], ft.den_df[0], ft.p[0]]).all() and np.isfinite(ft.f[1:]).all()
    assert_allclose(fit.f_test(L[:1]).f[0], tt.tvalue.ravel()[0] ** 2, rtol=RTOL)
