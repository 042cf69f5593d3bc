"""Inference from an estimate, its standard error and degrees of freedom: the one path for every
t, z and F tail probability, quantile and interval in skintrial.

Every function takes numpy arrays of any shape (or scalars), broadcasts them together and returns an
array of the broadcast shape (a numpy scalar or 0-d array when every input is a scalar). Their
conventions are the same everywhere:

* ``df = inf`` is the normal limit: the t distribution becomes N(0, 1) (a *z* test), an F with an
  infinite denominator df becomes ``chi²(df1) / df1``.
* ``df <= 0`` and ``df = NaN`` (the model could not be fitted) give NaN, as does a NaN statistic.
  Nothing warns: a NaN is the answer, and the caller's ``status`` column says why.
* Tails are computed as tails (``P(T > |t|)`` directly, never ``1 - P(T <= |t|)``), so p-values far
  below machine epsilon keep their relative accuracy.

The arithmetic is ``scipy.special`` (``stdtr``, ``stdtrit``, ``fdtrc``, ``chdtrc``, ``ndtr``,
``ndtri``): the same numbers as ``scipy.stats.t`` / ``f`` / ``norm`` without their per-call overhead,
checked against them in ``tests/stats/test_inference.py``. A t quantile is evaluated once per distinct
df (most arrays hold a handful of df repeated over thousands of outcomes).

Two-sided p-values and intervals follow R: ``p = 2 pt(-|t|, df)``, interval
``estimate ± qt(1 - (1 - level)/2, df) · se`` (``confint.lm``, ``emmeans``, ``t.test``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from skintrial.errors import InputError, Problem

__all__ = [
    "TInference",
    "t_cdf",
    "t_sf",
    "t_pvalue",
    "t_quantile",
    "t_critical",
    "t_interval",
    "t_inference",
    "z_pvalue",
    "z_critical",
    "f_pvalue",
    "f_quantile",
]


def _array(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _df_ok(df: np.ndarray) -> np.ndarray:
    """True where ``df`` is a usable degrees of freedom: positive (infinity included), not NaN."""
    return df > 0  # NaN compares False


def _check_level(ci_level) -> np.ndarray:
    level = _array(ci_level)
    if not np.all((level > 0) & (level < 1)):
        raise InputError(
            Problem(
                "the confidence level must lie strictly between 0 and 1",
                column="ci_level",
                value=ci_level,
                fix="give a proportion, e.g. 0.95 (not 95)",
            )
        )
    return level


def t_cdf(x, df) -> np.ndarray:
    """Lower tail ``P(T <= x)`` of Student's t with ``df`` degrees of freedom (N(0, 1) when ``df`` is inf).

    Examples
    --------
    >>> t_cdf([-2.0, 0.0], [10, np.inf]).round(6)
    array([0.036694, 0.5     ])
    >>> t_cdf(1.0, [0.0, np.nan])
    array([nan, nan])
    """
    x, df = np.broadcast_arrays(_array(x), _array(df))
    ok = _df_ok(df)
    out = special.stdtr(np.where(ok, df, np.nan), x)
    inf = np.isposinf(df)
    if inf.any():  # scipy < 1.13 gives NaN for df = inf
        out = np.where(inf, special.ndtr(x), out)
    return out


def t_sf(x, df) -> np.ndarray:
    """Upper tail ``P(T > x)`` of Student's t (N(0, 1) when ``df`` is inf), computed as ``P(T <= -x)``.

    Examples
    --------
    >>> float(t_sf(1.959963984540054, np.inf).round(6))
    0.025
    """
    return t_cdf(-_array(x), df)


def t_pvalue(t, df) -> np.ndarray:
    """Two-sided p-value ``2 P(T > |t|)`` of a t statistic (a z test when ``df`` is inf).

    ``t = ±inf`` gives 0; NaN ``t``, ``df <= 0`` or NaN ``df`` give NaN.

    Examples
    --------
    >>> t_pvalue([2.0, -2.0, np.nan], 10).round(6)
    array([0.073388, 0.073388,      nan])
    >>> float(t_pvalue(1.959963984540054, np.inf).round(6))
    0.05
    """
    return 2.0 * t_cdf(-np.abs(_array(t)), df)


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the inverse map, without sorting when all values are equal (the usual case)."""
    if x.size and x.min() == x.max():
        return x[:1], np.zeros(x.size, dtype=np.intp)
    u, inv = np.unique(x, return_inverse=True)
    return u, inv.reshape(-1)


