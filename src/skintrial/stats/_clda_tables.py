"""cLDA result tables: contrast rows and adjusted means per arm x visit from the batched REML fits.

Split from :mod:`skintrial.stats.clda` (which fits and orchestrates); the names are private to stats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from skintrial.stats._clda_fit import ClDAOptions, Design, Fit
from skintrial.stats._data import (
    TrialArrays,
    arm_design,
    pairwise_contrasts,
)
from skintrial.stats._effect_size import arm_sums, hedges_g
from skintrial.stats._inference import t_inference
from skintrial.stats._schema import CONTRAST_COLUMNS, HEDGES_G, VISIT_EMMEANS_COLUMNS

_DF_AT = CONTRAST_COLUMNS.index("df") + 1
CLDA_COLUMNS: tuple[str, ...] = (
    *CONTRAST_COLUMNS[:2],
    "visit",
    *CONTRAST_COLUMNS[2:_DF_AT],
    "df_method",
    *CONTRAST_COLUMNS[_DF_AT:],
    "covariance",
    "vcov",
    "converged",
)
"""``results/clda.csv``: the ANCOVA contrast columns plus the post-baseline ``visit`` of each row, the
``df_method`` that gave ``df`` (:data:`DF_METHODS`), the ``covariance`` structure the outcome was fitted
with (the first of the pre-specified structure and its fallback that fitted), the ``vcov`` behind ``se``
(``model``, ``empirical``; Kenward–Roger df come with their adjusted ``model`` variance) and whether
that fit ``converged``."""

_ONE_ARM = "none: one arm (the change over its SD, d_z, is in paired_change.csv)"


def _contrast_rows(
    ta: TrialArrays, d: Design, reference_arm
) -> tuple[list[tuple[int, str, int, int]], np.ndarray]:
    """(visit, label, arm, arm subtracted) of every contrast row and its L (k, p): each pair of arms at
    each post-baseline visit; with one arm, the visit's change from baseline."""
    p = d.X.shape[-1]
    one_arm = len(ta.arms) == 1  # a single-arm study: the change from baseline, never a between-arm test
    rows, Ls = [], []
    for v in range(1, len(ta.visits)):
        pairs = (
            [(f"{ta.visits[v]} - {ta.visits[0]}", 0, 0)]
            if one_arm
            else pairwise_contrasts(ta.arms, reference_arm)
        )
        for label, j, i in pairs:
            L = np.zeros(p)
            if one_arm:
                L[v], L[0] = 1.0, -1.0  # visit mean minus baseline mean
            if j > 0:
                L[d.col[(j, v)]] += 1.0
            if i > 0:
                L[d.col[(i, v)]] -= 1.0
            rows.append((v, label, j, i))
            Ls.append(L)
    return rows, np.array(Ls).reshape(len(Ls), p)


