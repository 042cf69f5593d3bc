"""Batched REML for a linear model with a structured covariance across visits, many outcomes at once.

For every outcome g and subject i the observed visits ``O_gi`` follow

    y_gi = X_i[O_gi] beta_g + e_gi,     e_gi ~ N(0, Sigma_g[O_gi, O_gi])

with ``X_i`` (T × p) shared by all outcomes and ``Sigma_g`` (T × T) positive definite, of one of the
structures of :mod:`skintrial.stats._covstruct` (unstructured: the model of ``nlme::gls(...,
correlation = corSymm(), weights = varIdent())``; compound symmetry, AR(1), Toeplitz, each with one or
a variance per visit). The restricted log-likelihood of ``Sigma_g`` is

    l_R = -1/2 [ sum_i log|Sigma_O| + r' V^-1 r + log|X' V^-1 X| + (N - p) log(2 pi) ]

with ``V = blockdiag_i(Sigma_O)`` and ``r = y - X beta_hat(Sigma)``. It is maximised over parameters
theta of Sigma (for ``us`` its T(T+1)/2 distinct elements, otherwise mmrm's parameters) by
average-information steps (Gilmour, Thompson & Cullis 1995) until close, then Newton–Raphson on the
exact observed information (Fisher scoring where it is not positive definite), with step halving that
keeps ``Sigma_g`` positive definite and the likelihood non-decreasing. Every operation is a batched
array operation over outcomes; the only Python loops run over iterations and step halvings.

Missing values need no grouping by hand: a subject's padded inverse ``W_gi`` — the inverse of
``Sigma_g[O, O]`` placed in the observed rows and columns, zero elsewhere — is the inverse of
``Sigma_g`` with the missing rows and columns replaced by the identity, zeroed again. It is computed
once per (outcome, missingness pattern) and gathered per subject.

Derivatives (Harville 1977; Searle, Casella & McCulloch 1992, ch. 6), with ``P = V^-1 - V^-1 X A^-1 X'
V^-1``, ``A = X' V^-1 X``, ``u = P y``, ``V_k = dV/dtheta_k`` and ``V_kl`` the second derivatives
(zero for the elements of an unstructured Sigma):

    score_k  = -1/2 tr(P V_k) + 1/2 u' V_k u
    expected = 1/2 tr(P V_k P V_l)
    observed = u' V_k P V_l u - 1/2 tr(P V_k P V_l) + 1/2 tr(P V_kl) - 1/2 u' V_kl u
    average  = 1/2 u' V_k P V_l u

All reduce to sums over subjects of T × T blocks (see ``_evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skintrial.stats._covstruct import STRUCTURES, derivatives, start_theta, theta_of_sigma

__all__ = ["BOUNDARY", "RemlFit", "fit_reml", "fit_reml_unstructured", "min_correlation_eigenvalue"]

_LOG_2PI = float(np.log(2.0 * np.pi))
BOUNDARY = 1e-7
"""Iterations stop for an outcome whose Sigma has a correlation-matrix eigenvalue below this: the
restricted likelihood is then increasing towards a singular covariance (too few participants seen at
the visits involved), and no interior maximum exists to report."""


@dataclass(frozen=True)
class FitParts:
    """Terms of the evaluation at the maximum that the contrasts' inference reuses: the problem (cells),
    the padded inverses per cell, ``B = W X`` per cell, ``u = V^-1 r`` per subject and ``K``."""

    prob: _Problem
    Wc: np.ndarray
    B: np.ndarray
    u: np.ndarray
    K: np.ndarray


@dataclass(frozen=True)
class RemlFit:
    """REML estimates for G outcomes (arrays indexed by outcome first)."""

    beta: np.ndarray  # (G, p)
    cov_beta: np.ndarray  # (G, p, p) = (X' V^-1 X)^-1 at the REML Sigma
    dcov_beta: np.ndarray  # (G, q, p, p) derivative of cov_beta by each covariance parameter (mmrm's)
    cov_theta: np.ndarray  # (G, q, q) inverse observed information of those parameters (NaN if not PD)
    sigma: np.ndarray  # (G, T, T)
    loglik: np.ndarray  # (G,) restricted log-likelihood (without the log|X'X| / 2 term)
    n_obs: np.ndarray  # (G,) observations used
    n_iter: np.ndarray  # (G,)
    decrement: np.ndarray  # (G,) score' I^-1 score at the end: about twice the gap to the maximum
    converged: np.ndarray  # (G,) bool
    structure: str = "us"  # covariance structure (skintrial.stats._covstruct.STRUCTURES)
    theta: np.ndarray | None = None  # (G, q) mmrm's parameters of the structure at the maximum
    parts: FitParts | None = field(default=None, repr=False, compare=False)  # the last evaluation's terms


def _sym_index(T: int) -> np.ndarray:
    """(q, T, T) 0/1 maps from the distinct elements of Sigma (row-major upper triangle) to Sigma."""
    iu = np.triu_indices(T)
    S = np.zeros((len(iu[0]), T, T))
    for k, (a, b) in enumerate(zip(*iu, strict=True)):
        S[k, a, b] = 1.0
        S[k, b, a] = 1.0
    return S


def _sym_inverse(M: np.ndarray, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse, log-determinant and smallest eigenvalue of a stack of symmetric matrices (never raises).

    A matrix that is not positive definite (an eigenvalue at or below ``floor``) gets a NaN inverse and
    log-determinant."""
    lam, vec = np.linalg.eigh(M)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (vec / np.where(lam > floor, lam, np.nan)[..., None, :]) @ np.swapaxes(vec, -1, -2)
        logdet = np.log(np.where(lam > floor, lam, np.nan)).sum(axis=-1)
    return inv, logdet, lam[..., 0]


