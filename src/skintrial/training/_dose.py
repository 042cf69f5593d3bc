"""Dose–response: does more training go with more skin change?

For each skin outcome *k* and dose measure *d* (a column of :func:`training_summary`), among the
participants with a training prescription::

    followup_ik = b0 + b_arm(i) + b_base * baseline_ik + b_dose * dose_id + e_ik

``b_dose`` is the change in the outcome per unit of dose, adjusted for baseline and arm (the slope of
change on dose is the same number: with the baseline in the model, follow-up and change differ by a
term the baseline absorbs). Adjusting for arm keeps the comparison *within* arms, so a dose measure
that differs between arms by design (volume load is zero in the aerobic arm) is not confounded with
the arm effect. The per-arm rows fit the same model within each arm (without the arm term).

Which arms are pooled (``arm == "all"``): for each dose measure, the arms in which the dose is
observed *and varies* (two or more distinct values); a dose fixed within an arm (volume load 0 in
the aerobic arm) says nothing about the slope there. They are pooled only if the dose is on the same
scale in all of them: ``mean_relative_intensity`` is %HRpeak (or age-predicted %HRmax, the same
heart-rate scale) in aerobic training and %1RM in resistance training (``relative_intensity_measure``
in the summary), and one slope across two scales means nothing. Otherwise the pooled row is kept with
NaN estimates and ``status`` ``not_pooled_scales_differ`` or ``not_pooled_one_arm`` (the dose varies
in fewer than two arms: read the per-arm rows).

``dose_sd`` (and so ``estimate_per_sd``) is the SD of the dose the slope is estimated from: within
one arm, the dose's SD there; for a pooled arm-adjusted row, the pooled *within-arm* SD
``sqrt(Σ_g Σ_i (d_i − d̄_g)² / (n − G))`` (the residual SD of dose on arm), not the total SD, which
the difference between the arms' mean doses would inflate.

Every outcome × dose measure × arm is a column of one :func:`skintrial.stats.fit_ols` call with
``Z`` = [that outcome's baseline, that dose]; the pooled fits are one call per set of arms pooled. A
dose that does not vary within an arm gives ``status = rank_deficient`` for that arm's row. This is
an observational (non-randomised) association: dose is not allocated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats import default_visit_order, fit_ols, followup_visit_of

__all__ = ["DOSE_COLUMNS", "DOSE_DATA_COLUMNS", "DOSE_MEASURES", "dose_response", "dose_response_data"]

DOSE_MEASURES: tuple[str, ...] = (
    "adherence",
    "sessions_attended",
    "volume_load_kg",
    "aerobic_minutes",
    "mean_relative_intensity",
)
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
DOSE_DATA_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "arm",
    "outcome",
    "dose_measure",
    "dose",
    "baseline",
    "followup",
    "change",
)
DOSE_SCALE_COLUMNS: dict[str, str] = {"mean_relative_intensity": "relative_intensity_measure"}
"""Dose measures whose scale differs between participants, and the summary column naming it."""
_SAME_SCALE = {"pct_hrpeak": "pct_heart_rate_max", "pct_hrmax_age_predicted": "pct_heart_rate_max"}


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
    the table the dose–response figure draws. ``followup_visit`` may be left out only when the data
    have one visit besides the baseline (:func:`skintrial.stats.followup_visit_of`;
    :func:`analyse_training` passes the study's last declared visit).
    """
    if dose_measures is None:
        dose_measures = [d for d in DOSE_MEASURES if d in summary.columns]
    absent = [c for c in (subject, visit, outcome, value) if c not in data.columns]
    unknown = [d for d in dose_measures if d not in summary.columns]
    if absent or unknown:
        raise InputError(
            Problem(
                f"missing column(s) {absent + unknown}",
                fix=f"measurements need {subject, visit, outcome, value}; dose measures are "
                f"columns of training_summary: {', '.join(DOSE_MEASURES)}",
            )
        )
    baseline_visit = str(baseline_visit)
    followup_visit = followup_visit_of(
        default_visit_order(data[visit], column=visit), baseline_visit, followup_visit, column=visit
    )
    d = data.assign(**{subject: data[subject].astype(str), visit: data[visit].astype(str)})
    wide = d[d[visit].isin([baseline_visit, followup_visit])].pivot_table(
        index=[subject, outcome], columns=visit, values=value, aggfunc="mean"
    )
    wide = wide.reindex(columns=[baseline_visit, followup_visit])
    wide.columns = ["baseline", "followup"]
    wide = wide.reset_index().rename(columns={subject: "participant_id", outcome: "outcome"})
    s = summary[summary["sessions_planned"] > 0].assign(
        participant_id=lambda x: x["participant_id"].astype(str)
    )
    dose = s.melt(
        id_vars=["participant_id", "arm"],
        value_vars=list(dose_measures),
        var_name="dose_measure",
        value_name="dose",
    )
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
    groups = (
        (arm_of.to_numpy()[:, None] == np.asarray(arms)[None, :]).astype(float)
        if adjust_arm
        else np.ones((n, 1))
    )
    dose_sd = _within_sd(D, used, groups)
    return pd.DataFrame(
        {
            "outcome": [k[0] for k in keys],
            "dose_measure": [k[1] for k in keys],
            "arm": [k[2] for k in keys],
            "estimate": con.estimate[:, 0],
            "se": con.se[:, 0],
            "ci_low": lo[:, 0],
            "ci_high": hi[:, 0],
            "ci_level": ci_level,
            "df": con.df[:, 0],
            "t": con.t[:, 0],
            "p": con.p[:, 0],
            "n": fit.n,
            "dose_sd": dose_sd,
            "estimate_per_sd": con.estimate[:, 0] * dose_sd,
            "status": fit.status,
        }
    )


