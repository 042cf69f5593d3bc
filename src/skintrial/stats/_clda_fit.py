"""The numerical side of :func:`skintrial.stats.clda`: the design, the checks before fitting, and the
REML fits with a pre-specified fallback of covariance structures, batched over outcomes.

The public function, its tables and their documentation are in :mod:`skintrial.stats.clda`; the REML
engine in :mod:`skintrial.stats._reml`, the covariance structures in
:mod:`skintrial.stats._covstruct`, the variances and df of the contrasts in
:mod:`skintrial.stats._reml_inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skintrial.stats._covstruct import n_params
from skintrial.stats._data import TrialArrays, arm_design
from skintrial.stats._engine import fit_ols
from skintrial.stats._reml import BOUNDARY, _positive_definite, fit_reml, min_correlation_eigenvalue
from skintrial.stats._reml_inference import NEEDS_INFORMATION, contrast_stats
from skintrial.stats._reml_terms import cell_counts

__all__ = ["ClDAOptions", "Design", "Fit", "design", "precheck", "fit_all"]

_CHUNK_DOUBLES = 5_000_000  # working-set budget per batch of outcomes (doubles per array)

FALLBACK_STATUSES = ("too_few_participants", "not_converged", "singular_covariance", "information_not_pd")
"""Why a structure's fit counts as failed, so that the next structure of the fallback is tried."""


@dataclass(frozen=True)
class ClDAOptions:
    """The analysis choices of a cLDA fit (see :func:`skintrial.stats.clda`)."""

    df_method: str = "residual"
    covariance: str = "us"
    fallback: tuple[str, ...] = ()
    vcov: str = "model"
    visit_covariates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Design:
    """The mean model of every subject at every visit, and where its columns are."""

    X: np.ndarray  # (n, T, p)
    col: dict[tuple[int, int], int]  # column of the effect of (arm, post-baseline visit)
    covariates: np.ndarray  # positions of the covariate main-effect columns (c,)
    by_visit: list[tuple[int, int, int]]  # (column, position in ``covariates`` of its covariate, visit)


def design(ta: TrialArrays, visit_covariates: Sequence[str] = ()) -> Design:
    """Mean model: visit means, arm × post-baseline visit, covariates, covariates × post-baseline visit.

    Columns: one indicator per visit (cell means); for each non-first arm j and post-baseline visit v
    the indicator ``arm == j and visit == v``; the covariate columns, centred over all participants and
    common to all visits; then, for each covariate in ``visit_covariates`` (each of its columns for a
    factor) and each post-baseline visit v, the covariate column times ``visit == v``, so that its slope
    may differ at every visit.
    """
    n, T, A = len(ta.subjects), len(ta.visits), len(ta.arms)
    subj_X, names, _ = arm_design(ta)
    cov = subj_X[:, A:]  # arm_design: intercept, A - 1 arm dummies, covariate columns
    cov = cov - cov.mean(axis=0)
    cov_names = names[A:]
    inter = [
        (k, v)
        for k, nm in enumerate(cov_names)
        if any(nm == c or nm.startswith(f"{c}[") for c in visit_covariates)
        for v in range(1, T)
    ]
    c = cov.shape[1]
    p = T + (A - 1) * (T - 1) + c + len(inter)
    X = np.zeros((n, T, p))
    X[:, np.arange(T), np.arange(T)] = 1.0
    col: dict[tuple[int, int], int] = {}
    k = T
    for j in range(1, A):
        for v in range(1, T):
            X[:, v, k] = ta.arm_index == j
            col[(j, v)] = k
            k += 1
    X[:, :, k : k + c] = cov[:, None, :]
    covariates = np.arange(k, k + c)
    by_visit = []
    for m, (src, v) in enumerate(inter):
        X[:, v, k + c + m] = cov[:, src]
        by_visit.append((k + c + m, src, v))
    return Design(X, col, covariates, by_visit)