def _pd_inverse(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of symmetric matrices, as ``_sym_inverse`` gives them.

    The hot path of every iteration: when the whole stack is positive definite (the rule inside the
    iterations, where every accepted Sigma is), one batched Cholesky factorisation gives the
    log-determinant and a batched solve the inverse, several times faster than the eigendecomposition;
    otherwise the stack goes through ``_sym_inverse`` and its non-PD members come out NaN."""
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return _sym_inverse(M)[:2]
    logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
    inv = np.linalg.inv(M)
    return 0.5 * (inv + np.swapaxes(inv, -1, -2)), logdet


@dataclass(frozen=True)
class _Problem:
    """One batch of outcomes, with subjects grouped into cells.

    Subjects of one outcome that share their design rows ``X_i`` and their missingness pattern share
    ``W_i``, ``B_i = W_i X_i`` and the diagonal block ``P_ii``: every term of the likelihood and its
    derivatives that does not involve ``y`` is a count-weighted sum over these cells (in a trial, arms
    x patterns: a handful), and only the terms in ``y`` run over subjects. When grouping would not
    shrink the problem (continuous covariates), every subject is its own cell (``order`` is None)."""

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

    def take(self, idx: np.ndarray) -> _Problem:
        order = None if self.order is None else self.order[idx]
        cell_X = self.cell_X if self.order is None else self.cell_X[idx]
        return _Problem(
            self.y[idx], self.mask[idx], self.X, self.pattern[idx], self.patterns, self.cell[idx], order,
            cell_X, self.cell_pattern[idx], self.count[idx],
        )  # fmt: skip


def _problem(y: np.ndarray, mask: np.ndarray, X: np.ndarray, *, group: bool = True) -> _Problem:
    """Missingness patterns and cells of a batch (see ``_Problem``); ``group=False`` makes every
    subject its own cell."""
    G, n, T = mask.shape
    codes = (mask * (1 << np.arange(T))).sum(axis=2)
    present, pattern = np.unique(codes, return_inverse=True)
    pattern = pattern.reshape(G, n)
    patterns = ((present[:, None] >> np.arange(T)) & 1).astype(float)
    xclass = np.unique(X.reshape(n, -1), axis=0, return_inverse=True)[1].reshape(n)
    code = xclass[None, :] * len(present) + pattern
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
    return _Problem(**base, cell=cell, order=order, cell_X=X[rep], cell_pattern=np.take_along_axis(pattern, rep, 1),
                    count=count)  # fmt: skip


def _cell_sum(prob: _Problem, a: np.ndarray) -> np.ndarray:
    """Sum a per-subject array (G, n, ...) over the subjects of each cell: (G, C, ...)."""
    if prob.order is None:
        return a
    G, n = prob.cell.shape
    C = prob.count.shape[1]
    idx = prob.order.reshape(G, n, *([1] * (a.ndim - 2)))
    flat = np.take_along_axis(a, idx, axis=1).reshape(G * n, -1)
    sorted_cell = np.take_along_axis(prob.cell, prob.order, axis=1)
    first = np.ones((G, n), dtype=bool)
    first[:, 1:] = sorted_cell[:, 1:] != sorted_cell[:, :-1]
    out = np.zeros((G * C, flat.shape[1]))
    out[(prob.count > 0).ravel()] = np.add.reduceat(flat, np.flatnonzero(first.ravel()), axis=0)
    return out.reshape(G, C, *a.shape[2:])


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
        Bc = Bc.reshape(C, G, T, p).swapaxes(0, 1)
        A = prob.X.reshape(C * T, p).T @ np.ascontiguousarray(Bc).reshape(G, C * T, p)
    else:
        Bc = Wc @ prob.cell_X  # (G, C, T, p)
        Xw = prob.cell_X * prob.count[:, :, None, None]
        A = np.swapaxes(Xw.reshape(G, C * T, p), 1, 2) @ Bc.reshape(G, C * T, p)
    Ainv, logdet_A = _pd_inverse(0.5 * (A + np.swapaxes(A, 1, 2)))
    wy = np.einsum("gits,gis->git", W, prob.y)
    c = wy.reshape(G, -1) @ prob.X.reshape(-1, p)
    beta = np.einsum("gpq,gq->gp", Ainv, c)
    r = (prob.y - (beta @ prob.X.reshape(-1, p).T).reshape(prob.y.shape)) * prob.mask
    u = np.einsum("gits,gis->git", W, r)
    n_obs = prob.mask.sum(axis=(1, 2))
    quad = np.einsum("git,git->g", r, u)
    ll = -0.5 * (logdet_sigma + quad + logdet_A + (n_obs - p) * _LOG_2PI)
    return W, Wc, Bc, Ainv, beta, u, ll


def _loglik(prob: _Problem, sigma: np.ndarray) -> np.ndarray:
    return _gls(prob, sigma)[-1]


def _evaluate_ai(prob: _Problem, sigma: np.ndarray, S: np.ndarray):
    """Log-likelihood, score and the *average information* ``AI_kl = 1/2 u' V_k P V_l u`` (Gilmour,
    Thompson & Cullis 1995): the mean of the observed and expected information without the trace term
    ``tr(P V_k P V_l)``, whose sum over pairs of subjects (``K`` in :func:`_evaluate`) dominates the cost.
    Positive semi-definite, and close to the expected information near the maximum; the iterations use
    it until they are close, then exact Newton steps (:func:`fit_reml`)."""
    Wi, W, B, Ainv, beta, u, ll = _gls(prob, sigma)
    G, C, T, p = B.shape
    w = prob.count[:, :, None]
    BA = (B.reshape(G, C * T, p) @ Ainv).reshape(G, C, T, p)
    Pf = (W - BA @ np.swapaxes(B, -1, -2)).reshape(G, C, T * T)
    D = 0.5 * (np.swapaxes(u, 1, 2) @ u - (Pf * w).sum(axis=1).reshape(G, T, T))
    Sf = S.reshape(*S.shape[:-2], T * T)
    score = (Sf @ D.reshape(G, T * T, 1))[..., 0]
    uu = (u[:, :, :, None] * u[:, :, None, :]).reshape(G, -1, T * T)
    Q1 = (np.swapaxes(uu, 1, 2) @ Wi.reshape(G, -1, T * T)).reshape(G, T, T, T, T)  # [a,d,b,c]
    R = np.einsum("gia,gibp->gabp", _cell_sum(prob, u), B)
    Q2 = np.einsum("gabp,gpq,gdcq->gadbc", R, Ainv, R, optimize=True)
    Q = (Q1 - Q2).transpose(0, 1, 3, 4, 2).reshape(G, T * T, T * T)  # [a,b,c,d]
    ai = 0.5 * (Sf @ Q @ np.swapaxes(Sf, -1, -2))
    return ll, score, 0.5 * (ai + np.swapaxes(ai, 1, 2))


def _evaluate(
    prob: _Problem, sigma: np.ndarray, S: np.ndarray, H: np.ndarray | None = None, *, parts: bool = False
):
    """Log-likelihood, score, expected and observed information over parameters theta of Sigma.

    ``S`` holds the derivatives ``dSigma / dtheta_k``: (q, T, T) shared by all outcomes (the distinct
    elements of Sigma: 0/1 maps) or (G, q, T, T) per outcome; ``H`` (G, q, q, T, T) the second
    derivatives when Sigma is not linear in theta (their term ``-sum_ab H_kl[a,b] D[a,b]`` enters the
    observed information). Sums over subjects of terms without ``y`` are count-weighted sums over cells
    (``w`` below)."""
    Wi, W, B, Ainv, beta, u, ll = _gls(prob, sigma)
    G, C, T, p = B.shape
    w = prob.count[:, :, None]
    Bf = B.reshape(G, C, T * p)
    K = (np.swapaxes(Bf * w, 1, 2) @ Bf).reshape(G, T, p, T, p)  # K[x,p,y,s] = sum_i B_i[x,p] B_i[y,s]
    Kb = K.transpose(0, 1, 3, 2, 4)  # Kb[x,y] = the p x p block K[x,:,y,:]
    BA = (B.reshape(G, C * T, p) @ Ainv).reshape(G, C, T, p)
    Hii = BA @ np.swapaxes(B, -1, -2)  # H_ii = B_i A^-1 B_i'   (G, C, T, T)
    P = W - Hii  # diagonal blocks of P
    Pf, Hf = P.reshape(G, C, T * T), Hii.reshape(G, C, T * T)
    # score: D[a,b] = 1/2 sum_i (u_ia u_ib - P_ii[a,b])
    D = 0.5 * (np.swapaxes(u, 1, 2) @ u - (Pf * w).sum(axis=1).reshape(G, T, T))
    Sf = S.reshape(*S.shape[:-2], T * T)
    score = (Sf @ D.reshape(G, T * T, 1))[..., 0]  # (G, q)
    # F[a,b,c,d] = sum_ij P_ij[b,c] P_ji[d,a], with P_ij = -B_i A^-1 B_j' off the diagonal
    diag = np.swapaxes(Pf * w, 1, 2) @ Pf - np.swapaxes(Hf * w, 1, 2) @ Hf  # [(b,c),(d,a)]
    K2 = Ainv[:, None, None] @ Kb @ Ainv[:, None, None]  # [b,a] blocks of A^-1 K_ba A^-1
    cross = K2.reshape(G, T * T, p * p) @ np.swapaxes(Kb.reshape(G, T * T, p * p), 1, 2)  # [(b,a),(c,d)]
    cross = cross.reshape(G, T, T, T, T).transpose(0, 1, 3, 4, 2)  # [b,c,d,a]
    F = diag.reshape(G, T, T, T, T) + cross  # indexed [b,c,d,a]
    F = F.transpose(0, 4, 1, 2, 3)  # [a,b,c,d]
    # Q[a,b,c,d] = sum_ij u_ia P_ij[b,c] u_jd
    uu = (u[:, :, :, None] * u[:, :, None, :]).reshape(G, -1, T * T)  # [(a,d)]
    Q1 = (np.swapaxes(uu, 1, 2) @ Wi.reshape(G, -1, T * T)).reshape(G, T, T, T, T)  # [a,d,b,c]
    R = np.einsum("gia,gibp->gabp", _cell_sum(prob, u), B)
    Q2 = np.einsum("gabp,gpq,gdcq->gadbc", R, Ainv, R, optimize=True)
    Q = (Q1 - Q2).transpose(0, 1, 3, 4, 2)  # [a,b,c,d]
    SfT = np.swapaxes(Sf, -1, -2)
    expected = 0.5 * (Sf @ F.reshape(G, T * T, T * T) @ SfT)
    observed = Sf @ Q.reshape(G, T * T, T * T) @ SfT - expected
    if H is not None:
        observed = observed - np.einsum("gklab,gab->gkl", H, D)
    observed = 0.5 * (observed + np.swapaxes(observed, 1, 2))
    if parts:  # what the inference for contrasts needs from this point (skintrial.stats._reml_inference)
        return ll, score, expected, observed, beta, Ainv, K, FitParts(prob, Wc=W, B=B, u=u, K=K)
    return ll, score, expected, observed, beta, Ainv, K


def _start(prob: _Problem) -> np.ndarray:
    """Starting Sigma: moments of the OLS residuals (pairwise), correlations shrunk, made positive definite."""
    eye = np.broadcast_to(np.eye(prob.y.shape[-1]), prob.y.shape[:1] + (prob.y.shape[-1],) * 2)
    u = _gls(prob, np.ascontiguousarray(eye))[-2]  # with Sigma = I, u = r
    m = prob.mask
    cnt = np.einsum("gia,gib->gab", m, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.einsum("gia,gib->gab", u, u) / cnt
    var = np.diagonal(C, axis1=1, axis2=2).copy()
    good = np.isfinite(var) & (var > 0)
    typical = np.where(good, var, 0.0).sum(axis=1) / np.maximum(good.sum(axis=1), 1)
    var = np.where(good, var, np.where(typical > 0, typical, 1.0)[:, None])
    sd = np.sqrt(var)
    R = np.nan_to_num(C / (sd[:, :, None] * sd[:, None, :]), nan=0.0)
    R = np.clip(0.9 * R, -0.9, 0.9)
    T = R.shape[-1]
    R[:, np.arange(T), np.arange(T)] = 1.0
    lam, vec = np.linalg.eigh(R)
    R = (vec * np.maximum(lam, 0.05)[:, None, :]) @ np.swapaxes(vec, 1, 2)
    return R * sd[:, :, None] * sd[:, None, :]


def min_correlation_eigenvalue(sigma: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of the correlation matrix of each Sigma: 0 for a singular covariance."""
    sd = np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.linalg.eigvalsh(np.nan_to_num(sigma / (sd[..., :, None] * sd[..., None, :])))[..., 0]


