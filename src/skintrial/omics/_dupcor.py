"""limma's ``duplicateCorrelation`` with a block factor: the consensus within-block correlation.

For a paired design (each participant sampled at several visits) limma can treat the participant as
a random effect instead of a fixed one: each gene's residuals are modelled as
``e = Z b + eps`` with ``b ~ N(0, tau^2 I)`` per block and ``eps ~ N(0, sigma^2 I)``, the
within-block correlation is ``rho = tau^2 / (sigma^2 + tau^2)``, and one consensus value — the tanh
of the 15%-trimmed mean of ``atanh(rho_g)`` over genes — is used for every gene's generalised least
squares fit (limma ``lmFit(block=, correlation=)``). Unlike participant fixed effects, this also
recovers between-block information (the arms at baseline).

Each gene's REML estimate is statmod's ``mixedModel2Fit``: the residuals are rotated into the
eigenvectors of the block structure in the residual space, where their squares ``u_i^2`` have mean
``sigma^2 + d_i tau^2`` (``d_i`` the eigenvalues), and a gamma GLM with identity link is fitted by
statmod's ``glmgam.fit`` — Levenberg–Marquardt damped Fisher scoring (variances floored at 1/1000 of
the largest, the damping halved after a first-try step and doubled until the deviance falls,
at most 20 iterations as limma asks, stopping when the score times the step is below 1e-6). Here the
rotation is shared by all genes and every step runs for all genes at once (masks for those that have
stopped). Estimates are clamped to ``[1/(1 - largest block) + 0.01, 0.99]`` as limma does.
Complete data only (no missing values, no weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = [
    "BlockRotation",
    "block_rotation",
    "consensus_correlation",
    "duplicate_correlation",
    "gene_correlations",
    "whitening",
]


def _gamma_deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """statmod's deviance.gamma per row (Inf where a fitted value is negative)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        both_zero = (y < 1e-15) & (mu < 1e-15)
        term = np.where(both_zero, 0.0, (y - mu) / mu - np.log(y / mu))
    dev = 2 * term.sum(axis=1)
    return np.where((mu < 0).any(axis=1), np.inf, dev)


def _glmgam(dx: np.ndarray, dy: np.ndarray, start: np.ndarray, *, tol: float = 1e-6, maxit: int = 20):
    """statmod ``glmgam.fit`` for G rows at once: dx (m, 2) shared, dy (G, m), start (G, 2)."""
    G = dy.shape[0]
    beta = start.copy()
    mu = beta @ dx.T
    dev = _gamma_deviance(dy, mu)
    active = np.ones(G, dtype=bool)
    lam = np.zeros(G)
    it = 0
    eye = np.eye(2)
    while active.any():
        it += 1
        a = np.flatnonzero(active)
        v = mu[a] ** 2
        v = np.maximum(v, v.max(axis=1, keepdims=True) / 1e3)
        XVX = np.einsum("mi,gm,mj->gij", dx, 1 / v, dx)
        maxinfo = np.einsum("gii->gi", XVX).max(axis=1)
        if it == 1:
            lam[a] = np.abs(np.einsum("gii->gi", XVX).mean(axis=1)) / 2
        dl = np.einsum("mi,gm->gi", dx, (dy[a] - mu[a]) / v)
        beta_old, dev_old = beta[a].copy(), dev[a].copy()
        lev = np.zeros(len(a), dtype=int)
        inner = np.ones(len(a), dtype=bool)
        too_much = np.zeros(len(a), dtype=bool)
        dbeta = np.zeros((len(a), 2))
        nb, nmu, ndev = beta_old.copy(), mu[a].copy(), dev_old.copy()
        while inner.any():
            i = np.flatnonzero(inner)
            lev[i] += 1
            step = np.linalg.solve(XVX[i] + lam[a[i], None, None] * eye, dl[i][..., None])[..., 0]
            dbeta[i] = step
            nb[i] = beta_old[i] + step
            nmu[i] = nb[i] @ dx.T
            ndev[i] = _gamma_deviance(dy[a[i]], nmu[i])
            ok = (ndev[i] <= dev_old[i]) | (ndev[i] / nmu[i].max(axis=1) < 1e-15)
            damp = ~ok & (lam[a[i]] / maxinfo[i] > 1e15)
            too_much[i[damp]] = True
            nb[i[damp]] = beta_old[i[damp]]
            nmu[i[damp]] = beta_old[i[damp]] @ dx.T
            more = ~ok & ~damp
            lam[a[i[more]]] *= 2
            inner[i[~more]] = False
        beta[a], mu[a], dev[a] = nb, nmu, ndev
        first = lev == 1
        lam[a[first]] /= 10
        crit = np.einsum("gi,gi->g", dl, dbeta)
        stop = too_much | (crit < tol) | (ndev / nmu.max(axis=1) < 1e-15) | (it > maxit)
        active[a[stop]] = False
    return beta


