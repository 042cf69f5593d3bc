"""Covariance structures across visits for the batched REML engine, in R ``mmrm``'s parameterisation.

Every structure writes the T × T covariance of one participant's visits as

    Sigma(theta) = D M(phi) D,       D = diag(s),  s_t = exp(theta_sd[t])  (one shared sd if homogeneous)

with ``M`` a correlation matrix built from real parameters ``phi`` (for ``us``, ``M = Lambda Lambda'``
with a unit lower-triangular ``Lambda``, so that ``D Lambda`` is the Cholesky factor of Sigma). The
parameters ``theta = (theta_sd, phi)`` are exactly those of ``mmrm`` 0.3 (``src/covariance.h``):

============  =====================  ==========================================================
structure     parameters (q)         correlation
============  =====================  ==========================================================
``us``        T + T(T-1)/2           Cholesky factor ``L_tt = s_t``, ``L_tu = s_t phi_k`` (row-wise)
``cs``        1 + 1                  ``rho = logistic(phi) (1 + a) - a``, ``a = 1 / (T - 1)``
``csh``       T + 1                  as ``cs``, a variance per visit
``ar1``       1 + 1                  ``rho^|t - u|``, ``rho = phi / sqrt(1 + phi^2)``
``ar1h``      T + 1                  as ``ar1``, a variance per visit
``toep``      1 + (T - 1)            ``rho_|t-u|``, each ``rho_d = phi_d / sqrt(1 + phi_d^2)``
``toeph``     T + (T - 1)            as ``toep``, a variance per visit
============  =====================  ==========================================================

Statistics that are invariant to the parameterisation at the REML maximum (the estimates, the model
and sandwich variances, Satterthwaite df, the Kenward–Roger df and its first-order "linear" variance)
do not need this; the Kenward–Roger adjusted variance does, through its second derivatives of Sigma,
which is why the parameterisation is mmrm's. :func:`derivatives` gives Sigma, its first derivatives
``J_k = dSigma / dtheta_k`` and second derivatives ``H_kl`` for a batch of outcomes, analytically.
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["STRUCTURES", "n_params", "derivatives", "start_theta", "theta_of_sigma"]

STRUCTURES: dict[str, str] = {
    "us": "unstructured: a variance per visit and a correlation per pair of visits",
    "cs": "compound symmetry: one variance, one correlation",
    "csh": "heterogeneous compound symmetry: a variance per visit, one correlation",
    "ar1": "first-order autoregressive: one variance, correlation rho^lag",
    "ar1h": "heterogeneous first-order autoregressive: a variance per visit, correlation rho^lag",
    "toep": "Toeplitz: one variance, a correlation per lag",
    "toeph": "heterogeneous Toeplitz: a variance per visit, a correlation per lag",
}
"""The covariance structures across visits, by their names in mmrm and in study.toml."""

_HETEROGENEOUS = {"us", "csh", "ar1h", "toeph"}


def _corr_kind(structure: str) -> str:
    return structure.rstrip("h") if structure != "us" else "us"


def _n_corr(kind: str, T: int) -> int:
    return {"us": T * (T - 1) // 2, "cs": 1, "ar1": 1, "toep": T - 1}[kind]


def n_params(structure: str, T: int) -> int:
    """Number of covariance parameters of ``structure`` with T visits."""
    n_sd = T if structure in _HETEROGENEOUS else 1
    return n_sd + _n_corr(_corr_kind(structure), T)


def _lag(T: int) -> np.ndarray:
    return np.abs(np.subtract.outer(np.arange(T), np.arange(T)))


def _cor_map(phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rho = phi / sqrt(1 + phi^2) and its first two derivatives."""
    w = 1.0 + phi * phi
    return phi / np.sqrt(w), w**-1.5, -3.0 * phi * w**-2.5