def _direction(score, expected, observed, use_newton: bool):
    """Newton step where the observed information is positive definite, else Fisher scoring."""
    inv_e = _pd_inverse(expected)[0]
    step = np.einsum("gkl,gl->gk", inv_e, score)
    decrement = np.einsum("gk,gk->g", score, step)
    if use_newton:
        inv_o, _, min_o = _sym_inverse(observed)
        ok = min_o > 1e-10 * np.abs(np.linalg.eigvalsh(observed)[:, -1])
        newton = np.einsum("gkl,gl->gk", inv_o, score)
        step = np.where(ok[:, None] & np.isfinite(newton).all(axis=1, keepdims=True), newton, step)
    return step, decrement


class _Elements:
    """The unstructured Sigma by its distinct elements (row-major upper triangle): linear, so the
    derivatives are constant 0/1 maps and the second derivatives vanish. The fitting parameterisation of
    ``us`` (Newton on it converges fast and needs no second derivatives)."""

    def __init__(self, T: int) -> None:
        self.T, self.S, self.iu = T, _sym_index(T), np.triu_indices(T)

    def start(self, sigma0: np.ndarray) -> np.ndarray:
        return sigma0[:, self.iu[0], self.iu[1]]

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        out = np.zeros((theta.shape[0], self.T, self.T))
        out[:, self.iu[0], self.iu[1]] = theta
        return out + np.triu(out, 1).transpose(0, 2, 1)

    def derivatives(self, theta: np.ndarray):
        return self.S, None


