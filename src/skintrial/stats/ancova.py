"""ANCOVA of follow-up on baseline and arm: the primary analysis of a pre/post randomised trial.

For each outcome the model is

    y_follow = b0 + b_arm + b_base * y_baseline [+ covariates] [+ b_int,arm * (y_baseline - mean)] + e

fitted for all outcomes at once by the batched engine, each outcome with its *own* baseline column.
The arm contrasts are the adjusted differences in follow-up (equal to the adjusted differences in
change); the adjusted means are emmeans' estimated marginal means at each outcome's mean baseline
(numeric covariates at their means, categorical covariates averaged over their levels with equal
weights). Reference: Vickers & Altman 2001, EMA adjustment guideline 2015; checked against R
``lm`` + ``emmeans`` + ``car::Anova`` in ``tests/reference/stats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import TrialArrays, arm_design, pairwise_contrasts, trial_arrays
from skintrial.stats._engine import BatchedFit, fit_ols
from skintrial.stats._schema import CONTRAST_COLUMNS, EMMEANS_COLUMNS, FTEST_COLUMNS, HEDGES_G

__all__ = ["AncovaResult", "ancova"]


@dataclass(frozen=True)
class AncovaResult:
    """The tables of an ANCOVA over many outcomes.

    Attributes
    ----------
    contrasts : DataFrame
        One row per outcome × contrast, columns :data:`~skintrial.stats._schema.CONTRAST_COLUMNS`.
    emmeans : DataFrame
        Adjusted means per outcome × arm.
    arm_test : DataFrame
        The F test of arm (Type II and Type III rows) with partial eta squared.
    fit : BatchedFit
        The engine's fit, for further contrasts.
    """

    contrasts: pd.DataFrame
    emmeans: pd.DataFrame
    arm_test: pd.DataFrame
    fit: BatchedFit


def _design(ta: TrialArrays, baseline_visit: str, followup_visit: str, interaction: bool):
    X, names, levels = arm_design(ta)
    y = ta.visit(followup_visit)
    base = ta.visit(baseline_visit)
    W = np.isfinite(y) & np.isfinite(base) & np.isfinite(X).all(axis=1)[:, None]
    if not interaction:
        return X, names, levels, y, base[:, :, None], ["baseline"], W
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(np.where(W, base, np.nan), axis=0)
    bc = base - centre[None, :]
    dummies = X[:, 1 : len(ta.arms)]
    Z = np.concatenate([bc[:, :, None], bc[:, :, None] * dummies[:, None, :]], axis=2)
    znames = ["baseline", *[f"baseline:{n}" for n in names[1 : len(ta.arms)]]]
    return X, names, levels, y, Z, znames, W


def _followup(visits: tuple[str, ...], baseline_visit: str, followup_visit: str | None) -> str:
    """The follow-up visit: as given, or the only other visit. Visit names carry no order that can be
    trusted (``week16`` sorts before ``week4``), so with more than two visits it must be named."""
    others = [v for v in visits if v != baseline_visit]
    problems = []
    if baseline_visit not in visits:
        problems.append(Problem(f"baseline visit {baseline_visit!r} is not in the data (visits: {list(visits)})",
                                fix="pass the baseline visit's name as it appears in the visit column"))
    if followup_visit is None and len(others) != 1:
        problems.append(Problem(f"the data have {len(others)} visits besides the baseline: {others}",
                                fix="name the primary endpoint with followup_visit="))
    elif followup_visit is not None and followup_visit not in others:
        problems.append(Problem(f"follow-up visit {followup_visit!r} is not in the data (visits: {list(visits)})",
                                fix="pass a visit name as it appears in the visit column"))
    InputError.collect(problems)
    return followup_visit if followup_visit is not None else others[0]


def _grid(fit: BatchedFit, ta: TrialArrays, levels: list[int], interaction: bool) -> np.ndarray:
    """Reference-grid rows (K, arms, p): each arm at the outcome's mean covariates and baseline."""
    K, p = fit.coef.shape
    n_arms = len(ta.arms)
    G = np.repeat(np.asarray(fit.means, dtype=float)[:, None, :], n_arms, axis=1)
    G[:, :, 0] = 1.0
    for j, lv in enumerate(levels):
        if lv > 1:
            G[:, :, j] = 1.0 / lv
    G[:, :, 1:n_arms] = np.eye(n_arms)[:, 1:][None, :, :]
    if interaction:  # centred baseline: the grid sits at the centre, interaction columns zero
        G[:, :, len(levels) :] = 0.0
    return G


