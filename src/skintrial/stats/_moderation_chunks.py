"""The moderated statistics with the outcome axis cut into chunks, for a cluster (issue 16).

Smyth's empirical Bayes needs two numbers estimated over *all* outcomes — the prior df ``d0`` and the
prior variance ``s0^2`` — before any outcome's moderated t can be computed. limma's ``fitFDist``
estimates them from the mean and the variance of ``e_g = log s_g^2 - digamma(d_g/2) + log(d_g/2)``
and the mean of ``trigamma(d_g/2)``; these are sums over outcomes, so each chunk of outcomes reduces
to seven numbers (:func:`fdist_moments`: the count, the mean and centred sum of squares of ``e``, the
sums of ``trigamma(d_g/2)``, of ``s_g^2`` and of ``d_g``, and the smallest ``s_g^2``), combined in
chunk order by the pairwise update of Chan, Golub & LeVeque (1979) (:func:`combine_moments`), which
is as accurate as the one-pass mean and variance :func:`~skintrial.stats.fit_f_dist` computes
in this process. The moderated t, p and intervals of every outcome then follow chunk by chunk from the
two hyperparameters (:func:`moderate_task`).

Three cases need order statistics over all outcomes rather than sums, and are estimated centrally from
the per-outcome variances the chunks' fits already brought back (K numbers, the size of the result
itself): limma-trend (the spline's knots are quantiles of the covariate), ``robust=True`` (Winsorised
at quantiles of ``e``), and variances below 1e-5 × their median, exact zeros included (limma raises
them to that floor; whether any is below it is checked from the chunks' smallest variance and the
median of the K variances). limma's B statistic
needs the prior variance of the non-null effects from the largest |t| of all outcomes (``tmixture``),
and the Benjamini–Hochberg step all p-values: both are computed centrally on the gathered t and p.

What travels: the per-outcome arrays the tasks read — the contrasts' estimates and unscaled variances
(K × m each, formed here from the coefficients and ``(X'X)^-1``: m numbers a gene instead of p × p),
the variances, df and status — are scattered once to every worker (``Runner.map``'s ``shared``); a
task's item is its index range ``(start, stop)``, and it returns its chunk's arrays: the posterior
variance and total df (chunk floats each) and se, t, p and the interval (chunk × m floats each). For
K = 20,000 genes and m = 3 contrasts that is 1.6 MB sent to each worker and 2.2 MB back in all. Chunks are cut by the data (:data:`CHUNK_OUTCOMES` outcomes), never by the number
of workers, and combined in chunk order, so the result does not depend on the cluster.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from skintrial.stats._engine import STATUS_OK
from skintrial.stats._fdist import trigamma_inverse
from skintrial.stats._inference import t_interval, t_pvalue

__all__ = [
    "CHUNK_OUTCOMES",
    "combine_moments",
    "contrast_statistics",
    "fdist_moments",
    "hyperparameters",
    "moderate_task",
    "moments_task",
    "posterior_variance",
    "t_statistics",
]

CHUNK_OUTCOMES = 2000
"""Outcomes per task: 2,000 genes × 100 samples is 1.6 MB of values and a few milliseconds of work,
well above the scheduler's per-task overhead (docs/scale.md)."""

_N, _MEAN, _M2, _TRIGAMMA, _X, _MIN, _DF = range(7)


def posterior_variance(
    s2: np.ndarray, df: np.ndarray, df_prior: float | np.ndarray, var_prior: float | np.ndarray
) -> np.ndarray:
    """``(d_g s_g^2 + d0 s0^2) / (d_g + d0)`` (``s0^2`` where ``d0`` is infinite; NaN where ``s_g^2`` is
    NaN and ``d0`` finite): limma's ``squeezeVar`` posterior, outcome by outcome."""
    inf = np.isinf(df_prior)
    with np.errstate(invalid="ignore"):
        post = np.where(inf, var_prior, (df * s2 + df_prior * var_prior) / (df + df_prior))
    return np.where(np.isfinite(s2) | inf, post, np.nan)


def contrast_statistics(
    coef: np.ndarray,
    xtx_inv: np.ndarray,
    L: np.ndarray,
    s2_post: np.ndarray,
    df_total: np.ndarray,
    ci_level: float,
) -> tuple[np.ndarray, ...]:
    """Estimate, unscaled variance, se, moderated t, df, p and interval of ``L beta`` per outcome.

    Returns ``(est, v2, se, t, dft, p, ci_low, ci_high)``, each (K, m); outcome by outcome, so a chunk
    of outcomes gives the rows of the whole.
    """
    est = coef @ L.T  # (K, m)
    v2 = np.einsum("mi,kij,mj->km", L, xtx_inv, L)  # unscaled variances
    return (est, v2, *t_statistics(est, v2, s2_post, df_total, ci_level))


