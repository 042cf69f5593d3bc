"""Synthetic training logs: the supervised sessions of the aerobic (AT) and resistance (RT) arms.

The protocols are those of Nishikori et al. 2023 as documented in ``reference/paper.md`` §1: two
supervised sessions a week for 16 weeks (32 sessions);

* **AT** — stationary cycle, 30 min at 65–70 % of peak heart rate (warm-up/cool-down not logged);
* **RT** — six machines (leg curl, leg extension, arm curl, rowing, shoulder press, chest press),
  3 sets × 10 repetitions, the load set from a pre-study test and raised during the intervention.

What is *our assumption* (the paper reports none of it): the starting load (60 % of the tested 1RM),
the load progression (+35 % ± 10 % over the programme, in steps of the machine's weight plates:
1 kg below a 25 kg 1RM, else 2.5 kg), the baseline 1RM of each machine for women aged 41–59, the
VO2peak (26 − 0.15 (age − 50) ± 4 mL/kg/min) and the training effects on the tests (RT: 1RM +25 %,
VO2peak +3 %; AT: 1RM +5 %, VO2peak +9 %; controls: none), the attendance (each participant's
probability of attending a session drawn from Beta(18, 2.5), mean 0.88), and that withdrawn
participants stop training at a week drawn uniformly after their last attended visit.

Every participant, in every arm, has the fitness tests at week 0 (1RM on the six machines; VO2peak
on a cycle ergometer with the peak heart rate reached, HRpeak ≈ 208 − 0.7 age (Tanaka 2001) ± 7 bpm);
completers are tested again at the end (week = ``weeks``). Arms without a protocol (the control arm)
log no sessions.

Given the participants' ``measurements`` (as in a study bundle), the log's tests *are* those
measurements: the chest-press 1RM and the VO2peak at the first and last visit are written as measured
(one test, recorded in both files). The other five machines' 1RMs keep their drawn ratio to the
chest press (the machine's typical 1RM relative to the chest press's, ± 8 %), so they follow the
participant's measured strength and its change. Without measurements the tests are drawn as above.
:func:`simulate_attendance` gives the sessions attended that :func:`simulate_training` will log for the same
participants and seed, before the log is made (the synthetic study draws a dose effect from it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan._calibration import values as _calibration_values
from skintrial.training import TRAINING_COLUMNS

__all__ = ["simulate_training", "simulate_attendance", "RT_MACHINES", "DEFAULT_PROTOCOLS", "attendance_beta"]

RT_MACHINES: dict[str, float] = {  # baseline 1RM (kg) of a 50-year-old woman: our assumption
    "leg_curl": 30.0,
    "leg_extension": 35.0,
    "arm_curl": 12.0,
    "rowing": 30.0,
    "shoulder_press": 18.0,
    "chest_press": 25.0,
}
DEFAULT_PROTOCOLS: dict[str, str] = {"AT": "aerobic", "RT": "resistance"}
_GAIN_1RM = {"resistance": (0.25, 0.08), "aerobic": (0.05, 0.05), None: (0.0, 0.04)}
_GAIN_VO2 = {"resistance": (0.03, 0.05), "aerobic": (0.09, 0.06), None: (0.0, 0.04)}
_START = np.datetime64("2023-01-09")
_SPAWN = 0x7261696E


def attendance_beta() -> tuple[float, float]:
    """Beta(a, b) of each participant's probability of attending a session (mean a / (a + b) = 0.878): our
    assumption, in the calibration table (docs/calibration.md) as ``training.attendance_a`` / ``_b``.

    Read from the table when a log is simulated, not at import (a dict of the table: no cache needed).
    """
    cal = _calibration_values()
    return cal["training.attendance_a"], cal["training.attendance_b"]


def _week_of(visit: object) -> float:
    m = re.search(r"(\d+)", str(visit)) if visit is not None else None
    return float(m.group(1)) if m else 0.0


def _check(participants: pd.DataFrame, weeks: int, sessions_per_week: int) -> None:
    probs = []
    missing = [c for c in ("participant_id", "arm") if c not in participants.columns]
    if missing:
        probs.append(
            Problem(
                f"participants table lacks column(s) {missing}",
                file="participants.csv",
                row=1,
                fix="give participant_id and arm",
            )
        )
    if int(weeks) < 2 or int(sessions_per_week) < 1:
        probs.append(Problem("weeks must be at least 2 and sessions_per_week at least 1", column="weeks"))
    InputError.collect(probs)


def _attendance(rng, p: pd.DataFrame, weeks: int, spw: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, weeks, spw) boolean: attended; withdrawn participants stop at a random week."""
    n = len(p)
    propensity = rng.beta(*attendance_beta(), size=n)
    att = rng.random((n, weeks, spw)) < propensity[:, None, None]
    withdrawn = (p["status"].astype(str) == "withdrawn").to_numpy() if "status" in p else np.zeros(n, bool)
    wv = p["withdrawal_visit"] if "withdrawal_visit" in p else pd.Series([None] * n)
    last = np.array([_week_of(v) for v in wv])
    lo = np.clip(last, 0, weeks - 2).astype(int) + 1
    stop = rng.integers(lo, weeks)  # last week trained, before the end
    week_no = np.arange(1, weeks + 1)
    active = ~withdrawn[:, None] | (week_no[None, :] <= stop[:, None])
    return att & active[:, :, None], withdrawn