@cache
def _us_second(T: int) -> np.ndarray:
    """(m, m, T, T) second derivatives of Lambda Lambda' by the below-diagonal elements (constant)."""
    i, j = np.tril_indices(T, -1)
    m = i.size
    out = np.zeros((m, m, T, T))
    k, ll = np.nonzero(j[:, None] == j[None, :])
    np.add.at(out, (k, ll, i[k], i[ll]), 1.0)
    np.add.at(out, (k, ll, i[ll], i[k]), 1.0)
    out.flags.writeable = False
    return out


def _corr(kind: str, phi: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M (G, T, T), dM (G, m, T, T) and d2M (G, m, m, T, T) of the correlation part."""
    G, m = phi.shape
    eye = np.eye(T)
    dM = np.zeros((G, m, T, T))
    d2M = np.zeros((G, m, m, T, T))
    if kind == "us":
        lower = np.tril_indices(T, -1)  # row-wise: (1,0), (2,0), (2,1), ... as mmrm fills them
        Lam = np.broadcast_to(eye, (G, T, T)).copy()
        Lam[:, lower[0], lower[1]] = phi
        M = Lam @ np.swapaxes(Lam, 1, 2)
        for k, (i, j) in enumerate(zip(*lower, strict=True)):
            # d(Lam Lam')/d lam_ij = E_ij Lam' + Lam E_ji
            dM[:, k, i, :] += Lam[:, :, j]
            dM[:, k, :, i] += Lam[:, :, j]
        d2M += _us_second(T)  # constant: E_ij E_j'i' + E_i'j' E_ji, nonzero only when j = j'
        return M, dM, d2M
    lag = _lag(T)
    if kind == "cs":
        a = 1.0 / (T - 1) if T > 1 else 0.0
        sg = 1.0 / (1.0 + np.exp(-phi[:, 0]))
        rho = sg * (1.0 + a) - a
        d1 = (1.0 + a) * sg * (1.0 - sg)
        d2 = d1 * (1.0 - 2.0 * sg)
        off = 1.0 - eye
        M = eye + rho[:, None, None] * off
        dM[:, 0] = d1[:, None, None] * off
        d2M[:, 0, 0] = d2[:, None, None] * off
        return M, dM, d2M
    if kind == "ar1":
        rho, d1, d2 = (x[:, 0, None, None] for x in _cor_map(phi))
        M = rho**lag
        with np.errstate(divide="ignore", invalid="ignore"):
            p1 = np.where(lag >= 1, rho ** np.maximum(lag - 1, 0), 0.0)
            p2 = np.where(lag >= 2, rho ** np.maximum(lag - 2, 0), 0.0)
        dM[:, 0] = lag * p1 * d1
        d2M[:, 0, 0] = lag * (lag - 1) * p2 * d1**2 + lag * p1 * d2
        return M, dM, d2M
    # toep: a correlation per lag
    rho, d1, d2 = _cor_map(phi)
    M = np.broadcast_to(eye, (G, T, T)).copy()
    for d in range(1, T):
        at = (lag == d).astype(float)
        M += rho[:, d - 1, None, None] * at
        dM[:, d - 1] = d1[:, d - 1, None, None] * at
        d2M[:, d - 1, d - 1] = d2[:, d - 1, None, None] * at
    return M, dM, d2M


def derivatives(structure: str, theta: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma (G, T, T), J (G, q, T, T) and H (G, q, q, T, T) at ``theta`` (G, q), analytically."""
    theta = np.asarray(theta, dtype=float)
    G = theta.shape[0]
    het = structure in _HETEROGENEOUS
    n_sd = T if het else 1
    kind = _corr_kind(structure)
    M, dM, d2M = _corr(kind, theta[:, n_sd:], T)
    s = np.exp(theta[:, :n_sd]) if het else np.repeat(np.exp(theta[:, :1]), T, axis=1)
    ss = s[:, :, None] * s[:, None, :]  # (G, T, T)
    sigma = ss * M
    if het:  # d Sigma_bc / d theta_a = (delta_ab + delta_ac) Sigma_bc
        eye = np.eye(T)
        ind = eye[:, :, None] + eye[:, None, :]  # (T, T, T): ind[a, b, c]
    else:
        ind = np.full((1, T, T), 2.0)
    q = n_sd + dM.shape[1]
    J = np.empty((G, q, T, T))
    H = np.empty((G, q, q, T, T))
    J[:, :n_sd] = ind[None] * sigma[:, None]
    J[:, n_sd:] = ss[:, None] * dM
    H[:, :n_sd, :n_sd] = ind[None, :, None] * ind[None, None, :] * sigma[:, None, None]
    cross = ind[None, :, None] * J[:, None, n_sd:]  # (G, n_sd, m, T, T)
    H[:, :n_sd, n_sd:] = cross
    H[:, n_sd:, :n_sd] = np.swapaxes(cross, 1, 2)
    H[:, n_sd:, n_sd:] = ss[:, None, None] * d2M
    return sigma, J, H


def _lag_means(R: np.ndarray) -> np.ndarray:
    """(G, T - 1) mean correlation at each lag."""
    T = R.shape[-1]
    lag = _lag(T)
    return np.stack([R[:, lag == d].mean(axis=1) for d in range(1, T)], axis=1)


def _phi_of_rho(rho: np.ndarray) -> np.ndarray:
    return rho / np.sqrt(1.0 - rho * rho)


def theta_of_sigma(sigma: np.ndarray) -> np.ndarray:
    """mmrm's ``us`` parameters of a positive-definite Sigma (G, T, T): log of the Cholesky diagonal,
    then the Cholesky factor's rows divided by their diagonal (row-wise below the diagonal)."""
    L = np.linalg.cholesky(sigma)
    d = np.diagonal(L, axis1=1, axis2=2)
    lower = np.tril_indices(sigma.shape[-1], -1)
    return np.concatenate([np.log(d), (L / d[:, :, None])[:, lower[0], lower[1]]], axis=1)


def start_theta(structure: str, sigma0: np.ndarray) -> np.ndarray:
    """Starting parameters of ``structure`` from a positive-definite guess of Sigma (G, T, T): its
    variances (their mean, if homogeneous) and its correlations averaged as the structure needs,
    shrunk towards zero so that the start is well inside the parameter space."""
    G, T, _ = sigma0.shape
    if structure == "us":
        return theta_of_sigma(sigma0)
    var = np.diagonal(sigma0, axis1=1, axis2=2)
    sd = np.sqrt(var)
    R = sigma0 / (sd[:, :, None] * sd[:, None, :])
    log_sd = np.log(sd) if structure in _HETEROGENEOUS else 0.5 * np.log(var.mean(axis=1, keepdims=True))
    kind = _corr_kind(structure)
    if T == 1:
        return np.concatenate([log_sd, np.zeros((G, _n_corr(kind, T)))], axis=1)
    lags = _lag_means(R)
    if kind == "cs":
        a = 1.0 / (T - 1)
        rho = np.clip(0.9 * R[:, _lag(T) > 0].mean(axis=1), -0.5 * a, 0.9)
        u = (rho + a) / (1.0 + a)
        phi = np.log(u / (1.0 - u))[:, None]
    elif kind == "ar1":
        phi = _phi_of_rho(np.clip(0.9 * lags[:, :1], -0.9, 0.9))
    else:  # toep: lag means, shrunk until the correlation matrix is comfortably positive definite
        rho = np.clip(0.9 * lags, -0.9, 0.9)
        lag = _lag(T)
        for _ in range(20):
            M = np.eye(T) + sum(rho[:, d - 1, None, None] * (lag == d) for d in range(1, T))
            bad = np.linalg.eigvalsh(M)[:, 0] < 0.05
            if not bad.any():
                break
            rho[bad] *= 0.7
        phi = _phi_of_rho(rho)
    return np.concatenate([log_sd, phi], axis=1)
