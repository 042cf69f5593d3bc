"""Masked, centred normal equations for one shared design plus per-outcome columns.

For outcome k the design is ``[X | Z_k]`` restricted to the rows with ``W[:, k]``. Forming the
(K, n, p) stack of designs costs K·n·p memory and time; here every block of ``X_k' X_k`` is a matrix
product over the subject axis instead (``W' (X ⊙ X)``, ``X' (W ⊙ Z)``, ...), so memory stays at the
size of the data, (n, K, q).

Centring keeps the equations as well conditioned as R's QR would be: the shared columns are first
centred on all rows (exact, once), then shifted per outcome by their mean over that outcome's rows
(small shifts, so the algebraic correction below loses nothing); the per-outcome columns are
centred on their own rows elementwise. With an intercept the intercept then decouples from the
other columns. Without an intercept nothing is centred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MaskedDesign", "masked_design"]


@dataclass(frozen=True)
class MaskedDesign:
    Xt: np.ndarray  # (n, p0) shared columns, centred on all rows (non-finite → 0)
    Zc: np.ndarray | None  # (n, K, q) per-outcome columns centred on the outcome's rows, 0 off them
    Zraw: np.ndarray | None  # (n, K, q) the per-outcome columns as given
    Wf: np.ndarray  # (n, K) row weights 0/1
    d: np.ndarray  # (K, p0) remaining per-outcome shift of Xt
    shift: np.ndarray  # (K, p) total shift of every column (to map coefficients back)
    means: np.ndarray  # (K, p) column means over each outcome's rows (NaN without rows)

    def gram(self) -> np.ndarray:
        """``X_k' X_k`` of the centred design, (K, p, p)."""
        Xt, Wf, d = self.Xt, self.Wf, self.d
        n, p0 = Xt.shape
        K = Wf.shape[1]
        nw = Wf.sum(axis=0)
        S2 = (Wf.T @ (Xt[:, :, None] * Xt[:, None, :]).reshape(n, p0 * p0)).reshape(K, p0, p0)
        sx = Wf.T @ Xt
        Axx = S2 - d[:, :, None] * sx[:, None, :] - sx[:, :, None] * d[:, None, :]
        Axx += nw[:, None, None] * d[:, :, None] * d[:, None, :]
        raw = np.einsum("kii->ki", S2)
        Zc, Zraw = self.Zc, self.Zraw
        if Zc is None or Zraw is None:  # both or neither: no per-outcome columns
            return _zero_null_columns(Axx, raw, 1e-13)
        Axx = _zero_null_columns(Axx, raw, 1e-13)
        q = Zc.shape[2]
        sz = Zc.sum(axis=0)  # (K, q)
        Axz = (Xt.T @ Zc.reshape(n, K * q)).reshape(p0, K, q).transpose(1, 0, 2) - d[:, :, None] * sz[
            :, None, :
        ]
        Azz = np.einsum("nkq,nkr->kqr", Zc, Zc)
        zraw = np.einsum("nk,nkq->kq", Wf, np.where(Wf[:, :, None] > 0, Zraw, 0.0) ** 2)
        top = np.concatenate([Axx, Axz], axis=2)
        bottom = np.concatenate([np.swapaxes(Axz, 1, 2), Azz], axis=2)
        A = np.concatenate([top, bottom], axis=1)
        return _zero_null_columns(
            A, np.concatenate([np.einsum("kii->ki", Axx), zraw], axis=1), 1e-24, start=p0
        )

    def cross(self, R: np.ndarray) -> np.ndarray:
        """``X_k' r_k`` for (n, K) responses that are zero off each outcome's rows, (K, p)."""
        bx = R.T @ self.Xt - self.d * R.sum(axis=0)[:, None]
        if self.Zc is None:
            return bx
        return np.concatenate([bx, np.einsum("nkq,nk->kq", self.Zc, R)], axis=1)

    def fitted(self, coef: np.ndarray) -> np.ndarray:
        """Fitted values (n, K) of centred-design coefficients (meaningful on each outcome's rows)."""
        p0 = self.Xt.shape[1]
        F = self.Xt @ coef[:, :p0].T - np.einsum("kp,kp->k", self.d, coef[:, :p0])[None, :]
        if self.Zc is not None:
            F += np.einsum("nkq,kq->nk", self.Zc, coef[:, p0:])
        return F


def _zero_null_columns(A: np.ndarray, raw: np.ndarray, rtol: float, start: int = 0) -> np.ndarray:
    """Set exactly to zero the rows/columns (from ``start``) whose centred sum of squares is rounding noise.

    A column constant on an outcome's rows (an arm without data, a baseline equal for everyone)
    centres to zero only up to rounding; zeroing it lets the solver flag it as aliased.
    """
    diag = np.einsum("kii->ki", A)
    null = diag <= rtol * np.maximum(raw, 1e-300)
    null[:, :start] = False
    if null.any():
        A = np.where(null[:, :, None] | null[:, None, :], 0.0, A)
    return A


def masked_design(X: np.ndarray, Z: np.ndarray | None, W: np.ndarray, j0: int | None) -> MaskedDesign:
    """Centre ``X`` (shared) and ``Z`` (per outcome) for the rows ``W``; ``j0`` is the intercept column."""
    n, p0 = X.shape
    K = W.shape[1]
    Wf = W.astype(float)
    nw = Wf.sum(axis=0)
    finite = np.isfinite(X)
    Xf = np.where(finite, X, 0.0)
    g = np.zeros(p0)
    rows = finite.all(axis=1)
    if j0 is not None and rows.any():
        g = Xf[rows].mean(axis=0)
        g[j0] = 0.0
    Xt = Xf - g
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (Wf.T @ Xt) / nw[:, None]
    d = np.nan_to_num(mx) if j0 is not None else np.zeros((K, p0))
    if j0 is not None:
        d[:, j0] = 0.0
    means_x = mx + g
    Zc = None
    shift_z = np.zeros((K, 0))
    means_z = np.zeros((K, 0))
    if Z is not None:
        Zw = np.where(W[:, :, None], Z, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means_z = Zw.sum(axis=0) / nw[:, None]
        shift_z = np.nan_to_num(means_z) if j0 is not None else np.zeros_like(means_z)
        Zc = np.where(W[:, :, None], Zw - shift_z[None, :, :], 0.0)
    shift = np.concatenate([g[None, :] + d, shift_z], axis=1)
    means = np.concatenate([means_x, means_z], axis=1)
    means[nw == 0] = np.nan
    return MaskedDesign(Xt=Xt, Zc=Zc, Zraw=Z, Wf=Wf, d=d, shift=shift, means=means)