def _measured(p: pd.DataFrame, measurements: pd.DataFrame | None, outcome: str, visit: str) -> np.ndarray:
    """Each participant's measured value of one outcome at one visit (NaN where not measured)."""
    if measurements is None:
        return np.full(len(p), np.nan)
    m = measurements[(measurements["outcome"] == outcome) & (measurements["visit"].astype(str) == visit)]
    values = m.drop_duplicates("participant_id").set_index("participant_id")["value"].astype(float)
    return values.reindex(p["participant_id"]).to_numpy()


def _anchor(rm: np.ndarray, chest: np.ndarray, j: int) -> np.ndarray:
    """Scale each row of 1RMs so that machine j equals the measured chest press (rows without one unchanged)."""
    factor = np.where(np.isfinite(chest), chest / rm[:, j], 1.0)
    return rm * factor[:, None]


def _tests(rng, p, protocol, withdrawn, weeks, age, offset, measurements=None, visits=("week0", "week16")):
    n = len(p)
    strength = np.exp(rng.normal(0.0, 0.2, n)) * (1.0 - 0.01 * (age - 50.0))
    machines = np.array(list(RT_MACHINES.values()))
    rm0 = strength[:, None] * machines[None, :] * np.exp(rng.normal(0.0, 0.08, (n, machines.size)))
    g_mu = np.array([_GAIN_1RM[m][0] for m in protocol])
    g_sd = np.array([_GAIN_1RM[m][1] for m in protocol])
    rm1 = rm0 * (1.0 + g_mu[:, None] + g_sd[:, None] * rng.standard_normal((n, machines.size)))
    vo0 = 26.0 - 0.15 * (age - 50.0) + 4.0 * rng.standard_normal(n)
    v_mu = np.array([_GAIN_VO2[m][0] for m in protocol])
    v_sd = np.array([_GAIN_VO2[m][1] for m in protocol])
    vo1 = vo0 * (1.0 + v_mu + v_sd * rng.standard_normal(n))
    hrpk0 = np.round(208.0 - 0.7 * age + 7.0 * rng.standard_normal(n))
    hrpk1 = hrpk0 + np.round(2.0 * rng.standard_normal(n))
    if measurements is not None:  # the tests are the participant's measurements (same draws, then anchored)
        j = list(RT_MACHINES).index("chest_press")
        rm0 = _anchor(rm0, _measured(p, measurements, "chest_press_1rm", visits[0]), j)
        rm1 = _anchor(rm1, _measured(p, measurements, "chest_press_1rm", visits[-1]), j)
        for vo, visit in ((vo0, visits[0]), (vo1, visits[-1])):
            v = _measured(p, measurements, "vo2peak", visit)
            vo[:] = np.where(np.isfinite(v), v, vo)
    rows = []
    names = list(RT_MACHINES)
    for when, rm, vo, hr, who in (
        (0, rm0, vo0, hrpk0, np.ones(n, bool)),
        (weeks, rm1, vo1, hrpk1, ~withdrawn),
    ):
        day = _START + offset + (np.timedelta64(-3, "D") if when == 0 else np.timedelta64(7 * weeks + 2, "D"))
        for i in np.flatnonzero(who):
            pid = p["participant_id"].iat[i]
            for j, name in enumerate(names):
                rows.append(
                    (pid, when, np.nan, day[i], "test", name, "one_rm", round(float(rm[i, j]), 1), np.nan)
                )
            rows.append(
                (
                    pid,
                    when,
                    np.nan,
                    day[i],
                    "test",
                    "cycle_ergometer",
                    "vo2peak",
                    round(float(vo[i]), 1),
                    float(hr[i]),
                )
            )
    t = pd.DataFrame(
        rows,
        columns=[
            "participant_id",
            "week",
            "session",
            "date",
            "modality",
            "exercise",
            "test",
            "test_value",
            "hr_peak",
        ],
    )
    return t, rm0, hrpk0