class _Structured:
    """A covariance structure in mmrm's parameterisation (:mod:`skintrial.stats._covstruct`)."""

    def __init__(self, structure: str, T: int) -> None:
        self.structure, self.T = structure, T

    def start(self, sigma0: np.ndarray) -> np.ndarray:
        return start_theta(self.structure, sigma0)

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return derivatives(self.structure, theta, self.T)[0]

    def derivatives(self, theta: np.ndarray):
        return derivatives(self.structure, theta, self.T)[1:]


def _line_search(sub: _Problem, param, theta: np.ndarray, active: np.ndarray, ll, step, max_halvings: int):
    """Step halving over the active outcomes: accept the first theta + step / 2^k whose Sigma is
    positive definite and does not lower the likelihood (beyond rounding); updates ``theta`` in place.

    Returns the likelihood gain of each outcome and which found no acceptable step."""
    todo = np.ones(active.size, dtype=bool)
    scale = np.ones(active.size)
    gain = np.zeros(active.size)
    for _ in range(max_halvings):
        idx = np.flatnonzero(todo)
        if idx.size == 0:
            break
        cand = theta[active[idx]] + scale[idx, None] * step[idx]
        cand_sigma = param.sigma(cand)
        finite = np.isfinite(cand_sigma).all(axis=(1, 2))
        pd_ok = np.zeros(idx.size, dtype=bool)
        pd_ok[finite] = np.linalg.eigvalsh(cand_sigma[finite])[:, 0] > 0
        ll_new = np.full(idx.size, -np.inf)
        if pd_ok.any():
            ll_new[pd_ok] = _loglik(sub.take(idx[pd_ok]), cand_sigma[pd_ok])
        better = ll_new >= ll[idx] - 1e-13 * np.abs(ll[idx])
        theta[active[idx[better]]] = cand[better]
        gain[idx[better]] = ll_new[better] - ll[idx[better]]
        todo[idx[better]] = False
        scale[idx[~better]] *= 0.5
    return gain, todo