def t_statistics(
    est: np.ndarray, v2: np.ndarray, s2_post: np.ndarray, df_total: np.ndarray, ci_level: float
) -> tuple[np.ndarray, ...]:
    """``(se, t, dft, p, ci_low, ci_high)`` of estimates ``est`` with unscaled variances ``v2`` (K, m)."""
    se = np.sqrt(np.clip(v2, 0.0, None) * s2_post[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    dft = np.broadcast_to(df_total[:, None], t.shape)
    p = t_pvalue(t, dft)  # |t| = inf (se = 0, limma keeps it): p = 0
    ci_low, ci_high = t_interval(est, se, dft, ci_level)
    return se, t, dft, p, ci_low, ci_high


def _usable(sigma2: np.ndarray, df_resid: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    use = (status == STATUS_OK) & np.isfinite(sigma2) & (df_resid > 0)
    return use, np.where(use, df_resid, 0.0)


def fdist_moments(sigma2: np.ndarray, df_resid: np.ndarray, status: np.ndarray) -> np.ndarray:
    """The sufficient statistics of limma's ``fitFDist`` for a chunk of outcomes (seven numbers).

    Over the outcomes whose variance enters the empirical Bayes step: their count, the mean and the
    centred sum of squares of ``e = log s^2 - digamma(d/2) + log(d/2)``, the sums of
    ``trigamma(d/2)``, of ``s^2`` and of ``d``, and the smallest ``s^2`` (one below 1e-5 × the median
    of all makes the central estimate necessary: limma raises it to that floor).
    """
    use, _ = _usable(sigma2, df_resid, status)
    x, d = np.maximum(sigma2[use], 0.0), df_resid[use]
    out = np.zeros(7)
    out[_N] = x.size
    out[_MIN] = np.min(x) if x.size else np.inf
    if x.size == 0:
        return out
    half = d / 2
    if out[_MIN] > 0:
        e = np.log(x) - (special.digamma(half) - np.log(half))
        out[_MEAN] = np.mean(e)
        out[_M2] = np.sum((e - out[_MEAN]) ** 2)
    out[_TRIGAMMA] = np.sum(special.polygamma(1, half))
    out[_X] = np.sum(x)
    out[_DF] = np.sum(d)
    return out


def combine_moments(parts: list[np.ndarray]) -> np.ndarray:
    """The moments of all chunks together, combined in the given order (Chan et al.'s update)."""
    total = np.zeros(7)
    for part in parts:
        na, nb = total[_N], part[_N]
        if nb == 0:
            continue
        n = na + nb
        delta = part[_MEAN] - total[_MEAN]
        total[_MEAN] = total[_MEAN] + delta * nb / n
        total[_M2] = total[_M2] + part[_M2] + delta * delta * na * nb / n
        total[_N] = n
        for j in (_TRIGAMMA, _X, _DF):
            total[j] += part[j]
    total[_MIN] = min((part[_MIN] for part in parts), default=np.inf)
    return total


def hyperparameters(moments: np.ndarray, median: float) -> tuple[float, float] | None:
    """``(s0^2, d0)`` from the combined moments as :func:`~skintrial.stats.fit_f_dist` computes them,
    or None when they need the outcomes themselves: fewer than three usable, or a variance below
    1e-5 × ``median`` (the median of the usable variances), which limma raises to that floor."""
    n = moments[_N]
    if n < 3 or not moments[_MIN] > 0 or moments[_MIN] < 1e-5 * median:
        return None
    emean = float(moments[_MEAN])
    evar = float(moments[_M2] / (n - 1))
    evar -= float(moments[_TRIGAMMA] / n)
    if evar > 0:
        df2 = 2.0 * float(trigamma_inverse(evar)[0])
        scale = float(np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2)))
    else:
        df2 = float("inf")
        scale = float(moments[_X] / n)
    return scale, df2


def moments_task(
    bounds: tuple[int, int], *, sigma2: np.ndarray, df_resid: np.ndarray, status: np.ndarray
) -> np.ndarray:
    """A cluster task: :func:`fdist_moments` of the outcomes ``bounds[0]:bounds[1]``."""
    a, b = bounds
    return fdist_moments(sigma2[a:b], df_resid[a:b], status[a:b])


def _rows(x: float | np.ndarray, a: int, b: int, K: int) -> float | np.ndarray:
    """A hyperparameter for outcomes a:b: the number itself, or its slice when it is one per outcome."""
    return x[a:b] if isinstance(x, np.ndarray) and x.ndim == 1 and x.size == K else x


def moderate_task(
    bounds: tuple[int, int],
    *,
    est: np.ndarray,
    v2: np.ndarray,
    sigma2: np.ndarray,
    df_resid: np.ndarray,
    status: np.ndarray,
    df_prior: float | np.ndarray,
    var_prior: float | np.ndarray,
    df_cap: float,
    ci_level: float,
) -> tuple[np.ndarray, ...]:
    """A cluster task: the moderated statistics of outcomes ``bounds[0]:bounds[1]`` given ``d0`` and
    ``s0^2`` and the contrasts' estimates and unscaled variances (K, m):
    ``(s2_post, df_total, se, t, p, ci_low, ci_high)``."""
    a, b = bounds
    K = len(sigma2)
    use, df = _usable(sigma2[a:b], df_resid[a:b], status[a:b])
    d0 = _rows(df_prior, a, b, K)
    post = posterior_variance(np.where(use, sigma2[a:b], np.nan), df, d0, _rows(var_prior, a, b, K))
    s2_post = np.where(use, post, np.nan)
    df_total = np.where(use, np.minimum(df + d0, df_cap), np.nan)
    se, t, _, p, ci_low, ci_high = t_statistics(est[a:b], v2[a:b], s2_post, df_total, ci_level)
    return s2_post, df_total, se, t, p, ci_low, ci_high