def _resistance_rows(rng, pid, week, sess, date, rm0, weeks) -> pd.DataFrame:
    """Six machines per attended session, 3 x 10, load progressing from 60 % of the tested 1RM."""
    names = list(RT_MACHINES)
    m = len(names)
    gain = np.clip(rng.normal(0.35, 0.10, rm0.shape[0]), 0.05, None)
    step = np.where(rm0 < 25.0, 1.0, 2.5)
    frac = (week - 1.0) / (weeks - 1.0)
    load = 0.6 * rm0[sess] * (1.0 + gain[sess][:, None] * frac[:, None])
    load = np.round(load / step[sess]) * step[sess]
    reps = np.where(rng.random((week.size, m)) < 0.08, rng.integers(8, 10, (week.size, m)), 10)
    return pd.DataFrame(
        {
            "participant_id": np.repeat(pid, m),
            "week": np.repeat(week, m),
            "session": np.repeat(date[1], m),
            "date": np.repeat(date[0], m),
            "modality": "resistance",
            "exercise": np.tile(names, week.size),
            "sets": 3.0,
            "reps": reps.ravel().astype(float),
            "load_kg": load.ravel(),
        }
    )


def _aerobic_rows(rng, pid, week, sess_no, date, hrpk) -> pd.DataFrame:
    """30 min cycling at 65–70 % of the tested peak heart rate."""
    k = week.size
    hr_mean = np.round(hrpk * rng.uniform(0.65, 0.70, k) + rng.normal(0.0, 2.0, k))
    short = rng.random(k) < 0.05
    return pd.DataFrame(
        {
            "participant_id": pid,
            "week": week,
            "session": sess_no,
            "date": date,
            "modality": "aerobic",
            "exercise": "cycle_ergometer",
            "duration_min": np.where(short, rng.integers(20, 30, k), 30).astype(float),
            "hr_mean": hr_mean,
            "hr_peak": hr_mean + rng.integers(6, 16, k),
        }
    )


def _schedule(participants, seed, weeks, sessions_per_week, protocols):
    """The generator after the schedule is drawn, and the schedule: (rng, p, protocol, offset, attended, withdrawn)."""
    _check(participants, weeks, sessions_per_week)
    p = participants.reset_index(drop=True)
    protos = dict(DEFAULT_PROTOCOLS if protocols is None else protocols)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_SPAWN,)))
    protocol = [protos.get(str(a)) for a in p["arm"]]
    offset = rng.integers(0, 8, len(p)) * np.timedelta64(7, "D")
    att, withdrawn = _attendance(rng, p, int(weeks), int(sessions_per_week))
    return rng, p, protocol, offset, att, withdrawn


