"""The batched linear-model engine: one design, many outcomes.

Every statistical question in skintrial — the trial outcomes, 1,480 serum analytes, 20,000 genes,
10,000 simulated trials — is the same least-squares fit repeated over an *outcome axis*. This module
fits them all at once:

    y_k = X beta_k + Z_k gamma_k + e_k,     e_k ~ N(0, sigma_k^2 I),   k = 1..K

``X`` (n × p0) is shared by every outcome (intercept, arm dummies, covariates); ``Z_k`` (n × q) holds the
per-outcome columns (the outcome's own baseline value in an ANCOVA). Missing values are handled per
outcome by giving the row weight zero, which is exactly the same as dropping it, so no outcome is ever
grouped into a Python loop.

Numerics
--------
The normal equations ``A_k = X_k' X_k`` are formed for all outcomes with one batched matrix product,
equilibrated to unit diagonal (``D A D``, ``D = diag(A)^-1/2``), factorised by a batched Cholesky that
runs a loop over the *p* parameters (never over outcomes) and declares a column aliased when its pivot
falls below ``RANK_TOL`` (that is, when the column is explained by the earlier ones with R² above
1 − 1e-10). One step of iterative refinement on the residuals brings the coefficients to the accuracy
of a QR solution for the well-conditioned designs of trials and omics (checked against statsmodels and
R ``lm`` to 1e-10 relative in the tests).

Outcomes that cannot be fitted are never a crash and never a silent NaN: each carries a ``status``
(``ok``, ``rank_deficient``, ``too_few_observations``, ``no_residual_variance``), and its estimates —
degrees of freedom included — are NaN *because* the status says so.

A caller may *drop* columns from some outcomes' fits (``fit_ols(drop=...)``: the dummies of an arm
with no observations for that outcome). A dropped column leaves the outcome's model as if it had never
been there — R's ``lm`` drops an unused factor level the same way — its coefficient is NaN, the
residual df counts only the columns kept, and every contrast or F test that puts weight on it is NaN
while the others are estimated as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skintrial.stats._inference import f_pvalue, t_interval, t_pvalue
from skintrial.stats._normal import masked_design

__all__ = ["BatchedFit", "ContrastResult", "FTestResult", "fit_ols", "RANK_TOL", "STATUS_OK"]

RANK_TOL = 1e-10
STATUS_OK = "ok"


@dataclass(frozen=True)
class ContrastResult:
    """Linear combinations ``L beta`` for every outcome: arrays of shape (K, m)."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray  # (K, m), the residual df of each outcome (or moderated df)
    t: np.ndarray
    p: np.ndarray

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Two-sided t interval at ``level`` (:func:`skintrial.stats.t_interval`)."""
        return t_interval(self.estimate, self.se, self.df, level)


@dataclass(frozen=True)
class FTestResult:
    """Wald F test of ``L beta = 0`` for every outcome: arrays of shape (K,)."""

    f: np.ndarray
    num_df: int
    den_df: np.ndarray
    p: np.ndarray


@dataclass(frozen=True)
class BatchedFit:
    """Least-squares fits of one design to K outcomes.

    Attributes
    ----------
    outcomes : tuple of str
        Names along the outcome axis (length K).
    params : tuple of str
        Names of the p coefficients: the shared columns, then the per-outcome columns.
    coef : ndarray, shape (K, p)
    xtx_inv : ndarray, shape (K, p, p)
        The unscaled covariance ``(X_k' X_k)^-1``; ``sigma2[k] * xtx_inv[k]`` is the covariance of
        ``coef[k]``.
    sigma2 : ndarray, shape (K,)
        Residual variance ``RSS / df_resid``.
    df_resid : ndarray, shape (K,)
    n : ndarray, shape (K,)
        Observations used for each outcome.
    status : ndarray of str, shape (K,)
    means : ndarray, shape (K, p)
        Column means of each outcome's design over the rows it used (emmeans' reference grid).
    """

    outcomes: tuple[str, ...]
    params: tuple[str, ...]
    coef: np.ndarray
    xtx_inv: np.ndarray
    sigma2: np.ndarray
    df_resid: np.ndarray
    n: np.ndarray
    status: np.ndarray
    means: np.ndarray
    dropped: np.ndarray | None = None

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of outcomes that were fitted."""
        return self.status == STATUS_OK

    def _filled(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and ``(X'X)^-1`` with the dropped columns set to zero (they carry no weight)."""
        if self.dropped is None or not self.dropped.any():
            return self.coef, self.xtx_inv
        d = self.dropped
        return np.where(d, 0.0, self.coef), np.where(d[:, :, None] | d[:, None, :], 0.0, self.xtx_inv)

    def _not_estimable(self, L: np.ndarray) -> np.ndarray:
        """(K, m): rows of ``L`` (m, p) or (K, m, p) that are not estimated (outcome not ok, or weight
        on a column dropped from the outcome's fit)."""
        m = L.shape[-2]
        bad = np.broadcast_to(~self.ok[:, None], (len(self.status), m))
        if self.dropped is not None and self.dropped.any():
            nz, dr = (L != 0).astype(float), self.dropped.astype(float)
            hits = dr @ nz.T if L.ndim == 2 else np.einsum("kp,kmp->km", dr, nz)
            bad = bad | (hits > 0)
        return bad

    def contrast(
        self, L: np.ndarray, *, sigma2: np.ndarray | None = None, df: np.ndarray | None = None
    ) -> ContrastResult:
        """Estimate ``L beta`` with standard errors, t and two-sided p for every outcome.

        ``L`` is (m, p) for the same combinations in every outcome, or (K, m, p) when the
        combinations differ by outcome (adjusted means at each outcome's own mean baseline).
        ``sigma2`` and ``df`` override the residual variance and df (moderated statistics).
        """
        L = np.asarray(L, dtype=float)
        s2 = self.sigma2 if sigma2 is None else sigma2
        d = self.df_resid if df is None else df
        coef, xtx_inv = self._filled()
        if L.ndim == 2:
            est = coef @ L.T
            var = np.einsum("mi,kij,mj->km", L, xtx_inv, L)
        else:
            est = np.einsum("kmi,ki->km", L, coef)
            var = np.einsum("kmi,kij,kmj->km", L, xtx_inv, L)
        se = np.sqrt(np.clip(var, 0.0, None) * s2[:, None])
        dfm = np.broadcast_to(np.asarray(d, dtype=float)[:, None], est.shape)
        bad = self._not_estimable(L)
        est, se, dfm = np.where(bad, np.nan, est), np.where(bad, np.nan, se), np.where(bad, np.nan, dfm)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, est / se, np.nan)
        p = t_pvalue(t, dfm)
        return ContrastResult(estimate=est, se=se, df=dfm, t=t, p=p)

    def f_test(self, L: np.ndarray, *, sigma2: np.ndarray | None = None) -> FTestResult:
        """Wald F test of ``L beta = 0`` (q rows) for every outcome, df (q, df_resid)."""
        L = np.asarray(L, dtype=float)
        q = L.shape[0]
        s2 = self.sigma2 if sigma2 is None else sigma2
        coef, xtx_inv = self._filled()
        est = coef @ L.T  # (K, q)
        V = np.einsum("mi,kij,lj->kml", L, xtx_inv, L)
        bad = (
            ~np.isfinite(est).all(axis=1)
            | ~np.isfinite(V).all(axis=(1, 2))
            | self._not_estimable(L).any(axis=1)
        )
        V = np.where(bad[:, None, None], np.eye(q), V)
        est = np.where(bad[:, None], 0.0, est)
        sol = np.linalg.solve(V, est[..., None])[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.einsum("km,km->k", est, sol) / q / s2
        f = np.where(bad | ~(s2 > 0), np.nan, f)
        den_df = np.where(bad, np.nan, self.df_resid.astype(float))
        p = f_pvalue(f, q, den_df)
        return FTestResult(f=f, num_df=q, den_df=den_df, p=p)

    def param_index(self, name: str) -> int:
        """Position of a named coefficient."""
        return self.params.index(name)


def _batched_cholesky(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of K unit-diagonal p×p matrices, with per-matrix alias detection.

    Returns the lower factors and a (K, p) mask of aliased columns. An aliased column's pivot is set
    to 1 and its off-diagonal entries to 0 so that the factorisation goes on; the caller marks the
    outcome rank deficient.
    """
    K, p, _ = A.shape
    L = np.zeros_like(A)
    aliased = np.zeros((K, p), dtype=bool)
    for j in range(p):
        s = A[:, j, j] - np.einsum("ki,ki->k", L[:, j, :j], L[:, j, :j])
        bad = ~(s > RANK_TOL)
        aliased[:, j] = bad
        d = np.sqrt(np.where(bad, 1.0, s))
        L[:, j, j] = d
        if j + 1 < p:
            col = A[:, j + 1 :, j] - np.einsum("kri,ki->kr", L[:, j + 1 :, :j], L[:, j, :j])
            L[:, j + 1 :, j] = np.where(bad[:, None], 0.0, col / d[:, None])
    return L, aliased


def _solve_normal(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve ``A x = b`` for K symmetric positive semi-definite systems; return x, A^-1, aliased."""
    K, p, _ = A.shape
    diag = np.einsum("kii->ki", A)
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    As = A * scale[:, :, None]
    As *= scale[:, None, :]
    zero_col = diag <= 0
    idx = np.arange(p)
    As[:, idx, idx] = np.where(zero_col, 1.0, As[:, idx, idx])
    Ainv_s = None
    if K > 1 and not zero_col.any():  # LAPACK's batched Cholesky: no alias when every pivot is clear
        try:
            Lc = np.linalg.cholesky(As)
        except np.linalg.LinAlgError:
            Lc = None
        if Lc is not None and bool((np.einsum("kii->ki", Lc) ** 2 > RANK_TOL).all()):
            aliased = np.zeros((K, p), dtype=bool)
            Ainv_s = np.linalg.inv(As)  # one LU per outcome: cheaper than inv(L) and L^-T L^-1
    if Ainv_s is None:  # an aliased (or null) column somewhere: the pivot-checking factorisation
        Lc, aliased = _batched_cholesky(As)
        aliased |= zero_col
        Linv = np.linalg.inv(Lc)
        Ainv_s = np.swapaxes(Linv, 1, 2) @ Linv
    Ainv = Ainv_s * scale[:, :, None]
    Ainv *= scale[:, None, :]
    x = np.einsum("kij,kj->ki", Ainv, b)
    return x, Ainv, aliased


def _centred(Xk: np.ndarray, means: np.ndarray, j0: int | None) -> np.ndarray:
    """Centre every column but the intercept at its mean (K, n, p): R's QR accuracy for our normal equations.

    A baseline measured as 10,000 ± 1 makes ``X'X`` nearly singular next to the intercept; centred, it
    is as well conditioned as its spread allows. Without an intercept the design is left as it is.
    """
    if j0 is None:
        return Xk
    shift = means.copy()
    shift[:, j0] = 0.0
    return Xk - shift[:, None, :]


def _uncentre(coef: np.ndarray, Ainv: np.ndarray, means: np.ndarray, j0: int | None):
    """Map coefficients and ``(X'X)^-1`` of the centred design back to the original columns."""
    if j0 is None:
        return coef, Ainv
    # T = I except its intercept row, e_j0 - m (m: the shifts, 0 at j0): T coef and T Ainv T' change only
    # the intercept's row and column, so they cost O(K p^2) instead of two batched p x p products
    m = np.array(means, dtype=float)
    m[:, j0] = 0.0
    coef = np.array(coef, dtype=float)
    coef[:, j0] -= np.einsum("kj,kj->k", m, coef)
    B = np.array(Ainv, dtype=float)
    B[:, j0, :] -= np.einsum("kj,kji->ki", m, B)
    B[:, :, j0] -= np.einsum("kij,kj->ki", B, m)
    return coef, B


def fit_ols(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    Z: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    outcomes: Sequence[str] | None = None,
    params: Sequence[str] | None = None,
    drop: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> BatchedFit:
    """Ordinary (or weighted) least squares of one design on many outcomes at once.

    Parameters
    ----------
    X : ndarray, shape (n, p0)
        Design columns shared by all outcomes (include the intercept yourself).
    Y : ndarray, shape (n, K)
        One column per outcome. NaN marks a missing value for that outcome only.
    Z : ndarray, shape (n, K, q), optional
        Per-outcome design columns (for an ANCOVA, each outcome's baseline value: q = 1).
        NaN marks the row missing for that outcome.
    mask : ndarray of bool, shape (n, K), optional
        Extra per-outcome row selection (False drops the row for that outcome).
    outcomes, params : sequence of str, optional
        Names of the outcomes (K) and coefficients (p0 + q).
    drop : ndarray of bool, shape (K, p0 + q), optional
        Columns left out of each outcome's fit (the caller's choice, e.g. the dummies of an arm with
        no observations for that outcome): the outcome is fitted without them, their coefficients
        are NaN, and contrasts or F tests that involve them are NaN.
    weights : ndarray, shape (n, K) or (n,), optional
        Per-observation precision weights (voom's, for RNA-seq counts): outcome k minimises
        ``sum_i w_ik (y_ik - x_i' beta_k)^2``, so ``xtx_inv[k]`` is ``(X' W_k X)^-1`` and ``sigma2[k]``
        the weighted residual sum of squares over ``df_resid``. A zero weight drops the row (as
        limma's ``lmFit`` treats it as missing). All outcomes are fitted in one batch (the normal
        equations ``X' W_k X`` for every k by one matrix product over the sample axis). Not with ``Z``.

    Returns
    -------
    BatchedFit

    Notes
    -----
    Rows with weight zero are dropped exactly (they add nothing to ``X'X`` or ``X'y``); ``n`` and
    ``df_resid = n - p`` are counted per outcome. Verified against statsmodels OLS and R ``lm`` in
    ``tests/stats/test_engine.py``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> Y = np.array([[1.0, 2], [2, 2], [3, 2], [4, 5], [5, 5], [6, 5.5]])
    >>> fit = fit_ols(X, Y, outcomes=["a", "b"], params=["intercept", "arm"])
    >>> fit.coef.round(3)
    array([[2.   , 3.   ],
           [2.   , 3.167]])
    >>> fit.status.tolist()
    ['ok', 'ok']
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    n, K = Y.shape
    if X.shape[0] != n:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {n}")
    p0 = X.shape[1]
    q = 0 if Z is None else Z.shape[2]
    p = p0 + q
    outcomes = tuple(outcomes) if outcomes is not None else tuple(f"y{k}" for k in range(K))
    params = tuple(params) if params is not None else tuple(f"x{j}" for j in range(p))
    if len(params) != p or len(outcomes) != K:
        raise ValueError("names do not match the shapes of X, Z and Y")

    W = np.isfinite(Y) & np.isfinite(X).all(axis=1)[:, None]
    if Z is not None:
        Z = np.asarray(Z, dtype=float)
        W &= np.isfinite(Z).all(axis=2)
    if mask is not None:
        W &= np.asarray(mask, dtype=bool)
    wts = None
    if weights is not None:
        if Z is not None:
            raise ValueError("weights with per-outcome columns Z are not supported")
        wts = np.asarray(weights, dtype=float)
        wts = np.broadcast_to(wts[:, None] if wts.ndim == 1 else wts, (n, K))
        if not (np.isfinite(wts) | ~W).all() or (wts[W] < 0).any():
            raise ValueError("weights must be finite and non-negative where the outcome is observed")
        W &= wts > 0
        wts = np.where(W, wts, 0.0)
    Yz = np.where(W, Y, 0.0)
    dropped = None if drop is None else np.broadcast_to(np.asarray(drop, dtype=bool), (K, p))
    if dropped is not None and not dropped.any():
        dropped = None
    shared = Z is None and bool(W.all()) and dropped is None and wts is None

    ones = np.flatnonzero((X == 1.0).all(axis=0))
    j0 = int(ones[0]) if ones.size else None  # the intercept column, if any
    if shared:
        means = np.broadcast_to(X.mean(axis=0), (K, p))
        shift = means
        Xc = _centred(X[None], means[:1], j0)[0]
        A = (Xc.T @ Xc)[None]
        b = (Xc.T @ Yz).T  # (K, p)
        _, Ainv, aliased = _solve_normal(np.ascontiguousarray(A), b[:1])
        Ainv1 = Ainv[0]
        coef = b @ Ainv1.T
        resid = Yz - Xc @ coef.T
        coef = coef + (Xc.T @ resid).T @ Ainv1.T  # one refinement step
        resid = Yz - Xc @ coef.T
        Ainv = np.broadcast_to(Ainv1, (K, p, p))
        aliased = np.broadcast_to(aliased, (K, p))
    else:
        # weighted: the same centred normal equations with the 0/1 row weights replaced by w_ik
        md = masked_design(X, Z, W if wts is None else wts, j0)
        A, b = md.gram(), md.cross(Yz if wts is None else wts * Yz)
        if dropped is not None:  # the outcome's model without these columns: zero rows and columns
            A = np.where(dropped[:, :, None] | dropped[:, None, :], 0.0, A)
            b = np.where(dropped, 0.0, b)
        coef, Ainv, aliased = _solve_normal(A, b)
        if dropped is not None:
            aliased = aliased & ~dropped
        resid = np.where(W, Yz - md.fitted(coef), 0.0)
        wr = resid if wts is None else wts * resid
        coef = coef + np.einsum("kij,kj->ki", Ainv, md.cross(wr))  # one refinement step
        resid = np.where(W, Yz - md.fitted(coef), 0.0)
        means, shift = md.means, md.shift
    coef, Ainv = _uncentre(coef, Ainv, np.nan_to_num(shift), j0)

    nk = W.sum(axis=0)
    df = nk - p if dropped is None else nk - p + dropped.sum(axis=1)
    wfac = 1.0 if wts is None else wts
    rss = np.einsum("nk,nk->k", wfac * resid, resid)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.where(df > 0, rss / np.where(df > 0, df, 1), np.nan)
        tss = np.einsum("nk,nk->k", wfac * Yz, Yz)
    status = np.full(K, STATUS_OK, dtype=object)
    status[sigma2 <= 1e-24 * np.maximum(tss, 1e-300)] = "no_residual_variance"
    status[np.asarray(aliased).any(axis=1)] = "rank_deficient"
    status[df <= 0] = "too_few_observations"  # n <= p: the more useful message, whatever else holds
    bad = status != STATUS_OK
    if bad.any():
        coef = np.where(bad[:, None], np.nan, coef)
        Ainv = np.where(bad[:, None, None], np.nan, Ainv)
        sigma2 = np.where(bad, np.nan, sigma2)
    if dropped is not None:
        coef = np.where(dropped, np.nan, coef)
        Ainv = np.where(dropped[:, :, None] | dropped[:, None, :], np.nan, Ainv)
    return BatchedFit(
        outcomes=outcomes,
        params=params,
        coef=coef,
        xtx_inv=Ainv,
        sigma2=sigma2,
        df_resid=df.astype(float),
        n=nk,
        status=status.astype(str),
        means=np.asarray(means),
        dropped=None if dropped is None else np.array(dropped),
    )
