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

All reduce to sums over cells of subjects of T × T blocks, computed once per evaluation and projected on
the parameters (:mod:`skintrial.stats._reml_terms`); the last exact evaluation at each outcome's maximum
also serves the inference in mmrm's parameters (no evaluation is repeated).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from skintrial.stats._covstruct import STRUCTURES, derivatives, start_theta, theta_of_sigma
from skintrial.stats._reml_terms import (  # noqa: F401  (_evaluate, _loglik: called as _reml.* by the tests)
    FitParts,
    Terms,
    _evaluate,
    _loglik,
    _ols_residuals,
    _Problem,
    _problem,
    _sym_inverse,
    evaluate_terms,
    project,
)

__all__ = ["BOUNDARY", "RemlFit", "fit_reml", "fit_reml_unstructured", "min_correlation_eigenvalue"]

BOUNDARY = 1e-7
"""Iterations stop for an outcome whose Sigma has a correlation-matrix eigenvalue below this: the
restricted likelihood is then increasing towards a singular covariance (too few participants seen at
the visits involved), and no interior maximum exists to report."""


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


def _start(prob: _Problem) -> np.ndarray:
    """Starting Sigma: moments of the OLS residuals (pairwise), correlations clipped to +-0.95, made
    positive definite. (Shrinking the correlations by 0.9, as before, cost 0.3 more average-information
    evaluations per outcome on the FEV-shaped benchmark, for the same maximum.)"""
    u = _ols_residuals(prob)
    m = prob.mask
    cnt = np.swapaxes(m, 1, 2) @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        C = (np.swapaxes(u, 1, 2) @ u) / cnt
    var = np.diagonal(C, axis1=1, axis2=2).copy()
    good = np.isfinite(var) & (var > 0)
    typical = np.where(good, var, 0.0).sum(axis=1) / np.maximum(good.sum(axis=1), 1)
    var = np.where(good, var, np.where(typical > 0, typical, 1.0)[:, None])
    sd = np.sqrt(var)
    R = np.nan_to_num(C / (sd[:, :, None] * sd[:, None, :]), nan=0.0)
    R = np.clip(R, -0.95, 0.95)
    T = R.shape[-1]
    R[:, np.arange(T), np.arange(T)] = 1.0
    low = ~_positive_definite(R, 0.05)  # eigenvalues raised to 0.05 where one is below (one check)
    if low.any():
        lam, vec = np.linalg.eigh(R[low])
        R[low] = (vec * np.maximum(lam, 0.05)[:, None, :]) @ np.swapaxes(vec, 1, 2)
    return R * sd[:, :, None] * sd[:, None, :]


