"""ANCOVA of follow-up on baseline and arm: the primary analysis of a pre/post randomised trial.

For each outcome the model is

    y_follow = b0 + b_arm + b_base * y_baseline [+ covariates] [+ b_int,arm * (y_baseline - mean)] + e

fitted for all outcomes at once by the batched engine, each outcome with its *own* baseline column.
The arm contrasts are the adjusted differences in follow-up (equal to the adjusted differences in
change); the adjusted means are emmeans' estimated marginal means at each outcome's mean baseline
(numeric covariates at their means, categorical covariates averaged over their levels with equal
weights). Reference: Vickers & Altman 2001, EMA adjustment guideline 2015; checked against R
``lm`` + ``emmeans`` + ``car::Anova`` in ``tests/reference/stats``.

Every row of every table carries a ``status``: the engine's (``ok``, ``too_few_observations``,
``rank_deficient``, ``no_residual_variance``) or ``arm_without_complete_cases`` for the rows that
need an arm with no complete case for that outcome. Such an arm is left out of the outcome's model,
as R's ``lm`` drops an unused level, so the contrasts between the other arms are still estimated;
the empty arm's contrasts and adjusted mean, and the arm test (which needs every arm), are NaN. When
the empty arm is the reference (first) arm, nothing of that outcome is estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from skintrial.stats._data import TrialArrays, arm_design, followup_visit_of, pairwise_contrasts, trial_arrays
from skintrial.stats._effect_size import arm_sums, hedges_g
from skintrial.stats._engine import STATUS_OK, BatchedFit, fit_ols
from skintrial.stats._inference import f_pvalue
from skintrial.stats._schema import CONTRAST_COLUMNS, EMMEANS_COLUMNS, FTEST_COLUMNS, HEDGES_G, PARTIAL_ETA_SQ
from skintrial.stats._trial import TrialAnalysis

__all__ = ["AncovaResult", "ancova", "ARM_WITHOUT_COMPLETE_CASES"]

ARM_WITHOUT_COMPLETE_CASES = "arm_without_complete_cases"


@dataclass(frozen=True, kw_only=True)
class AncovaResult(TrialAnalysis):
    """The tables of an ANCOVA over many outcomes (a :class:`~skintrial.stats.TrialAnalysis`).

    Attributes
    ----------
    contrasts : DataFrame
        One row per outcome × contrast, columns :data:`~skintrial.stats._schema.CONTRAST_COLUMNS`
        (``results/ancova.csv``).
    tests : DataFrame
        The F test of arm (Type II and Type III rows) with partial eta squared and its formula,
        columns :data:`~skintrial.stats._schema.FTEST_COLUMNS` (``results/arm_tests.csv``).
    estimates : DataFrame
        Adjusted means (emmeans) per outcome × arm, columns
        :data:`~skintrial.stats._schema.EMMEANS_COLUMNS` (``results/emmeans.csv``).
    ci_level : float
    fit : BatchedFit
        The engine's fit, for further contrasts.

    Every row has a ``status``; its statistics, degrees of freedom included, are NaN unless it is
    ``ok`` (see the module docstring).
    """

    method: ClassVar[str] = "ancova"
    contrast_columns: ClassVar[tuple[str, ...]] = CONTRAST_COLUMNS
    test_columns: ClassVar[tuple[str, ...]] = FTEST_COLUMNS
    estimate_columns: ClassVar[tuple[str, ...]] = EMMEANS_COLUMNS

    fit: BatchedFit

    def tables(self) -> dict[str, pd.DataFrame]:
        """``ancova`` (the contrasts), ``emmeans`` (the estimates) and ``arm_tests`` (the tests)."""
        return {"ancova": self.contrasts, "emmeans": self.estimates, "arm_tests": self.tests}


def _design(ta: TrialArrays, baseline_visit: str, followup_visit: str, interaction: bool):
    X, names, levels = arm_design(ta)
    y = ta.visit(followup_visit)
    base = ta.visit(baseline_visit)
    W = np.isfinite(y) & np.isfinite(base) & np.isfinite(X).all(axis=1)[:, None]
    if not interaction:
        return X, names, levels, y, base[:, :, None], ["baseline"], W
    used = W.sum(axis=0)  # an outcome without complete cases has no centre (and no fit)
    centre = np.where(W, base, 0.0).sum(axis=0) / np.maximum(used, 1)
    bc = base - np.where(used > 0, centre, np.nan)[None, :]
    dummies = X[:, 1 : len(ta.arms)]
    Z = np.concatenate([bc[:, :, None], bc[:, :, None] * dummies[:, None, :]], axis=2)
    znames = ["baseline", *[f"baseline:{n}" for n in names[1 : len(ta.arms)]]]
    return X, names, levels, y, Z, znames, W


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


def _empty_arms(ta: TrialArrays, W: np.ndarray) -> np.ndarray:
    """(K, A): arms without a complete case (a row used in the fit) for each outcome."""
    onehot = (ta.arm_index[:, None] == np.arange(len(ta.arms))[None, :]).astype(float)
    return (W.astype(float).T @ onehot) == 0


def _fit(X, y, Z, W, ta: TrialArrays, params: list[str], interaction: bool) -> tuple[BatchedFit, np.ndarray]:
    """The engine's fit with the columns of each outcome's empty (non-reference) arms dropped.

    Returns the fit and the (K, A) mask of empty arms. The arm dummies sit in columns 1..A-1 of ``X``;
    with the interaction, ``baseline:arm[j]`` is column ``p0 + j``.
    """
    empty = _empty_arms(ta, W)
    A, p0 = len(ta.arms), X.shape[1]
    drop = np.zeros((y.shape[1], len(params)), dtype=bool)
    drop[:, 1:A] = empty[:, 1:]
    if interaction:
        drop[:, p0 + 1 : p0 + A] = empty[:, 1:]
    return fit_ols(X, y, Z=Z, mask=W, outcomes=ta.outcomes, params=params, drop=drop), empty


def _row_status(fit: BatchedFit, empty: np.ndarray, involved: np.ndarray) -> np.ndarray:
    """(K, m) status of result rows that each involve the arms ``involved`` (m, A).

    A row that needs an arm without complete cases says so; when the reference arm is the empty one
    the engine found the whole outcome rank deficient, and every row says why.
    """
    st = np.repeat(fit.status[:, None], involved.shape[0], axis=1).astype(object)
    hit = (empty.astype(float) @ involved.T.astype(float)) > 0
    flag = (fit.ok[:, None] & hit) | ((fit.status == "rank_deficient") & empty[:, 0])[:, None]
    st[flag] = ARM_WITHOUT_COMPLETE_CASES
    return st


def _only_ok(out: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Statistics are NaN unless the row's status is ok (degrees of freedom included)."""
    bad = (out["status"] != STATUS_OK).to_numpy()
    if bad.any():
        out.loc[bad, columns] = np.nan
    return out