def t_quantile(prob, df) -> np.ndarray:
    """Quantile ``q`` with ``P(T <= q) = prob`` of Student's t (the normal quantile when ``df`` is inf).

    ``prob`` outside [0, 1], ``df <= 0`` or NaN give NaN; ``prob`` 0 and 1 give ∓inf (``stdtrit``
    alone answers +inf for both, and for lower-tail probabilities below about 1e-300). With a single
    ``prob`` each distinct df is evaluated once.

    Examples
    --------
    >>> t_quantile(0.975, [1.0, 10.0, np.inf]).round(6)
    array([12.706205,  2.228139,  1.959964])
    >>> t_quantile(0.975, [0.0, -1.0, np.nan])
    array([nan, nan, nan])
    """
    prob, df = _array(prob), _array(df)
    if prob.ndim == 0:
        flat = df.ravel()
        out = np.full(flat.shape, np.nan)
        fin = _df_ok(flat) & np.isfinite(flat)
        if fin.any():
            u, inv = _distinct(flat[fin])
            out[fin] = special.stdtrit(u, prob)[inv]
        out[np.isposinf(flat)] = special.ndtri(prob)
        return _lower_tail_sign(out.reshape(df.shape), prob)
    prob, df = np.broadcast_arrays(prob, df)
    fin = _df_ok(df) & np.isfinite(df)
    out = special.stdtrit(np.where(fin, df, np.nan), prob)
    return _lower_tail_sign(np.where(np.isposinf(df), special.ndtri(prob), out), prob)


