"""Inference for linear contrasts of a batched REML fit: the variance of ``L beta`` and its df, as R
``mmrm`` computes them, for many outcomes and many contrasts at once.

Variance of ``beta`` (``vcov``):

* ``model`` — ``Phi = (X' V^-1 X)^-1`` at the REML estimate;
* ``kenward_roger`` — Kenward & Roger (1997)'s small-sample adjustment
  ``Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl / 4)] Phi`` with
  ``P_k = X' dV^-1/dtheta_k X``, ``Q_kl = X' dV^-1/dtheta_k V dV^-1/dtheta_l X``,
  ``R_kl = X' V^-1 d2V/dtheta_k dtheta_l V^-1 X`` and W the inverse observed REML information of the
  covariance parameters theta (mmrm's ``theta_vcov``); ``kenward_roger_linear`` leaves out R (mmrm's
  ``Kenward-Roger-Linear``, invariant to the parameterisation);
* ``empirical`` — the cluster-robust sandwich ``Phi (sum_i X_i' V_i^-1 r_i r_i' V_i^-1 X_i) Phi``
  (CR0; mmrm's ``Empirical``).

Degrees of freedom of a contrast ``c = L beta`` (``df_method``):

* ``residual`` — ``N - p``;
* ``between_within`` — a mean-model column is *within* when some participant has two different values
  of it on its observed visits, else *between*; the contrast gets the smallest df of the columns it
  involves: ``n_subjects - n_between`` for a between column, ``N - n_subjects - n_within`` for a within
  one (mmrm's ``Between-Within``; there is no intercept column in the cLDA design);
* ``satterthwaite`` — model vcov: ``2 Var(c)^2 / (g' W g)``, ``g_k = dVar(c)/dtheta_k``; empirical
  vcov: ``tr(G)^2 / ||G||_F^2`` with ``G_ij = l' Phi (delta_ij M_i - M_i Phi M_j) Phi l`` and
  ``M_i = X_i' V_i^-1 X_i`` (the Bell–McCaffrey form mmrm uses), computed from sums over subjects;
* ``kenward_roger``, ``kenward_roger_linear`` — Kenward & Roger's df from ``Phi``, ``P_k`` and W
  (the same for both variants).

Checked against R ``mmrm`` 0.3.18 (``tests/reference/mmrm``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skintrial.stats._covstruct import derivatives
from skintrial.stats._reml import RemlFit, _information_terms
from skintrial.stats._reml_terms import _gls, _Problem, _problem

__all__ = ["DF_METHODS", "VCOV_METHODS", "ContrastStats", "contrast_stats"]

DF_METHODS = ("residual", "satterthwaite", "kenward_roger", "kenward_roger_linear", "between_within")
VCOV_METHODS = ("model", "empirical")
NEEDS_INFORMATION = ("satterthwaite", "kenward_roger", "kenward_roger_linear")
"""df methods that need the inverse information of the covariance parameters (with the model vcov)."""


@dataclass(frozen=True)
class ContrastStats:
    """``L beta`` of G outcomes × k contrasts on the fit's scale: estimate, variance and df (G, k)."""

    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray


def _k_tensor(prob: _Problem, B: np.ndarray) -> np.ndarray:
    """K[a, :, b, :] = sum_i B_i[a] B_i[b]' (G, T, p, T, p), a count-weighted sum over cells."""
    G, C, T, p = B.shape
    Bf = B.reshape(G, C, T * p)
    return (np.swapaxes(Bf * prob.count[:, :, None], 1, 2) @ Bf).reshape(G, T, p, T, p)


