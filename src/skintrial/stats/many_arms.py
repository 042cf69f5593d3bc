"""Many arms: Dunnett (each arm against the control) and Tukey (every pair) single-step adjustment of
ANCOVA contrasts, with simultaneous confidence intervals, batched over outcomes.

For the m contrasts ``t_j = (L_j β̂) / se_j`` of one outcome, with residual df ν, the single-step
("max-t") adjusted p-value and the simultaneous interval are those of Hothorn, Bretz & Westfall (2008),
R ``multcomp::glht`` (``summary(test = adjusted("single-step"))``, ``confint``), which for the arm
contrasts of a linear model is Dunnett's (1955) and Tukey's procedure with the *exact* correlation of
the contrasts (covariates and unequal arms included — not the studentized-range approximation):

    p_adj,j = P(max_i |T_i| >= |t_j|),        CI_j = L_j β̂ ± c · se_j,   P(max_i |T_i| < c) = level

where ``T = W / s`` is multivariate t: ``W ~ N(0, R)`` with ``R`` the correlation of the contrasts
(from ``L (X'X)^-1 L'``) and ``ν s² ~ χ²_ν`` independent.

Integration
-----------
Conditioning on ``W`` and integrating ``s`` exactly,

    P(max_i |T_i| < c) = E_W[ P(χ²_ν > ν M² / c²) ],        M = max_i |W_i|,

a smooth, increasing function of ``c`` whatever the rank of ``R`` (Tukey's pairs are linearly
dependent). The expectation over ``W = B u`` (``B B' = R`` by eigendecomposition, ``u`` standard normal
in the rank of ``R`` dimensions) is a randomised quasi-Monte-Carlo average: ``n_scrambles`` independent
Owen-scrambled Sobol sets of ``n_points`` points each, from ``seed``. ``mc_error`` is the standard error
of ``p_adj`` over the scrambles. The same points serve every critical value, so ``p_adj`` is monotone
in ``|t|`` and the critical value ``c`` is found by safeguarded Newton steps on a smooth function.
With one contrast the procedure is the t test itself and is computed exactly (``mc_error`` 0).

Checked against R ``multcomp::glht`` with mvtnorm's Genz–Bretz integration at ``abseps = 1e-6``
(``tests/reference/many_arms/make_many_arms.R``): anorexia, Baumann (2 outcomes), ChickWeight (4 diets,
6 Tukey pairs), synthetic with age and sex; agreement within 2e-5 in ``p_adj`` and 1e-4 relative in
the critical value (the precision of the two integrations; see docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import qmc

from skintrial.stats._data import TrialArrays, followup_visit_of, pairwise_contrasts, trial_arrays
from skintrial.stats._engine import STATUS_OK, BatchedFit
from skintrial.stats._inference import t_critical, t_pvalue
from skintrial.stats._schema import MANY_ARMS_COLUMNS
from skintrial.stats.ancova import _ancova_arrays  # the ANCOVA's design, fit and empty-arm handling

__all__ = ["FAMILIES", "SimultaneousResult", "simultaneous_contrasts", "many_arm_contrasts"]

FAMILIES = ("dunnett", "tukey")
_SEED = 20261207


@dataclass(frozen=True)
class SimultaneousResult:
    """Single-step adjusted inference for m contrasts of K outcomes (arrays of shape (K, m)).

    ``critical`` is the simultaneous critical value of each outcome (K,); ``mc_error`` the Monte-Carlo
    standard error of ``p_adj``; ``seed``, ``n_points`` and ``n_scrambles`` say how it was integrated.
    """

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    t: np.ndarray
    p: np.ndarray
    p_adj: np.ndarray
    mc_error: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    critical: np.ndarray
    seed: int
    n_points: int
    n_scrambles: int


def _chi2_logpdf(x: np.ndarray, nu: np.ndarray) -> np.ndarray:
    h = nu / 2.0
    with np.errstate(divide="ignore"):
        return special.xlogy(h - 1.0, x) - x / 2.0 - h * np.log(2.0) - special.gammaln(h)


def _normal_points(dim: int, n_points: int, n_scrambles: int, seed: int) -> np.ndarray:
    """(S, N, dim) standard-normal quasi-random points: S independently scrambled Sobol sets."""
    rng = np.random.default_rng(seed)
    log2 = int(np.ceil(np.log2(n_points)))
    sets = [qmc.Sobol(dim, scramble=True, seed=rng).random_base2(log2) for _ in range(n_scrambles)]
    u = np.clip(np.stack(sets), 1e-16, 1 - 1e-16)
    return special.ndtri(u)


def _max_abs(Q: np.ndarray, U: np.ndarray, rank: int) -> np.ndarray:
    """(K, S, N): max_i |W_i| of W = B u with B B' the correlation of Q (K, m, m)."""
    sd = np.sqrt(np.einsum("kii->ki", Q))
    R = Q / sd[:, :, None] / sd[:, None, :]
    vals, vecs = np.linalg.eigh(R)  # ascending
    vals, vecs = vals[:, ::-1][:, :rank], vecs[:, :, ::-1][:, :, :rank]
    B = vecs * np.sqrt(np.clip(vals, 0.0, None))[:, None, :]  # (K, m, rank)
    W = np.einsum("kmr,snr->ksnm", B, U)
    return np.abs(W).max(axis=-1)


