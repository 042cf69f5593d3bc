"""Descriptive summaries of trial outcomes: per arm and visit, and the within-arm change.

These tables *describe* the data. The within-arm change (mean change with a t interval) is never the
test of a treatment effect: comparing each arm's pre-vs-post test separately inflates the error rate
(Bland & Altman 2011, Trials 12:264) and ignores the randomised comparison. The between-arm test is
:func:`skintrial.stats.ancova` (or ``clda``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import default_visit_order, trial_arrays
from skintrial.stats._inference import t_interval
from skintrial.stats._schema import CHANGE_COLUMNS, DESCRIPTIVE_COLUMNS

__all__ = ["describe", "within_arm_change"]


def _ordered(values: pd.Series, order: Sequence[str] | None, found: Sequence[str]) -> pd.Categorical:
    """``values`` as text, categories ``order`` first and then the ``found`` values not in it."""
    given = [str(v) for v in order] if order is not None else []
    cats = list(dict.fromkeys([*given, *found]))
    return pd.Categorical(values.astype(str), categories=cats, ordered=True)


def describe(
    data: pd.DataFrame,
    *,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
    visits: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Count, mean, SD, median, minimum and maximum per outcome × arm × visit.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per subject × visit × outcome.
    outcome, value, arm, visit, subject : str
        Column names.
    arms, visits : sequence of str, optional
        Order of the arms and visits in the result; values not listed follow. By default arms are
        sorted and visits come in :func:`~skintrial.stats._data.default_visit_order` (``week0, week8,
        week16``: numbers inside a label compared as numbers), whatever the order of the rows. A
        missing visit is an :class:`~skintrial.errors.InputError`.

    Returns
    -------
    DataFrame
        Columns :data:`~skintrial.stats._schema.DESCRIPTIVE_COLUMNS`. ``n`` counts non-missing
        values; ``sd`` is the sample SD (ddof = 1, NaN when n < 2). Rows are sorted by outcome, arm
        and visit; every arm × visit combination present for an outcome has a row.

    Notes
    -----
    Checked against pandas' own ``describe`` and numpy by hand in ``tests/stats/test_describe.py``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": ["a", "b", "c", "a", "b", "c"],
    ...                   "arm": ["AT", "AT", "RT"] * 2, "visit": ["w0"] * 3 + ["w16"] * 3,
    ...                   "outcome": "r2", "value": [0.6, 0.7, 0.65, 0.68, 0.74, 0.70]})
    >>> describe(d, visits=["w0", "w16"])[["arm", "visit", "n", "mean"]].round(3).to_dict("records")
    [{'arm': 'AT', 'visit': 'w0', 'n': 2, 'mean': 0.65}, {'arm': 'AT', 'visit': 'w16', 'n': 2, 'mean': 0.71}, {'arm': 'RT', 'visit': 'w0', 'n': 1, 'mean': 0.65}, {'arm': 'RT', 'visit': 'w16', 'n': 1, 'mean': 0.7}]
    """
    needed = [outcome, value, arm, visit, subject]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise InputError(f"column(s) {absent} not found in the data", fix=f"the data need columns {needed}")
    dup = data.duplicated([subject, visit, outcome], keep=False)
    if dup.any():
        first = data.loc[dup, [subject, visit, outcome]].iloc[0].tolist()
        raise InputError(
            Problem(
                "more than one value for the same participant, visit and outcome",
                fix="average replicates first",
                value=first,
                rows_affected=int(dup.sum()),
            )
        )
    frame = pd.DataFrame(
        {
            "outcome": data[outcome].astype(str).to_numpy(),
            "arm": _ordered(data[arm], arms, sorted(data[arm].astype(str).unique())),
            "visit": _ordered(data[visit], visits, default_visit_order(data[visit], column=visit)),
            "value": pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float),
        }
    )
    g = frame.groupby(["outcome", "arm", "visit"], observed=True, sort=True)["value"]
    out = g.agg(["count", "mean", "std", "median", "min", "max"]).reset_index()
    out = out.rename(columns={"count": "n", "std": "sd"})
    out["arm"] = out["arm"].astype(str)
    out["visit"] = out["visit"].astype(str)
    out["n"] = out["n"].astype(int)
    return out[list(DESCRIPTIVE_COLUMNS)]


