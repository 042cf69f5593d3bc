"""Tests on ΔCt, batched over genes.

Equal-variance (Student) comparisons and the paired (one-sample on within-participant change) test are
linear models and go through the batched engine :func:`skintrial.stats.fit_ols`. Welch's unequal-variance
t test is not a pooled-variance linear model; it is computed here with numpy over all genes at once.
All functions take a (n, K) matrix with NaN for missing values and return (levels, K) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skintrial.stats import t_inference

__all__ = ["Comparison", "compare_groups", "one_sample", "compare_cells", "ancova_arms"]


@dataclass(frozen=True)
class Comparison:
    """Estimates of G contrasts for K genes: arrays of shape (G, K)."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    t: np.ndarray
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _finish(est: np.ndarray, se: np.ndarray, df: np.ndarray, ci_level: float) -> Comparison:
    """t, p and the interval; where the engine could not give a variance (no residual variance, too
    few observations) the estimate stays and the test quantities are NaN."""
    se = np.where(np.isfinite(se), se, np.nan)
    ok = (se > 0) & (df > 0)
    r = t_inference(est, se, df, ci_level=ci_level)
    return Comparison(
        est,
        np.where(ok, se, np.nan),
        np.where(df > 0, df, np.nan),
        r.t,
        r.p,
        np.where(ok, r.ci_low, np.nan),
        np.where(ok, r.ci_high, np.nan),
    )


