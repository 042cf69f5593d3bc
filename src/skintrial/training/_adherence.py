"""Per-participant training dose: attendance, adherence, volume, intensity, progression; per-protocol set.

Definitions (per participant; all computed from the validated log of :func:`read_training`)
------------------------------------------------------------------------------------------
``sessions_planned``   ``sessions_per_week × weeks`` for an arm with a training prescription
                       (an arm that appears in the log), 0 otherwise. Withdrawals keep the full plan:
                       adherence is an intention-to-treat quantity.
``sessions_attended``  distinct (week, session) pairs with at least one training row, weeks 1..weeks
                       (every session logged: extra sessions are real training and count in volume).
``adherence``          ``min(sessions_attended, sessions_planned) / sessions_planned`` (a fraction,
                       capped at 1; NaN without a plan). A make-up session after a missed one counts.
``sessions_beyond_plan``  ``max(0, sessions_attended − sessions_planned)``: sessions the cap leaves out
                       of adherence (with no plan, every session attended).
``weeks_over_prescription``  weeks with more sessions than ``sessions_per_week`` (make-ups, extra
                       sessions, or a session entered twice under two numbers: worth checking).
``volume_load_kg``     Σ sets × reps × load_kg over all resistance rows (kg lifted in total).
``volume_load_per_session_kg``  ``volume_load_kg / sessions_attended`` (resistance participants).
``aerobic_minutes``    Σ duration_min over aerobic rows.
``mean_relative_intensity``  resistance: mean over rows of ``100 × load_kg / 1RM`` with the most
                       recent 1RM test of that exercise at or before the session (the first test when
                       none precedes it); aerobic: mean over sessions of ``100 × hr_mean / HRpeak``,
                       HRpeak the peak heart rate of the most recent VO2peak test, else the
                       age-predicted maximum 208 − 0.7 × age (Tanaka, Monahan & Seals 2001).
                       ``relative_intensity_measure`` says which: ``pct_1rm``, ``pct_hrpeak`` or
                       ``pct_hrmax_age_predicted``.
``load_progression_pct``  mean over exercises of ``100 × (mean load in the last week trained /
                       mean load in the first week trained − 1)``.
``strength_change_pct``   mean over exercises of ``100 × (last 1RM / first 1RM − 1)`` (two tests or more).
``vo2peak_change_pct``    ``100 × (last VO2peak / first VO2peak − 1)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["SUMMARY_COLUMNS", "PER_PROTOCOL_COLUMNS", "training_summary", "per_protocol_set"]

SUMMARY_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "arm",
    "status",
    "modality",
    "sessions_planned",
    "sessions_attended",
    "adherence",
    "sessions_beyond_plan",
    "weeks_over_prescription",
    "last_week_trained",
    "volume_load_kg",
    "volume_load_per_session_kg",
    "aerobic_minutes",
    "mean_relative_intensity",
    "relative_intensity_measure",
    "load_progression_pct",
    "strength_baseline_kg",
    "strength_change_pct",
    "vo2peak_baseline",
    "vo2peak_change_pct",
)
PER_PROTOCOL_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "arm",
    "adherence",
    "min_adherence",
    "per_protocol",
    "reason",
)


def _latest_test(rows: pd.DataFrame, tests: pd.DataFrame, keys: list[str]) -> pd.Series:
    """For each row, the value of the most recent test (same keys) at or before its week, else the first."""
    if rows.empty or tests.empty:
        return pd.Series(np.nan, index=rows.index)
    t = tests.sort_values("week")[[*keys, "week", "ref"]].rename(columns={"week": "t_week"})
    r = rows[[*keys, "week"]].reset_index().sort_values("week")
    back = pd.merge_asof(r, t, left_on="week", right_on="t_week", by=keys, direction="backward")
    fwd = pd.merge_asof(r, t, left_on="week", right_on="t_week", by=keys, direction="forward")
    ref = back["ref"].fillna(fwd["ref"])
    return pd.Series(ref.to_numpy(), index=back["index"].to_numpy()).reindex(rows.index)


def _intensity(log: pd.DataFrame, age: pd.Series) -> pd.DataFrame:
    res = log[log["modality"] == "resistance"]
    aer = log[log["modality"] == "aerobic"]
    tests = log[log["modality"] == "test"]
    one_rm = tests[tests["test"] == "one_rm"].assign(ref=lambda d: d["test_value"])
    pct_rm = 100.0 * res["load_kg"] / _latest_test(res, one_rm, ["participant_id", "exercise"])
    vo2 = tests[(tests["test"] == "vo2peak") & tests["hr_peak"].notna()].assign(ref=lambda d: d["hr_peak"])
    hr_ref = _latest_test(aer, vo2, ["participant_id"])
    measured = hr_ref.notna()
    predicted = 208.0 - 0.7 * aer["participant_id"].map(age).astype(float)
    pct_hr = 100.0 * aer["hr_mean"] / hr_ref.fillna(predicted)
    parts = [
        pd.DataFrame({"participant_id": res["participant_id"], "value": pct_rm, "measure": "pct_1rm"}),
        pd.DataFrame(
            {
                "participant_id": aer["participant_id"],
                "value": pct_hr,
                "measure": np.where(measured, "pct_hrpeak", "pct_hrmax_age_predicted"),
            }
        ),
    ]
    both = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if both is None:
        return pd.DataFrame(columns=["mean_relative_intensity", "relative_intensity_measure"])
    return both.groupby("participant_id").agg(
        mean_relative_intensity=("value", "mean"),
        relative_intensity_measure=("measure", lambda s: s.mode().iat[0]),
    )


def _progression(log: pd.DataFrame) -> pd.DataFrame:
    res = log[(log["modality"] == "resistance") & (log["load_kg"] > 0)]
    weekly = res.groupby(["participant_id", "exercise", "week"])["load_kg"].mean().reset_index()
    g = weekly.sort_values("week").groupby(["participant_id", "exercise"])["load_kg"]
    prog = (
        (100.0 * (g.last() / g.first() - 1.0)).groupby("participant_id").mean().rename("load_progression_pct")
    )
    tests = log[log["modality"] == "test"].sort_values("week")
    rm = tests[tests["test"] == "one_rm"].groupby(["participant_id", "exercise"])["test_value"]
    two = rm.count() >= 2
    first, last = rm.first(), rm.last()
    strength = pd.DataFrame(
        {
            "strength_baseline_kg": first.groupby("participant_id").sum(),
            "strength_change_pct": (100.0 * (last / first - 1.0))[two].groupby("participant_id").mean(),
        }
    )
    vo = tests[tests["test"] == "vo2peak"].groupby("participant_id")["test_value"]
    vo2 = pd.DataFrame(
        {
            "vo2peak_baseline": vo.first(),
            "vo2peak_change_pct": (100.0 * (vo.last() / vo.first() - 1.0)).where(vo.count() >= 2),
        }
    )
    return pd.concat([prog, strength, vo2], axis=1)


def training_summary(
    log: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    sessions_per_week: int = 2,
    weeks: int = 16,
    training_arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-participant attendance, adherence, volume, intensity and progression (module notes).

    Parameters
    ----------
    log : DataFrame
        A validated log (:func:`read_training` / :func:`validate_training`).
    participants : DataFrame
        ``participant_id, arm`` (``age`` and ``status`` used when present). Every participant gets a
        row, also those who never trained.
    sessions_per_week, weeks : int
        The planned dose (``[training]`` in study.toml).
    training_arms : sequence of str, optional
        Arms with a training prescription; by default the arms of participants who appear in the
        log with training rows.

    Returns
    -------
    DataFrame
        One row per participant, columns :data:`SUMMARY_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skintrial.plan._sim_training import simulate_training
    >>> p = pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "arm": ["AT", "RT", "CON"], "age": [45, 52, 58]})
    >>> s = training_summary(simulate_training(p, seed=1), p)
    >>> s[["participant_id", "sessions_attended", "adherence", "relative_intensity_measure"]].round(3)
      participant_id  sessions_attended  adherence relative_intensity_measure
    0             P1                 28      0.875                 pct_hrpeak
    1             P2                 26      0.812                    pct_1rm
    2             P3                  0        NaN                        NaN
    """
    if int(sessions_per_week) < 1 or int(weeks) < 1:
        raise InputError(
            Problem(
                "sessions_per_week and weeks must be positive",
                column="[training]",
                fix="set [training] sessions_per_week and weeks in study.toml",
            )
        )
    p = participants.assign(participant_id=participants["participant_id"].astype(str)).drop_duplicates(
        "participant_id"
    )
    log = log.assign(participant_id=log["participant_id"].astype(str))
    age = (
        pd.to_numeric(p.set_index("participant_id")["age"], errors="coerce")
        if "age" in p
        else pd.Series(dtype=float)
    )
    train = log[log["modality"].isin(("resistance", "aerobic"))]
    arm_of = p.set_index("participant_id")["arm"].astype(str)
    arms = (
        set(training_arms)
        if training_arms is not None
        else set(arm_of.reindex(train["participant_id"]).dropna())
    )
    in_plan = train[train["week"].between(1, weeks)]
    sessions = in_plan.drop_duplicates(["participant_id", "week", "session"])
    vol = (train["sets"] * train["reps"] * train["load_kg"]).where(train["modality"] == "resistance")
    out = pd.DataFrame(index=pd.Index(p["participant_id"], name="participant_id"))
    out["arm"] = arm_of
    out["status"] = p.set_index("participant_id")["status"] if "status" in p else "completed"
    out["modality"] = train.groupby("participant_id")["modality"].agg(lambda s: s.mode().iat[0])
    out["sessions_planned"] = np.where(out["arm"].isin(arms), int(sessions_per_week) * int(weeks), 0)
    out["sessions_attended"] = (
        sessions.groupby("participant_id").size().reindex(out.index).fillna(0).astype(int)
    )
    planned, attended = out["sessions_planned"], out["sessions_attended"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["adherence"] = np.where(planned > 0, np.minimum(attended, planned) / planned, np.nan)
    out["sessions_beyond_plan"] = (attended - planned).clip(lower=0).astype(int)
    per_week = sessions.groupby(["participant_id", "week"]).size()
    over = (per_week > int(sessions_per_week)).groupby(level="participant_id").sum()
    out["weeks_over_prescription"] = over.reindex(out.index).fillna(0).astype(int)
    out["last_week_trained"] = train.groupby("participant_id")["week"].max()
    out["volume_load_kg"] = (
        vol.groupby(train["participant_id"]).sum(min_count=1).reindex(out.index).fillna(0.0)
    )
    res_sessions = sessions[sessions["modality"] == "resistance"].groupby("participant_id").size()
    out["volume_load_per_session_kg"] = out["volume_load_kg"] / res_sessions.reindex(out.index)
    aer = train[train["modality"] == "aerobic"]
    out["aerobic_minutes"] = (
        aer.groupby("participant_id")["duration_min"].sum().reindex(out.index).fillna(0.0)
    )
    out = out.join(_intensity(log, age)).join(_progression(log))
    out = out.reset_index()
    for c in SUMMARY_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    return out[list(SUMMARY_COLUMNS)]


def per_protocol_set(summary: pd.DataFrame, *, min_adherence: float = 0.8) -> pd.DataFrame:
    """Who is in the per-protocol set: completers who attended at least ``min_adherence`` of the plan.

    Participants of an arm without a training prescription (the control arm) are in the set when
    they completed; withdrawn participants never are. The rule is declared in study.toml as
    ``[analysis] per_protocol_min_adherence`` and used for a sensitivity analysis beside the
    intention-to-treat primary analysis.

    Returns
    -------
    DataFrame
        One row per participant, columns :data:`PER_PROTOCOL_COLUMNS`; ``reason`` says why a
        participant is out (or ``""``).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"participant_id": ["a", "b", "c", "d"], "arm": ["AT", "AT", "CON", "RT"],
    ...                   "status": ["completed", "completed", "completed", "withdrawn"],
    ...                   "adherence": [0.9, 0.7, float("nan"), 0.95]})
    >>> per_protocol_set(s, min_adherence=0.8)[["per_protocol", "reason"]].to_dict("list")
    {'per_protocol': [True, False, True, False], 'reason': ['', 'adherence below 80.0 %', 'no training prescribed', 'withdrawn']}
    """
    if not 0 <= float(min_adherence) <= 1:
        raise InputError(
            Problem(
                "per_protocol_min_adherence must be a fraction between 0 and 1",
                column="[analysis] per_protocol_min_adherence",
                value=min_adherence,
                fix="write 0.8 for 80 %",
            )
        )
    adh = summary["adherence"].astype(float)
    status = (
        summary["status"].astype(str) if "status" in summary else pd.Series("completed", index=summary.index)
    )
    withdrawn = status == "withdrawn"
    no_plan = adh.isna()
    low = ~no_plan & (adh < float(min_adherence) - 1e-12)
    reason = np.select(
        [withdrawn, low, no_plan],
        ["withdrawn", f"adherence below {100 * min_adherence:.1f} %", "no training prescribed"],
        "",
    )
    out = pd.DataFrame(
        {
            "participant_id": summary["participant_id"],
            "arm": summary["arm"],
            "adherence": adh,
            "min_adherence": float(min_adherence),
            "per_protocol": ~withdrawn & ~low,
            "reason": reason,
        }
    )
    return out[list(PER_PROTOCOL_COLUMNS)].reset_index(drop=True)
