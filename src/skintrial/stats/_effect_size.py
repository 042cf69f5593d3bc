"""Hedges' g of a between-arm difference, shared by the ANCOVA, the cross-sectional comparison and cLDA.

``g = J · estimate / s_pooled`` with ``s_pooled = sqrt((SS_1 + SS_2) / (n_1 + n_2 - 2))``, where
``SS_a`` is arm a's sum of squared deviations from its own mean (0 for an arm of one) and
``J = 1 - 3 / (4 (n_1 + n_2) - 9)`` (Hedges 1981). Pooling sums of squares rather than variances keeps
an arm with a single participant in the pooled SD (it adds n but no spread) instead of making it NaN.
g is NaN when the pooled SD is not positive, and when ``n_1 + n_2 <= 3``: there ``J <= 0`` (one
residual df; the exact correction is 0 too), so no bias-corrected value exists.
"""

from __future__ import annotations

import numpy as np

__all__ = ["arm_sums", "hedges_g"]


def arm_sums(
    x: np.ndarray, used: np.ndarray, arm_index: np.ndarray, n_arms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per outcome × arm: the count and the within-arm sum of squares of ``x`` (n, K) over ``used`` (n, K)."""
    onehot = (arm_index[:, None] == np.arange(n_arms)[None, :]).astype(float)  # (n, A)
    w = used.astype(float)
    x0 = np.where(used, x, 0.0)
    n = onehot.T @ w  # (A, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (onehot.T @ x0) / np.where(n > 0, n, 1.0), 0.0)
    dev = np.where(used, x0 - mean[arm_index], 0.0)
    return n.T, (onehot.T @ dev**2).T


def hedges_g(
    estimate: np.ndarray, n1: np.ndarray, ss1: np.ndarray, n2: np.ndarray, ss2: np.ndarray
) -> np.ndarray:
    """Hedges' g of ``estimate`` with the pooled SD of two arms (NaN without a positive pooled SD or J)."""
    df = n1 + n2 - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((ss1 + ss2) / np.where(df > 0, df, np.nan))
        j = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
        return np.where((sd > 0) & (df > 1), j * estimate / np.where(sd > 0, sd, 1.0), np.nan)