def _kr_adjusted(prob, Wc, B, K, Phi, J, H, W, M, linear: bool) -> np.ndarray:
    """Kenward–Roger adjusted covariance of beta (G, p, p)."""
    G, C, T, p = B.shape
    q = W.shape[-1]
    Jf = np.broadcast_to(J, (G, q, T, T)).reshape(G, q, T * T)
    Jt = W @ Jf  # (G, q, T^2): sum_l W_kl J_l
    # per cell Z_c = sum_k J_k W_c Jt_k, linear in W_c: one (T^2 x T^2) map per outcome applied to every cell
    Zmap = (np.swapaxes(Jf, 1, 2) @ Jt).reshape(G, T, T, T, T)  # [a,b,d,e]
    Zmap = np.ascontiguousarray(Zmap.transpose(0, 2, 3, 1, 4)).reshape(G, T * T, T * T)  # [b,d,a,e]
    ZB = (Wc.reshape(G, C, T * T) @ Zmap).reshape(G, C, T, T) @ B * prob.count[:, :, None, None]
    Qw = np.swapaxes(B.reshape(G, C * T, p), 1, 2) @ ZB.reshape(G, C * T, p)  # sum_c n_c B_c' Z_c B_c
    MP = M @ Phi[:, None]  # (G, q, p, p)
    WMP = (np.swapaxes(W, 1, 2) @ MP.reshape(G, q, p * p)).reshape(G, q, p, p)  # sum_k W_kl M_k Phi
    PPw = np.ascontiguousarray(WMP.transpose(0, 2, 1, 3)).reshape(G, p, q * p) @ M.reshape(G, q * p, p)
    inner = Qw - PPw
    if not linear:
        Hbar = (W.reshape(G, 1, q * q) @ H.reshape(G, q * q, T * T)).reshape(G, T * T, 1)
        Kt = np.ascontiguousarray(K.transpose(0, 2, 4, 1, 3)).reshape(G, p * p, T * T)
        inner = inner - 0.25 * (Kt @ Hbar).reshape(G, p, p)
    adj = Phi + 2.0 * Phi @ inner @ Phi
    return 0.5 * (adj + np.swapaxes(adj, 1, 2))


