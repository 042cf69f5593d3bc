"""Values below the limit of detection (LOD): substitution, or a left-censored normal model.

Substitution (Hornung & Reed 1990, Appl Occup Environ Hyg 5:46) replaces each censored value by a
fraction of its limit: ``LOD/√2`` (the default; their advice for data that are not highly skewed),
``LOD/2`` (highly skewed data, geometric SD ≥ 3) or ``LOD``. It is simple and predictable but shrinks
the variance of heavily censored analytes (Uh et al. 2008, BMC Immunol 9:59).

The censored-data option (``"censored_normal"``) fits, for every analyte at once, a normal model on
the analysis (log) scale with one mean per cell (arm × visit, or visit) and one SD, by maximum
likelihood treating each censored value as "somewhere below its limit" — the likelihood of a Tobit
regression on cell indicators (Tobin 1958; the same model as R
``survival::survreg(Surv(y, detected, type = "left") ~ 0 + cell, dist = "gaussian")``, which the tests
check against). It is fitted by EM, batched over analytes: with ``α = (L − μ)/σ`` and
``λ = φ(α)/Φ(α)``, the E-step takes a censored value's conditional moments
``E[y | y < L] = μ − σλ`` and ``Var[y | y < L] = σ²(1 − αλ − λ²)``, the M-step sets each cell mean to
the mean of the completed values and σ² to the mean completed squared deviation. Each censored value is
then replaced by its conditional mean ``E[y | y < L]`` at the fitted parameters, so that the per-analyte
trial analysis keeps its one model-fitting path (the batched engine). An analyte with fewer than 3
detected values, or a cell with none, falls back to LOD/√2 (``status`` says so).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["SUBSTITUTIONS", "LOD_METHODS", "substitute", "CensoredNormalFit", "censored_normal"]

SUBSTITUTIONS = {"lod_sqrt2": 1.0 / np.sqrt(2.0), "lod_half": 0.5, "lod": 1.0}
LOD_METHODS = (*SUBSTITUTIONS, "censored_normal", "missing")


def substitute(values: np.ndarray, below: np.ndarray, lod: np.ndarray, method: str) -> np.ndarray:
    """Censored entries replaced by ``factor × LOD`` (``missing``: NaN), on the original scale."""
    if method == "missing":
        return np.where(below, np.nan, values)
    return np.where(below, SUBSTITUTIONS[method] * lod, values)


@dataclass(frozen=True)
class CensoredNormalFit:
    """The fitted left-censored normal model of K analytes.

    ``mu`` (K, G) cell means, ``sigma`` (K,) the common SD (ML), ``values`` (K, m) with each censored
    entry replaced by its conditional mean, ``fitted`` (K,) False where the fallback was used,
    ``iterations`` the EM steps taken, ``converged`` (K,).
    """

    mu: np.ndarray
    sigma: np.ndarray
    values: np.ndarray
    fitted: np.ndarray
    iterations: int
    converged: np.ndarray


def _lambda(alpha: np.ndarray) -> np.ndarray:
    """Inverse Mills ratio φ(α)/Φ(α), stable far into the lower tail."""
    return np.exp(-0.5 * alpha**2 - 0.5 * np.log(2.0 * np.pi) - special.log_ndtr(alpha))


def _cell_means(v: np.ndarray, use: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    num = np.where(use, v, 0.0) @ onehot
    den = use.astype(float) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def censored_normal(
    y: np.ndarray,
    censored: np.ndarray,
    limit: np.ndarray,
    cells: np.ndarray,
    *,
    fallback: np.ndarray,
    tol: float = 1e-10,
    max_iter: int = 5000,
) -> CensoredNormalFit:
    """Fit the left-censored normal model by EM for every analyte (row) at once.

    Parameters
    ----------
    y : ndarray (K, m)
        Values on the analysis scale; NaN where censored or missing.
    censored : ndarray of bool (K, m)
    limit : ndarray (K, m)
        The censoring point (the LOD on the analysis scale) of every entry.
    cells : ndarray of int (m,)
        Cell of each observation (column), 0..G-1.
    fallback : ndarray (K, m)
        Values to use for censored entries of analytes that cannot be fitted.
    """
    K, m = y.shape
    G = int(cells.max()) + 1 if m else 0
    onehot = np.zeros((m, G))
    onehot[np.arange(m), cells] = 1.0
    det = np.isfinite(y) & ~censored
    cen = censored & np.isfinite(limit)
    use = det | cen
    n_det_cell = det.astype(float) @ onehot
    n_use_cell = use.astype(float) @ onehot
    fit_ok = (det.sum(axis=1) >= 3) & ~((n_use_cell > 0) & (n_det_cell == 0)).any(axis=1) & cen.any(axis=1)
    mu = _cell_means(y, det, onehot)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # analytes without detected values: not fitted
        sigma = np.nanstd(np.where(det, y - mu[:, cells], np.nan), axis=1)
    sigma = np.where(np.isfinite(sigma) & (sigma > 0), sigma, 1.0)
    Ly = np.where(cen, limit, 0.0)
    active = fit_ok.copy()
    converged = ~fit_ok
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 — the count is reported
        mi = mu[:, cells]
        alpha = (Ly - mi) / sigma[:, None]
        lam = _lambda(alpha)
        ey = np.where(cen, mi - sigma[:, None] * lam, np.where(det, y, 0.0))
        vy = np.where(cen, sigma[:, None] ** 2 * (1.0 - alpha * lam - lam**2), 0.0)
        new_mu = _cell_means(ey, use, onehot)
        new_mu = np.where(np.isfinite(new_mu), new_mu, 0.0)
        dev = np.where(use, (ey - new_mu[:, cells]) ** 2 + vy, 0.0)
        new_sigma = np.sqrt(dev.sum(axis=1) / np.maximum(use.sum(axis=1), 1))
        step = np.maximum(np.abs(new_mu - mu).max(axis=1, initial=0.0), np.abs(new_sigma - sigma))
        mu = np.where(active[:, None], new_mu, mu)
        sigma = np.where(active, np.maximum(new_sigma, 1e-12), sigma)
        done = active & (step < tol * np.maximum(1.0, np.abs(sigma)))
        converged |= done
        active &= ~done
        if not active.any():
            break
    mi = mu[:, cells]
    alpha = (Ly - mi) / sigma[:, None]
    cond = mi - sigma[:, None] * _lambda(alpha)
    values = np.where(cen & fit_ok[:, None], cond, np.where(cen, fallback, y))
    mu = np.where(fit_ok[:, None] & (n_use_cell > 0), mu, np.nan)
    return CensoredNormalFit(
        mu=mu,
        sigma=np.where(fit_ok, sigma, np.nan),
        values=values,
        fitted=fit_ok,
        iterations=it,
        converged=converged,
    )