def _lower_tail_sign(q: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """A quantile below the median is negative: ``stdtrit``'s +inf for a tiny or zero ``prob`` is -inf."""
    return np.where((prob < 0.5) & (q == np.inf), -np.inf, q)


def t_critical(ci_level, df) -> np.ndarray:
    """Two-sided critical value ``q`` with ``P(|T| <= q) = ci_level``: ``qt(1 - (1 - ci_level)/2, df)``.

    Computed as minus the lower ``(1 - ci_level)/2`` quantile, which keeps its accuracy for levels
    close to 1. A ``ci_level`` outside (0, 1) raises :class:`~skintrial.errors.InputError`.

    Examples
    --------
    >>> t_critical(0.95, [4.0, np.inf]).round(6)
    array([2.776445, 1.959964])
    """
    level = _check_level(ci_level)
    return -t_quantile((1.0 - level) / 2.0, df)


def t_interval(estimate, se, df, ci_level) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided t interval ``estimate ± t_critical(ci_level, df) · se``.

    NaN where ``se`` is negative or not finite, or ``df`` is unusable; ``se = 0`` gives the
    zero-width interval ``[estimate, estimate]``.

    Examples
    --------
    >>> low, high = t_interval([1.0, 1.0], [0.5, 0.5], [10.0, np.nan], 0.95)
    >>> low.round(4), high.round(4)
    (array([-0.1141,     nan]), array([2.1141,    nan]))
    """
    est, se, df = np.broadcast_arrays(_array(estimate), _array(se), _array(df))
    q = t_critical(ci_level, df)
    with np.errstate(invalid="ignore", over="ignore"):
        half = np.where(np.isfinite(se) & (se >= 0), q * se, np.nan)
        return est - half, est + half


@dataclass(frozen=True)
class TInference:
    """Wald t inference for arrays of estimates: ``t``, two-sided ``p`` and the interval, same shape."""

    t: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def t_inference(estimate, se, df, *, ci_level: float = 0.95) -> TInference:
    """t statistic, two-sided p-value and ``ci_level`` interval from (estimate, se, df), batched.

    ``t = estimate / se`` where ``se > 0`` and finite and ``df`` is usable (NaN elsewhere; no
    division warnings); ``p = 2 P(T_df > |t|)``; the interval is :func:`t_interval`'s. ``df = inf``
    gives the z test and the normal interval.

    Examples
    --------
    >>> r = t_inference(np.array([2.0, 1.0, 1.0]), np.array([1.0, 0.0, 1.0]), np.array([10.0, 10.0, 0.0]))
    >>> r.t, r.p.round(6)
    (array([ 2., nan, nan]), array([0.073388,      nan,      nan]))
    >>> r.ci_low.round(4)
    array([-0.2281,  1.    ,     nan])
    """
    est, se, df = np.broadcast_arrays(_array(estimate), _array(se), _array(df))
    ok = (se > 0) & np.isfinite(se) & _df_ok(df)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(ok, est / np.where(ok, se, 1.0), np.nan)
    low, high = t_interval(est, se, df, ci_level)
    return TInference(t=t, p=t_pvalue(t, df), ci_low=low, ci_high=high)


def z_pvalue(z) -> np.ndarray:
    """Two-sided normal p-value ``2 P(Z > |z|)`` (:func:`t_pvalue` with infinite df).

    Examples
    --------
    >>> z_pvalue([1.959963984540054, 0.0]).round(6)
    array([0.05, 1.  ])
    """
    return 2.0 * special.ndtr(-np.abs(_array(z)))


def z_critical(ci_level) -> np.ndarray:
    """Two-sided normal critical value: ``qnorm(1 - (1 - ci_level)/2)``.

    Examples
    --------
    >>> float(z_critical(0.95).round(6))
    1.959964
    """
    level = _check_level(ci_level)
    return -special.ndtri((1.0 - level) / 2.0)


def f_pvalue(f, df1, df2) -> np.ndarray:
    """Upper tail ``P(F > f)`` of the F distribution with (``df1``, ``df2``) degrees of freedom.

    Non-integer df are allowed (Greenhouse–Geisser, Satterthwaite). ``df2 = inf`` is the limit
    ``chi²(df1)/df1``, ``df1 = inf`` (finite ``df2``) the limit ``df2/chi²(df2)``; both infinite,
    ``df <= 0`` or NaN, and NaN ``f`` give NaN. A negative ``f`` (rounding in a difference of sums of
    squares) lies below the support: p = 1.

    Examples
    --------
    >>> f_pvalue([3.0, 3.0, -1e-17], [2, 2, 2], [10, np.inf, 10]).round(6)
    array([0.095367, 0.049787, 1.      ])
    """
    f, d1, d2 = np.broadcast_arrays(_array(f), _array(df1), _array(df2))
    ok = _df_ok(d1) & _df_ok(d2)
    fin1, fin2 = np.isfinite(d1), np.isfinite(d2)
    fc = np.maximum(f, 0.0)  # NaN stays NaN
    nan = np.nan
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = special.fdtrc(np.where(ok & fin1 & fin2, d1, nan), np.where(fin2, d2, nan), fc)
        if not (fin1 & fin2).all():
            chi_num = special.chdtrc(np.where(ok & fin1, d1, nan), d1 * fc)  # df2 = inf
            chi_den = special.chdtr(np.where(ok & fin2, d2, nan), d2 / fc)  # df1 = inf
            out = np.where(fin1 & ~fin2, chi_num, np.where(~fin1 & fin2, chi_den, out))
    return np.where(ok & (fin1 | fin2), out, nan)


def f_quantile(prob, df1, df2, *, upper: bool = False) -> np.ndarray:
    """Quantile of the F distribution with (``df1``, ``df2``) degrees of freedom: the ``f`` with
    ``P(F <= f) = prob``, or with ``upper=True`` the ``f`` with ``P(F > f) = prob`` (computed from the
    upper tail, so a tiny ``prob`` keeps its accuracy).

    ``df2 = inf`` is the limit ``chi²(df1)/df1``, as in :func:`f_pvalue`; ``df1 <= 0``, ``df2 <= 0``,
    NaN df and ``prob`` outside [0, 1] give NaN.

    Examples
    --------
    >>> f_quantile([0.95, 0.95], [2, 2], [10, np.inf]).round(6)
    array([4.102821, 2.995732])
    >>> bool(np.isclose(f_quantile(0.05, 2, 10, upper=True), f_quantile(0.95, 2, 10)))
    True
    """
    from scipy import stats

    q, d1, d2 = np.broadcast_arrays(_array(prob), _array(df1), _array(df2))
    ok = _df_ok(d1) & _df_ok(d2) & np.isfinite(d1) & (q >= 0) & (q <= 1)
    fin2 = np.isfinite(d2)
    nan = np.nan
    d1s, d2s = np.where(ok, d1, 1.0), np.where(ok & fin2, d2, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if upper:
            finite = stats.f.isf(q, d1s, d2s)
            limit = stats.chi2.isf(q, d1s) / d1s
        else:
            finite = stats.f.ppf(q, d1s, d2s)
            limit = stats.chi2.ppf(q, d1s) / d1s
    return np.where(ok, np.where(fin2, finite, limit), nan)
