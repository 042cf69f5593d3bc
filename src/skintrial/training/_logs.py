"""``training.csv``: the supervised-session log of an exercise trial, read and validated.

One row per exercise performed in a session (and, optionally, one row per fitness test)::

    participant_id  week  session  date        modality    exercise        sets reps load_kg duration_min hr_mean hr_peak test    test_value
    P001            1     1        2023-01-09  resistance  leg_extension   3    10   22.5
    P002            1     1        2023-01-09  aerobic     cycle_ergometer                  30           118     131
    P001            0              2023-01-06  test        leg_extension                                                one_rm  32
    P002            0              2023-01-06  test        cycle_ergometer                                      172     vo2peak 27.4

Columns
-------
``participant_id``  as in ``participants.csv``.
``week``            training week, 1 = first week (tests before training: 0). Or give ``date``
                    (ISO ``YYYY-MM-DD``) instead: weeks are then counted from each participant's first
                    training session (tests dated before it are week 0).
``session``         session number within the week (1, 2, …); optional: numbered by date otherwise.
``modality``        ``resistance``, ``aerobic`` or ``test``.
``exercise``        machine or activity (free text, e.g. ``leg_extension``, ``cycle_ergometer``).
``sets, reps, load_kg``           resistance rows (load 0 for body-weight exercises).
``duration_min, hr_mean, hr_peak`` aerobic rows (mean and peak heart rate of the session, bpm;
                    the heart rates are optional).
``test, test_value`` test rows: ``one_rm`` (kg, for the ``exercise`` tested) or ``vo2peak``
                    (mL/kg/min; ``hr_peak`` on that row is the peak heart rate reached, used as the
                    reference for %HRpeak).

Only attended sessions are logged: a missed session is a session with no rows. Tests may also come in
a separate file with the same columns (``read_training(..., tests=...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.study import ROW_COLUMN, read_table

__all__ = ["TRAINING_COLUMNS", "MODALITIES", "TESTS", "read_training", "validate_training"]

TRAINING_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "week",
    "session",
    "date",
    "modality",
    "exercise",
    "sets",
    "reps",
    "load_kg",
    "duration_min",
    "hr_mean",
    "hr_peak",
    "test",
    "test_value",
)
MODALITIES = ("resistance", "aerobic", "test")
TESTS = ("one_rm", "vo2peak")
_NUMERIC = ("week", "session", "sets", "reps", "load_kg", "duration_min", "hr_mean", "hr_peak", "test_value")
_RANGES = {  # plausible ranges: a value outside is a typing error more often than a real one
    "week": (0, 520),
    "session": (1, 14),
    "sets": (1, 20),
    "reps": (1, 100),
    "load_kg": (0, 500),
    "duration_min": (1, 600),
    "hr_mean": (30, 230),
    "hr_peak": (30, 240),
    "test_value": (0, 500),
}


def _problem(
    df: pd.DataFrame, bad: pd.Series, *, file: str, column: str, message: str, fix: str
) -> list[Problem]:
    """One problem per check: at the first offending row, listing up to five rows, with the count."""
    bad = bad.fillna(False).astype(bool)
    if not bad.any():
        return []
    sub = df.loc[bad]
    rows = sub[ROW_COLUMN].astype(int).tolist()
    more = f" (rows {', '.join(map(str, rows[:5]))}{', …' if len(rows) > 5 else ''})" if len(rows) > 1 else ""
    value = sub[column].iloc[0] if column in sub.columns else None
    value = value.item() if isinstance(value, np.generic) else value  # 2.5, not np.float64(2.5)
    return [
        Problem(
            message + more,
            file=file,
            row=rows[0],
            column=column,
            value=value,
            rows_affected=len(rows),
            fix=fix,
        )
    ]


def _numbers(df: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem], pd.Series]:
    probs: list[Problem] = []
    out = df.copy()
    unreadable = pd.Series(False, index=df.index)
    for c in _NUMERIC:
        if c not in out.columns:
            out[c] = np.nan
            continue
        raw = out[c]
        num = pd.to_numeric(raw, errors="coerce")
        given = raw.notna() & (raw.astype(str).str.strip() != "")
        probs += _problem(
            out,
            given & num.isna(),
            file=file,
            column=c,
            message="not a number",
            fix="write a plain number with a decimal point, no units",
        )
        unreadable |= given & num.isna()
        lo, hi = _RANGES[c]
        probs += _problem(
            out,
            num.notna() & ~num.between(lo, hi),
            file=file,
            column=c,
            message=f"outside the plausible range {lo}–{hi}",
            fix="check the value (and its unit: kg, minutes, beats per minute)",
        )
        out[c] = num.astype(float)
    for c in ("week", "session", "sets", "reps"):
        v = out[c]
        probs += _problem(
            out,
            v.notna() & (v != np.round(v)),
            file=file,
            column=c,
            message="must be a whole number",
            fix="write an integer",
        )
    return out, probs, unreadable


def _dates_to_weeks(df: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    probs: list[Problem] = []
    if "date" not in df.columns:
        df["date"] = None
    given = df["date"].notna() & (df["date"].astype(str).str.strip() != "")
    d = pd.to_datetime(df["date"].where(given), errors="coerce", format="%Y-%m-%d")
    probs += _problem(
        df,
        given & d.isna(),
        file=file,
        column="date",
        message="not a date in YYYY-MM-DD form",
        fix="write dates as 2023-01-09",
    )
    probs += _problem(
        df,
        df["week"].isna() & d.isna(),
        file=file,
        column="week",
        message="neither week nor date given",
        fix="give the training week (1 = first) or the date",
    )
    need = df["week"].isna() & d.notna()
    if need.any():
        train = d.where(df["modality"] != "test")
        start = train.groupby(df["participant_id"]).transform("min")
        start = start.fillna(d.groupby(df["participant_id"]).transform("min"))
        week = ((d - start).dt.days // 7 + 1).where(d >= start, 0)
        df.loc[need, "week"] = week[need].astype(float)
    df["date"] = d.dt.strftime("%Y-%m-%d").where(d.notna(), None)
    return df, probs


def _by_modality(df: pd.DataFrame, file: str, unreadable: pd.Series) -> list[Problem]:
    """Checks by modality; a cell already reported as not a number is not reported again as missing."""
    probs: list[Problem] = []
    mod = df["modality"].where(~unreadable)
    res, aer, tst = mod == "resistance", mod == "aerobic", mod == "test"
    for c in ("sets", "reps", "load_kg"):
        probs += _problem(
            df,
            res & df[c].isna(),
            file=file,
            column=c,
            message="missing on a resistance row",
            fix="give sets, reps and load_kg for every resistance exercise",
        )
    probs += _problem(
        df,
        aer & df["duration_min"].isna(),
        file=file,
        column="duration_min",
        message="missing on an aerobic row",
        fix="give the minutes of aerobic work",
    )
    probs += _problem(
        df,
        df["hr_mean"] > df["hr_peak"],
        file=file,
        column="hr_mean",
        message="mean heart rate above the peak heart rate",
        fix="swap or correct the two values",
    )
    test = df["test"].where(df["test"].notna(), None)
    probs += _problem(
        df,
        tst & ~test.isin(TESTS),
        file=file,
        column="test",
        message=f"a test row needs test = {' or '.join(TESTS)}",
        fix="name the test",
    )
    probs += _problem(
        df,
        tst & df["test_value"].isna(),
        file=file,
        column="test_value",
        message="missing on a test row",
        fix="give the result (kg for one_rm, mL/kg/min for vo2peak)",
    )
    probs += _problem(
        df,
        ~tst & test.notna(),
        file=file,
        column="test",
        message="a test result on a training row",
        fix="set modality = test on test rows",
    )
    return probs


def _keys(df: pd.DataFrame, file: str, participants: pd.DataFrame | None) -> list[Problem]:
    probs: list[Problem] = []
    for c in ("participant_id", "modality", "exercise"):
        probs += _problem(df, df[c].isna(), file=file, column=c, message="empty", fix=f"every row needs {c}")
    probs += _problem(
        df,
        df["modality"].notna() & ~df["modality"].isin(MODALITIES),
        file=file,
        column="modality",
        message=f"unknown modality (expected {', '.join(MODALITIES)})",
        fix="correct the spelling",
    )
    if participants is not None:
        known = set(participants["participant_id"].astype(str))
        table = participants.attrs.get("file", "participants.csv")
        probs += _problem(
            df,
            df["participant_id"].notna() & ~df["participant_id"].isin(known),
            file=file,
            column="participant_id",
            message=f"participant not in {table}",
            fix=f"correct the ID or add the participant to {table}",
        )
    return probs


def validate_training(
    frame: pd.DataFrame, *, file: str = "training.csv", participants: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Check a training log and return it typed (numbers as floats, weeks filled from dates).

    Every problem is collected in one pass and raised together as one :class:`InputError` naming
    the file, spreadsheet row, column, value and fix. Without a ``_row`` column (a DataFrame built
    in memory) rows are numbered as a spreadsheet would show them (header = row 1).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"participant_id": ["P1", "P1"], "week": [1, 1], "session": [1, 1],
    ...                     "modality": ["resistance", "resistance"], "exercise": ["leg_curl", "row"],
    ...                     "sets": [3, 3], "reps": [10, "ten"], "load_kg": [20, 25]})
    >>> try:
    ...     validate_training(log)
    ... except InputError as e:
    ...     print(e)
    training.csv, row 3, column 'reps': not a number (value: 'ten'). Fix: write a plain number with a decimal point, no units
    """
    df = frame.copy()
    if ROW_COLUMN not in df.columns:
        df[ROW_COLUMN] = np.arange(len(df)) + 2
    required = ("participant_id", "modality", "exercise")
    missing = [c for c in required if c not in df.columns]
    if missing or ("week" not in df.columns and "date" not in df.columns):
        need = missing + ([] if ("week" in df.columns or "date" in df.columns) else ["week or date"])
        raise InputError(
            Problem(
                f"required column(s) {need} missing",
                file=file,
                row=1,
                fix=f"the header needs {', '.join(required)}, and week or date",
            )
        )
    for c in ("participant_id", "modality", "exercise", "test"):
        if c in df.columns:
            df[c] = df[c].map(
                lambda v: (
                    None
                    if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""
                    else str(v).strip()
                )
            )
        else:
            df[c] = None
    df["modality"] = df["modality"].str.lower()
    df, probs, unreadable = _numbers(df, file)
    probs += _keys(df, file, participants)
    df, p2 = _dates_to_weeks(df, file)
    probs += p2 + _by_modality(df, file, unreadable)
    train = df["modality"].isin(("resistance", "aerobic"))
    if df["session"].isna().any():
        order = df.assign(_d=df["date"].fillna("")).loc[train].sort_values(["participant_id", "week", "_d"])
        num = order.groupby(["participant_id", "week"])["_d"].rank(method="dense")
        df.loc[num.index, "session"] = df.loc[num.index, "session"].fillna(num)
    dup = train & df.duplicated(["participant_id", "week", "session", "exercise"], keep=False)
    probs += _problem(
        df,
        dup,
        file=file,
        column="exercise",
        message="the same exercise logged twice in one session",
        fix="merge the rows (sets add up) or correct the week/session",
    )
    InputError.collect(probs)
    return df[[*TRAINING_COLUMNS, ROW_COLUMN]].reset_index(drop=True)


def read_training(
    path: str | Path,
    *,
    tests: str | Path | None = None,
    participants: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Read ``training.csv`` (CSV, TSV, Excel or Parquet) and validate it.

    Parameters
    ----------
    path : path
        The session log.
    tests : path, optional
        A separate file of test rows with the same columns (``modality`` may be omitted there).
    participants : DataFrame, optional
        ``participants.csv``; when given, every participant_id must be in it.

    Returns
    -------
    DataFrame
        Columns :data:`TRAINING_COLUMNS` plus ``_row`` (spreadsheet row of the source line).
    """
    frames: Iterable[tuple[pd.DataFrame, str]] = [(read_table(path), Path(path).name)]
    if tests is not None:
        t = read_table(tests)
        if "modality" not in t.columns:
            t["modality"] = "test"
        frames = [*frames, (t, Path(tests).name)]
    out, probs = [], []
    for frame, name in frames:
        try:
            out.append(validate_training(frame, file=name, participants=participants))
        except InputError as exc:
            probs += list(exc.problems)
    InputError.collect(probs)
    return pd.concat(out, ignore_index=True)
