"""Change from baseline within one group: the analysis of a single-arm pre/post study.

The design of the 2015 training study of previously sedentary adults aged 65 and over (Crane et al.
2015; paper.md §7): about ten people, twelve weeks of endurance training, no control group. Each
outcome's change from the baseline visit to every follow-up visit, among the participants measured at
both, is summarised and tested:

* mean change with its t interval ``mean ± t_{(1+level)/2, n-1} · SD/√n`` and the paired t test
  (R ``t.test(post, pre, paired = TRUE)``);
* the **Wilcoxon signed-rank test** as a sensitivity analysis that does not assume normal changes
  (R ``wilcox.test(post, pre, paired = TRUE)`` with its defaults: zero changes dropped, the exact
  null distribution below 50 pairs without ties or zeros, otherwise the normal approximation with the
  tie correction and a continuity correction); ``wilcoxon_v`` is R's V, the sum of the ranks of the
  positive changes;
* the effect size **d_z** = mean change / SD of the change (Cohen 1988), named in
  ``effect_size_formula``; it is the standardised *change*, not comparable with a between-group d;
* ``percent_change`` = 100 · mean change / mean baseline of the same participants.

There is no control group: a change includes the effect of time, season, learning the measurement and
regression to the mean, as well as any effect of the intervention (the report says so). Several
outcomes and visits are tested, so ``p_adj`` is filled per family (primary, secondary) by
:func:`~skintrial.stats.multiplicity.adjust_families`. Checked against R on MASS::anorexia (the
family-therapy arm), datasets::sleep (zeros and ties) and ChickWeight diet 1 (two follow-ups, chicks
lost) in ``tests/stats/test_paired_change.py`` (``tests/reference/designs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from skintrial.errors import InputError, Problem
from skintrial.stats._data import default_visit_order, trial_arrays
from skintrial.stats._inference import t_inference, t_interval, z_pvalue
from skintrial.stats._schema import D_Z, FTEST_COLUMNS, PAIRED_CHANGE_COLUMNS, VISIT_EMMEANS_COLUMNS
from skintrial.stats._trial import TrialAnalysis, empty_table

__all__ = ["PairedChangeResult", "paired_change", "signed_rank_test"]


@dataclass(frozen=True, kw_only=True)
class PairedChangeResult(TrialAnalysis):
    """Change from baseline of many outcomes within each arm: a :class:`~skintrial.stats.TrialAnalysis`.

    Attributes
    ----------
    contrasts : DataFrame
        One row per outcome × arm × follow-up visit, ``contrast`` written ``VISIT - BASELINE``:
        the contrast columns of ``ancova.csv`` (``estimate`` the mean change, ``effect_size`` d_z),
        then ``arm, visit, baseline_visit, sd_change, percent_change, wilcoxon_v, wilcoxon_p,
        wilcoxon_method`` (:data:`~skintrial.stats._schema.PAIRED_CHANGE_COLUMNS`,
        ``results/paired_change.csv``).
    tests : DataFrame
        Empty: there is no omnibus test.
    estimates : DataFrame
        The observed mean at every visit with its t interval, over the participants with a value
        there (VISIT_EMMEANS_COLUMNS).
    ci_level : float

    Statuses: ``ok``; ``too_few_observations`` (fewer than 2 pairs); ``constant_change`` (every
    change equal: no SD, no t). The Wilcoxon columns are NaN when every change is zero.
    """

    method: ClassVar[str] = "paired_change"
    contrast_columns: ClassVar[tuple[str, ...]] = PAIRED_CHANGE_COLUMNS
    test_columns: ClassVar[tuple[str, ...]] = FTEST_COLUMNS
    estimate_columns: ClassVar[tuple[str, ...]] = VISIT_EMMEANS_COLUMNS

    def tables(self) -> dict[str, pd.DataFrame]:
        """``paired_change``: the change at every follow-up visit (``results/paired_change.csv``)."""
        return {"paired_change": self.contrasts}


@lru_cache(maxsize=64)
def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of subsets of {1..n} with each rank sum 0..n(n+1)/2 (the exact null of V, times 2^n)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def signed_rank_test(change: np.ndarray) -> tuple[float, float, str]:
    """Two-sided Wilcoxon signed-rank test of changes (R ``wilcox.test(x, paired = TRUE)`` defaults).

    Returns ``(V, p, method)``: V is the sum of the ranks of the positive changes among the non-zero
    ones; ``method`` is ``exact`` (fewer than 50 pairs, no ties, no zeros) or ``normal`` (with the tie
    and continuity corrections). NaN when no change is non-zero.

    Examples
    --------
    >>> v, p, how = signed_rank_test(np.array([1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]))
    >>> float(v), round(float(p), 6), how  # datasets::sleep, as R gives it
    (45.0, 0.009091, 'normal')
    """
    x = np.asarray(change, dtype=float)
    x = x[np.isfinite(x)]
    zeros = bool((x == 0).any())
    x = x[x != 0]
    n = x.size
    if n == 0:
        return np.nan, np.nan, ""
    r = rankdata(np.abs(x))
    v = float(r[x > 0].sum())
    ties = np.unique(r).size < n
    if n < 50 and not ties and not zeros:
        counts = _signed_rank_counts(n)
        total = counts.sum()
        k = int(round(v))
        half = n * (n + 1) / 4
        tail = counts[k:].sum() if v > half else counts[: k + 1].sum()
        return v, float(min(1.0, 2.0 * tail / total)), "exact"
    _, t = np.unique(r, return_counts=True)
    z = v - n * (n + 1) / 4
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(t**3 - t) / 48)
    if not sigma > 0:
        return v, np.nan, "normal"
    z = (z - np.sign(z) * 0.5) / sigma
    return v, float(z_pvalue(z)), "normal"


def paired_change(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    visits: Sequence[str] | None = None,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
    outcomes: Sequence[str] | None = None,
    ci_level: float = 0.95,
) -> PairedChangeResult:
    """Change from baseline at every follow-up visit within each arm: mean, CI, paired t, Wilcoxon, d_z.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per participant × visit × outcome (an ``arm`` column: one arm in a
        single-arm study; each arm is analysed on its own, and never compared with another).
    baseline_visit : str
    visits : sequence of str, optional
        Visits in time order (default: natural order of the labels); every visit after the baseline is
        a follow-up.
    ci_level : float

    Returns
    -------
    PairedChangeResult

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": list("abcde") * 2, "arm": "ET",
    ...                   "visit": ["week0"] * 5 + ["week12"] * 5, "outcome": "dermis",
    ...                   "value": [1.40, 1.52, 1.31, 1.45, 1.38, 1.50, 1.60, 1.36, 1.58, 1.41]})
    >>> r = paired_change(d, baseline_visit="week0")
    >>> r.contrasts[["contrast", "n", "estimate", "df", "wilcoxon_method"]].round(3).to_dict("records")
    [{'contrast': 'week12 - week0', 'n': 5, 'estimate': 0.078, 'df': 4.0, 'wilcoxon_method': 'exact'}]
    """
    if visit not in data.columns:
        raise InputError(f"column {visit!r} not found in the data", fix="the data need a visit column")
    order = [str(v) for v in visits] if visits is not None else default_visit_order(data[visit], column=visit)
    if str(baseline_visit) not in order:
        raise InputError(
            Problem(
                f"baseline visit {baseline_visit!r} is not among the visits {order}",
                column=visit,
                value=baseline_visit,
                fix="name one of the visits",
            )
        )
    ta = trial_arrays(
        data,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        visits=order,
        arms=arms,
        outcomes=outcomes,
    )
    followups = order[order.index(str(baseline_visit)) + 1 :]
    if not followups:
        raise InputError(
            Problem(
                f"no visit after the baseline visit {baseline_visit!r} (visits: {order})",
                column=visit,
                fix="a change needs a follow-up visit after the baseline",
            )
        )
    base = ta.visit(str(baseline_visit))
    frames = []
    for a, arm_name in enumerate(ta.arms):
        rows = ta.arm_index == a
        for v in followups:
            frames.append(
                _change_rows(
                    base[rows], ta.visit(v)[rows], ta.outcomes, arm_name, v, baseline_visit, ci_level
                )
            )
    order_of = {o: k for k, o in enumerate(ta.outcomes)}
    contrasts = pd.concat(frames, ignore_index=True)
    contrasts = contrasts.sort_values("outcome", key=lambda s: s.map(order_of), kind="mergesort")
    estimates = _visit_means(ta, order, ci_level)
    return PairedChangeResult(
        contrasts=contrasts.reset_index(drop=True)[list(PAIRED_CHANGE_COLUMNS)],
        tests=empty_table(FTEST_COLUMNS),
        estimates=estimates,
        ci_level=ci_level,
    )


def _change_rows(base, follow, outcomes, arm_name, v, baseline_visit, ci_level) -> pd.DataFrame:
    """One row per outcome: the change from ``base`` (n, K) to ``follow`` (n, K), batched over outcomes."""
    d = follow - base
    ok = np.isfinite(d)
    n = ok.sum(axis=0)
    d0 = np.where(ok, d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = d0.sum(axis=0) / n
        sd = np.sqrt(np.where(ok, d0 - mean, 0.0).__pow__(2).sum(axis=0) / (n - 1))
        bmean = np.where(ok, base, 0.0).sum(axis=0) / n
        pct = 100.0 * mean / bmean
        dz = mean / sd
    status = np.where(n < 2, "too_few_observations", np.where(~(sd > 0), "constant_change", "ok"))
    good = status == "ok"
    se = np.where(good, sd / np.sqrt(np.maximum(n, 1)), np.nan)
    r = t_inference(np.where(good, mean, np.nan), se, np.where(good, n - 1.0, np.nan), ci_level=ci_level)
    wil = [signed_rank_test(d[:, k]) for k in range(d.shape[1])]  # a handful of outcomes: not a hot path
    return pd.DataFrame(
        {
            "outcome": list(outcomes),
            "contrast": f"{v} - {baseline_visit}",
            "estimate": np.where(n > 0, mean, np.nan),
            "se": se,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "df": np.where(good, n - 1.0, np.nan),
            "t": r.t,
            "p": r.p,
            "p_adj": np.nan,
            "n": n.astype(np.int64),
            "ci_level": ci_level,
            "family": "",
            "p_adj_method": "none",
            "effect_size": np.where(good, dz, np.nan),
            "effect_size_formula": D_Z,
            "status": status,
            "arm": arm_name,
            "visit": v,
            "baseline_visit": str(baseline_visit),
            "sd_change": np.where(n > 1, sd, np.nan),
            "percent_change": np.where(n > 0, pct, np.nan),
            "wilcoxon_v": [w[0] for w in wil],
            "wilcoxon_p": [w[1] for w in wil],
            "wilcoxon_method": [w[2] for w in wil],
        }
    )


def _visit_means(ta, visits: list[str], ci_level: float) -> pd.DataFrame:
    frames = []
    for a, arm_name in enumerate(ta.arms):
        rows = ta.arm_index == a
        for v in visits:
            y = ta.visit(v)[rows]
            ok = np.isfinite(y)
            n = ok.sum(axis=0)
            y0 = np.where(ok, y, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = y0.sum(axis=0) / n
                sd = np.sqrt(np.where(ok, y0 - mean, 0.0).__pow__(2).sum(axis=0) / (n - 1))
            good = n >= 2
            se = np.where(good, sd / np.sqrt(np.maximum(n, 1)), np.nan)
            df = np.where(good, n - 1.0, np.nan)
            lo, hi = t_interval(mean, se, df, ci_level)
            frames.append(
                pd.DataFrame(
                    {
                        "outcome": list(ta.outcomes),
                        "arm": arm_name,
                        "visit": v,
                        "emmean": np.where(n > 0, mean, np.nan),
                        "se": se,
                        "df": df,
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_level": ci_level,
                        "n": n.astype(np.int64),
                        "status": np.where(good, "ok", "too_few_observations"),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[list(VISIT_EMMEANS_COLUMNS)]
