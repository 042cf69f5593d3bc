"""The terms of the restricted likelihood of :mod:`skintrial.stats._reml`, batched over outcomes: the
problem's cells, the padded inverses, GLS at a given Sigma, and the score and informations as sums
over cells of T × T blocks (arrays indexed by outcome first).

The derivatives (Harville 1977; Searle, Casella & McCulloch 1992, ch. 6) are computed once per
evaluation as the T × T and T⁴ arrays they are linear in (``D``, ``F``, ``Q`` of :class:`Terms`), then
projected on the derivatives of Sigma by any parameterisation (:func:`project`): the fit's last
evaluation, taken in the elements of Sigma, serves the inference in mmrm's parameters unchanged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["FitParts", "Terms", "cell_counts", "evaluate_terms", "project"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class FitParts:
    """Terms of the evaluation at the maximum that the contrasts' inference reuses: the problem (cells),
    the padded inverses per cell, ``B = W X`` per cell, ``u = V^-1 r`` per subject and ``K``; and, when
    the fit computed them, the first and second derivatives of Sigma by mmrm's parameters there and
    the information terms ``M`` of :func:`skintrial.stats._reml._information_terms`."""

    prob: _Problem
    Wc: np.ndarray
    B: np.ndarray
    u: np.ndarray
    K: np.ndarray
    J: np.ndarray | None = None  # (G, q, T, T)
    H: np.ndarray | None = None  # (G, q, q, T, T)
    M: np.ndarray | None = None  # (G, q, p, p)


def _sym_inverse(M: np.ndarray, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse, log-determinant and smallest eigenvalue of a stack of symmetric matrices (never raises).

    A matrix that is not positive definite (an eigenvalue at or below ``floor``) gets a NaN inverse and
    log-determinant."""
    lam, vec = np.linalg.eigh(M)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (vec / np.where(lam > floor, lam, np.nan)[..., None, :]) @ np.swapaxes(vec, -1, -2)
        logdet = np.log(np.where(lam > floor, lam, np.nan)).sum(axis=-1)
    return inv, logdet, lam[..., 0]