def _moments(values: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and sample variance (ddof 1) of ``values`` (n, K) over rows in ``member`` (n,)."""
    v = values[member]
    ok = np.isfinite(v)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(axis=0) / n
        var = (np.where(ok, v - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
    return n, np.where(n > 0, mean, np.nan), np.where(n > 1, var, np.nan)


def compare_groups(
    values: np.ndarray, labels: np.ndarray, levels: list[str], control: str, *, test: str, ci_level: float
) -> Comparison:
    """Mean of each non-control level minus the control mean, for every column of ``values``.

    ``test="welch"``: Welch's t with Welch–Satterthwaite df, each level against the control alone.
    ``test="student"``: the linear model ``value ~ group`` over all levels through the engine; the
    residual variance is pooled across every group (with two groups, the classical Student t test).
    """
    others = [lev for lev in levels if lev != control]
    if test == "student":
        from skintrial.stats import fit_ols

        X = np.column_stack([np.ones(len(labels))] + [(labels == lev).astype(float) for lev in others])
        fit = fit_ols(X, values)
        c = fit.contrast(np.eye(X.shape[1])[1:])
        m0 = _moments(values, labels == control)[1]
        diff = np.array([_moments(values, labels == lev)[1] - m0 for lev in others])
        return _finish(diff, c.se.T, c.df.T, ci_level)
    n0, m0, v0 = _moments(values, labels == control)
    est, se, df = [], [], []
    for lev in others:  # a few groups; vectorised over genes
        n1, m1, v1 = _moments(values, labels == lev)
        a, b = v1 / n1, v0 / n0
        with np.errstate(invalid="ignore", divide="ignore"):
            est.append(m1 - m0)
            se.append(np.sqrt(a + b))
            df.append((a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1)))
    return _finish(np.array(est), np.array(se), np.array(df), ci_level)


def one_sample(values: np.ndarray, labels: np.ndarray, levels: list[str], *, ci_level: float) -> Comparison:
    """Mean of ``values`` within each level against zero (the paired t test on changes), via the engine.

    Each (level, gene) is its own intercept-only model: columns are stacked along the outcome axis
    with NaN outside the level, so one engine call fits them all.
    """
    from skintrial.stats import fit_ols

    G, K = len(levels), values.shape[1]
    member = np.stack([labels == lev for lev in levels])  # (G, n)
    Y = np.where(member[:, :, None], values[None, :, :], np.nan)  # (G, n, K)
    Y = np.moveaxis(Y, 0, 1).reshape(len(labels), G * K)
    fit = fit_ols(np.ones((len(labels), 1)), Y)
    c = fit.contrast(np.ones((1, 1)))
    shape = (G, K)
    est = np.array([_moments(values, m)[1] for m in member])  # defined even without residual variance
    return _finish(est, c.se.reshape(shape), c.df.reshape(shape), ci_level)


def compare_cells(
    target: np.ndarray,
    refs: np.ndarray,
    labels: np.ndarray,
    levels: list[str],
    control: str,
    *,
    test: str,
    ci_level: float,
) -> Comparison:
    """ΔΔCt when target and reference genes were measured in separate wells (no per-sample pairing).

    ``target`` is (n, K), ``refs`` (n, R). Per group g: ΔCt_g = mean(target_g) − mean over reference
    genes of mean(ref_rg). The contrast ΔCt_g − ΔCt_control is a linear combination of independent cell
    means. Welch: variance Σ s²/n over its cells, Welch–Satterthwaite df. Student: a cell-means linear
    model through the engine, residual variance pooled over all (gene role × group) cells.
    """
    R = refs.shape[1]
    roles = [target] + [np.repeat(refs[:, [r]], target.shape[1], axis=1) for r in range(R)]
    coefs = [1.0] + [-1.0 / R] * R
    others = [lev for lev in levels if lev != control]
    if test == "student":
        from skintrial.stats import fit_ols

        n = len(labels)
        cells = [(ri, lev) for ri in range(R + 1) for lev in levels]
        X = np.zeros((n * (R + 1), len(cells)))
        for j, (ri, lev) in enumerate(cells):
            X[ri * n : (ri + 1) * n, j] = labels == lev
        fit = fit_ols(X, np.vstack(roles))
        L = np.zeros((len(others), len(cells)))
        for i, lev in enumerate(others):
            for j, (ri, cl) in enumerate(cells):
                L[i, j] = coefs[ri] * ((cl == lev) - (cl == control))
        c = fit.contrast(L)
        cell_est = np.zeros((len(others), target.shape[1]))
        for ri, w in enumerate(coefs):
            for i, lev in enumerate(others):
                cell_est[i] += w * (
                    _moments(roles[ri], labels == lev)[1] - _moments(roles[ri], labels == control)[1]
                )
        return _finish(cell_est, c.se.T, c.df.T, ci_level)
    est, se, df = [], [], []
    for lev in others:
        e, parts = 0.0, []
        for role, w in zip(roles, coefs, strict=True):
            for sign, grp in ((1.0, lev), (-1.0, control)):
                nn, m, v = _moments(role, labels == grp)
                e = e + sign * w * m
                parts.append((w * w * v / nn, nn))
        var = sum(a for a, _ in parts)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = var**2 / sum(a**2 / (nn - 1) for a, nn in parts)
        est.append(e)
        se.append(np.sqrt(var))
        df.append(d)
    return _finish(np.array(est), np.array(se), np.array(df), ci_level)


def ancova_arms(
    post: np.ndarray, pre: np.ndarray, labels: np.ndarray, levels: list[str], control: str, *, ci_level: float
) -> Comparison:
    """Arm difference in follow-up ΔCt adjusted for each participant's baseline ΔCt, via the engine.

    The model ``post ~ arm + pre`` is fitted for every gene at once; each gene's own baseline is the
    per-outcome column ``Z`` of :func:`skintrial.stats.fit_ols`. The arm coefficient is the adjusted
    difference in ΔCt change (post − pre) between the arm and the control arm.
    """
    from skintrial.stats import fit_ols

    others = [lev for lev in levels if lev != control]
    X = np.column_stack([np.ones(len(labels))] + [(labels == lev).astype(float) for lev in others])
    fit = fit_ols(X, post, Z=pre[:, :, None])
    L = np.eye(X.shape[1] + 1)[1:-1]
    c = fit.contrast(L)
    return _finish(c.estimate.T, c.se.T, c.df.T, ci_level)