@dataclass(frozen=True)
class BlockRotation:
    """What every gene's REML step shares: the rotation of the data into the block eigenvectors of the
    residual space (``rotate``, samples × mq), the gamma GLM's design ``dx`` and the clamp ``rhomin``."""

    rotate: np.ndarray
    dx: np.ndarray
    rhomin: float
    glm: bool


def block_rotation(X: np.ndarray, block: np.ndarray) -> BlockRotation | None:
    """The shared part of :func:`duplicate_correlation`; None when the correlation cannot be estimated
    (too few blocks or residual df)."""
    X = np.asarray(X, dtype=float)
    labels, codes = np.unique(np.asarray(block).astype(str), return_inverse=True)
    n, p = X.shape
    Z = np.zeros((n, len(labels)))
    Z[np.arange(n), codes] = 1.0
    rank = np.linalg.matrix_rank(X)
    mq = n - rank
    sizes = np.bincount(codes)
    if not (n > rank + 2 and 1 < len(labels) < n - 1) or mq == 0:
        return None
    Q, _ = np.linalg.qr(X, mode="complete")
    Q2 = Q[:, rank:]  # an orthonormal basis of the residual space
    U, s, _ = np.linalg.svd(Q2.T @ Z, full_matrices=True)
    d = np.zeros(mq)
    d[: len(s)] = s**2
    dx = np.column_stack([np.ones(mq), d])
    glm = bool(mq > 2 and (np.abs(d) > 1e-15).sum() > 1 and np.var(d, ddof=1) > 1e-15)
    return BlockRotation(rotate=Q2 @ U, dx=dx, rhomin=1.0 / (1.0 - sizes.max()) + 0.01, glm=glm)


def gene_correlations(values: np.ndarray, rot: BlockRotation) -> np.ndarray:
    """Each gene's (clamped) REML within-block correlation; NaN for a gene with missing values.

    Gene by gene, so a chunk of genes gives the rows of the whole (:mod:`._outcome_chunks`).
    """
    values = np.asarray(values, dtype=float)
    rho = np.full(values.shape[0], np.nan)
    ok = np.isfinite(values).all(axis=1)
    uqy = values[ok] @ rot.rotate  # (G, mq): residual components along the block eigenvectors
    dy = uqy**2
    dx = rot.dx
    start, *_ = np.linalg.lstsq(dx, dy.T, rcond=None)
    varcomp = start.T.copy()
    if rot.glm:
        fitted = varcomp @ dx.T
        neg = (fitted < 0).any(axis=1)
        varcomp[neg] = np.column_stack([dy[neg].mean(axis=1), np.zeros(neg.sum())])
        varcomp = _glmgam(dx, dy, varcomp)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = varcomp[:, 1] / varcomp.sum(axis=1)
    rho[ok] = np.clip(r, rot.rhomin, 0.99)
    return rho


def consensus_correlation(rho: np.ndarray, *, trim: float = 0.15) -> float:
    """The tanh of the ``trim``-trimmed mean of ``atanh(rho)`` over the genes with an estimate."""
    z = np.sort(np.arctanh(rho[np.isfinite(rho)]))
    k = int(np.floor(len(z) * trim))
    return float(np.tanh(z[k : len(z) - k].mean())) if len(z) else float("nan")


def duplicate_correlation(
    values: np.ndarray, X: np.ndarray, block: np.ndarray, *, trim: float = 0.15
) -> tuple[float, np.ndarray]:
    """Consensus within-block correlation of genes × samples ``values`` (limma ``duplicateCorrelation``).

    Returns the consensus and each gene's (clamped) estimate; genes with missing values get NaN and
    do not enter the consensus.
    """
    values = np.asarray(values, dtype=float)
    rot = block_rotation(X, block)
    if rot is None:
        return float("nan"), np.full(values.shape[0], np.nan)
    rho = gene_correlations(values, rot)
    return consensus_correlation(rho, trim=trim), rho


def whitening(block: np.ndarray, correlation: float) -> np.ndarray:
    """``R^-T`` with ``R' R`` the samples' correlation matrix (1 on the diagonal, ``correlation``
    within a block): multiplying data and design by it gives limma's ``gls.series`` fit."""
    b = np.asarray(block).astype(str)
    C = np.where(b[:, None] == b[None, :], correlation, 0.0)
    np.fill_diagonal(C, 1.0)
    R = linalg.cholesky(C, lower=False)
    return linalg.solve_triangular(R, np.eye(len(b)), trans="T")