def _arm_moments(ta: TrialArrays, visit: str, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per outcome × arm: the count and sample variance (ddof 1) of ``visit`` over the rows used."""
    x = np.where(W, ta.visit(visit), 0.0)  # (n, K)
    onehot = (ta.arm_index[:, None] == np.arange(len(ta.arms))[None, :]).astype(float)  # (n, A)
    n = onehot.T @ W.astype(float)  # (A, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (onehot.T @ x) / n
        dev = np.where(W, x - np.nan_to_num(mean)[ta.arm_index], 0.0)
        var = np.where(n > 1, (onehot.T @ dev**2) / np.maximum(n - 1, 1), np.nan)
    return n.T, var.T


def _contrast_table(fit, ta, baseline_visit, W, reference_arm, ci_level, formula=HEDGES_G) -> pd.DataFrame:
    """One row per outcome × contrast (outcome-major), Hedges' g on the pooled SD of ``baseline_visit``."""
    pairs = pairwise_contrasts(ta.arms, reference_arm)
    K, p = fit.coef.shape
    L = np.zeros((len(pairs), p))
    for r, (_, j, i) in enumerate(pairs):
        L[r, j] += 1.0 if j > 0 else 0.0
        L[r, i] -= 1.0 if i > 0 else 0.0
    c = fit.contrast(L)  # (K, m)
    lo, hi = c.ci(ci_level)
    n_arm, var = _arm_moments(ta, baseline_visit, W)
    jj = np.array([j for _, j, _ in pairs])
    ii = np.array([i for _, _, i in pairs])
    n1, n2 = n_arm[:, jj], n_arm[:, ii]
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(((n1 - 1) * var[:, jj] + (n2 - 1) * var[:, ii]) / (n1 + n2 - 2))
        g = (1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)) * c.estimate / sd
    m = len(pairs)
    out = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(fit.outcomes, dtype=object), m),
            "contrast": np.tile(np.asarray([lab for lab, _, _ in pairs], dtype=object), K),
            "estimate": c.estimate.ravel(),
            "se": c.se.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "df": c.df.ravel(),
            "t": c.t.ravel(),
            "p": c.p.ravel(),
            "p_adj": np.nan,
            "n": (n1 + n2).ravel().astype(np.int64),
            "ci_level": ci_level,
            "family": "",
            "p_adj_method": "none",
            "effect_size": g.ravel(),
            "effect_size_formula": formula,
            "status": np.repeat(fit.status, m),
        }
    )
    return out[list(CONTRAST_COLUMNS)]


def _emmeans_table(fit, ta, levels, interaction, W, ci_level) -> pd.DataFrame:
    G = _grid(fit, ta, levels, interaction)
    c = fit.contrast(G)
    lo, hi = c.ci(ci_level)
    K, A = c.estimate.shape
    n_arm = np.stack([(W & (ta.arm_index == a)[:, None]).sum(axis=0) for a in range(A)], axis=1)
    out = pd.DataFrame(
        {
            "outcome": np.repeat(fit.outcomes, A),
            "arm": np.tile(ta.arms, K),
            "emmean": c.estimate.ravel(),
            "se": c.se.ravel(),
            "df": c.df.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "ci_level": ci_level,
            "n": n_arm.ravel(),
        }
    )
    return out[list(EMMEANS_COLUMNS)]