def _critical(M2: np.ndarray, nu: np.ndarray, level: float, m: int) -> np.ndarray:
    """Solve mean P(χ²_ν > ν M²/c²) = level for c, per outcome, by safeguarded Newton steps."""
    lo = t_critical(level, nu)  # one contrast: the unadjusted t
    hi = t_critical(1 - (1 - level) / m, nu)  # Bonferroni bounds the single-step value
    c = (lo + hi) / 2.0
    nuk = nu[:, None, None]
    for _ in range(60):
        x = nuk * M2 / c[:, None, None] ** 2
        F = special.chdtrc(nuk, x).mean(axis=(1, 2))
        dens = np.exp(_chi2_logpdf(x, nuk)) * 2.0 * x / c[:, None, None]
        dF = np.where(x > 0, dens, 0.0).mean(axis=(1, 2))
        g = F - level
        lo, hi = np.where(g < 0, c, lo), np.where(g < 0, hi, c)
        step = c - g / np.where(dF > 0, dF, np.inf)
        c_new = np.where((step > lo) & (step < hi), step, (lo + hi) / 2.0)
        if np.all(np.abs(c_new - c) <= 1e-10 * c):
            c = c_new
            break
        c = c_new
    return c


def simultaneous_contrasts(
    fit: BatchedFit,
    L: np.ndarray,
    *,
    ci_level: float = 0.95,
    n_points: int = 16384,
    n_scrambles: int = 16,
    seed: int = _SEED,
) -> SimultaneousResult:
    """Single-step (max-t) adjusted p-values and simultaneous intervals of the contrasts ``L β``.

    Parameters
    ----------
    fit : BatchedFit
        The engine's fit of K outcomes.
    L : ndarray (m, p)
        The contrasts, one family per outcome (Dunnett: each arm minus the control; Tukey: all pairs).
    ci_level : float
        Simultaneous coverage of the intervals of one outcome's family.
    n_points, n_scrambles, seed : int
        The randomised quasi-Monte-Carlo integration (module docstring): points per scramble (rounded
        up to a power of two), independent scrambles, and the seed that makes the result reproducible.

    Returns
    -------
    SimultaneousResult
        NaN for an outcome whose fit is not ``ok`` or that has a contrast it cannot estimate.
    """
    L = np.atleast_2d(np.asarray(L, dtype=float))
    m = L.shape[0]
    c = fit.contrast(L)
    K = c.estimate.shape[0]
    nu = fit.df_resid.astype(float)
    good = np.isfinite(c.se).all(axis=1) & (c.se > 0).all(axis=1) & fit.ok
    p_adj = np.full((K, m), np.nan)
    err = np.full((K, m), np.nan)
    crit = np.full(K, np.nan)
    if m == 1:
        crit = np.where(good, t_critical(ci_level, nu), np.nan)
        p_adj = np.where(good[:, None], t_pvalue(c.t, c.df), np.nan)
        err = np.where(good[:, None], 0.0, np.nan)
    elif good.any():
        rank = int(np.linalg.matrix_rank(L))
        U = _normal_points(rank, n_points, n_scrambles, seed)
        idx = np.flatnonzero(good)
        chunk = max(1, int(4e6 // (U.shape[0] * U.shape[1] * m)))
        for start in range(0, len(idx), chunk):
            ks = idx[start : start + chunk]
            _, xtx = fit._filled()
            Q = np.einsum("mi,kij,lj->kml", L, xtx[ks], L)
            M2 = _max_abs(Q, U, rank) ** 2  # (k, S, N)
            nuk = nu[ks][:, None, None, None]
            tt = np.abs(c.t[ks])[:, None, None, :]
            with np.errstate(divide="ignore"):
                tail = special.chdtr(nuk, nuk * M2[..., None] / tt**2)  # P(max|T| >= |t_j|), (k, S, N, m)
            per_scramble = tail.mean(axis=2)  # (k, S, m)
            p_adj[ks] = np.minimum(per_scramble.mean(axis=1), 1.0)
            err[ks] = per_scramble.std(axis=1, ddof=1) / np.sqrt(U.shape[0])
            crit[ks] = _critical(M2, nu[ks], ci_level, m)
    half = crit[:, None] * c.se
    return SimultaneousResult(
        estimate=c.estimate,
        se=c.se,
        df=c.df,
        t=c.t,
        p=c.p,
        p_adj=p_adj,
        mc_error=err,
        ci_low=c.estimate - half,
        ci_high=c.estimate + half,
        critical=crit,
        seed=seed,
        n_points=int(2 ** np.ceil(np.log2(n_points))),
        n_scrambles=n_scrambles,
    )


def _family_contrasts(arms: Sequence[str], family: str) -> list[tuple[str, int, int]]:
    if family == "dunnett":
        return pairwise_contrasts(arms, arms[0])
    if family == "tukey":
        return pairwise_contrasts(arms, None)
    raise ValueError(f"unknown many-arm family {family!r}: use one of {', '.join(FAMILIES)}")


def many_arm_contrasts(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    family: str = "dunnett",
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    ci_level: float = 0.95,
    seed: int = _SEED,
) -> pd.DataFrame:
    """Dunnett or Tukey single-step inference for the arm contrasts of the primary ANCOVA.

    The model is the ANCOVA's (``skintrial.stats.ancova``: follow-up on baseline + arm + covariates,
    complete cases per outcome). ``family="dunnett"`` compares each arm with the reference arm (the
    first of ``arms`` when ``reference_arm`` is not given); ``"tukey"`` compares every pair, later minus
    earlier in arm order. Returns one row per outcome × contrast with the columns of
    ``results/many_arms.csv`` (:data:`~skintrial.stats._schema.MANY_ARMS_COLUMNS`): the ANCOVA's
    estimate, SE, df, t and unadjusted p, the single-step ``p_adj`` with its Monte-Carlo error, and the
    simultaneous interval with its ``critical`` value. An outcome that is not fully estimable (a fit that
    is not ``ok``, an arm without complete cases) has NaN statistics and its status.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> vals = [("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3), ("B", 1.5, 2.4), ("B", 2.5, 3.1),
    ...         ("B", 3.5, 4.6), ("C", 1.2, 1.9), ("C", 2.2, 2.6), ("C", 3.1, 3.9)]
    >>> for i, (a, b, f) in enumerate(vals):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> res = many_arm_contrasts(d, baseline_visit="week0", reference_arm="A", family="dunnett")
    >>> res[["contrast", "family"]].to_dict("records")
    [{'contrast': 'B - A', 'family': 'dunnett'}, {'contrast': 'C - A', 'family': 'dunnett'}]
    >>> bool((res["p_adj"] >= res["p"]).all())
    True
    """
    ta: TrialArrays = trial_arrays(
        data,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        arms=arms,
        reference_arm=reference_arm,
        covariates=covariates,
    )
    followup_visit = followup_visit_of(ta.visits, baseline_visit, followup_visit)
    res = _ancova_arrays(ta, baseline_visit, followup_visit, ta.arms[0], False, ci_level)
    return family_table(res.fit, res.contrasts, ta.arms, family=family, ci_level=ci_level, seed=seed)


def family_table(
    fit: BatchedFit,
    contrasts: pd.DataFrame,
    arms: Sequence[str],
    *,
    family: str,
    ci_level: float,
    seed: int = _SEED,
) -> pd.DataFrame:
    """The ``many_arms`` table of an ANCOVA fit (arm dummies in columns 1..A-1); ``contrasts`` (the
    ANCOVA's table against the reference arm) gives each outcome's status and n per arm pair."""
    pairs = _family_contrasts(arms, family)
    p = fit.coef.shape[1]
    L = np.zeros((len(pairs), p))
    for r, (_, j, i) in enumerate(pairs):
        if j > 0:
            L[r, j] += 1.0
        if i > 0:
            L[r, i] -= 1.0
    s = simultaneous_contrasts(fit, L, ci_level=ci_level, seed=seed)
    K, m = s.estimate.shape
    # per outcome: ok only when every arm contrast against the reference is ok
    st = contrasts.pivot_table(index="outcome", values="status", aggfunc=lambda x: _worst(list(x)))
    status = st.reindex(list(fit.outcomes))["status"].fillna("not_estimated").to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(fit.outcomes, dtype=object), m),
            "family": family,
            "contrast": np.tile(np.asarray([lab for lab, _, _ in pairs], dtype=object), K),
            "estimate": s.estimate.ravel(),
            "se": s.se.ravel(),
            "df": s.df.ravel(),
            "t": s.t.ravel(),
            "p": s.p.ravel(),
            "p_adj": s.p_adj.ravel(),
            "mc_error": s.mc_error.ravel(),
            "ci_low": s.ci_low.ravel(),
            "ci_high": s.ci_high.ravel(),
            "critical": np.repeat(s.critical, m),
            "ci_level": ci_level,
            "n": np.repeat(fit.n.astype(np.int64), m),
            "seed": s.seed,
            "status": np.repeat(status, m).astype(str),
        }
    )
    bad = (out["status"] != STATUS_OK).to_numpy()
    stats_cols = ["estimate", "se", "df", "t", "p", "p_adj", "mc_error", "ci_low", "ci_high", "critical"]
    if bad.any():
        out.loc[bad, stats_cols] = np.nan
    return out[list(MANY_ARMS_COLUMNS)]


def _worst(statuses: list[str]) -> str:
    """An outcome's family status: ok only when every contrast is."""
    bad = [s for s in statuses if s != STATUS_OK]
    return bad[0] if bad else STATUS_OK


def with_family_p(contrasts: pd.DataFrame, many: pd.DataFrame, family: str) -> pd.DataFrame:
    """``contrasts`` (the ANCOVA's table) with ``p_adj`` the single-step p of the same contrast in the
    Dunnett or Tukey family of its outcome, and ``p_adj_method`` the family's name."""
    key = ["outcome", "contrast"]
    p = contrasts[key].merge(many[[*key, "p_adj"]], on=key, how="left")["p_adj"].to_numpy()
    return contrasts.assign(p_adj=p, p_adj_method=family)