def min_correlation_eigenvalue(sigma: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of the correlation matrix of each Sigma: 0 for a singular covariance."""
    sd = np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.linalg.eigvalsh(np.nan_to_num(sigma / (sd[..., :, None] * sd[..., None, :])))[..., 0]


def _direction(score, expected, observed, use_newton: bool):
    """Newton step where the observed information is positive definite, else Fisher scoring."""
    step = _pd_solve(expected, score)
    decrement = np.einsum("gk,gk->g", score, step)
    if use_newton:
        newton = _pd_solve(observed, score)
        step = np.where(np.isfinite(newton).all(axis=1, keepdims=True), newton, step)
    return step, decrement


def _pd_solve(M: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``M^-1 b`` for a stack of symmetric matrices, NaN for a member that is not positive definite.

    The common case, every member positive definite, costs one batched Cholesky factorisation (the
    check) and one batched solve; only a stack with a failing member is checked member by member."""
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        ok = np.isfinite(M).all(axis=(1, 2))
        ok[ok] = np.linalg.eigvalsh(M[ok])[:, 0] > 0
        out = np.full(b.shape, np.nan)
        if ok.any():
            out[ok] = np.linalg.solve(M[ok], b[ok][..., None])[..., 0]
        return out
    return np.linalg.solve(M, b[..., None])[..., 0]


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


def _pd_inverse_or_nan(M: np.ndarray) -> np.ndarray:
    """Inverse of each member of a stack of symmetric matrices, NaN for one that is not positive
    definite (as ``_sym_inverse``); one Cholesky check and one batched inverse in the common case."""
    if _positive_definite(M).all():
        inv = np.linalg.inv(M)
        return 0.5 * (inv + np.swapaxes(inv, -1, -2))
    return _sym_inverse(M)[0]


def _positive_definite(sigma: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Which members of a stack of symmetric matrices have their smallest eigenvalue above ``floor``.

    One batched Cholesky factorisation of ``sigma - floor I`` answers for the whole stack in the
    common case (all pass); the eigenvalues are computed only for a stack with a member that fails."""
    ok = np.isfinite(sigma).all(axis=(1, 2))
    if ok.all():
        try:
            np.linalg.cholesky(sigma - floor * np.eye(sigma.shape[-1]) if floor else sigma)
            return ok
        except np.linalg.LinAlgError:
            pass
    ok[ok] = np.linalg.eigvalsh(sigma[ok])[:, 0] > floor
    return ok


def _near_boundary(sigma: np.ndarray) -> np.ndarray:
    """``min_correlation_eigenvalue(sigma) < BOUNDARY`` (the same correlation matrices), by one
    Cholesky factorisation in the common case."""
    sd = np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(sigma / (sd[..., :, None] * sd[..., None, :]))
    return ~_positive_definite(corr, BOUNDARY)


def _assess(prob: _Problem, outcomes: np.ndarray, param, theta: np.ndarray, exact: np.ndarray):
    """Log-likelihood, step and decrement at ``theta`` for each of the problem's ``outcomes``: the exact
    Newton step where ``exact`` (Fisher scoring where the observed information is not positive
    definite), else the average-information step; and the exact evaluations' terms (positions,
    :class:`Terms`) or None. Each kind of evaluation takes its outcomes from ``prob`` once."""
    ll, dec = np.empty(theta.shape[0]), np.full(theta.shape[0], np.nan)
    step = np.zeros_like(theta)
    found = None
    for use_exact in (False, True):
        pos = np.flatnonzero(exact == use_exact)
        if pos.size == 0:
            continue
        sub = prob.take(outcomes[pos])
        th = theta[pos]
        J, H = param.derivatives(th)
        t = evaluate_terms(sub, param.sigma(th), trace=use_exact)
        score, expected, observed = project(t, J, H)
        ll[pos] = t.ll
        step[pos], dec[pos] = _direction(score, expected, observed, use_newton=use_exact)
        if use_exact:
            found = (pos, t)
    return ll, step, dec, found


class _Last:
    """The exact evaluation at each outcome's current theta (which evaluation, and the outcome's row in
    it), kept so that the fit's final evaluation (in mmrm's parameters, for the inference) is a
    projection of it rather than another evaluation."""

    def __init__(self, G: int) -> None:
        self.src, self.row = np.full(G, -1), np.zeros(G, dtype=int)
        self.found: list[Terms] = []

    def keep(self, where: np.ndarray, found, accepted: np.ndarray | None = None) -> None:
        """Outcomes ``where[accepted]`` moved to the points ``_assess`` evaluated (``found``)."""
        acc = np.ones(where.size, dtype=bool) if accepted is None else accepted
        self.src[where[acc]] = -1
        if found is None or not acc[found[0]].any():
            return
        pos, t = found
        sel = acc[pos]
        self.src[where[pos[sel]]] = len(self.found)
        self.row[where[pos[sel]]] = np.flatnonzero(sel)
        self.found.append(t)

    def terms(self, prob: _Problem, sigma: np.ndarray) -> Terms:
        """All outcomes' terms at ``sigma`` (their current point), evaluating those not kept."""
        missing = np.flatnonzero(self.src < 0)
        if missing.size:
            self.keep(missing, (np.arange(missing.size), evaluate_terms(prob.take(missing), sigma[missing])))
        out = []
        for f in fields(Terms):
            first = getattr(self.found[self.src[0]], f.name)
            a = np.empty((self.src.size, *first.shape[1:]))
            for k in np.unique(self.src):
                mine = self.src == k
                a[mine] = getattr(self.found[k], f.name)[self.row[mine]]
            out.append(a)
        return Terms(*out)


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
    ll, step, decrement, _ = _assess(prob, np.arange(G), param, theta, exact)
    last = _Last(G)
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
        found = None
        if ok.any():
            ll_c[ok], step_c[ok], dec_c[ok], found = _assess(
                prob, active[ok], param, cand[ok], exact[active[ok]]
            )
        old_ll = ll[active]
        accept = ll_c >= old_ll - 1e-13 * np.abs(old_ll)
        last.keep(active[ok], found, accept[ok])
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
                ll[moved], step[moved], decrement[moved], found = _assess(
                    prob, moved, param, theta[moved], exact[moved]
                )
                last.keep(moved, found)
            gain[~accept], failed[~accept] = g_rej, f_rej
        n_iter[active] += 1
        # stop where no exact step helps any more, or where the gain is rounding noise near the maximum;
        # an average-information step that fails hands over to exact Newton at the same point
        was_exact = step_exact
        retry = active[failed & ~was_exact]
        if retry.size:
            exact[retry] = True
            ll[retry], step[retry], decrement[retry], found = _assess(
                prob, retry, param, theta[retry], exact[retry]
            )
            last.keep(retry, found)
        noise = (gain <= 1e-14 * np.maximum(1.0, np.abs(ll[active]))) & (dec < converged_tol)
        stalled = was_exact & (failed | noise)
        stalled |= _near_boundary(param.sigma(theta[active]))  # heading for singular
        active = active[~stalled]
    sigma = param.sigma(theta)
    # inference in mmrm's parameters (for us: log-Cholesky), where the Kenward-Roger terms are defined;
    # the decrement score' E^-1 score does not depend on the parameterisation; the terms are those of
    # the last exact evaluation at each outcome's maximum, projected on mmrm's parameters
    theta_m = theta if structure != "us" else _safe_theta_of_sigma(sigma)
    J, H = _Structured(structure, T).derivatives(theta_m)
    t = last.terms(prob, sigma)
    score, expected, observed = project(t, J, H)
    ll, beta, Ainv, K = t.ll, t.beta, t.Ainv, t.K
    assert K is not None  # exact evaluations carry K
    _, decrement = _direction(score, expected, observed, use_newton=False)
    M = _information_terms(J, K)
    fit_parts = FitParts(prob, Wc=t.Wc, B=t.B, u=t.u, K=K, J=J, H=H, M=M)
    return RemlFit(
        beta=beta,
        cov_beta=Ainv,
        dcov_beta=Ainv[:, None] @ M @ Ainv[:, None],
        cov_theta=_pd_inverse_or_nan(observed),
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
    ok = _positive_definite(sigma)
    if ok.any():
        out[ok] = theta_of_sigma(sigma[ok])
    return out


def fit_reml_unstructured(y: np.ndarray, mask: np.ndarray, X: np.ndarray, **kwargs) -> RemlFit:
    """:func:`fit_reml` with the unstructured covariance (``structure="us"``)."""
    return fit_reml(y, mask, X, structure="us", **kwargs)
