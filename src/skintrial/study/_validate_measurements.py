"""Checks of the measurements table: key cells, declared participants, visits and outcomes, values.

A value must be a finite number within its outcome's physical range (``study/_ranges.py``); a
``replicate`` a whole number; and a measurement must not repeat another's participant, visit, outcome
(and replicate). :func:`check_measurements` returns the table with ``value`` parsed as float.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._csvformat import parse_numbers
from skintrial.study._declared import Declared
from skintrial.study._ranges import outcome_range
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._validate_rows import (
    empty_cells,
    file_name,
    per_group,
    per_row,
    required_columns,
    with_rest,
)

__all__ = ["check_measurements"]

MEASUREMENT_REQUIRED = ("participant_id", "visit", "outcome", "value")


def check_measurements(
    df: pd.DataFrame, d: Declared, participants: pd.DataFrame, file: str, participants_file: str
) -> tuple[list[Problem], pd.DataFrame]:
    """Problems in the measurements table; returns them and the table with a float ``value`` column."""
    problems = required_columns(df, MEASUREMENT_REQUIRED, file)
    if problems:
        return problems, df
    if df.empty:
        return [
            Problem(
                "the table has a header row but no measurements",
                file=file,
                row=2,
                fix="add one row per measurement taken (docs/bundle.md)",
            )
        ], df
    pfile = file_name(participants_file)
    # each key column's empty cells, found once (a million-row table: one pass per column, not four)
    missing = {c: df[c].isna() for c in ("participant_id", "visit", "outcome")}
    problems += empty_cells(
        df,
        "participant_id",
        file,
        f"fill in the participant's id, as in {pfile} (or delete the row)",
        missing["participant_id"],
    )
    problems += empty_cells(
        df,
        "visit",
        file,
        "fill in the visit" + (f", one of {d.visits}" if d.visits else ""),
        missing["visit"],
    )
    problems += empty_cells(
        df,
        "outcome",
        file,
        "fill in the outcome's name, as declared in study.toml [outcomes.NAME]",
        missing["outcome"],
    )
    if "participant_id" in participants.columns:
        known = set(participants["participant_id"].dropna())
        problems += per_group(
            df,
            ~missing["participant_id"] & ~df["participant_id"].isin(known),
            "participant_id",
            file,
            "participant_id",
            lambda v: (
                f"measurements for a participant who is not in {pfile}",
                f"add the participant to {pfile}, or correct the id",
            ),
        )
    if d.visits is not None:
        problems += per_group(
            df,
            ~missing["visit"] & ~df["visit"].isin(d.visits),
            "visit",
            file,
            "visit",
            lambda v: (
                f"unknown visit (declared visits: {d.visits})",
                "correct the visit, or declare it in study.toml [study] visits",
            ),
        )
    if d.outcomes is not None:
        problems += per_group(
            df,
            ~missing["outcome"] & ~df["outcome"].isin(list(d.outcomes)),
            "outcome",
            file,
            "outcome",
            lambda v: (
                "outcome not declared in study.toml",
                f"add an [outcomes.{v}] table with its unit to study.toml, or correct the name",
            ),
        )
    value, value_problems = _values(df, file)
    problems += value_problems
    problems += _replicates(df, file)
    problems += _out_of_range(df, value, d, file)
    problems += _duplicates(
        df, file, filled=~(missing["participant_id"] | missing["visit"] | missing["outcome"])
    )
    return problems, df.assign(value=value)


def _values(df: pd.DataFrame, file: str) -> tuple[pd.Series, list[Problem]]:
    raw = df["value"]
    value = parse_numbers(raw)  # one pass, correctly rounded (skintrial.study._csvformat)
    empty = raw.isna()
    problems = per_row(
        df,
        ~empty & value.isna(),
        file,
        "value",
        "value is not a number",
        "write a plain number with a decimal point (no units, no text)",
    )
    problems += per_row(
        df,
        empty,
        file,
        "value",
        "value is empty",
        "leave out measurements that were not taken (one row per measurement taken)",
    )
    problems += per_row(
        df,
        value.notna() & ~np.isfinite(value),
        file,
        "value",
        "value is infinite",
        "write the measured finite number",
    )
    return value, problems


def _replicates(df: pd.DataFrame, file: str) -> list[Problem]:
    """A ``replicate`` cell numbers a repeated measurement: a whole number, or empty."""
    if "replicate" not in df.columns:
        return []
    number = pd.to_numeric(df["replicate"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(number) & (number == np.round(number)) & (number >= 0)
    return per_row(
        df,
        df["replicate"].notna() & ~whole,
        file,
        "replicate",
        "replicate is not a whole number",
        "number the repeated measurements of a participant, visit and outcome 1, 2, 3 … (or leave the "
        "cell empty for a single measurement)",
    )


def _out_of_range(df: pd.DataFrame, value: pd.Series, d: Declared, file: str) -> list[Problem]:
    """One problem per value outside its outcome's physical range (docs/bundle.md, study/_ranges.py)."""
    specs = {k: v for k, v in (d.outcomes or {}).items() if v is not None}
    ranges = {k: outcome_range(v, k) for k, v in specs.items()}
    ranges = {k: r for k, r in ranges.items() if r.checked}
    if not ranges:
        return []
    lo = df["outcome"].map({k: r.low for k, r in ranges.items()})
    hi = df["outcome"].map({k: r.high for k, r in ranges.items()})
    bad = value.notna() & np.isfinite(value) & lo.notna() & ((value < lo) | (value > hi))
    problems = []
    for o, sub in df.loc[bad].groupby("outcome", sort=False):
        rng, spec = ranges[o], specs[o]
        head = sub.head(MAX_SHOWN)
        shown = [
            Problem(
                f"value outside the physical range [{rng.low:g}, {rng.high:g}] of outcome '{o}' in '{spec.unit}' "
                f"({rng.basis})",
                file=file,
                row=int(r),
                column="value",
                value=v,
                fix="check the unit and the decimal point; declare min/max in study.toml if the range is really wider",
            )
            for r, v in zip(head[ROW_COLUMN], head["value"], strict=True)
        ]
        problems += with_rest(sub, shown)
    return problems


