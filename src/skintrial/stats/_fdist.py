"""limma's ``fitFDist``: moment estimates of a scaled F distribution, and ``trigammaInverse``.

The estimation step of Smyth's empirical Bayes (see :mod:`skintrial.stats._moderation`), apart so
that the chunked moderation (:mod:`skintrial.stats._moderation_chunks`) and the in-process one share
it without importing each other.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from skintrial.errors import DegenerateFitWarning
from skintrial.stats._moderation_trend import natural_spline_fit, spline_df

__all__ = ["fit_f_dist", "trigamma_inverse"]


def trigamma_inverse(x: np.ndarray | float) -> np.ndarray:
    """Solve ``trigamma(y) = x`` for y by Newton's method (limma's ``trigammaInverse``).

    ``1/trigamma(y)`` is convex and nearly linear, so Newton's iteration from ``y = 0.5 + 1/x``
    converges monotonically; ``x > 1e7`` uses ``1/sqrt(x)`` and ``x < 1e-6`` uses ``1/x``.

    Examples
    --------
    >>> from scipy.special import polygamma
    >>> y = trigamma_inverse(polygamma(1, 3.7))
    >>> bool(abs(y - 3.7) < 1e-8)
    True
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.full(x.shape, np.nan)
    big, small = x > 1e7, (x < 1e-6) & (x >= 0)
    y[big] = 1.0 / np.sqrt(x[big])
    y[small] = 1.0 / x[small]
    mid = (x >= 1e-6) & (x <= 1e7)
    xm = x[mid]
    ym = 0.5 + 1.0 / xm
    for _ in range(50):
        tri = special.polygamma(1, ym)
        dif = tri * (1.0 - tri / xm) / special.polygamma(2, ym)
        ym = ym + dif
        if ym.size == 0 or np.max(-dif / ym) < 1e-8:
            break
    y[mid] = ym
    return y


def fit_f_dist(
    x: np.ndarray, df1: np.ndarray | float, covariate: np.ndarray | None = None
) -> tuple[float | np.ndarray, float]:
    """Moment estimates of a scaled F distribution: ``x ~ scale * F(df1, df2)`` (limma ``fitFDist``).

    With ``e = log x - digamma(df1/2) + log(df1/2)``, the mean of ``e`` estimates
    ``log scale - digamma(df2/2) + log(df2/2)`` and the variance of ``e`` minus
    ``mean(trigamma(df1/2))`` estimates ``trigamma(df2/2)``; inverting the trigamma function gives
    ``df2``. When that excess variance is not positive, ``df2 = inf`` and the scale is the pooled
    variance ``mean(x)`` (limma since January 2017), or ``exp(trend)`` with a covariate.

    With a ``covariate`` (limma-trend: the genes' average expression), the mean of ``e`` is a natural
    cubic spline in the covariate (see :mod:`skintrial.stats._moderation_trend`), the variance is the
    residual mean square of that fit, and the scale is a vector, one per value of ``x``.

    Values with ``df1 <= 0`` or non-finite ``x`` are left out (with a covariate they still get a
    scale, from the fitted curve). Exact zeros are offset to ``1e-5 * median(x)`` with a
    :class:`~skintrial.errors.DegenerateFitWarning`, as limma does.

    Returns
    -------
    (scale, df2) : tuple
        ``scale`` is a float without a covariate and an array of len(x) with one.

    Examples
    --------
    >>> import numpy as np
    >>> s2 = np.array([0.2, 0.5, 1.1, 0.7, 3.4, 0.05])
    >>> scale, df2 = fit_f_dist(s2, np.array([3, 3, 4, 4, 5, 6]))
    >>> round(scale, 6), round(df2, 6)   # R limma 3.54.1: 0.379784, 2.183443
    (0.379784, 2.183443)
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), x.shape)
    ok = np.isfinite(df1) & (df1 > 1e-15) & np.isfinite(x) & (x > -1e-15)
    nok = int(ok.sum())
    if nok == 0:
        return float("nan"), float("nan")
    if nok == 1:
        return float(x[ok][0]), 0.0
    cov_all = None
    if covariate is not None:
        cov_all = _finite_covariate(np.asarray(covariate, dtype=float))
        if spline_df(nok, cov_all[ok]) < 2:
            scale, df2 = fit_f_dist(x, df1)
            return np.full(n, scale), df2
    xo, d = np.maximum(x[ok], 0.0), df1[ok]
    xo = _offset_zeros(xo)
    half, inv = _distinct(d / 2)  # usually one value: evaluate it once
    e = np.log(xo) - (special.digamma(half) - np.log(half))[inv]
    emean: float | np.ndarray
    if cov_all is None:
        emean = float(np.mean(e))
        evar = float(np.sum((e - emean) ** 2) / (nok - 1))
    else:
        fitted, evar, pred = natural_spline_fit(e, cov_all[ok], spline_df(nok, cov_all[ok]), cov_all[~ok])
        emean = np.empty(n)
        emean[ok], emean[~ok] = fitted, pred
    evar -= float(np.mean(special.polygamma(1, half)[inv]))
    if evar > 0:
        df2 = 2.0 * float(trigamma_inverse(evar)[0])
        scale = np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2))
    else:
        df2 = float("inf")
        scale = float(np.mean(xo)) if cov_all is None else np.exp(emean)
    return (float(scale) if cov_all is None else scale), df2


def _finite_covariate(c: np.ndarray) -> np.ndarray:
    if np.isnan(c).any():
        raise ValueError("NaN covariate values are not allowed")
    fin = np.isfinite(c)
    if fin.all():
        return c
    c = c.copy()
    if fin.any():
        lo, hi = c[fin].min(), c[fin].max()
        c[c == -np.inf], c[c == np.inf] = lo - 1, hi + 1
    else:
        c = np.sign(c)
    return c


def _offset_zeros(x: np.ndarray) -> np.ndarray:
    m = float(np.median(x))
    if m == 0:
        warnings.warn(
            "More than half of the residual variances are exactly zero: the moderated statistics are "
            "unreliable",
            DegenerateFitWarning,
            stacklevel=3,
        )
        m = 1.0
    elif np.any(x == 0):
        warnings.warn(
            "Zero residual variances were offset away from zero (1e-5 times the median)",
            DegenerateFitWarning,
            stacklevel=3,
        )
    return np.maximum(x, 1e-5 * m)


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the inverse map, without sorting when all values are equal (the usual case)."""
    if x.size and x.min() == x.max():
        return x[:1], np.zeros(x.size, dtype=np.intp)
    return np.unique(x, return_inverse=True)
