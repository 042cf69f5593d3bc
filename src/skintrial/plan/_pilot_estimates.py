"""What a pilot study estimates for planning the next trial: per-arm change, SD and ρ, with intervals.

Estimates (per outcome, from participants with both visits)
-----------------------------------------------------------
``mean_change`` per arm
    Cell means of change (follow-up − baseline) from the engine (``fit_ols`` with one indicator per
    arm), with t intervals on the pooled within-arm SD (df = N − A).
``sd``
    Pooled within-arm SD of the baseline, df = N − A; interval from the chi-square distribution:
    ``sqrt(df s² / χ²_{1-α/2, df}) … sqrt(df s² / χ²_{α/2, df})``.
``rho``
    Pooled within-arm correlation of baseline and follow-up,
    ``Σ(b−b̄_g)(f−f̄_g) / sqrt(Σ(b−b̄_g)² Σ(f−f̄_g)²)``; Fisher-z interval with SE ``1/sqrt(N − A − 2)``.
``ancova_residual_sd``
    Residual SD of the ANCOVA of follow-up on baseline and arm (engine), what ``sd·sqrt(1 − rho²)``
    estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from skintrial.stats import fit_ols, followup_visit_of, trial_arrays, z_critical

__all__ = ["PilotEstimates", "pilot_estimates", "OUTCOME_COLUMNS", "CHANGE_COLUMNS"]

OUTCOME_COLUMNS: tuple[str, ...] = (
    "outcome",
    "n",
    "sd",
    "sd_ci_low",
    "sd_ci_high",
    "rho",
    "rho_ci_low",
    "rho_ci_high",
    "ancova_residual_sd",
    "ci_level",
)
CHANGE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "arm",
    "n",
    "baseline_mean",
    "mean_change",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "ci_level",
)


@dataclass(frozen=True)
class PilotEstimates:
    """Planning quantities estimated from a pilot bundle.

    Attributes
    ----------
    outcomes : DataFrame
        Per outcome (:data:`OUTCOME_COLUMNS`): pooled SD and ρ with confidence limits.
    changes : DataFrame
        Per outcome × arm (:data:`CHANGE_COLUMNS`): mean change with its interval.
    baseline_visit, followup_visit : str
    """

    outcomes: pd.DataFrame
    changes: pd.DataFrame
    baseline_visit: str
    followup_visit: str


def _column_means(x: np.ndarray) -> np.ndarray:
    """Mean of each column over its finite values; NaN for a column without any (an arm or outcome with
    no value at the visit), without numpy's 'Mean of empty slice' warning."""
    n = np.isfinite(x).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(x, axis=0) / n, np.nan)


def _pooled(base: np.ndarray, follow: np.ndarray, arm_index: np.ndarray, n_arms: int):
    """Within-arm centred sums over complete pairs: (n, df, Sbb, Sff, Sbf), each (K,)."""
    W = np.isfinite(base) & np.isfinite(follow)
    sbb, sff, sbf = (np.zeros(base.shape[1]) for _ in range(3))
    groups = np.zeros(base.shape[1])
    for g in range(n_arms):  # a loop over arms (2–4), vectorised over outcomes
        rows = arm_index == g
        w = W[rows]
        b, f = np.where(w, base[rows], np.nan), np.where(w, follow[rows], np.nan)
        db, df_ = b - _column_means(b), f - _column_means(f)
        sbb += np.nansum(db * db, axis=0)
        sff += np.nansum(df_ * df_, axis=0)
        sbf += np.nansum(db * df_, axis=0)
        groups += w.any(axis=0)
    n = W.sum(axis=0)
    return n, n - groups, sbb, sff, sbf


def pilot_estimates(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    ci_level: float = 0.95,
) -> PilotEstimates:
    """Effects, SDs and baseline–follow-up correlations of every outcome of a pilot study.

    Parameters
    ----------
    data : DataFrame
        Long measurements with the arm on each row (``Study.long()``).
    baseline_visit, followup_visit : str
        ``followup_visit`` may be left out only when the data have one visit besides the baseline.
        With more it must be named (:func:`~skintrial.stats._data.followup_visit_of`): which visit is
        the endpoint is a pre-specified choice; a study's is the last of ``study.toml``'s ``visits``
        (the CLI's ``plan`` uses it unless ``--followup`` names another).
    ci_level : float

    Returns
    -------
    PilotEstimates

    Examples
    --------
    >>> from skintrial.plan.synthetic import synthetic_study
    >>> s = synthetic_study(seed=1)
    >>> long = s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")
    >>> est = pilot_estimates(long, baseline_visit="week0")
    >>> est.outcomes.set_index("outcome").loc["r2", ["n", "rho"]].round(2).to_dict()
    {'n': 56.0, 'rho': 0.8}
    """
    ta = trial_arrays(data, outcome=outcome, value=value, arm=arm, visit=visit, subject=subject)
    followup_visit = followup_visit_of(ta.visits, baseline_visit, followup_visit, column=visit)
    base, follow = ta.visit(baseline_visit), ta.visit(followup_visit)
    A = len(ta.arms)
    n, df, sbb, sff, sbf = _pooled(base, follow, ta.arm_index, A)
    a = 1.0 - ci_level
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(sbb / df)
        sd_lo = np.sqrt(df * sd**2 / sps.chi2.ppf(1 - a / 2, df))
        sd_hi = np.sqrt(df * sd**2 / sps.chi2.ppf(a / 2, df))
        rho = sbf / np.sqrt(sbb * sff)
        z, zse, q = (
            np.arctanh(np.clip(rho, -0.999999, 0.999999)),
            1.0 / np.sqrt(df - 2),
            z_critical(ci_level),
        )
    X = (ta.arm_index[:, None] == np.arange(A)[None, :]).astype(float)
    anc = fit_ols(X, follow, Z=base[:, :, None])
    outcomes = pd.DataFrame(
        {
            "outcome": ta.outcomes,
            "n": n,
            "sd": sd,
            "sd_ci_low": sd_lo,
            "sd_ci_high": sd_hi,
            "rho": rho,
            "rho_ci_low": np.tanh(z - q * zse),
            "rho_ci_high": np.tanh(z + q * zse),
            "ancova_residual_sd": np.sqrt(anc.sigma2),
            "ci_level": ci_level,
        }
    )
    chg = fit_ols(X, follow - base)
    c = chg.contrast(np.eye(A))
    lo, hi = c.ci(ci_level)
    W = np.isfinite(base) & np.isfinite(follow)
    n_arm = np.stack([(W & (ta.arm_index == g)[:, None]).sum(axis=0) for g in range(A)], axis=1)
    bmean = np.stack([_column_means(np.where(W, base, np.nan)[ta.arm_index == g]) for g in range(A)], 1)
    K = len(ta.outcomes)
    changes = pd.DataFrame(
        {
            "outcome": np.repeat(ta.outcomes, A),
            "arm": np.tile(ta.arms, K),
            "n": n_arm.ravel(),
            "baseline_mean": bmean.ravel(),
            "mean_change": c.estimate.ravel(),
            "se": c.se.ravel(),
            "df": c.df.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "ci_level": ci_level,
        }
    )
    return PilotEstimates(
        outcomes=outcomes[list(OUTCOME_COLUMNS)],
        changes=changes[list(CHANGE_COLUMNS)],
        baseline_visit=baseline_visit,
        followup_visit=followup_visit,
    )