def _positive_definite(sigma: np.ndarray) -> np.ndarray:
    ok = np.isfinite(sigma).all(axis=(1, 2))
    ok[ok] = np.linalg.eigvalsh(sigma[ok])[:, 0] > 0
    return ok


def _assess(prob: _Problem, param, theta: np.ndarray, exact: np.ndarray):
    """Log-likelihood, step and decrement at ``theta`` for each outcome: the exact Newton step where
    ``exact`` (Fisher scoring where the observed information is not positive definite), else the
    average-information step."""
    ll, dec = np.empty(theta.shape[0]), np.full(theta.shape[0], np.nan)
    step = np.zeros_like(theta)
    for use_exact in (False, True):
        pos = np.flatnonzero(exact == use_exact)
        if pos.size == 0:
            continue
        sub = prob.take(pos) if pos.size < theta.shape[0] else prob
        th = theta[pos]
        J, H = param.derivatives(th)
        if use_exact:
            ll[pos], score, expected, observed, *_ = _evaluate(sub, param.sigma(th), J, H)
            step[pos], dec[pos] = _direction(score, expected, observed, use_newton=True)
        else:
            ll[pos], score, ai = _evaluate_ai(sub, param.sigma(th), J)
            step[pos], dec[pos] = _direction(score, ai, ai, use_newton=False)
    return ll, step, dec