def _kr_df(Phi: np.ndarray, L: np.ndarray, M: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Kenward–Roger df of one-row contrasts (G, k), as mmrm's ``h_kr_df`` with one row."""
    c = L @ np.swapaxes(Phi, 1, 2)  # (G, k, p): Phi l for each row l
    s = (c * L).sum(axis=-1)
    cMc = ((c[:, None] @ M) * c[:, None]).sum(axis=-1)  # (G, q, k): c' M_q c
    t = -np.swapaxes(cMc, 1, 2) / s[..., None]  # tr(Theta Phi P_q Phi)
    a1 = a2 = ((t @ W) * t).sum(axis=-1)
    nl = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (a1 + 6.0 * a2) / (2.0 * nl)
        e_star = 1.0 / (1.0 - a2 / nl)
        g = ((nl + 1.0) * a1 - (nl + 4.0) * a2) / ((nl + 2.0) * a2)
        denom = 3.0 * nl + 2.0 - 2.0 * g
        c1, c2, c3 = g / denom, (nl - g) / denom, (nl + 2.0 - g) / denom
        v_star = 2.0 / nl * (1.0 + c1 * b) / (1.0 - c2 * b) ** 2 / (1.0 - c3 * b)
        rho = v_star / (2.0 * e_star**2)
        return 4.0 + (nl + 2.0) / (nl * rho - 1.0)


def _empirical(prob: _Problem, u: np.ndarray, Phi: np.ndarray) -> np.ndarray:
    """CR0 sandwich ``Phi (sum_i X_i' u_i u_i' X_i) Phi`` (G, p, p), u_i = V_i^-1 r_i."""
    xu = np.einsum("ntp,gnt->gnp", prob.X, u)
    meat = np.swapaxes(xu, 1, 2) @ xu
    out = Phi @ meat @ Phi
    return 0.5 * (out + np.swapaxes(out, 1, 2))


def _empirical_df(prob: _Problem, B: np.ndarray, Phi: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Satterthwaite df of the sandwich (mmrm's ``h_df_1d_sat_empirical``) from sums over cells."""
    Xc = np.broadcast_to(prob.cell_X, B.shape)
    Mc = np.swapaxes(Xc, -1, -2) @ B  # (G, C, p, p): X_i' V_i^-1 X_i
    n = prob.count  # (G, C)
    c = np.einsum("gij,gkj->gki", Phi, L)  # (G, k, p)
    a = np.einsum("gcij,gkj->gcki", Mc, c)  # (G, C, k, p)
    d = np.einsum("gcki,gki->gck", a, c)
    aPa = np.einsum("gcki,gij,gckj->gck", a, Phi, a)
    tr = np.einsum("gc,gck->gk", n, d - aPa)
    Sa = np.einsum("gc,gcki,gckj->gkij", n, a, a)
    PS = Phi[:, None] @ Sa
    frob = np.einsum("gc,gck->gk", n, d * d - 2.0 * d * aPa) + np.einsum("gkij,gkji->gk", PS, PS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tr**2 / frob


def _between_within_df(prob: _Problem, L: np.ndarray) -> np.ndarray:
    """mmrm's between-within df (G, k)."""
    m = prob.mask[..., None] > 0  # (G, n, T, 1)
    X = prob.X[None]
    hi = np.where(m, X, -np.inf).max(axis=2)
    lo = np.where(m, X, np.inf).min(axis=2)
    within = (hi > lo).any(axis=1)  # (G, p)
    n_subj = prob.mask.any(axis=2).sum(axis=1)
    n_obs = prob.mask.sum(axis=(1, 2))
    ddf_between = n_subj - (~within).sum(axis=1)
    ddf_within = n_obs - n_subj - within.sum(axis=1)
    per_col = np.where(within, ddf_within[:, None], ddf_between[:, None]).astype(float)  # (G, p)
    involved = L != 0  # (G, k, p)
    return np.where(involved, per_col[:, None, :], np.inf).min(axis=2)


def contrast_stats(
    y: np.ndarray,
    mask: np.ndarray,
    X: np.ndarray,
    fit: RemlFit,
    L: np.ndarray,
    *,
    df_method: str = "residual",
    vcov: str = "model",
) -> ContrastStats:
    """Estimate, variance and df of the contrasts ``L`` (k, p) or (G, k, p) of every outcome of ``fit``
    (fitted to ``y``, ``mask``, ``X`` by :func:`~skintrial.stats._reml.fit_reml`).

    ``df_method`` is one of :data:`DF_METHODS`, ``vcov`` one of :data:`VCOV_METHODS`; the
    Kenward–Roger df come with their adjusted variance (``vcov`` must be ``model``). Statistics that
    cannot be computed (information not positive definite) are NaN.
    """
    if df_method not in DF_METHODS:
        raise ValueError(f"unknown df_method {df_method!r}")
    if vcov not in VCOV_METHODS:
        raise ValueError(f"unknown vcov {vcov!r}")
    if vcov == "empirical" and df_method.startswith("kenward_roger"):
        raise ValueError("Kenward-Roger df come with their own adjusted variance, not the empirical one")
    mask = np.asarray(mask, dtype=bool)
    G, n, T = mask.shape
    if fit.parts is not None:  # the fit's own last evaluation, at its estimate
        prob, Wc, B, u = fit.parts.prob, fit.parts.Wc, fit.parts.B, fit.parts.u
        Phi, beta = fit.cov_beta, fit.beta
    else:
        prob = _problem(y, mask, np.asarray(X, dtype=float))
        _, Wc, B, Phi, beta, u, _ = _gls(prob, fit.sigma)
    p = Phi.shape[-1]
    L = np.broadcast_to(np.asarray(L, dtype=float), (G, *np.shape(L)[-2:]))
    est = np.einsum("gkp,gp->gk", L, beta)
    W = fit.cov_theta
    if df_method in NEEDS_INFORMATION or vcov == "empirical":
        assert fit.theta is not None  # fit_reml always sets it
        parts = fit.parts
        if parts is not None and parts.J is not None and parts.M is not None:  # the fit's, at its estimate
            J, H, K, M = parts.J, parts.H, parts.K, parts.M
        else:
            _, J, H = derivatives(fit.structure, fit.theta, T)
            K = parts.K if parts is not None else _k_tensor(prob, B)
            M = _information_terms(J, K)  # (G, q, p, p); P_k = -M_k
    if vcov == "empirical":
        V = _empirical(prob, u, Phi)
    elif df_method.startswith("kenward_roger"):
        V = _kr_adjusted(prob, Wc, B, K, Phi, J, H, W, M, linear=df_method == "kenward_roger_linear")
    else:
        V = Phi
    var = np.einsum("gkp,gpq,gkq->gk", L, V, L)
    if df_method == "residual":
        df = np.broadcast_to((mask.sum(axis=(1, 2)) - p)[:, None], est.shape).astype(float)
    elif df_method == "between_within":
        df = _between_within_df(prob, L)
    elif df_method == "satterthwaite" and vcov == "empirical":
        df = _empirical_df(prob, B, Phi, L)
    elif df_method == "satterthwaite":
        c = np.einsum("gij,gkj->gki", Phi, L)
        g = np.einsum("gki,gqij,gkj->gkq", c, M, c)  # dVar(c)/dtheta_q = c' M_q c
        with np.errstate(divide="ignore", invalid="ignore"):
            df = 2.0 * var**2 / np.einsum("gkq,gqr,gkr->gk", g, W, g)
    else:
        df = _kr_df(Phi, L, M, W)
    return ContrastStats(estimate=est, variance=var, df=np.asarray(df, dtype=float))
