"""Robust hyperparameters for the moderated variances (limma ``fitFDistRobustly``, no covariate).

Phipson, Lee, Majewski, Alexander & Smyth (2016), *Ann Appl Stat* 10:946: a few hypervariable
outcomes inflate the spread of ``log s^2`` and so shrink the prior df for everyone. The robust fit
Winsorizes ``z = log s^2`` (default tails 5% low, 10% high), matches the Winsorized variance to that
of a Winsorized ``log F(d, d0)`` (computed by 128-point Gauss–Legendre quadrature on a transformed
scale, as limma does), and then gives each outcome its own prior df, shrunk towards 0 for outcomes
that look like outliers given their F tail probability.

Written from limma 3.54.1's ``fitFDistRobustly``; checked against it on the Kuehne 2017 microarray
(``tests/stats/test_moderation.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize
from scipy import stats as sps

from skintrial.errors import DegenerateFitWarning
from skintrial.stats._inference import f_pvalue, f_quantile

__all__ = ["fit_f_dist_robustly"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(128)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2  # statmod::gauss.quad.prob(128, "uniform")


def _qf(p: np.ndarray, d1: float, d2: float) -> np.ndarray:
    return f_quantile(p, d1, d2)


def _qf_upper(p: np.ndarray, d1: float, d2: float) -> np.ndarray:
    return f_quantile(p, d1, d2, upper=True)


def _logsf(f: np.ndarray, d1, d2: float) -> np.ndarray:
    return sps.chi2.logsf(f * d1, d1) if np.isinf(d2) else sps.f.logsf(f, d1, d2)


def _logcdf(f: np.ndarray, d1, d2: float) -> np.ndarray:
    return sps.chi2.logcdf(f * d1, d1) if np.isinf(d2) else sps.f.logcdf(f, d1, d2)


def _df_density(x: np.ndarray, d1: float, d2: float) -> np.ndarray:
    return d1 * sps.chi2.pdf(d1 * x, d1) if np.isinf(d2) else sps.f.pdf(x, d1, d2)


def _winsorized_moments(d1: float, d2: float, tail: tuple[float, float]) -> tuple[float, float]:
    """Mean and variance of a Winsorized log F(d1, d2) (limma's ``winsorizedMoments``)."""
    fq = _qf(np.array([tail[0], 1 - tail[1]]), d1, d2)
    zq = np.log(fq)
    q = fq / (1 + fq)
    nodes = q[0] + (q[1] - q[0]) * _NODES
    fnodes = nodes / (1 - nodes)
    znodes = np.log(fnodes)
    f = _df_density(fnodes, d1, d2) / (1 - nodes) ** 2
    q21 = q[1] - q[0]
    tails = np.asarray(tail)
    m = q21 * np.sum(_WEIGHTS * f * znodes) + np.sum(zq * tails)
    v = q21 * np.sum(_WEIGHTS * f * (znodes - m) ** 2) + np.sum((zq - m) ** 2 * tails)
    return float(m), float(v)


def _common_df1(x: np.ndarray, df1: np.ndarray, scale: float, df2: float) -> tuple[np.ndarray, float]:
    """Move variances on fewer df to the largest df1 with the same F tail probability."""
    dmax = float(df1.max())
    i = df1 < dmax - 1e-14
    if not i.any():
        return x, dmax
    f = x[i] / scale
    lu, ll = _logsf(f, df1[i], df2), _logcdf(f, df1[i], df2)
    up = lu < ll
    g = np.empty_like(f)
    g[up] = _qf_upper(np.exp(lu[up]), dmax, df2)
    g[~up] = _qf(np.exp(ll[~up]), dmax, df2)
    x = x.copy()
    x[i] = g * scale
    return x, dmax


def _shrunk_df(z: np.ndarray, ztrend: float, d1: float, df2: float, n: int) -> np.ndarray:
    """Per-outcome prior df, smaller for outcomes that look like variance outliers."""
    fstat = np.exp(z - ztrend)
    log_tail = _logsf(fstat, d1, df2)
    r = sps.rankdata(fstat)
    log_not_outlier = np.minimum(log_tail - (np.log(n - r + 0.5) - np.log(n)), 0)
    if not np.any(log_not_outlier < 0):
        return np.full(n, df2)
    p_not = np.exp(log_not_outlier)
    p_out = -np.expm1(log_not_outlier)
    min_log = log_tail.min()
    if min_log == -np.inf:
        shrunk = p_not * df2
    else:
        df2_out = np.log(0.5) / min_log * df2
        new_log = _logsf(fstat.max(), d1, df2_out)
        df2_out = np.log(0.5) / new_log * df2_out
        shrunk = p_not * df2 + p_out * df2_out
    o = np.argsort(log_tail, kind="stable")
    ordered = shrunk[o]
    running = np.cumsum(ordered) / np.arange(1, n + 1)
    imin = int(np.argmin(running))
    ordered[: imin + 1] = running[imin]
    shrunk[o] = np.maximum.accumulate(ordered)
    return shrunk


def _infinite_df2(z, ztrend, zwmean, mean_inf, d1, n):
    ztc = ztrend + zwmean - mean_inf
    fstat = np.exp(z - ztc)
    tail = f_pvalue(fstat, d1, np.inf)
    r = sps.rankdata(fstat)
    p_not = np.minimum(tail / ((n - r + 0.5) / n), 1)
    shrunk = np.full(n, np.inf)
    out = p_not < 1
    if out.any():
        shrunk[out] = p_not[out] * n * d1
        o = np.argsort(tail, kind="stable")
        shrunk[o] = np.maximum.accumulate(shrunk[o])
    return float(np.exp(ztc)), np.inf, shrunk


def fit_f_dist_robustly(
    x: np.ndarray,
    df1: np.ndarray,
    nonrobust: tuple[float, float],
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> tuple[float, float, np.ndarray]:
    """limma's ``fitFDistRobustly`` without a covariate, on usable values only.

    ``nonrobust`` is ``(scale, df2)`` from :func:`~skintrial.stats._moderation.fit_f_dist` on the
    same values. Returns ``(scale, df2, df2_shrunk)``, the last one value per element of ``x``.
    """
    x = np.asarray(x, dtype=float).copy()
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape)
    n = x.size
    m = float(np.median(x))
    tiny = x < m * 1e-12
    if tiny.any():
        warnings.warn(
            f"{int(tiny.sum())} very small variance(s) offset away from zero",
            DegenerateFitWarning,
            stacklevel=3,
        )
        x[tiny] = m * 1e-12
    scale0, df2_0 = nonrobust
    tail = (float(winsor_tail_p[0]), float(winsor_tail_p[1]))
    if max(tail) < 1 / n:
        return scale0, df2_0, np.full(n, df2_0)
    x, d1 = _common_df1(x, df1, scale0, df2_0)
    z = np.log(x)
    ztrend = float(sps.trim_mean(z, tail[1]))
    zresid = z - ztrend
    lo, hi = np.quantile(zresid, [tail[0], 1 - tail[1]])
    zw = np.clip(zresid, lo, hi)
    zwmean = float(np.mean(zw))
    zwvar = float(np.mean((zw - zwmean) ** 2) * n / (n - 1))
    mean_inf, var_inf = _winsorized_moments(d1, np.inf, tail)
    fun_inf = np.log(zwvar / var_inf)
    if fun_inf <= 0:
        return _infinite_df2(z, ztrend, zwmean, mean_inf, d1, n)
    if np.isinf(df2_0):
        return scale0, df2_0, np.full(n, df2_0)

    def fun(u: float) -> float:
        return fun_inf if u >= 1 else np.log(zwvar / _winsorized_moments(d1, u / (1 - u), tail)[1])

    rbx = df2_0 / (1 + df2_0)
    if fun(rbx) >= 0:
        df2 = df2_0
    else:
        u = optimize.brentq(fun, rbx, 1.0, xtol=1e-12, rtol=1e-14)
        df2 = u / (1 - u)
    mean_d, _ = _winsorized_moments(d1, df2, tail)
    ztc = ztrend + zwmean - mean_d
    return float(np.exp(ztc)), df2, _shrunk_df(z, ztc, d1, df2, n)