def fit_reml(
    y: np.ndarray,
    mask: np.ndarray,
    X: np.ndarray,
    *,
    structure: str = "us",
    max_iter: int = 100,
    tol: float = 1e-20,
    converged_tol: float = 1e-10,
    ai_switch: float = 1e-2,
    max_halvings: int = 40,
) -> RemlFit:
    """Fit the model with covariance ``structure`` across visits by REML for every outcome at once.

    Parameters
    ----------
    y : ndarray, shape (G, n, T)
        Responses; entries where ``mask`` is false are ignored (may be NaN).
    mask : ndarray of bool, shape (G, n, T)
        Which (subject, visit) values each outcome has.
    X : ndarray, shape (n, T, p)
        The mean-model design of every subject at every visit, shared by all outcomes.
    structure : str
        One of :data:`skintrial.stats._covstruct.STRUCTURES`. ``us`` is fitted on the distinct
        elements of Sigma; the others on mmrm's parameters (Newton on the exact observed information,
        second derivatives of Sigma included).
    tol, converged_tol : float
        Iterations stop for an outcome when the Newton decrement ``score' I^-1 score`` (about twice
        the distance to the maximum of the log-likelihood, invariant to the scale of ``y``) falls
        below ``tol``, or when no further step increases the likelihood; the outcome is declared
        converged when the final decrement is below ``converged_tol``.

    The returned ``theta``, ``cov_theta`` and ``dcov_beta`` are in mmrm's parameters of ``structure``
    (for ``us``: the log-Cholesky parameters), whatever the fitting parameterisation.
    """
    if structure not in STRUCTURES:
        raise ValueError(f"unknown covariance structure {structure!r}; known: {list(STRUCTURES)}")
    mask = np.asarray(mask, dtype=bool)
    G, n, T = mask.shape
    prob = _problem(y, mask, np.asarray(X, dtype=float))
    param = _Elements(T) if structure == "us" else _Structured(structure, T)
    theta = param.start(_start(prob))
    exact = np.zeros(G, dtype=bool)  # average information until close, then exact Newton
    ll, step, decrement = _assess(prob, param, theta, exact)
    n_iter = np.ones(G, dtype=int)
    active = np.arange(G)
    for _ in range(max_iter):
        dec, step_exact = decrement[active], exact[active]
        done = step_exact & ~(dec > tol)  # converged (or an exact step that cannot be computed)
        exact[active[~step_exact & ~(dec > ai_switch)]] = True  # close: exact Newton from the next point
        active, dec, step_exact = active[~done], dec[~done], step_exact[~done]
        if active.size == 0:
            break
        # the full evaluation at the candidate serves both the step-size check and the next direction
        cand = theta[active] + step[active]
        ok = _positive_definite(param.sigma(cand))
        ll_c = np.full(active.size, -np.inf)
        step_c, dec_c = np.zeros_like(cand), np.full(active.size, np.nan)
        if ok.any():
            ll_c[ok], step_c[ok], dec_c[ok] = _assess(
                prob.take(active[ok]), param, cand[ok], exact[active[ok]]
            )
        old_ll = ll[active]
        accept = ll_c >= old_ll - 1e-13 * np.abs(old_ll)
        gain = np.where(accept, ll_c - old_ll, 0.0)
        acc = active[accept]
        theta[acc], ll[acc], step[acc], decrement[acc] = (
            cand[accept],
            ll_c[accept],
            step_c[accept],
            dec_c[accept],
        )
        rej = active[~accept]
        failed = np.zeros(active.size, dtype=bool)
        if rej.size:  # step halving from the previous point (rare with Newton steps), then a full evaluation
            g_rej, f_rej = _line_search(
                prob.take(rej), param, theta, rej, ll[rej], 0.5 * step[rej], max_halvings
            )
            moved = rej[~f_rej]
            if moved.size:
                ll[moved], step[moved], decrement[moved] = _assess(
                    prob.take(moved), param, theta[moved], exact[moved]
                )
            gain[~accept], failed[~accept] = g_rej, f_rej
        n_iter[active] += 1
        # stop where no exact step helps any more, or where the gain is rounding noise near the maximum;
        # an average-information step that fails hands over to exact Newton at the same point
        was_exact = step_exact
        retry = active[failed & ~was_exact]
        if retry.size:
            exact[retry] = True
            ll[retry], step[retry], decrement[retry] = _assess(
                prob.take(retry), param, theta[retry], exact[retry]
            )
        noise = (gain <= 1e-14 * np.maximum(1.0, np.abs(ll[active]))) & (dec < converged_tol)
        stalled = was_exact & (failed | noise)
        stalled |= min_correlation_eigenvalue(param.sigma(theta[active])) < BOUNDARY  # heading for singular
        active = active[~stalled]
    sigma = param.sigma(theta)
    # inference in mmrm's parameters (for us: log-Cholesky), where the Kenward-Roger terms are defined;
    # the decrement score' E^-1 score does not depend on the parameterisation
    theta_m = theta if structure != "us" else _safe_theta_of_sigma(sigma)
    J, H = _Structured(structure, T).derivatives(theta_m)
    ll, score, expected, observed, beta, Ainv, K, fit_parts = _evaluate(prob, sigma, J, H, parts=True)
    _, decrement = _direction(score, expected, observed, use_newton=False)
    M = _information_terms(J, K)
    return RemlFit(
        beta=beta,
        cov_beta=Ainv,
        dcov_beta=Ainv[:, None] @ M @ Ainv[:, None],
        cov_theta=_sym_inverse(observed)[0],
        sigma=sigma,
        loglik=ll,
        n_obs=mask.sum(axis=(1, 2)),
        n_iter=n_iter + 1,
        decrement=decrement,
        converged=np.isfinite(decrement) & (decrement < converged_tol),
        structure=structure,
        theta=theta_m,
        parts=fit_parts,
    )