def _sweep(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and pivots of a stack of symmetric matrices by Gauss–Jordan sweeps without pivoting.

    The pivots are the diagonal of the LDL' factorisation: all positive exactly when the matrix is
    positive definite, and their logs sum to the log-determinant. The stack is laid out with the
    matrix axes first, so every step is an elementwise operation on contiguous vectors over the
    stack: for the small matrices here (T × T, p × p, q × q) several times faster than LAPACK called
    matrix by matrix. Members with a pivot at or below zero come out meaningless (not NaN)."""
    n = M.shape[-1]
    A = np.moveaxis(M.reshape(-1, n, n), 0, -1).copy()  # (n, n, stack)
    piv = np.empty((n, A.shape[-1]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(n):
            d = A[k, k].copy()
            piv[k] = d
            b = A[:, k] / d
            A -= b[:, None] * A[k][None, :]
            A[:, k] = b
            A[k, :] = b
            A[k, k] = -1.0 / d
    inv = np.moveaxis(A, -1, 0).reshape(M.shape)
    return np.negative(inv, out=inv), piv.T.reshape(M.shape[:-1])


def _pd_inverse(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of symmetric matrices, as ``_sym_inverse`` gives them.

    The hot path of every iteration: Gauss–Jordan sweeps (:func:`_sweep`) give the inverse and, from
    their pivots, the log-determinant and the check of positive definiteness; members that are not
    positive definite (rare inside the iterations, where every accepted Sigma is) go through
    ``_sym_inverse`` and come out NaN."""
    inv, piv = _sweep(M)
    bad = np.asarray(~(piv > 0).all(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.log(np.where(bad[..., None], 1.0, piv)).sum(axis=-1)
    if bad.any():
        finite = np.isfinite(M).all(axis=(-2, -1))
        inv[bad], logdet[bad] = np.nan, np.nan
        redo = np.asarray(bad & finite)  # a matrix with NaN in it stays NaN (eigh would raise)
        if redo.any():
            inv[redo], logdet[redo] = _sym_inverse(M[redo])[:2]
    return 0.5 * (inv + np.swapaxes(inv, -1, -2)), logdet


@dataclass(frozen=True)
class _Problem:
    """One batch of outcomes, with subjects grouped into cells.

    Subjects of one outcome that share their design rows ``X_i`` and their missingness pattern share
    ``W_i``, ``B_i = W_i X_i`` and the diagonal block ``P_ii``: every term of the likelihood and its
    derivatives that does not involve ``y`` is a count-weighted sum over these cells (in a trial, arms
    x patterns: a handful), and the terms in ``y`` are sums over cells of per-subject sums (``u_i``,
    ``u_i u_i'``), taken once per evaluation. When grouping would not shrink the problem (continuous
    covariates), every subject is its own cell (``order`` is None)."""

    y: np.ndarray  # (G, n, T) zeros where missing
    mask: np.ndarray  # (G, n, T) float 0/1
    X: np.ndarray  # (n, T, p)
    pattern: np.ndarray  # (G, n) index into patterns
    patterns: np.ndarray  # (K, T) float 0/1
    cell: np.ndarray  # (G, n) cell of each subject, numbered 0.. in each outcome
    order: np.ndarray | None  # (G, n) subjects sorted by cell; None: every subject is its own cell
    cell_X: np.ndarray  # (G, C, T, p) design of each cell, or (1, n, T, p) = X
    cell_pattern: np.ndarray  # (G, C) pattern index of each cell
    count: np.ndarray  # (G, C) subjects in each cell (0 for padding)
    summer: sparse.csc_matrix | None = None  # (G C, G n) sums subjects into cells; None: not grouped
    cell_Xw: np.ndarray | None = None  # (G, C, T, p) count-weighted cell_X; None: not grouped
    cell_y: np.ndarray | None = None  # (G, C, T) each cell's sum of y; None: not grouped

    def take(self, idx: np.ndarray) -> _Problem:
        if idx.size == self.y.shape[0] and (idx == np.arange(idx.size)).all():
            return self  # all outcomes, in order: nothing to copy
        if self.order is None:
            return _Problem(
                self.y[idx], self.mask[idx], self.X, self.pattern[idx], self.patterns, self.cell[idx], None,
                self.cell_X, self.cell_pattern[idx], self.count[idx],
            )  # fmt: skip
        order, cell, count = self.order[idx], self.cell[idx], self.count[idx]
        assert self.cell_Xw is not None and self.cell_y is not None  # set by _problem when grouped
        return _Problem(
            self.y[idx], self.mask[idx], self.X, self.pattern[idx], self.patterns, cell, order,
            self.cell_X[idx], self.cell_pattern[idx], count, _cell_index(order, cell, count),
            self.cell_Xw[idx], self.cell_y[idx],
        )  # fmt: skip


def _cell_index(order: np.ndarray | None, cell: np.ndarray, count: np.ndarray):
    """``summer`` of :class:`_Problem`: the sparse (G C) × (G n) 0/1 matrix that sums subjects into
    their cells, one entry per subject (None when not grouped)."""
    if order is None:
        return None
    G, n = cell.shape
    C = count.shape[1]
    rows = (cell + C * np.arange(G)[:, None]).ravel()
    return sparse.csc_matrix((np.ones(G * n), rows, np.arange(G * n + 1)), shape=(G * C, G * n))


def _cell_codes(mask: np.ndarray, X: np.ndarray):
    """Each subject's missingness pattern (G, n), the patterns present (K, T) and its cell code
    (design class x pattern, (G, n)): the subjects of one outcome with one code share a cell."""
    G, n, T = mask.shape
    codes = mask.astype(np.int64) @ (1 << np.arange(T, dtype=np.int64))
    if T <= 16:  # a table of the 2^T codes: no sort
        seen = np.bincount(codes.ravel(), minlength=1 << T) > 0
        present, pattern = np.flatnonzero(seen), (np.cumsum(seen) - 1)[codes]
    else:
        present, pattern = np.unique(codes, return_inverse=True)
    pattern = pattern.reshape(G, n)
    patterns = ((present[:, None] >> np.arange(T)) & 1).astype(float)
    rows = np.ascontiguousarray(X.reshape(n, -1))  # the design rows as opaque bytes: one 1-d unique
    xclass = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel(),
                       return_inverse=True)[1].reshape(n)  # fmt: skip
    return pattern, patterns, xclass[None, :] * len(present) + pattern


def cell_counts(mask: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(G,) the number of cells of each outcome: a batch is as wide as its widest outcome, so batches
    of outcomes with alike counts carry little padding."""
    code = np.sort(_cell_codes(mask, X)[2], axis=1)
    return 1 + (code[:, 1:] != code[:, :-1]).sum(axis=1)


def _problem(y: np.ndarray, mask: np.ndarray, X: np.ndarray, *, group: bool = True) -> _Problem:
    """Missingness patterns and cells of a batch (see ``_Problem``); ``group=False`` makes every
    subject its own cell."""
    G, n, T = mask.shape
    pattern, patterns, code = _cell_codes(mask, X)
    order = np.argsort(code, axis=1, kind="stable")
    sorted_code = np.take_along_axis(code, order, axis=1)
    first = np.ones((G, n), dtype=bool)
    first[:, 1:] = sorted_code[:, 1:] != sorted_code[:, :-1]
    rank = np.cumsum(first, axis=1) - 1
    C = int(rank[:, -1].max()) + 1
    # y and mask in C order whatever the caller's layout (a transposed or fancy-indexed view slows every product)
    base = dict(y=np.ascontiguousarray(np.where(mask, y, 0.0), dtype=float),
                mask=np.ascontiguousarray(mask, dtype=float), X=X, pattern=pattern, patterns=patterns)  # fmt: skip
    if not group or C > 0.75 * n:  # grouping would not pay: every subject is its own cell
        count = np.ones((G, n))
        return _Problem(**base, cell=np.broadcast_to(np.arange(n), (G, n)), order=None, cell_X=X[None],
                        cell_pattern=pattern, count=count)  # fmt: skip
    cell = np.empty_like(rank)
    np.put_along_axis(cell, order, rank, axis=1)
    g = np.repeat(np.arange(G), n).reshape(G, n)
    count = np.zeros((G, C))
    np.add.at(count, (g, cell), 1.0)
    rep = np.zeros((G, C), dtype=int)  # a representative subject of each cell (subject 0 for padding)
    rep[g[first], rank[first]] = order[first]
    summer = _cell_index(order, cell, count)
    cell_y = np.asarray(summer @ base["y"].reshape(G * n, T)).reshape(G, C, T)
    cell_X = X[rep]
    return _Problem(**base, cell=cell, order=order, cell_X=cell_X, cell_pattern=np.take_along_axis(pattern, rep, 1),
                    count=count, summer=summer, cell_Xw=cell_X * count[:, :, None, None], cell_y=cell_y)  # fmt: skip


def _cell_sum(prob: _Problem, a: np.ndarray) -> np.ndarray:
    """Sum a per-subject array (G, n, ...) over the subjects of each cell: (G, C, ...)."""
    if prob.summer is None:
        return a
    G, C = prob.count.shape
    return np.asarray(prob.summer @ a.reshape(G * a.shape[1], -1)).reshape(G, C, *a.shape[2:])


def _padded_inverse(prob: _Problem, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded inverses per subject (G, n, T, T) and per cell (G, C, T, T), and log|Sigma_O| summed over
    subjects (G,)."""
    m = prob.patterns  # (K, T)
    mm = m[:, :, None] * m[:, None, :]
    filled = sigma[:, None] * mm[None] + np.eye(sigma.shape[-1]) * (1.0 - m)[None, :, None, :]
    inv, logdet = _pd_inverse(filled)  # (G, K, T, T), (G, K)
    inv = inv * mm[None]
    g = np.arange(sigma.shape[0])[:, None]
    W = inv[g, prob.pattern]
    Wc = W if prob.order is None else inv[g, prob.cell_pattern]  # every subject its own cell: the same
    return W, Wc, logdet[g, prob.pattern].sum(axis=1)


def _gls(prob: _Problem, sigma: np.ndarray):
    """GLS at a given Sigma: W per subject and per cell, B = W X per cell, A^-1, beta, u = W r and the
    restricted log-likelihood."""
    W, Wc, logdet_sigma = _padded_inverse(prob, sigma)
    G, C, T, _ = Wc.shape
    p = prob.X.shape[-1]
    if prob.order is None:  # X shared by the outcomes: one (G T x T) @ (T x p) product per subject
        Bc = np.ascontiguousarray(Wc.swapaxes(0, 1)).reshape(C, G * T, T) @ prob.X
        Bc = np.ascontiguousarray(Bc.reshape(C, G, T, p).swapaxes(0, 1))
        A = prob.X.reshape(C * T, p).T @ Bc.reshape(G, C * T, p)
    else:
        assert prob.cell_Xw is not None  # set by _problem when grouped
        Bc = Wc @ prob.cell_X  # (G, C, T, p)
        A = np.swapaxes(prob.cell_Xw.reshape(G, C * T, p), 1, 2) @ Bc.reshape(G, C * T, p)
    Ainv, logdet_A = _pd_inverse(0.5 * (A + np.swapaxes(A, 1, 2)))
    # X' V^-1 y = sum over cells of B_c' (the cell's sum of y_i)
    yc = prob.y if prob.cell_y is None else prob.cell_y
    c = (yc.reshape(G, 1, C * T) @ Bc.reshape(G, C * T, p))[:, 0]
    beta = np.einsum("gpq,gq->gp", Ainv, c)
    r = (prob.y - (beta @ prob.X.reshape(-1, p).T).reshape(prob.y.shape)) * prob.mask
    u = np.einsum("gits,gis->git", W, r)
    n_obs = prob.mask.sum(axis=(1, 2))
    quad = np.einsum("git,git->g", r, u)
    ll = -0.5 * (logdet_sigma + quad + logdet_A + (n_obs - p) * _LOG_2PI)
    return W, Wc, Bc, Ainv, beta, u, ll


def _ols_residuals(prob: _Problem) -> np.ndarray:
    """(G, n, T) residuals of each outcome's ordinary least-squares fit (zero where missing): ``_gls``
    at Sigma = I, whose padded inverses are the masks themselves (no inverse, no per-subject gather)."""
    G, n, T = prob.y.shape
    p = prob.X.shape[-1]
    Bc = prob.cell_X * prob.patterns[prob.cell_pattern][..., None]  # diag(m_c) X_c: (G, C, T, p)
    C = Bc.shape[1]
    Xw = prob.cell_Xw if prob.cell_Xw is not None else np.broadcast_to(prob.X[None], Bc.shape)
    A = np.swapaxes(Xw.reshape(G, C * T, p), 1, 2) @ Bc.reshape(G, C * T, p)
    Ainv = _pd_inverse(0.5 * (A + np.swapaxes(A, 1, 2)))[0]
    yc = prob.y if prob.cell_y is None else prob.cell_y
    beta = np.einsum("gpq,gq->gp", Ainv, (yc.reshape(G, 1, C * T) @ Bc.reshape(G, C * T, p))[:, 0])
    return (prob.y - (beta @ prob.X.reshape(-1, p).T).reshape(prob.y.shape)) * prob.mask


def _loglik(prob: _Problem, sigma: np.ndarray) -> np.ndarray:
    return _gls(prob, sigma)[-1]


@dataclass(frozen=True)
class Terms:
    """One evaluation at Sigma, before projection on the derivatives of Sigma (see :func:`project`):

    * ``D[a,b] = 1/2 sum_i (u_ia u_ib - P_ii[a,b])`` — the score is ``sum_ab S_k[a,b] D[a,b]``;
    * ``Q[a,b,c,d] = sum_ij u_ia P_ij[b,c] u_jd`` — ``u' V_k P V_l u = sum S_k[a,b] Q[a,b,c,d] S_l[c,d]``;
    * ``F[a,b,c,d] = sum_ij P_ij[b,c] P_ji[d,a]`` — ``tr(P V_k P V_l)`` likewise (None for the average
      information, which leaves it out);

    with the GLS terms the inference reuses (per cell ``Wc`` and ``B``, per subject ``u``)."""

    ll: np.ndarray  # (G,)
    D: np.ndarray  # (G, T, T)
    Q: np.ndarray  # (G, T*T, T*T)
    F: np.ndarray | None  # (G, T*T, T*T)
    beta: np.ndarray  # (G, p)
    Ainv: np.ndarray  # (G, p, p)
    K: np.ndarray | None  # (G, T, p, T, p)
    Wc: np.ndarray  # (G, C, T, T)
    B: np.ndarray  # (G, C, T, p)
    u: np.ndarray  # (G, n, T)


@functools.lru_cache(maxsize=16)
def _triangle(T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The upper triangle's row and column indices of a T × T matrix and the (T, T) map from each
    element to its position in that triangle (made once per T)."""
    ia, ib = np.triu_indices(T)
    full = np.zeros((T, T), dtype=int)
    full[ia, ib] = full[ib, ia] = np.arange(ia.size)
    for a in (ia, ib, full):
        a.flags.writeable = False
    return ia, ib, full


def evaluate_terms(prob: _Problem, sigma: np.ndarray, *, trace: bool = True) -> Terms:
    """The :class:`Terms` at ``sigma``; ``trace=False`` leaves out ``F`` and ``K`` (the average
    information's evaluation). Sums over subjects of terms without ``y`` are count-weighted sums over
    cells (``w`` below); those in ``y`` are sums over cells of the per-subject ``u_i`` and ``u_i u_i'``."""
    _, W, B, Ainv, beta, u, ll = _gls(prob, sigma)
    G, C, T, p = B.shape
    w = prob.count[:, :, None]
    BA = (B.reshape(G, C * T, p) @ Ainv).reshape(G, C, T, p)
    Hf = (BA @ np.ascontiguousarray(np.swapaxes(B, -1, -2))).reshape(G, C, T * T)  # H_ii = B_i A^-1 B_i'
    Pf = W.reshape(G, C, T * T) - Hf  # diagonal blocks of P
    # per cell: sum_i u_i and the distinct elements of sum_i u_i u_i'
    ia, ib, full = _triangle(T)
    sums = _cell_sum(prob, np.concatenate([u, u[:, :, ia] * u[:, :, ib]], axis=2))
    uc, uu = sums[:, :, :T], sums[:, :, T:]
    uu_total = uu.sum(axis=1)[:, full]  # (G, T, T)
    D = 0.5 * (uu_total - (prob.count[:, None, :] @ Pf).reshape(G, T, T))
    # Q[a,b,c,d] = sum_ij u_ia P_ij[b,c] u_jd, with P_ij = delta_ij W_i - B_i A^-1 B_j'
    Q1 = (np.swapaxes(uu, 1, 2) @ W.reshape(G, C, T * T))[:, full.ravel()].reshape(G, T, T, T, T)  # [a,d,b,c]
    R = (np.swapaxes(uc, 1, 2) @ B.reshape(G, C, T * p)).reshape(G, T, T, p)  # R[a,b] = sum_i u_ia B_i[b]
    Q2 = np.einsum("gabp,gpq,gdcq->gadbc", R, Ainv, R, optimize=True)
    Q = np.ascontiguousarray((Q1 - Q2).transpose(0, 1, 3, 4, 2)).reshape(G, T * T, T * T)  # [a,b,c,d]
    F = K = None
    if trace:
        Bf = B.reshape(G, C, T * p)
        K = (np.swapaxes(Bf * w, 1, 2) @ Bf).reshape(G, T, p, T, p)  # K[x,p,y,s] = sum_i B_i[x,p] B_i[y,s]
        # F[a,b,c,d] = sum_ij P_ij[b,c] P_ji[d,a]: the diagonal blocks, then the cross terms from K
        # sum_c w (P_c (x) P_c - H_c (x) H_c) with P = W - H: W'wW - W'wH - (W'wH)' ([(b,c),(d,a)])
        Ww = np.swapaxes(W.reshape(G, C, T * T) * w, 1, 2)
        WH = Ww @ Hf
        diag = Ww @ W.reshape(G, C, T * T) - WH - np.swapaxes(WH, 1, 2)
        K2 = (Ainv[:, None] @ K.reshape(G, T, p, T * p)).reshape(G, T * p * T, p) @ Ainv  # A^-1 K_xy A^-1
        K2 = np.ascontiguousarray(K2.reshape(G, T, p, T, p).transpose(0, 1, 3, 2, 4)).reshape(G, T * T, p * p)
        Kb = np.ascontiguousarray(K.transpose(0, 1, 3, 2, 4)).reshape(G, T * T, p * p)  # [x,y] blocks K_xy
        cross = (K2 @ np.swapaxes(Kb, 1, 2)).reshape(G, T, T, T, T).transpose(0, 1, 3, 4, 2)  # [b,c,d,a]
        F4 = diag.reshape(G, T, T, T, T) + cross  # [b,c,d,a]
        F = np.ascontiguousarray(F4.transpose(0, 4, 1, 2, 3)).reshape(G, T * T, T * T)  # [a,b,c,d]
    return Terms(ll, D, Q, F, beta, Ainv, K, W, B, u)


def project(t: Terms, S: np.ndarray, H: np.ndarray | None = None):
    """Score, expected and observed information over parameters theta of Sigma (the average
    information in place of the expected one when ``t.F`` is None: ``observed`` is then it too).

    ``S`` holds the derivatives ``dSigma / dtheta_k``: (q, T, T) shared by all outcomes (the distinct
    elements of Sigma: 0/1 maps) or (G, q, T, T) per outcome; ``H`` (G, q, q, T, T) the second
    derivatives when Sigma is not linear in theta (their term ``-sum_ab H_kl[a,b] D[a,b]`` enters the
    observed information)."""
    G, T = t.D.shape[0], t.D.shape[1]
    Sf = S.reshape(*S.shape[:-2], T * T)
    SfT = np.swapaxes(Sf, -1, -2)
    score = (Sf @ t.D.reshape(G, T * T, 1))[..., 0]  # (G, q)
    uPu = Sf @ t.Q @ SfT
    if t.F is None:  # average information: 1/2 u' V_k P V_l u
        ai = 0.5 * uPu
        ai = 0.5 * (ai + np.swapaxes(ai, 1, 2))
        return score, ai, ai
    expected = 0.5 * (Sf @ t.F @ SfT)
    observed = uPu - expected
    if H is not None:
        observed = observed - np.einsum("gklab,gab->gkl", H, t.D)
    return score, expected, 0.5 * (observed + np.swapaxes(observed, 1, 2))


def _evaluate(
    prob: _Problem, sigma: np.ndarray, S: np.ndarray, H: np.ndarray | None = None, *, parts: bool = False
):
    """Log-likelihood, score, expected and observed information over parameters theta of Sigma, beta,
    ``A^-1 = (X' V^-1 X)^-1`` and ``K`` (see :func:`evaluate_terms` and :func:`project`)."""
    t = evaluate_terms(prob, sigma)
    score, expected, observed = project(t, S, H)
    out = (t.ll, score, expected, observed, t.beta, t.Ainv, t.K)
    if parts:  # what the inference for contrasts needs from this point (skintrial.stats._reml_inference)
        assert t.K is not None
        return (*out, FitParts(prob, Wc=t.Wc, B=t.B, u=t.u, K=t.K))
    return out


def _evaluate_ai(prob: _Problem, sigma: np.ndarray, S: np.ndarray):
    """Log-likelihood, score and the *average information* ``AI_kl = 1/2 u' V_k P V_l u`` (Gilmour,
    Thompson & Cullis 1995): the mean of the observed and expected information without the trace term
    ``tr(P V_k P V_l)``, whose sum over pairs of subjects (``K`` and ``F``) dominates the cost.
    Positive semi-definite, and close to the expected information near the maximum; the iterations use
    it until they are close, then exact Newton steps."""
    t = evaluate_terms(prob, sigma, trace=False)
    score, ai, _ = project(t, S)
    return t.ll, score, ai