def too_few(mask: np.ndarray, p: int, structure: str) -> np.ndarray:
    """(G,) outcomes with too few observations for ``structure``: fewer residual observations than
    covariance parameters, a visit seen in fewer than 2 participants, or (unstructured) a pair of
    visits seen together in fewer than 2 participants, (structured) no pair at all."""
    m = mask.astype(float)
    G, n, T = m.shape
    pairs = np.swapaxes(m, 1, 2) @ m
    n_obs = m.sum(axis=(1, 2))
    short = n_obs - p < n_params(structure, T)
    if structure == "us":
        return short | (pairs.min(axis=(1, 2)) < 2)
    off = pairs + np.where(np.eye(T, dtype=bool), -np.inf, 0.0)
    diag = np.diagonal(pairs, axis1=1, axis2=2)
    return short | (diag.min(axis=1) < 2) | ((off.max(axis=(1, 2)) < 2) if T > 1 else False)


def precheck(
    y: np.ndarray, mask: np.ndarray, X: np.ndarray, arm_index: np.ndarray, n_arms: int, structure: str
) -> np.ndarray:
    """Status of each outcome before fitting (G,); ``too_few_participants`` for ``structure``."""
    G, n, T = mask.shape
    p = X.shape[-1]
    status = np.full(G, "ok", dtype=object)
    # counts (exact in any order) on an outcome-major copy of the mask: clda's y and mask are strided
    # views of its subject-major layout
    mask_g = np.ascontiguousarray(mask)
    m = mask_g.astype(float)
    XX = (X[:, :, :, None] * X[:, :, None, :]).reshape(n * T, p * p)  # x_it x_it' per subject and visit
    A = (m.reshape(G, n * T) @ XX).reshape(G, p, p)
    lam = np.linalg.eigvalsh(A)
    status[too_few(mask_g, p, structure)] = "too_few_participants"  # a fallback structure may have enough
    status[lam[:, 0] <= 1e-10 * np.maximum(lam[:, -1], 1e-300)] = "rank_deficient"  # no structure helps
    onehot = (arm_index[:, None] == np.arange(n_arms)[None, :]).astype(float)  # (n, A)
    per_arm = onehot.T @ m[:, :, 1:]  # (G, A, T - 1) follow-up values per arm and visit
    status[(per_arm == 0).any(axis=(1, 2))] = "arm_without_followup"
    status[_constant_visit(y, mask, X)] = "constant_visit"
    with np.errstate(invalid="ignore"):  # the subject axis first: the memory order of clda's y
        lo = np.where(mask, y, np.inf).transpose(1, 0, 2).min(axis=0).min(axis=1)
        hi = np.where(mask, y, -np.inf).transpose(1, 0, 2).max(axis=0).max(axis=1)
    status[~(hi > lo)] = "constant_outcome"
    return status