def _information_terms(J: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(G, q, p, p) ``sum_i B_i' J_k B_i`` from ``K[a, :, b, :] = sum_i B_i[a] B_i[b]'``: the derivative
    of ``X' V^-1 X`` by theta_k is minus this, so d cov_beta / d theta_k = A^-1 (this) A^-1."""
    G, T, p = K.shape[0], K.shape[1], K.shape[2]
    Kf = K.transpose(0, 1, 3, 2, 4).reshape(G, T * T, p * p)
    Jf = J.reshape(*J.shape[:-2], T * T)
    return (Jf @ Kf).reshape(G, -1, p, p)


def _safe_theta_of_sigma(sigma: np.ndarray) -> np.ndarray:
    """mmrm's us parameters of each Sigma; NaN for one that is not positive definite."""
    out = np.full((sigma.shape[0], sigma.shape[1] * (sigma.shape[1] + 1) // 2), np.nan)
    ok = np.isfinite(sigma).all(axis=(1, 2))
    ok[ok] = np.linalg.eigvalsh(sigma[ok])[:, 0] > 0
    if ok.any():
        out[ok] = theta_of_sigma(sigma[ok])
    return out


def fit_reml_unstructured(y: np.ndarray, mask: np.ndarray, X: np.ndarray, **kwargs) -> RemlFit:
    """:func:`fit_reml` with the unstructured covariance (``structure="us"``)."""
    return fit_reml(y, mask, X, structure="us", **kwargs)
