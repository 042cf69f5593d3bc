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
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.training._logs import TRAINING_COLUMNS

__all__ = ["simulate_training", "RT_MACHINES", "DEFAULT_PROTOCOLS"]

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


def _week_of(visit: object) -> float:
    m = re.search(r"(\d+)", str(visit)) if visit is not None else None
    return float(m.group(1)) if m else 0.0


def _check(participants: pd.DataFrame, weeks: int, sessions_per_week: int) -> None:
    probs = []
    missing = [c for c in ("participant_id", "arm") if c not in participants.columns]
    if missing:
        probs.append(Problem(f"participants table lacks column(s) {missing}", file="participants.csv", row=1,
                             fix="give participant_id and arm"))
    if int(weeks) < 2 or int(sessions_per_week) < 1:
        probs.append(Problem("weeks must be at least 2 and sessions_per_week at least 1", column="weeks"))
    InputError.collect(probs)


def _attendance(rng, p: pd.DataFrame, weeks: int, spw: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, weeks, spw) boolean: attended; withdrawn participants stop at a random week."""
    n = len(p)
    propensity = rng.beta(18.0, 2.5, size=n)
    att = rng.random((n, weeks, spw)) < propensity[:, None, None]
    withdrawn = (p["status"].astype(str) == "withdrawn").to_numpy() if "status" in p else np.zeros(n, bool)
    wv = p["withdrawal_visit"] if "withdrawal_visit" in p else pd.Series([None] * n)
    last = np.array([_week_of(v) for v in wv])
    lo = np.clip(last, 0, weeks - 2).astype(int) + 1
    stop = rng.integers(lo, weeks)  # last week trained, before the end
    week_no = np.arange(1, weeks + 1)
    active = ~withdrawn[:, None] | (week_no[None, :] <= stop[:, None])
    return att & active[:, :, None], withdrawn


def _tests(rng, p, protocol, withdrawn, weeks, age, offset) -> pd.DataFrame:
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
    rows = []
    names = list(RT_MACHINES)
    for when, rm, vo, hr, who in ((0, rm0, vo0, hrpk0, np.ones(n, bool)), (weeks, rm1, vo1, hrpk1, ~withdrawn)):
        day = _START + offset + (np.timedelta64(-3, "D") if when == 0 else np.timedelta64(7 * weeks + 2, "D"))
        for i in np.flatnonzero(who):
            pid = p["participant_id"].iat[i]
            for j, name in enumerate(names):
                rows.append((pid, when, np.nan, day[i], "test", name, "one_rm", round(float(rm[i, j]), 1), np.nan))
            rows.append((pid, when, np.nan, day[i], "test", "cycle_ergometer", "vo2peak", round(float(vo[i]), 1),
                         float(hr[i])))
    t = pd.DataFrame(rows, columns=["participant_id", "week", "session", "date", "modality", "exercise", "test",
                                    "test_value", "hr_peak"])
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
    return pd.DataFrame({
        "participant_id": np.repeat(pid, m),
        "week": np.repeat(week, m),
        "session": np.repeat(date[1], m),
        "date": np.repeat(date[0], m),
        "modality": "resistance",
        "exercise": np.tile(names, week.size),
        "sets": 3.0,
        "reps": reps.ravel().astype(float),
        "load_kg": load.ravel(),
    })


def _aerobic_rows(rng, pid, week, sess_no, date, hrpk) -> pd.DataFrame:
    """30 min cycling at 65–70 % of the tested peak heart rate."""
    k = week.size
    hr_mean = np.round(hrpk * rng.uniform(0.65, 0.70, k) + rng.normal(0.0, 2.0, k))
    short = rng.random(k) < 0.05
    return pd.DataFrame({
        "participant_id": pid,
        "week": week,
        "session": sess_no,
        "date": date,
        "modality": "aerobic",
        "exercise": "cycle_ergometer",
        "duration_min": np.where(short, rng.integers(20, 30, k), 30).astype(float),
        "hr_mean": hr_mean,
        "hr_peak": hr_mean + rng.integers(6, 16, k),
    })


def simulate_training(
    participants: pd.DataFrame,
    *,
    seed: int,
    weeks: int = 16,
    sessions_per_week: int = 2,
    protocols: Mapping[str, str] | None = None,
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
    _check(participants, weeks, sessions_per_week)
    p = participants.reset_index(drop=True)
    protos = dict(DEFAULT_PROTOCOLS if protocols is None else protocols)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x7261696E,)))
    n = len(p)
    age = pd.to_numeric(p["age"], errors="coerce").fillna(50.0).to_numpy(float) if "age" in p else np.full(n, 50.0)
    protocol = [protos.get(str(a)) for a in p["arm"]]
    offset = rng.integers(0, 8, n) * np.timedelta64(7, "D")
    att, withdrawn = _attendance(rng, p, int(weeks), int(sessions_per_week))
    tests, rm0, hrpk = _tests(rng, p, protocol, withdrawn, int(weeks), age, offset)
    i, w, s = np.nonzero(att)
    day = _START + offset[i] + (7 * w) * np.timedelta64(1, "D") + (s * 3 % 7) * np.timedelta64(1, "D")
    pid = p["participant_id"].to_numpy()[i]
    kind = np.array(protocol, dtype=object)[i]
    parts = [tests]
    res = kind == "resistance"
    if res.any():
        parts.append(_resistance_rows(rng, pid[res], (w[res] + 1).astype(float), i[res],
                                      (day[res], (s[res] + 1).astype(float)), rm0, int(weeks)))
    aer = kind == "aerobic"
    if aer.any():
        parts.append(_aerobic_rows(rng, pid[aer], (w[aer] + 1).astype(float), (s[aer] + 1).astype(float),
                                   day[aer], hrpk[i[aer]]))
    out = pd.concat([x for x in parts if len(x)], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    for c in TRAINING_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan if c not in ("test",) else None
    out["_order"] = out["participant_id"].map({v: k for k, v in enumerate(p["participant_id"])})
    out = out.sort_values(["_order", "week", "session", "modality"], kind="mergesort", na_position="first")
    return out[list(TRAINING_COLUMNS)].reset_index(drop=True)