def simulate_attendance(
    participants: pd.DataFrame,
    *,
    seed: int,
    weeks: int = 16,
    sessions_per_week: int = 2,
    protocols: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The sessions :func:`simulate_training` logs for these participants and seed, without making the log.

    Returns
    -------
    DataFrame
        ``participant_id, sessions_attended, adherence`` (``sessions_attended / (weeks ×
        sessions_per_week)``, as :func:`skintrial.training.training_summary` computes it; NaN in an arm
        without a protocol).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "arm": ["AT", "RT", "CON"], "age": [45, 52, 58]})
    >>> simulate_attendance(p, seed=1)["sessions_attended"].tolist()
    [28, 26, 0]
    """
    _, p, protocol, _, att, _ = _schedule(participants, seed, weeks, sessions_per_week, protocols)
    trained = np.array([x is not None for x in protocol])
    attended = np.where(trained, att.sum(axis=(1, 2)), 0)
    return pd.DataFrame(
        {
            "participant_id": p["participant_id"].to_numpy(),
            "sessions_attended": attended,
            "adherence": np.where(trained, attended / (int(weeks) * int(sessions_per_week)), np.nan),
        }
    )


def simulate_training(
    participants: pd.DataFrame,
    *,
    seed: int,
    weeks: int = 16,
    sessions_per_week: int = 2,
    protocols: Mapping[str, str] | None = None,
    measurements: pd.DataFrame | None = None,
    visits: tuple[str, str] = ("week0", "week16"),
) -> pd.DataFrame:
    """Realistic synthetic ``training.csv`` for a participants table.

    Parameters
    ----------
    participants : DataFrame
        ``participant_id, arm`` and, when present, ``age`` (default 50), ``status`` and
        ``withdrawal_visit`` (withdrawn participants stop logging).
    seed : int
        Seed of the generator (the same seed gives the same log).
    weeks, sessions_per_week : int
    protocols : mapping, optional
        Arm → ``"aerobic"`` or ``"resistance"``; default ``{"AT": "aerobic", "RT": "resistance"}``.
        Other arms (the control) log tests only.
    measurements : DataFrame, optional
        Long ``participant_id, visit, outcome, value``: the week-0 and final tests are then the
        measured ``chest_press_1rm`` and ``vo2peak`` at ``visits`` (first and last), module notes.
    visits : (str, str)
        The baseline and final visits of ``measurements``.

    Returns
    -------
    DataFrame
        Columns :data:`~skintrial.training.TRAINING_COLUMNS`, sorted by participant, week, session.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "arm": ["AT", "RT", "CON"], "age": [45, 52, 58]})
    >>> log = simulate_training(p, seed=1)
    >>> log.groupby(["participant_id", "modality"]).size().to_dict()
    {('P1', 'aerobic'): 28, ('P1', 'test'): 14, ('P2', 'resistance'): 156, ('P2', 'test'): 14, ('P3', 'test'): 14}
    """
    rng, p, protocol, offset, att, withdrawn = _schedule(
        participants, seed, weeks, sessions_per_week, protocols
    )
    n = len(p)
    age = (
        pd.to_numeric(p["age"], errors="coerce").fillna(50.0).to_numpy(float)
        if "age" in p
        else np.full(n, 50.0)
    )
    tests, rm0, hrpk = _tests(rng, p, protocol, withdrawn, int(weeks), age, offset, measurements, visits)
    i, w, s = np.nonzero(att)
    day = _START + offset[i] + (7 * w) * np.timedelta64(1, "D") + (s * 3 % 7) * np.timedelta64(1, "D")
    pid = p["participant_id"].to_numpy()[i]
    kind = np.array(protocol, dtype=object)[i]
    parts = [tests]
    res = kind == "resistance"
    if res.any():
        parts.append(
            _resistance_rows(
                rng,
                pid[res],
                (w[res] + 1).astype(float),
                i[res],
                (day[res], (s[res] + 1).astype(float)),
                rm0,
                int(weeks),
            )
        )
    aer = kind == "aerobic"
    if aer.any():
        parts.append(
            _aerobic_rows(
                rng, pid[aer], (w[aer] + 1).astype(float), (s[aer] + 1).astype(float), day[aer], hrpk[i[aer]]
            )
        )
    out = pd.concat([x for x in parts if len(x)], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    for c in TRAINING_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan if c not in ("test",) else None
    out["_order"] = out["participant_id"].map({v: k for k, v in enumerate(p["participant_id"])})
    out = out.sort_values(["_order", "week", "session", "modality"], kind="mergesort", na_position="first")
    return out[list(TRAINING_COLUMNS)].reset_index(drop=True)
