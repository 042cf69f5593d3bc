"""Empirical-Bayes moderated variances and moderated t statistics (Smyth 2004, limma).

When thousands of outcomes (genes, serum analytes) are fitted with the same small design, each
residual variance ``s_g^2`` rests on a few degrees of freedom ``d_g``. Smyth's hierarchical model puts
a scaled inverse-chi-square prior on the true variances,

    1 / sigma_g^2  ~  chi^2_{d0} / (d0 s0^2),

so that the observed ``s_g^2`` follow a scaled F distribution ``s0^2 F(d_g, d0)``. The two
hyperparameters are estimated across outcomes by the method of moments on ``log s_g^2``
(:func:`fit_f_dist`, limma's ``fitFDist``), and every variance is shrunk towards ``s0^2``
(:func:`squeeze_var`, limma's ``squeezeVar``):

    s~_g^2 = (d_g s_g^2 + d0 s0^2) / (d_g + d0).

The moderated t for a contrast ``c' beta`` is ``t~ = c' beta_hat / (v_g s~_g)``, with ``v_g^2`` the
unscaled variance ``c' (X'X)^-1 c``, referred to a t distribution on ``d_g + d0`` degrees of freedom
(capped at the pooled ``sum d_g``). limma's B statistic (log posterior odds of a non-zero effect) is
computed the same way as ``eBayes`` does it.

Everything here was written from Smyth (2004), *Stat Appl Genet Mol Biol* 3(1):3, and checked
against R limma 3.54.1 (``squeezeVar``, ``lmFit`` + ``eBayes``) on the Kuehne 2017 skin-aging
microarray and on a paired design with missing values: hyperparameters, t, p and B agree to 1e-6
relative or better (``tests/stats/test_moderation.py``, fixtures and script in
``tests/reference/limma/``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import skintrial.stats._moderation_chunks as _chunks
from skintrial.cluster import InProcess, Runner, as_runner, chunk_bounds
from skintrial.errors import DegenerateFitWarning
from skintrial.stats._engine import STATUS_OK, BatchedFit
from skintrial.stats._fdist import fit_f_dist, trigamma_inverse
from skintrial.stats._inference import f_pvalue, t_quantile, t_sf
from skintrial.stats._moderation_chunks import (
    combine_moments,
    contrast_statistics,
    hyperparameters,
    moderate_task,
    moments_task,
    posterior_variance,
)
from skintrial.stats._moderation_robust import fit_f_dist_robustly

__all__ = [
    "SqueezedVariances",
    "ModeratedContrasts",
    "MODERATED_COLUMNS",
    "fit_f_dist",
    "squeeze_var",
    "trigamma_inverse",
    "moderated_contrasts",
    "moderated_f_test",
]

MODERATED_COLUMNS = (
    "outcome",
    "contrast",
    "estimate",
    "se",
    "t",
    "df_total",
    "p",
    "b",
    "ci_low",
    "ci_high",
    "ci_level",
    "s2_post",
    "status",
)


@dataclass(frozen=True)
class SqueezedVariances:
    """Result of :func:`squeeze_var`.

    Attributes
    ----------
    df_prior : float
        Prior degrees of freedom ``d0`` (``inf`` when the variances vary no more than sampling
        error explains).
    var_prior : float or ndarray
        Prior variance ``s0^2`` (limma's ``s2.prior``); one per outcome with a trend covariate.
    var_post : ndarray
        Posterior (moderated) variances ``s~_g^2``; NaN where the input variance could not be used.
    """

    df_prior: float | np.ndarray
    var_prior: float | np.ndarray
    var_post: np.ndarray


@dataclass(frozen=True)
class ModeratedContrasts:
    """Moderated t statistics for every outcome × contrast.

    Attributes
    ----------
    table : DataFrame
        One row per outcome × contrast, columns :data:`MODERATED_COLUMNS`.
    df_prior, var_prior : float
        The empirical-Bayes hyperparameters ``d0`` and ``s0^2``.
    coef_var_prior : ndarray
        limma's ``var.prior``: the prior variance of a non-zero contrast, one per contrast (used by B).
    """

    table: pd.DataFrame
    df_prior: float | np.ndarray
    var_prior: float | np.ndarray
    coef_var_prior: np.ndarray


def squeeze_var(
    s2: np.ndarray,
    df: np.ndarray | float,
    *,
    covariate: np.ndarray | None = None,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> SqueezedVariances:
    """Empirical-Bayes posterior variances (limma's ``squeezeVar``).

    Parameters
    ----------
    s2 : ndarray, shape (K,)
        Residual variances of K outcomes. NaN marks an outcome that could not be fitted; it is left
        out of the estimation and gets a NaN posterior.
    df : float or ndarray, shape (K,)
        Residual degrees of freedom (one number for a shared design without missing values).
    covariate : ndarray, shape (K,), optional
        limma-trend: let the prior variance follow a smooth curve in this covariate (usually the
        outcomes' average log expression); ``var_prior`` is then one value per outcome.
    robust, winsor_tail_p : bool, (float, float)
        limma's ``robust=TRUE`` (Phipson et al. 2016): hyperparameters from Winsorized log variances
        and a prior df per outcome, smaller for hypervariable outcomes (``df_prior`` is then an
        array). Not combined with a covariate here.

    Returns
    -------
    SqueezedVariances
        ``df_prior`` (d0), ``var_prior`` (s0^2) and ``var_post`` =
        ``(df * s2 + d0 * s0^2) / (df + d0)``, which is ``s0^2`` when ``d0`` is infinite. When no
        variance is usable (all NaN or on no df) all three are NaN, with a
        :class:`~skintrial.errors.DegenerateFitWarning`.

    Notes
    -----
    Checked against R limma 3.54.1 ``squeezeVar`` / ``eBayes`` (also ``trend=TRUE``) to 1e-6
    relative (the Kuehne 2017 microarray gives d0 = 4.2055, s0^2 = 0.059177).

    Examples
    --------
    >>> import numpy as np
    >>> sv = squeeze_var(np.array([0.2, 0.5, 1.1, 0.7, 3.4, 0.05]), np.array([3, 3, 4, 4, 5, 6]))
    >>> sv.var_post.round(4)
    array([0.2757, 0.4494, 0.8457, 0.5869, 2.482 , 0.138 ])
    """
    s2 = np.asarray(s2, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), s2.shape).copy()
    if s2.size == 1:
        return SqueezedVariances(df_prior=0.0, var_prior=float(s2[0]), var_post=s2.copy())
    df[~np.isfinite(df)] = 0.0
    use = np.isfinite(s2) & (df > 0)
    df_prior: float | np.ndarray
    var_prior, df_prior = fit_f_dist(np.where(use, s2, np.nan), df, covariate)
    if np.isnan(df_prior):
        warnings.warn(
            "No outcome has a usable residual variance (all missing, constant or without residual df): "
            "the prior and the moderated variances are NaN",
            DegenerateFitWarning,
            stacklevel=2,
        )
        return SqueezedVariances(
            df_prior=float("nan"), var_prior=float("nan"), var_post=np.full(s2.shape, np.nan)
        )
    if robust:
        if covariate is not None:
            raise ValueError("robust=True with a trend covariate is not implemented")
        if use.sum() > 2:
            # without a covariate, fit_f_dist's scale is one float
            var_prior, df2, shrunk = fit_f_dist_robustly(
                s2[use], df[use], (float(var_prior), float(df_prior)), winsor_tail_p
            )
            df_prior = np.full(s2.shape, df2)
            df_prior[use] = shrunk
    post = posterior_variance(s2, df, df_prior, var_prior)
    return SqueezedVariances(df_prior=df_prior, var_prior=var_prior, var_post=post)


def _usable(fit: BatchedFit) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes whose residual variance enters the empirical Bayes step, and their residual df (0 elsewhere)."""
    use = (fit.status == STATUS_OK) & np.isfinite(fit.sigma2) & (fit.df_resid > 0)
    return use, np.where(use, fit.df_resid, 0.0)


def _t_to_common_df(t: np.ndarray, df: np.ndarray, max_df: float) -> np.ndarray:
    """Map |t| on df to the |t| on ``max_df`` with the same upper tail probability (tmixture)."""
    out = t.copy()
    i = df < max_df
    if np.any(i):
        tail = t_sf(t[i], df[i])
        out[i] = -t_quantile(np.maximum(tail, np.finfo(float).tiny), max_df)
    return out


def _tmixture(t: np.ndarray, v1: np.ndarray, df: np.ndarray, proportion: float, lim: tuple) -> float:
    """limma's ``tmixture.vector``: prior variance of the non-null coefficients from the top t's."""
    keep = np.isfinite(t)
    t, v1, df = np.abs(t[keep]), v1[keep], df[keep]
    n = t.size
    ntarget = int(np.ceil(proportion / 2 * n))
    if ntarget < 1:
        return float("nan")
    p = max(ntarget / n, proportion)
    max_df = float(np.max(df))
    t = _t_to_common_df(t, df, max_df)
    top = np.argpartition(-t, ntarget - 1)[:ntarget] if ntarget < n else np.arange(n)
    order = top[np.argsort(-t[top], kind="stable")]
    t, v1 = t[order], v1[order]
    r = np.arange(1, ntarget + 1)
    p0 = 2 * t_sf(t, max_df)
    ptarget = ((r - 0.5) / n - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if np.any(pos):
        qtarget = -t_quantile(ptarget[pos] / 2, max_df)
        v0[pos] = v1[pos] * ((t[pos] / qtarget) ** 2 - 1)
    return float(np.mean(np.clip(v0, lim[0], lim[1])))


def _lods(t, v2, df_total, df_prior, var_prior_coef, proportion):
    """limma's B statistic (log-odds that the contrast is non-zero)."""
    r = (v2 + var_prior_coef) / v2
    t2 = t**2
    big = np.asarray(df_prior) > 1e6
    big = np.broadcast_to(big[:, None] if big.ndim == 1 else big, t.shape)
    kernel = (1 + df_total) / 2 * np.log((t2 + df_total) / (t2 / r + df_total))
    if big.any():
        kernel = np.where(big, t2 * (1 - 1 / r) / 2, kernel)
    return np.log(proportion / (1 - proportion)) - np.log(r) / 2 + kernel


def moderated_contrasts(
    fit: BatchedFit,
    L: np.ndarray,
    *,
    contrast_names: Sequence[str] | None = None,
    ci_level: float = 0.95,
    proportion: float = 0.01,
    stdev_coef_lim: tuple[float, float] = (0.1, 4.0),
    trend: np.ndarray | None = None,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
    client: Any = None,
    moments: np.ndarray | None = None,
) -> ModeratedContrasts:
    """Moderated t tests of contrasts ``L beta`` for every outcome of a batched fit (limma eBayes).

    Parameters
    ----------
    fit : BatchedFit
        From :func:`skintrial.stats.fit_ols` (shared design, per-outcome missing values allowed).
    L : ndarray, shape (m, p) or (p,)
        Contrast rows over ``fit.params``.
    contrast_names : sequence of str, optional
        Labels of the m contrasts (default ``c1..cm``).
    ci_level : float
        Level of the t interval ``estimate ± t_{df_total} · se``.
    proportion, stdev_coef_lim
        limma's ``proportion`` (prior share of non-null outcomes) and ``stdev.coef.lim`` for B.
    trend : ndarray, shape (K,), optional
        limma-trend covariate (``eBayes(trend=TRUE)`` uses the average log expression): the prior
        variance then follows a natural-spline curve in it.
    robust, winsor_tail_p
        limma's ``eBayes(robust=TRUE)``: see :func:`squeeze_var`; ``df_prior`` is then per outcome.
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process. On a
        cluster the outcomes are moderated in chunks, the hyperparameters combined from the chunks'
        sufficient statistics (:mod:`skintrial.stats._moderation_chunks`); the result equals this
        process's to 1e-12 relative.
    moments : ndarray, shape (chunks, 7), optional
        On a cluster: each chunk's :func:`~skintrial.stats.fdist_moments`, when the tasks that
        fitted the outcomes computed them already (``skintrial.omics``' chunked fits do); spares the
        round of tasks that would compute them. Ignored in this process.

    Returns
    -------
    ModeratedContrasts
        ``table`` (columns :data:`MODERATED_COLUMNS`, outcomes in fit order, then contrasts),
        ``df_prior``, ``var_prior`` and ``coef_var_prior``.

    Notes
    -----
    ``se = v_g s~_g``; ``df_total = min(d_g + d0, sum d_g)``; ``p = 2 P(T > |t~|)``. Outcomes whose
    fit status is not ``ok`` are left out of the hyperparameter estimation and keep NaN statistics
    with their status; when no outcome is ``ok`` the whole table is NaN (each row with its status)
    and a :class:`~skintrial.errors.DegenerateFitWarning` says so. Verified against R limma 3.54.1 ``lmFit`` + ``eBayes`` + ``topTable`` to 1e-6
    relative (t, p, B, CI) in ``tests/stats/test_moderation.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from skintrial.stats import fit_ols
    >>> rng = np.random.default_rng(1)
    >>> X = np.column_stack([np.ones(8), np.repeat([0.0, 1.0], 4)])
    >>> Y = rng.normal(size=(8, 50)) + X[:, 1:] * np.r_[2.0, np.zeros(49)]
    >>> fit = fit_ols(X, Y, params=["intercept", "group"])
    >>> res = moderated_contrasts(fit, [0, 1], contrast_names=["group"])
    >>> res.table.loc[0, ["outcome", "contrast"]].tolist()
    ['y0', 'group']
    >>> bool(res.table.loc[0, "p"] < 0.01)
    True
    """
    L = np.atleast_2d(np.asarray(L, dtype=float))
    m = L.shape[0]
    names = list(contrast_names) if contrast_names is not None else [f"c{i + 1}" for i in range(m)]
    if len(names) != m:
        raise ValueError(f"{len(names)} contrast names for {m} contrasts")
    runner = as_runner(client)
    if not isinstance(runner, InProcess):
        return _moderated_in_chunks(
            fit,
            L,
            names,
            runner=runner,
            ci_level=ci_level,
            proportion=proportion,
            stdev_coef_lim=stdev_coef_lim,
            trend=trend,
            robust=robust,
            winsor_tail_p=winsor_tail_p,
            moments=moments,
        )
    use, df = _usable(fit)
    sv = squeeze_var(
        np.where(use, fit.sigma2, np.nan), df, covariate=trend, robust=robust, winsor_tail_p=winsor_tail_p
    )
    s2_post = np.where(use, sv.var_post, np.nan)
    df_total = np.minimum(df + sv.df_prior, df.sum())
    df_total = np.where(use, df_total, np.nan)
    stats = contrast_statistics(fit.coef, fit.xtx_inv, L, s2_post, df_total, ci_level)
    return finish_moderated(
        fit, names, use, (s2_post, df_total, *stats), sv, ci_level, proportion, stdev_coef_lim
    )


def finish_moderated(
    fit: BatchedFit,
    names: list[str],
    use: np.ndarray,
    stats: tuple[np.ndarray, ...],
    sv: SqueezedVariances,
    ci_level: float,
    proportion: float,
    stdev_coef_lim: tuple[float, float],
) -> ModeratedContrasts:
    """limma's B statistic (its prior from the largest |t| of all outcomes) and the table, from the
    per-outcome statistics ``(s2_post, df_total, est, v2, se, t, dft, p, ci_low, ci_high)``."""
    s2_post, df_total, est, v2, se, t, dft, p, ci_low, ci_high = stats
    m = len(names)
    lim = tuple(np.square(stdev_coef_lim) / np.median(sv.var_prior))
    coef_var_prior = np.array(
        [_tmixture(t[use, j], v2[use, j], df_total[use], proportion, lim) for j in range(m)]
    )
    if use.any() and np.isnan(coef_var_prior).any():  # (no usable outcome: squeeze_var has warned)
        warnings.warn("Estimation of var.prior failed: set to 1/s0^2", DegenerateFitWarning, stacklevel=2)
        coef_var_prior = np.where(np.isnan(coef_var_prior), 1 / np.median(sv.var_prior), coef_var_prior)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = _lods(t, v2, dft, sv.df_prior, coef_var_prior[None, :], proportion)

    K = len(fit.outcomes)
    table = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(fit.outcomes, dtype=object), m),
            "contrast": np.tile(np.asarray(names, dtype=object), K),
            "estimate": est.ravel(),
            "se": se.ravel(),
            "t": t.ravel(),
            "df_total": dft.ravel(),
            "p": p.ravel(),
            "b": b.ravel(),
            "ci_low": ci_low.ravel(),
            "ci_high": ci_high.ravel(),
            "ci_level": ci_level,
            "s2_post": np.repeat(s2_post, m),
            "status": np.repeat(fit.status, m),
        },
        columns=list(MODERATED_COLUMNS),
    )
    return ModeratedContrasts(
        table=table, df_prior=sv.df_prior, var_prior=sv.var_prior, coef_var_prior=coef_var_prior
    )


def _moderated_in_chunks(
    fit: BatchedFit,
    L: np.ndarray,
    names: list[str],
    *,
    runner: Runner,
    ci_level: float,
    proportion: float,
    stdev_coef_lim: tuple[float, float],
    trend: np.ndarray | None,
    robust: bool,
    winsor_tail_p: tuple[float, float],
    chunk: int | None = None,
    moments: np.ndarray | None = None,
) -> ModeratedContrasts:
    """:func:`~skintrial.stats.moderated_contrasts` with the outcomes in chunks of ``chunk`` on
    ``runner``: the moments per chunk, the hyperparameters here, the statistics per chunk, B and the
    table here. ``moments``: the chunks' ``fdist_moments``, when the workers computed them with
    the fit (no round of tasks for them then)."""
    bounds = chunk_bounds(len(fit.outcomes), chunk or _chunks.CHUNK_OUTCOMES)
    use, df = _usable(fit)
    per_outcome = {"sigma2": fit.sigma2, "df_resid": fit.df_resid, "status": fit.status}
    hyper = None
    if trend is None and not robust and len(bounds) and len(fit.outcomes) > 1:
        parts = (
            list(moments)
            if moments is not None
            else runner.map(moments_task, bounds, shared=per_outcome, name="fdist-moments")
        )
        usable = fit.sigma2[use]
        hyper = hyperparameters(combine_moments(parts), float(np.median(usable)) if usable.size else 0.0)
    if hyper is None:  # order statistics over all outcomes (trend, robust, a floored variance)
        sv = squeeze_var(
            np.where(use, fit.sigma2, np.nan), df, covariate=trend, robust=robust, winsor_tail_p=winsor_tail_p
        )
    else:
        sv = SqueezedVariances(df_prior=hyper[1], var_prior=hyper[0], var_post=np.empty(0))
    est = fit.coef @ L.T  # (K, m): the contrasts' estimates and unscaled variances, m numbers a gene
    v2 = np.einsum("mi,kij,mj->km", L, fit.xtx_inv, L)
    shared = {
        **per_outcome,
        "est": est,
        "v2": v2,
        "df_prior": sv.df_prior,
        "var_prior": sv.var_prior,
        "df_cap": float(df.sum()),
        "ci_level": ci_level,
    }
    blocks = runner.map(moderate_task, bounds, shared=shared, name="moderate")
    s2_post, df_total, se, t, p, ci_low, ci_high = (
        np.concatenate([blk[i] for blk in blocks]) for i in range(7)
    )
    dft = np.broadcast_to(df_total[:, None], t.shape)
    stats = (s2_post, df_total, est, v2, se, t, dft, p, ci_low, ci_high)
    return finish_moderated(fit, names, use, stats, sv, ci_level, proportion, stdev_coef_lim)


def moderated_f_test(fit: BatchedFit, L: np.ndarray, *, trend: np.ndarray | None = None) -> pd.DataFrame:
    """Moderated F test that all rows of ``L beta`` are zero, for every outcome (limma's ``F``).

    With the moderated t statistics ``t_g`` of the m contrasts and their correlation matrix
    ``R_g = cov2cor(L (X'X)^-1 L')``, ``F_g = t_g' R_g^+ t_g / r`` where ``r`` is the rank of ``R_g``
    (eigenvalues above 1e-8 of the largest), referred to ``F(r, d_g + d0)``. This is limma's
    ``eBayes`` ``F`` / ``F.p.value`` (``classifyTestsF``); limma uses one correlation matrix for all
    genes, skintrial each outcome's own, which is the same when no values are missing.

    Returns
    -------
    DataFrame
        ``outcome, f, df1, df2, p, status``.

    Examples
    --------
    >>> import numpy as np
    >>> from skintrial.stats import fit_ols
    >>> rng = np.random.default_rng(3)
    >>> X = np.column_stack([np.ones(9), np.repeat(np.eye(3)[:, 1:], 3, axis=0)])
    >>> fit = fit_ols(X, rng.normal(size=(9, 40)))
    >>> moderated_f_test(fit, np.eye(3)[1:]).columns.tolist()
    ['outcome', 'f', 'df1', 'df2', 'p', 'status']
    """
    L = np.atleast_2d(np.asarray(L, dtype=float))
    use, df = _usable(fit)
    sv = squeeze_var(np.where(use, fit.sigma2, np.nan), df, covariate=trend)
    est = fit.coef @ L.T
    shared = fit.xtx_inv.strides[0] == 0 or fit.xtx_inv.shape[0] == 1
    A = fit.xtx_inv[:1] if shared else fit.xtx_inv
    V = np.einsum("mi,kij,lj->kml", L, np.nan_to_num(A), L)
    d = np.sqrt(np.einsum("kmm->km", V))
    d = np.where(d > 0, d, 1.0)
    R = V / d[:, :, None] / d[:, None, :]
    lam, vec = np.linalg.eigh(R)  # ascending
    keep = lam > 1e-8 * lam[:, -1:]  # (an outcome without a fit has lam = 0: nothing kept)
    r = keep.sum(axis=1)
    w = np.where(keep, 1 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / (d if not shared else np.broadcast_to(d, est.shape)) / np.sqrt(sv.var_post)[:, None]
        proj = np.einsum(
            "km,kmr->kr", t, vec if not shared else np.broadcast_to(vec, (len(t),) + vec.shape[1:])
        )
        f = np.sum((proj * w) ** 2, axis=1) / r
    r = np.broadcast_to(r, f.shape).astype(float)
    df2 = df + sv.df_prior
    p = f_pvalue(f, r, df2)  # df2 = inf: the chi-square limit
    bad = ~use
    f, p = np.where(bad, np.nan, f), np.where(bad, np.nan, p)
    return pd.DataFrame(
        {
            "outcome": list(fit.outcomes),
            "f": f,
            "df1": np.where(bad, np.nan, r),
            "df2": np.where(bad, np.nan, df2),
            "p": p,
            "status": fit.status,
        }
    )