def _constant_visit(y: np.ndarray, mask: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(G,) outcomes with no residual variance at some visit: the visit's own part of the mean model
    (its mean, arm effects and covariates) fits it exactly, so that visit's variance is zero and REML
    has no interior maximum. One batched least-squares fit per visit (the loop is over visits)."""
    G, n, T = mask.shape
    out = np.zeros(G, dtype=bool)
    for t in range(T):
        cols = np.flatnonzero(np.abs(X[:, t, :]).sum(axis=0) > 0)
        Xt = X[:, t, cols]
        m = mask[:, :, t]
        yt = np.where(m, y[:, :, t], 0.0)
        # screen by the normal equations, all outcomes in one product over the subjects: a residual sum
        # of squares above 1e-8 of the sum of squares (the formula's rounding is about 1e-15 of it) has
        # residual variance for certain; only the rest get the exact fit and its criterion
        A = (m.astype(float) @ (Xt[:, :, None] * Xt[:, None, :]).reshape(n, -1)).reshape(
            G, cols.size, cols.size
        )
        lam, vec = np.linalg.eigh(A)
        keep = lam > 1e-12 * np.maximum(lam[:, -1:], 1e-300)
        proj = np.einsum("gp,gpk->gk", yt @ Xt, vec)
        yy = np.einsum("gi,gi->g", yt, yt)
        rss = yy - (np.where(keep, proj**2 / np.where(keep, lam, 1.0), 0.0)).sum(axis=1)
        # the formula's rounding grows with the design's condition: an ill-conditioned visit design
        # (a covariate with a large offset) always gets the exact fit
        cond = lam[:, -1] / np.where(keep, lam, np.inf).min(axis=1)
        todo = np.flatnonzero(~(rss > 1e-8 * yy) | ~(cond < 1e6))
        if todo.size:
            fit = fit_ols(Xt, y[todo, :, t].T, mask=m[todo].T)
            out[todo] |= fit.status == "no_residual_variance"
    return out


@dataclass(frozen=True)
class Fit:
    """Everything one cLDA fit produced (arrays indexed by outcome first)."""

    ta: TrialArrays | None
    X: np.ndarray  # (n, T, p)
    mask: np.ndarray  # (G, n, T)
    status: np.ndarray  # (G,)
    beta: np.ndarray  # (G, p)
    cov: np.ndarray  # (G, p, p) model covariance of beta, (X' V^-1 X)^-1
    sigma: np.ndarray  # (G, T, T) covariance across visits (REML) of the structure used
    loglik: np.ndarray  # (G,) REML log-likelihood on the data's scale, as nlme::logLik reports it
    covariance: np.ndarray  # (G,) the structure used (the first of covariance + fallback that fitted)
    converged: np.ndarray  # (G,) bool: that structure's fit converged
    estimate: np.ndarray  # (G, k) L beta of each requested row
    se: np.ndarray  # (G, k) with the options' vcov
    df: np.ndarray  # (G, k) with the options' df_method
    row_status: np.ndarray  # (G, k) the outcome's status, or df_not_estimable for the row


def _chunk(n: int, T: int, p: int, k: int, q: int) -> int:
    per_outcome = n * T * (T + p) + q * q * T * T + n * (k * p + T * T) + q * p * p
    return max(1, _CHUNK_DOUBLES // max(1, per_outcome))


def _fit_structure(y, mask, X, L, idx, structure: str, opts: ClDAOptions, out: dict) -> np.ndarray:
    """Fit ``structure`` to the outcomes ``idx`` (standardised, in chunks), write the successes into
    ``out`` and return each outcome's failure (``ok`` where it succeeded)."""
    G, n, T = mask.shape
    p, k = X.shape[-1], L.shape[1]
    why = np.full(idx.size, "ok", dtype=object)
    need_information = opts.df_method in NEEDS_INFORMATION and opts.vcov == "model"
    chunk = _chunk(n, T, p, k, n_params(structure, T))
    # batches of outcomes with alike numbers of cells: a batch is as wide as its widest outcome
    by_width = np.argsort(cell_counts(mask[idx], X), kind="stable")
    for start in range(0, idx.size, chunk):
        sl = by_width[start : start + chunk]
        ii = idx[sl]
        yy, mm = y[ii], mask[ii]
        cnt = mm.sum(axis=(1, 2))
        centre = np.where(mm, yy, 0.0).sum(axis=(1, 2)) / cnt
        dev = np.where(mm, yy - centre[:, None, None], 0.0)
        scale = np.sqrt((dev**2).sum(axis=(1, 2)) / cnt)
        z = dev / scale[:, None, None]
        fit = fit_reml(z, mm, X, structure=structure)
        min_corr = min_correlation_eigenvalue(fit.sigma)
        w = np.full(ii.size, "ok", dtype=object)
        w[~fit.converged] = "not_converged"
        # REML heading for a singular covariance (no interior maximum): a degenerate fit, not a slow one
        w[~(min_corr > BOUNDARY) | (~fit.converged & ~(min_corr > 1e-4))] = "singular_covariance"
        if need_information:
            w[(w == "ok") & ~_positive_definite(fit.cov_theta)] = "information_not_pd"
        why[sl] = w
        good = w == "ok"
        if not good.any():
            continue
        stats = contrast_stats(
            z, mm, X, fit, L[ii] if L.shape[0] == G else L, df_method=opts.df_method, vcov=opts.vcov
        )
        g, s, c = ii[good], scale[good], centre[good]
        Lg = L[g] if L.shape[0] == G else np.broadcast_to(L, (g.size, k, p))
        out["beta"][g] = fit.beta[good] * s[:, None]  # the centre moves only the visit means
        out["beta"][g, :T] += c[:, None]
        out["cov"][g] = fit.cov_beta[good] * (s**2)[:, None, None]
        out["sigma"][g] = fit.sigma[good] * (s**2)[:, None, None]
        out["loglik"][g] = fit.loglik[good] - (fit.n_obs[good] - p) * np.log(s)
        out["estimate"][g] = stats.estimate[good] * s[:, None] + c[:, None] * Lg[:, :, :T].sum(axis=2)
        with np.errstate(invalid="ignore"):
            out["se"][g] = np.sqrt(stats.variance[good]) * s[:, None]
        out["df"][g] = stats.df[good]
        out["covariance"][g] = structure
        out["converged"][g] = True
    return why


def fit_all(
    y: np.ndarray, mask: np.ndarray, X: np.ndarray, status: np.ndarray, L: np.ndarray, opts: ClDAOptions
) -> Fit:
    """REML for the outcomes whose status is ok, trying ``opts.covariance`` and then each structure of
    ``opts.fallback`` for the outcomes whose previous fit failed (:data:`FALLBACK_STATUSES`); the rows
    ``L`` ((k, p), or (G, k, p) per outcome) are estimated with the options' vcov and df. NaN elsewhere.

    An outcome that no structure fits keeps the status of its first structure."""
    G, n, T = mask.shape
    p, k = X.shape[-1], L.shape[-2]
    out = {
        "beta": np.full((G, p), np.nan),
        "cov": np.full((G, p, p), np.nan),
        "sigma": np.full((G, T, T), np.nan),
        "loglik": np.full(G, np.nan),
        "estimate": np.full((G, k), np.nan),
        "se": np.full((G, k), np.nan),
        "df": np.full((G, k), np.nan),
        "covariance": np.full(G, opts.covariance, dtype=object),
        "converged": np.zeros(G, dtype=bool),
    }
    status = status.astype(object).copy()
    todo = np.flatnonzero((status == "ok") | (status == "too_few_participants"))
    for attempt, structure in enumerate((opts.covariance, *opts.fallback)):
        if todo.size == 0:
            break
        short = too_few(mask[todo], p, structure)
        why = np.full(todo.size, "too_few_participants", dtype=object)
        if attempt > 0 or (status[todo] == "ok").any():
            ready = ~short if attempt > 0 else (status[todo] == "ok")
            why[ready] = _fit_structure(y, mask, X, L, todo[ready], structure, opts, out)
        if attempt == 0:
            status[todo] = np.where(why == "information_not_pd", "df_not_estimable", why)
        status[todo[why == "ok"]] = "ok"
        todo = todo[why != "ok"]
    bad = status != "ok"
    for key in ("beta", "cov", "sigma", "loglik", "estimate", "se", "df"):
        out[key][bad] = np.nan
    out["converged"][bad] = False
    row_status = np.repeat(status[:, None], k, axis=1)
    unusable = (row_status == "ok") & ~((out["df"] > 0) & (out["se"] > 0))
    row_status[unusable] = "df_not_estimable"
    for key in ("estimate", "se", "df"):
        out[key][unusable] = np.nan
    return Fit(
        ta=None,
        X=X,
        mask=mask,
        status=status,
        beta=out["beta"],
        cov=out["cov"],
        sigma=out["sigma"],
        loglik=out["loglik"],
        covariance=out["covariance"],
        converged=out["converged"],
        estimate=out["estimate"],
        se=out["se"],
        df=out["df"],
        row_status=row_status.astype(str),
    )