def _arm_tests(fit, X, names, y, Z, W, n_arms, interaction) -> pd.DataFrame:
    p = fit.coef.shape[1]
    L = np.zeros((n_arms - 1, p))
    L[np.arange(n_arms - 1), np.arange(1, n_arms)] = 1.0
    f3 = fit.f_test(L)
    f2 = f3
    if interaction:  # Type II: arm given baseline (and covariates), error from the full model
        keep = [c for c in range(X.shape[1]) if not 1 <= c < n_arms]
        reduced = fit_ols(X[:, keep], y, Z=Z[:, :, :1], mask=W)
        full_main = fit_ols(X, y, Z=Z[:, :, :1], mask=W)
        rss_r = reduced.sigma2 * reduced.df_resid
        rss_f = full_main.sigma2 * full_main.df_resid
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (rss_r - rss_f) / (n_arms - 1) / fit.sigma2
        from scipy import special

        f2 = type(f3)(f=f, num_df=n_arms - 1, den_df=fit.df_resid, p=special.fdtrc(n_arms - 1, fit.df_resid, f))
    rows = []
    for typ, ft in (("II", f2), ("III", f3)):
        with np.errstate(invalid="ignore", divide="ignore"):
            pes = ft.f * ft.num_df / (ft.f * ft.num_df + ft.den_df)
        rows.append(
            pd.DataFrame(
                {
                    "outcome": fit.outcomes,
                    "term": "arm",
                    "type": typ,
                    "num_df": float(ft.num_df),
                    "den_df": ft.den_df,
                    "f": ft.f,
                    "p": ft.p,
                    "partial_eta_sq": pes,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    return out[list(FTEST_COLUMNS)]


def ancova(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    interaction: bool = False,
    ci_level: float = 0.95,
) -> AncovaResult:
    """ANCOVA of follow-up on baseline + arm [+ covariates], for every outcome at once.

    Parameters
    ----------
    data : DataFrame
        Long table: one row per subject × visit × outcome, with the arm (and any covariates) on
        each row.
    baseline_visit, followup_visit : str
        The visits compared; ``followup_visit`` may be left out when the data have exactly two visits.
    reference_arm : str, optional
        Contrasts are ``ARM - REFERENCE``; without one, all pairs (later arm minus earlier arm in
        ``arms`` order).
    covariates : sequence of str
        Subject-level columns added to the model (numeric as is, text as treatment-coded factors).
    interaction : bool
        Add the pre-specified baseline × arm interaction with baseline centred at its mean, so that
        the arm contrasts remain the differences at the mean baseline.
    ci_level : float

    Returns
    -------
    AncovaResult
        ``contrasts`` (the ``results/ancova.csv`` table; ``p_adj`` is filled by
        :func:`~skintrial.stats.multiplicity.adjust_families`), ``emmeans``, ``arm_test``.

    Notes
    -----
    Subjects missing the baseline or the follow-up value of an outcome are left out of that
    outcome's fit only (``n`` counts those used); use ``clda`` to keep them.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> for i, (a, b, f) in enumerate([("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3),
    ...                                 ("B", 1.5, 2.4), ("B", 2.5, 3.1), ("B", 3.5, 4.6)]):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> res = ancova(d, baseline_visit="week0", followup_visit="week16", reference_arm="A")
    >>> res.contrasts[["contrast", "estimate", "n"]].round(4).to_dict("records")
    [{'contrast': 'B - A', 'estimate': 0.6292, 'n': 6}]
    """
    ta = trial_arrays(
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
    return _ancova_arrays(ta, baseline_visit, followup_visit, reference_arm, interaction, ci_level)


def _ancova_arrays(
    ta: TrialArrays,
    baseline_visit: str,
    followup_visit: str | None,
    reference_arm: str | None,
    interaction: bool,
    ci_level: float,
) -> AncovaResult:
    """The ANCOVA from laid-out arrays (also what the benchmark times against a prepared peer)."""
    followup_visit = _followup(ta.visits, baseline_visit, followup_visit)
    X, names, levels, y, Z, znames, W = _design(ta, baseline_visit, followup_visit, interaction)
    fit = fit_ols(X, y, Z=Z, mask=W, outcomes=ta.outcomes, params=[*names, *znames])
    return AncovaResult(
        contrasts=_contrast_table(fit, ta, baseline_visit, W, reference_arm, ci_level),
        emmeans=_emmeans_table(fit, ta, levels, interaction, W, ci_level),
        arm_test=_arm_tests(fit, X, names, y, Z, W, len(ta.arms), interaction),
        fit=fit,
    )