def within_arm_change(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | Sequence[str],
    ci_level: float = 0.95,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mean change from baseline within each arm, with a t interval — a description, not a test.

    For each outcome × arm × follow-up visit, among the subjects with both visits (n of them), the change
    ``d_i = y_follow,i - y_base,i`` is summarised by its mean, its SD (ddof = 1) and the interval
    ``mean ± t_{(1+ci_level)/2, n-1} · SD / sqrt(n)``. ``percent_change`` is the change of the mean,
    ``100 · mean(d) / mean(y_base)`` over the same subjects (not the mean of individual percent
    changes). Do not read the interval as the treatment effect: the between-arm comparison is
    :func:`skintrial.stats.ancova` (Bland & Altman 2011).

    Parameters
    ----------
    data : DataFrame
        Long table, one row per subject × visit × outcome.
    baseline_visit : str
    followup_visit : str or sequence of str
        The follow-up visit, or every follow-up visit in time order (the last is the primary one).
    ci_level : float
        Coverage of the interval.
    outcome, value, arm, visit, subject : str
        Column names.
    arms : sequence of str, optional
        Arm order in the result.

    Returns
    -------
    DataFrame
        Columns :data:`~skintrial.stats._schema.CHANGE_COLUMNS`, one row per outcome × arm × follow-up
        visit (``visit``; ``followup_visit`` is the primary, last one). With n < 2 the SD and interval
        are NaN (n = 0: every statistic is NaN).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": ["a", "b", "c"] * 2, "arm": "AT",
    ...                   "visit": ["w0"] * 3 + ["w16"] * 3, "outcome": "r2",
    ...                   "value": [1.0, 2.0, 3.0, 1.5, 2.5, 4.0]})
    >>> r = within_arm_change(d, baseline_visit="w0", followup_visit="w16")
    >>> r[["n", "mean_change", "percent_change"]].round(3).to_dict("records")
    [{'n': 3, 'mean_change': 0.667, 'percent_change': 33.333}]
    """
    ta = trial_arrays(data, outcome=outcome, value=value, arm=arm, visit=visit, subject=subject, arms=arms)
    followups = [followup_visit] if isinstance(followup_visit, str) else [str(v) for v in followup_visit]
    for v in (baseline_visit, *followups):
        if v not in ta.visits:
            raise InputError(
                Problem(
                    f"visit {v!r} not found in the data",
                    column=visit,
                    value=v,
                    fix=f"use one of the visits {list(ta.visits)}",
                )
            )
    frames = [_change(ta, baseline_visit, v, ci_level) for v in followups]
    out = pd.concat(frames, ignore_index=True).assign(followup_visit=followups[-1])
    rank = {o: k for k, o in enumerate(ta.outcomes)}
    out = out.sort_values(["outcome"], key=lambda s: s.map(rank), kind="mergesort").reset_index(drop=True)
    return out[list(CHANGE_COLUMNS)]


def _change(ta, baseline_visit: str, followup_visit: str, ci_level: float) -> pd.DataFrame:
    """Rows outcome × arm of the change from ``baseline_visit`` to ``followup_visit``."""
    base = ta.visit(baseline_visit)
    diff = ta.visit(followup_visit) - base  # (n, K), NaN unless both visits present
    ok = np.isfinite(diff)
    onehot = (ta.arm_index[:, None] == np.arange(len(ta.arms))[None, :]).astype(float)  # (n, A)
    d0 = np.where(ok, diff, 0.0)
    b0 = np.where(ok, base, 0.0)
    n = np.einsum("ia,ik->ka", onehot, ok.astype(float))  # (K, A)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.einsum("ia,ik->ka", onehot, d0) / n
        bmean = np.einsum("ia,ik->ka", onehot, b0) / n
        own = mean[:, ta.arm_index].T if ta.arm_index.size else np.zeros_like(d0)  # (n, K)
        dev = np.where(ok, d0 - own, 0.0)
        ss = np.einsum("ia,ik->ka", onehot, dev**2)
        sd = np.where(n > 1, np.sqrt(ss / np.where(n > 1, n - 1, 1)), np.nan)
        low, high = t_interval(mean, sd / np.sqrt(n), n - 1, ci_level)  # NaN for n <= 1
        pct = 100.0 * mean / bmean
    K, A = n.shape
    out = pd.DataFrame(
        {
            "outcome": np.repeat(ta.outcomes, A),
            "arm": np.tile(ta.arms, K),
            "visit": followup_visit,
            "n": n.ravel().astype(int),
            "mean_change": mean.ravel(),
            "sd_change": sd.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "ci_level": ci_level,
            "percent_change": pct.ravel(),
            "baseline_visit": baseline_visit,
        }
    )
    return out
