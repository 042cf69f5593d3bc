"""The mean-variance trend of limma's ``fitFDist(covariate=)``: a natural cubic spline in a covariate.

limma (``eBayes(trend=TRUE)``, "limma-trend") lets the prior variance depend on a gene's average
expression: ``e_g = log s_g^2 - digamma(d_g/2) + log(d_g/2)`` is regressed on a natural cubic spline
of the covariate with ``splinedf = 1 + (n>=3) + (n>=6) + (n>=30)`` degrees of freedom (at most the
number of distinct covariate values), intercept included, interior knots at equally spaced quantiles
and boundary knots at the range — R's ``splines::ns(covariate, df = splinedf, intercept = TRUE)``.

Only the spline *space* matters for the fitted values, so the basis here is built differently from
``ns`` (cubic B-splines on the same knots, restricted to zero second derivative at both boundary
knots) and gives the same fit. Outside the boundary knots a natural spline is linear.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.interpolate import BSpline

__all__ = ["spline_df", "natural_spline_fit"]


def spline_df(n_ok: int, covariate: np.ndarray) -> int:
    """limma's spline degrees of freedom for ``n_ok`` usable values."""
    df = 1 + (n_ok >= 3) + (n_ok >= 6) + (n_ok >= 30)
    return int(min(df, len(np.unique(covariate))))


def _knots(x: np.ndarray, df: int) -> tuple[np.ndarray, float, float]:
    n_interior = df - 2
    probs = np.linspace(0.0, 1.0, n_interior + 2)[1:-1]
    interior = np.quantile(x, probs) if n_interior > 0 else np.array([])
    lo, hi = float(np.min(x)), float(np.max(x))
    return np.concatenate([[lo] * 4, interior, [hi] * 4]), lo, hi


def _natural_basis(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Coefficient map N (B-spline coefficients from natural-spline coefficients)."""
    nb = len(t) - 4
    second = np.empty((2, nb))
    for j in range(nb):
        b = BSpline(t, np.eye(nb)[j], 3).derivative(2)
        second[:, j] = b(lo), b(hi)
    return linalg.null_space(second)


def natural_spline_fit(
    e: np.ndarray, covariate: np.ndarray, df: int, new_covariate: np.ndarray | None = None
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Least-squares natural-spline fit of ``e`` on ``covariate``.

    Returns the fitted values, the residual mean square ``RSS / (n - rank)`` (limma's
    ``mean(fit$effects[-(1:rank)]^2)``), and the fitted curve at ``new_covariate`` (linear beyond
    the boundary knots), if given.
    """
    x = np.asarray(covariate, dtype=float)
    t, lo, hi = _knots(x, df)
    N = _natural_basis(t, lo, hi)
    B = BSpline.design_matrix(np.clip(x, lo, hi), t, 3).toarray()
    design = B @ N
    coef, _, rank, _ = linalg.lstsq(design, e, lapack_driver="gelsy")
    fitted = design @ coef
    evar = float(np.sum((e - fitted) ** 2) / (len(e) - rank))
    pred = None
    if new_covariate is not None:
        curve = BSpline(t, N @ coef, 3)
        slope = curve.derivative(1)
        z = np.asarray(new_covariate, dtype=float)
        zc = np.clip(z, lo, hi)
        pred = (
            curve(zc)
            + np.where(z < lo, slope(lo) * (z - lo), 0.0)
            + np.where(z > hi, slope(hi) * (z - hi), 0.0)
        )
    return fitted, evar, pred
