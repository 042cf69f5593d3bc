"""Dose–response: does more training go with more skin change?

For each skin outcome *k* and dose measure *d* (a column of :func:`training_summary`), among the
participants with a training prescription::

    followup_ik = b0 + b_arm(i) + b_base * baseline_ik + b_dose * dose_id + e_ik

``b_dose`` is the change in the outcome per unit of dose, adjusted for baseline and arm (the slope of
change on dose is the same number: with the baseline in the model, follow-up and change differ by a
term the baseline absorbs). Adjusting for arm keeps the comparison *within* arms, so a dose measure
that differs between arms by design (volume load is zero in the aerobic arm) is not confounded with
the arm effect. The per-arm rows fit the same model within each arm (without the arm term).

Every outcome × dose measure × arm is a column of one :func:`skintrial.stats.fit_ols` call with
``Z`` = [that outcome's baseline, that dose]; the pooled fits are one call per set of arms in which
the dose is observed. A dose that does not vary within an arm gives ``status = rank_deficient`` for
that arm's row. This is an observational (non-randomised) association: dose is not allocated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._engine import fit_ols

__all__ = ["DOSE_COLUMNS", "DOSE_DATA_COLUMNS", "DOSE_MEASURES", "dose_response", "dose_response_data"]

DOSE_MEASURES: tuple[str, ...] = ("adherence", "sessions_attended", "volume_load_kg", "aerobic_minutes",
                                  "mean_relative_intensity")
DOSE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "dose_measure",
    "arm",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_level",
    "df",
    "t",
    "p",
    "n",
    "dose_sd",
    "estimate_per_sd",
    "status",
)
DOSE_DATA_COLUMNS: tuple[str, ...] = ("participant_id", "arm", "outcome", "dose_measure", "dose", "baseline",
                                      "followup", "change")


def dose_response_data(
    data: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    dose_measures: Sequence[str] | None = None,
    outcome: str = "outcome",
    value: str = "value",
    visit: str = "visit",
    subject: str = "participant_id",
) -> pd.DataFrame:
    """Per participant, outcome and dose measure: the dose, baseline, follow-up and change.

    Only participants with a training prescription (``sessions_planned > 0``) are included. This is
    the table the dose–response figure draws.
    """
    if dose_measures is None:
        dose_measures = [d for d in DOSE_MEASURES if d in summary.columns]
    absent = [c for c in (subject, visit, outcome, value) if c not in data.columns]
    unknown = [d for d in dose_measures if d not in summary.columns]
    if absent or unknown:
        raise InputError(Problem(f"missing column(s) {absent + unknown}",
                                 fix=f"measurements need {subject, visit, outcome, value}; dose measures are "
                                     f"columns of training_summary: {', '.join(DOSE_MEASURES)}"))
    visits = [v for v in pd.unique(data[visit].astype(str)) if v != baseline_visit]
    if followup_visit is None:
        if not visits:
            raise InputError(Problem("no follow-up visit in the measurements", column=visit))
        followup_visit = sorted(visits)[-1]
    d = data.assign(**{subject: data[subject].astype(str), visit: data[visit].astype(str)})
    wide = d[d[visit].isin([baseline_visit, followup_visit])].pivot_table(
        index=[subject, outcome], columns=visit, values=value, aggfunc="mean")
    wide = wide.reindex(columns=[baseline_visit, followup_visit])
    wide.columns = ["baseline", "followup"]
    wide = wide.reset_index().rename(columns={subject: "participant_id", outcome: "outcome"})
    s = summary[summary["sessions_planned"] > 0].assign(participant_id=lambda x: x["participant_id"].astype(str))
    dose = s.melt(id_vars=["participant_id", "arm"], value_vars=list(dose_measures), var_name="dose_measure",
                  value_name="dose")
    out = dose.merge(wide, on="participant_id", how="inner")
    out["dose"] = out["dose"].astype(float)
    out["change"] = out["followup"] - out["baseline"]
    out = out.sort_values(["outcome", "dose_measure", "arm", "participant_id"], kind="mergesort")
    return out[list(DOSE_DATA_COLUMNS)].reset_index(drop=True)


def _fit_columns(long: pd.DataFrame, keys: list[tuple], arms: list[str], adjust_arm: bool, ci_level: float):
    """One engine call: columns = keys (outcome, dose_measure, arm_label), rows = participants."""
    subjects = np.asarray(sorted(long["participant_id"].unique()))
    idx = long.set_index(["outcome", "dose_measure", "participant_id"])
    arm_of = long.drop_duplicates("participant_id").set_index("participant_id")["arm"].reindex(subjects)
    n, C = subjects.size, len(keys)
    Y, B, D = (np.full((n, C), np.nan) for _ in range(3))
    mask = np.zeros((n, C), dtype=bool)
    for c, (o, dm, a) in enumerate(keys):  # a loop over columns to *assemble* arrays, not to fit
        sub = idx.loc[(o, dm)].reindex(subjects)
        Y[:, c], B[:, c], D[:, c] = sub["followup"], sub["baseline"], sub["dose"]
        mask[:, c] = arm_of.isin(arms).to_numpy() if a == "all" else (arm_of == a).to_numpy()
    cols = [np.ones(n)]
    if adjust_arm:
        cols += [(arm_of == a).to_numpy(float) for a in arms[1:]]
    X = np.column_stack(cols)
    fit = fit_ols(X, Y, Z=np.stack([B, D], axis=2), mask=mask)
    L = np.zeros((1, fit.coef.shape[1]))
    L[0, -1] = 1.0
    con = fit.contrast(L)
    lo, hi = con.ci(ci_level)
    used = mask & np.isfinite(Y) & np.isfinite(B) & np.isfinite(D)
    dose_sd = np.array([np.std(D[used[:, c], c], ddof=1) if used[:, c].sum() > 1 else np.nan for c in range(C)])
    return pd.DataFrame({
        "outcome": [k[0] for k in keys], "dose_measure": [k[1] for k in keys], "arm": [k[2] for k in keys],
        "estimate": con.estimate[:, 0], "se": con.se[:, 0], "ci_low": lo[:, 0], "ci_high": hi[:, 0],
        "ci_level": ci_level, "df": con.df[:, 0], "t": con.t[:, 0], "p": con.p[:, 0], "n": fit.n,
        "dose_sd": dose_sd, "estimate_per_sd": con.estimate[:, 0] * dose_sd, "status": fit.status,
    })


def dose_response(
    data: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    dose_measures: Sequence[str] | None = None,
    adjust_arm: bool = True,
    by_arm: bool = True,
    ci_level: float = 0.95,
    outcome: str = "outcome",
    value: str = "value",
    visit: str = "visit",
    subject: str = "participant_id",
) -> pd.DataFrame:
    """Slope of skin change on training dose, adjusted for baseline (and arm), for every outcome.

    Parameters
    ----------
    data : DataFrame
        Long measurements: ``participant_id, visit, outcome, value``.
    summary : DataFrame
        :func:`training_summary` (gives the arm and the doses).
    baseline_visit, followup_visit : str
    dose_measures : sequence of str, optional
        Columns of the summary used as doses; by default those of :data:`DOSE_MEASURES` present.
    adjust_arm : bool
        Include arm in the pooled model (recommended: the comparison stays within arms).
    by_arm : bool
        Add one row per arm (the slope within that arm).
    ci_level : float

    Returns
    -------
    DataFrame
        One row per outcome × dose measure × arm (``"all"`` for the pooled model), columns
        :data:`DOSE_COLUMNS`. ``estimate`` is per unit of dose (per session, per kg, per fraction of
        adherence), ``estimate_per_sd`` per SD of the dose among those analysed.

    Notes
    -----
    Checked against statsmodels OLS (``followup ~ baseline + dose + C(arm)``) in
    ``tests/training/test_dose.py``.
    """
    long = dose_response_data(data, summary, baseline_visit=baseline_visit, followup_visit=followup_visit,
                              dose_measures=dose_measures, outcome=outcome, value=value, visit=visit,
                              subject=subject)
    if long.empty:
        return pd.DataFrame(columns=list(DOSE_COLUMNS))
    if dose_measures is None:
        dose_measures = [d for d in DOSE_MEASURES if d in summary.columns]
    outcomes = list(dict.fromkeys(long["outcome"]))
    arms_all = sorted(long["arm"].astype(str).unique())
    seen = long[np.isfinite(long["dose"])].groupby("dose_measure")["arm"].agg(lambda s: tuple(sorted(set(s))))
    parts = []
    for arms in sorted(set(seen)):  # one engine call per set of arms in which the doses are observed
        measures = [m for m in dose_measures if seen.get(m) == arms]
        keys = [(o, m, "all") for o in outcomes for m in measures]
        parts.append(_fit_columns(long, keys, list(arms), adjust_arm, ci_level))
    if by_arm:
        keys = [(o, m, a) for o in outcomes for m in dose_measures for a in arms_all]
        parts.append(_fit_columns(long, keys, arms_all, False, ci_level))
    out = pd.concat(parts, ignore_index=True)
    order = {(o, m): i for i, (o, m) in enumerate((o, m) for o in outcomes for m in dose_measures)}
    out["_k"] = [order[(o, m)] for o, m in zip(out["outcome"], out["dose_measure"], strict=True)]
    out["_a"] = (out["arm"] != "all").astype(int)
    out = out.sort_values(["_k", "_a", "arm"], kind="mergesort")
    return out[list(DOSE_COLUMNS)].reset_index(drop=True)