def _duplicates(df: pd.DataFrame, file: str, filled: pd.Series | None = None) -> list[Problem]:
    """Each repeated measurement names the row it repeats (vectorised: no Python call per row).

    The key cells are the reader's text cells (``None`` when empty); an empty cell matches an empty
    cell, and a row whose participant, visit or outcome is empty is never itself reported (its empty
    cell is reported on its own).
    """
    keys = ["participant_id", "visit", "outcome"] + (["replicate"] if "replicate" in df.columns else [])
    if df.empty:
        return []
    if filled is None:  # the rows whose three key cells are filled, when the caller has not found them
        filled = df[["participant_id", "visit", "outcome"]].notna().all(axis=1)
    dup = filled & df.duplicated(keys, keep="first")
    if not dup.any():
        return []
    first = df.groupby(keys, sort=False, dropna=False)[ROW_COLUMN].transform("first")
    fix = (
        "remove the repeated row"
        if "replicate" in df.columns
        else "remove the repeated row, or add a 'replicate' column numbering repeated measurements"
    )
    sub = df.loc[dup]
    head = sub.head(MAX_SHOWN)
    shown = [
        Problem(
            f"duplicate measurement: same {', '.join(keys)} as row {int(f)}",
            file=file,
            row=int(r),
            column="outcome",
            value=v,
            fix=fix,
        )
        for r, f, v in zip(head[ROW_COLUMN], first[head.index], head["outcome"], strict=True)
    ]
    if len(sub) > len(shown):
        example = Problem(
            f"duplicate measurement (same {', '.join(keys)} as a row above)",
            file=file,
            column="outcome",
            fix=fix,
        )
        rows = sub[ROW_COLUMN].iloc[len(shown) :]
        shown.append(more_like_this(example, len(rows), int(rows.min()), int(rows.max())))
    return shown