def _contrast_table(
    fit, ta, baseline_visit, W, empty, reference_arm, ci_level, formula=HEDGES_G
) -> pd.DataFrame:
    """One row per outcome × contrast (outcome-major), Hedges' g on the pooled SD of ``baseline_visit``."""
    pairs = pairwise_contrasts(ta.arms, reference_arm)
    K, p = fit.coef.shape
    A = len(ta.arms)
    L = np.zeros((len(pairs), p))
    involved = np.zeros((len(pairs), A), dtype=bool)
    for r, (_, j, i) in enumerate(pairs):
        L[r, j] += 1.0 if j > 0 else 0.0
        L[r, i] -= 1.0 if i > 0 else 0.0
        involved[r, [i, j]] = True
    c = fit.contrast(L)  # (K, m)
    lo, hi = c.ci(ci_level)
    n_arm, ss = arm_sums(ta.visit(baseline_visit), W, ta.arm_index, A)
    jj = np.array([j for _, j, _ in pairs])
    ii = np.array([i for _, _, i in pairs])
    n1, n2 = n_arm[:, jj], n_arm[:, ii]
    g = hedges_g(c.estimate, n1, ss[:, jj], n2, ss[:, ii])
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
            "status": _row_status(fit, empty, involved).ravel().astype(str),
        }
    )
    out = _only_ok(out, ["estimate", "se", "ci_low", "ci_high", "df", "t", "p", "effect_size"])
    return out[list(CONTRAST_COLUMNS)]