def _mean_rows(ta: TrialArrays, d: Design, seen: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """(visit, arm) of every adjusted-mean row and its L (G, k, p): ``mu_t + delta_{a,t} + gamma' z`` (+ the
    covariate × visit terms of visit t) with z at :func:`_covariate_grid`."""
    G, p = seen.shape[0], d.X.shape[-1]
    grid = _covariate_grid(ta, seen)
    rows, Ls = [], []
    for v in range(len(ta.visits)):
        for a in range(len(ta.arms)):
            L = np.zeros((G, p))
            L[:, v] = 1.0
            if a > 0 and v > 0:
                L[:, d.col[(a, v)]] = 1.0
            L[:, d.covariates] = grid
            for c, src, vv in d.by_visit:
                if vv == v:
                    L[:, c] = grid[:, src]
            rows.append((v, a))
            Ls.append(L)
    return rows, np.stack(Ls, axis=1)


def _row_stats(fit: Fit, rows: slice, ci_level: float) -> dict[str, Any]:
    """The statistics of the fit's rows ``rows``, flattened outcome-major (outcome, then row)."""
    est, se, df = fit.estimate[:, rows].ravel(), fit.se[:, rows].ravel(), fit.df[:, rows].ravel()
    r = t_inference(est, se, df, ci_level=ci_level)
    return dict(
        estimate=est,
        se=se,
        df=df,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        t=r.t,
        p=r.p,
        status=fit.row_status[:, rows].ravel(),
    )


def _table(fit: Fit, rows, reference_arm, ci_level, opts: ClDAOptions) -> pd.DataFrame:
    """The contrast rows of every outcome (outcome, then visit and contrast), built column-wise."""
    ta = fit.ta
    assert ta is not None  # set by _fit_arrays
    G, k = len(ta.outcomes), len(rows)
    seen = fit.mask.any(axis=2)  # (G, n)
    base = ta.values[:, :, 0]  # (n, G) baselines, NaN where missing
    n_base, ss_base = arm_sums(base, np.isfinite(base), ta.arm_index, len(ta.arms))  # (G, A)
    one_arm = len(ta.arms) == 1
    v, label, j, i = (np.array(x) for x in zip(*rows, strict=True))
    in_pair = (ta.arm_index[None, :] == j[:, None]) | (ta.arm_index[None, :] == i[:, None])  # (k, n)
    c = _row_stats(fit, slice(0, k), ci_level)
    est = c["estimate"].reshape(G, k)
    g = (
        np.full((G, k), np.nan)
        if one_arm
        else hedges_g(est, n_base[:, j], ss_base[:, j], n_base[:, i], ss_base[:, i])
    )
    c.update(
        outcome=np.repeat(np.asarray(ta.outcomes, dtype=object), k),
        contrast=np.tile(label.astype(object), G),
        visit=np.tile(np.asarray(ta.visits, dtype=object)[v], G),
        df_method=opts.df_method,
        p_adj=np.nan,
        n=(seen.astype(int) @ in_pair.T.astype(int)).ravel(),
        ci_level=ci_level,
        family="",
        p_adj_method="none",
        effect_size=g.ravel(),
        effect_size_formula=_ONE_ARM if one_arm else HEDGES_G,
        covariance=np.repeat(fit.covariance, k),
        vcov=opts.vcov,
        converged=np.repeat(fit.converged, k),
    )
    return pd.DataFrame(c)[list(CLDA_COLUMNS)]


def _covariate_grid(ta: TrialArrays, seen: np.ndarray) -> np.ndarray:
    """(G, c) the covariate columns of the design (centred by :func:`~skintrial.stats._clda_fit.design`
    over all participants) at each outcome's reference grid: a numeric covariate at its mean over the
    participants with a value of the outcome (``seen``, (G, n)), a factor's dummies at 1/levels (its
    levels weighted equally, as emmeans and :func:`~skintrial.stats.ancova` average them)."""
    subj_X, _, levels = arm_design(ta)
    A = len(ta.arms)
    raw, lv = subj_X[:, A:], np.asarray(levels[A:], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):  # an outcome nobody has is not fitted
        seen_mean = (seen.astype(float) @ raw) / seen.sum(axis=1)[:, None]
    return np.where(lv > 1, 1.0 / np.maximum(lv, 1.0), seen_mean) - raw.mean(axis=0)


def _means_table(fit: Fit, rows, offset: int, ci_level) -> pd.DataFrame:
    """Adjusted mean of every arm at every visit of the fit (at baseline the arms' shared mean), outcome ×
    visit × arm (the rows of :func:`_mean_rows`, from position ``offset`` of the fit's rows)."""
    ta = fit.ta
    assert ta is not None  # set by _fit_arrays
    G, k = len(ta.outcomes), len(rows)
    seen = np.asarray(fit.mask.any(axis=2))  # (G, n)
    v, a = (np.array(x) for x in zip(*rows, strict=True))
    c = _row_stats(fit, slice(offset, offset + k), ci_level)
    in_arm = ta.arm_index[None, :] == a[:, None]  # (k, n)
    return pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(ta.outcomes, dtype=object), k),
            "arm": np.tile(np.asarray(ta.arms, dtype=object)[a], G),
            "visit": np.tile(np.asarray(ta.visits, dtype=object)[v], G),
            "emmean": c["estimate"],
            "se": c["se"],
            "df": c["df"],
            "ci_low": c["ci_low"],
            "ci_high": c["ci_high"],
            "ci_level": ci_level,
            "n": (seen.astype(int) @ in_arm.T.astype(int)).ravel(),
            "status": c["status"],
        }
    )[list(VISIT_EMMEANS_COLUMNS)]