def _within_sd(D: np.ndarray, used: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per column, the SD of D around its group means among used rows, df = n − groups present, (C,)."""
    Dm = np.where(used, D, 0.0)
    count = groups.T @ used  # (G, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (groups.T @ Dm) / count
    resid = np.where(used, Dm - groups @ np.nan_to_num(mean), 0.0)
    df = used.sum(axis=0) - (count > 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(df > 0, np.sqrt((resid**2).sum(axis=0) / np.maximum(df, 1)), np.nan)


def _pooling(long: pd.DataFrame, summary: pd.DataFrame, measures: Sequence[str]) -> dict[str, tuple]:
    """{measure: (arms pooled, "ok") or ((), status)}: the arms where the dose varies, on one common scale."""
    per = long[np.isfinite(long["dose"])].drop_duplicates(["participant_id", "dose_measure"])
    out = {}
    for m in measures:
        d = per[per["dose_measure"] == m]
        varies = d.groupby("arm")["dose"].nunique()
        arms = tuple(sorted(varies.index[varies >= 2].astype(str)))
        if len(arms) < 2:
            out[m] = ((), "not_pooled_one_arm")
            continue
        d = d[d["arm"].isin(arms)]
        col = DOSE_SCALE_COLUMNS.get(m)
        if col is None:
            out[m] = (arms, "ok")
            continue
        if col in summary.columns:
            sc = summary.assign(participant_id=summary["participant_id"].astype(str)).set_index(
                "participant_id"
            )[col]
            scale = d["participant_id"].map(sc).map(lambda v: _SAME_SCALE.get(v, v))
        else:
            scale = d["arm"]  # the scale is not stated: assume it is the arm's own
        out[m] = (arms, "ok") if scale.nunique(dropna=False) == 1 else ((), "not_pooled_scales_differ")
    return out


def _not_pooled(
    outcomes: list[str], measures: list[str], status: dict[str, str], ci_level: float
) -> pd.DataFrame:
    keys = [(o, m) for o in outcomes for m in measures]
    nan = np.full(len(keys), np.nan)
    return pd.DataFrame(
        {
            "outcome": [k[0] for k in keys],
            "dose_measure": [k[1] for k in keys],
            "arm": "all",
            "estimate": nan,
            "se": nan,
            "ci_low": nan,
            "ci_high": nan,
            "ci_level": ci_level,
            "df": nan,
            "t": nan,
            "p": nan,
            "n": np.zeros(len(keys), dtype=int),
            "dose_sd": nan,
            "estimate_per_sd": nan,
            "status": [status[k[1]] for k in keys],
        }
    )


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
        ``followup_visit`` is required when the data have more than one visit besides the baseline
        (:func:`skintrial.stats.followup_visit_of`: which visit is the endpoint is pre-specified).
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
        adherence), ``estimate_per_sd`` per within-arm SD of the dose among those analysed. Pooled
        rows only over arms where the dose varies, on one scale (module notes; else a ``not_pooled_*``
        status).

    Notes
    -----
    Checked against statsmodels OLS (``followup ~ baseline + dose + C(arm)``) in
    ``tests/training/test_dose.py``.
    """
    long = dose_response_data(
        data,
        summary,
        baseline_visit=baseline_visit,
        followup_visit=followup_visit,
        dose_measures=dose_measures,
        outcome=outcome,
        value=value,
        visit=visit,
        subject=subject,
    )
    if long.empty:
        return pd.DataFrame(columns=list(DOSE_COLUMNS))
    if dose_measures is None:
        dose_measures = [d for d in DOSE_MEASURES if d in summary.columns]
    outcomes = list(dict.fromkeys(long["outcome"]))
    arms_all = sorted(long["arm"].astype(str).unique())
    pool = _pooling(long, summary, dose_measures)
    parts = []
    for arms in sorted(
        {a for a, st in pool.values() if st == "ok"}
    ):  # one engine call per set of arms pooled
        measures = [m for m in dose_measures if pool[m] == (arms, "ok")]
        keys = [(o, m, "all") for o in outcomes for m in measures]
        parts.append(_fit_columns(long, keys, list(arms), adjust_arm, ci_level))
    refused = [m for m in dose_measures if pool[m][1] != "ok"]
    if refused:
        parts.append(_not_pooled(outcomes, refused, {m: pool[m][1] for m in refused}, ci_level))
    if by_arm:
        keys = [(o, m, a) for o in outcomes for m in dose_measures for a in arms_all]
        parts.append(_fit_columns(long, keys, arms_all, False, ci_level))
    out = pd.concat(parts, ignore_index=True)
    order = {(o, m): i for i, (o, m) in enumerate((o, m) for o in outcomes for m in dose_measures)}
    out["_k"] = [order[(o, m)] for o, m in zip(out["outcome"], out["dose_measure"], strict=True)]
    out["_a"] = (out["arm"] != "all").astype(int)
    out = out.sort_values(["_k", "_a", "arm"], kind="mergesort")
    return out[list(DOSE_COLUMNS)].reset_index(drop=True)