def _emmeans_table(fit, ta, levels, interaction, W, empty, ci_level) -> pd.DataFrame:
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
            "status": _row_status(fit, empty, np.eye(A, dtype=bool)).ravel().astype(str),
        }
    )
    out = _only_ok(out, ["emmean", "se", "df", "ci_low", "ci_high"])
    return out[list(EMMEANS_COLUMNS)]


def _arm_tests(fit, X, names, y, Z, W, empty, n_arms, interaction) -> pd.DataFrame:
    p = fit.coef.shape[1]
    L = np.zeros((n_arms - 1, p))
    L[np.arange(n_arms - 1), np.arange(1, n_arms)] = 1.0
    f3 = fit.f_test(L)
    f2 = f3
    if interaction:  # Type II: arm given baseline (and covariates), error from the full model
        keep = [c for c in range(X.shape[1]) if not 1 <= c < n_arms]
        reduced = fit_ols(X[:, keep], y, Z=Z[:, :, :1], mask=W)
        full_main = fit_ols(
            X, y, Z=Z[:, :, :1], mask=W
        )  # an outcome with an empty arm has no arm test anyway
        rss_r = reduced.sigma2 * reduced.df_resid
        rss_f = full_main.sigma2 * full_main.df_resid
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (rss_r - rss_f) / (n_arms - 1) / fit.sigma2
        f2 = type(f3)(f=f, num_df=n_arms - 1, den_df=fit.df_resid, p=f_pvalue(f, n_arms - 1, fit.df_resid))
    status = _row_status(fit, empty, np.ones((1, n_arms), dtype=bool))[:, 0].astype(str)
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
                    "partial_eta_sq_formula": PARTIAL_ETA_SQ,
                    "status": status,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out = _only_ok(out, ["num_df", "den_df", "f", "p", "partial_eta_sq"])
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
        :func:`~skintrial.stats.multiplicity.adjust_families`), ``tests`` (the F test of arm),
        ``estimates`` (the adjusted means); ``tables()`` names them as the pipeline writes them.

    Notes
    -----
    Subjects missing the baseline or the follow-up value of an outcome are left out of that
    outcome's fit only (``n`` counts those used); use ``clda`` to keep them. An arm left without
    complete cases is left out of that outcome's model: the other arms' contrasts are estimated, the
    rows that need the empty arm have status ``arm_without_complete_cases``.

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
    >>> res.estimates[["arm", "emmean"]].round(4).to_dict("records")
    [{'arm': 'A', 'emmean': 2.4687}, {'arm': 'B', 'emmean': 3.0979}]
    >>> res.tests[["type", "num_df", "den_df"]].to_dict("records")
    [{'type': 'II', 'num_df': 1.0, 'den_df': 3.0}, {'type': 'III', 'num_df': 1.0, 'den_df': 3.0}]
    >>> sorted(res.tables())
    ['ancova', 'arm_tests', 'emmeans']
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
    followup_visit = followup_visit_of(ta.visits, baseline_visit, followup_visit)
    X, names, levels, y, Z, znames, W = _design(ta, baseline_visit, followup_visit, interaction)
    fit, empty = _fit(X, y, Z, W, ta, [*names, *znames], interaction)
    return AncovaResult(
        contrasts=_contrast_table(fit, ta, baseline_visit, W, empty, reference_arm, ci_level),
        tests=_arm_tests(fit, X, names, y, Z, W, empty, len(ta.arms), interaction),
        estimates=_emmeans_table(fit, ta, levels, interaction, W, empty, ci_level),
        ci_level=ci_level,
        fit=fit,
    )
