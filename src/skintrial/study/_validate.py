"""Checks of a bundle's tables: every problem found in one pass, each with file, row, column and fix.

A problem that repeats on many rows (an undeclared outcome on 120 rows) is reported once, at its
first row, with the number of rows affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from skintrial.errors import Problem
from skintrial.study._manifest import check_manifest_columns
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._schema import StudyFile, physical_range

__all__ = ["check_participants", "check_measurements", "STATUSES"]

STATUSES = ("completed", "withdrawn")
PARTICIPANT_REQUIRED = ("participant_id", "arm")
MEASUREMENT_REQUIRED = ("participant_id", "visit", "outcome", "value")


def _required(df: pd.DataFrame, cols: Iterable[str], file: str) -> list[Problem]:
    missing = [c for c in cols if c not in df.columns]
    if not missing:
        return []
    return [
        Problem(
            f"required column(s) {missing} are missing (found: {[c for c in df.columns if c != ROW_COLUMN]})",
            file=file,
            row=1,
            fix=f"add the column(s) {missing} to the header row",
        )
    ]


def _per_group(
    df: pd.DataFrame, bad: pd.Series, key: str, file: str, column: str, make: Callable[[object], tuple[str, str]]
) -> list[Problem]:
    """One problem per distinct offending value of ``key``, at its first row, with a row count."""
    out = []
    sub = df.loc[bad.fillna(False).astype(bool)]
    for value, grp in sub.groupby(key, sort=False, dropna=False):
        message, fix = make(value)
        out.append(
            Problem(message, file=file, row=int(grp[ROW_COLUMN].iloc[0]), column=column, value=value,
                    rows_affected=len(grp), fix=fix)
        )
    return out


def _per_row(df: pd.DataFrame, bad: pd.Series, file: str, column: str, message: str, fix: str) -> list[Problem]:
    sub = df.loc[bad.fillna(False).astype(bool)]
    return [
        Problem(message, file=file, row=int(r), column=column, value=v, fix=fix)
        for r, v in zip(sub[ROW_COLUMN], sub[column], strict=True)
    ]


def check_participants(df: pd.DataFrame, spec: StudyFile, file: str) -> list[Problem]:
    """Problems in ``participants.csv``: ids, arms, status, withdrawal visit, numeric age."""
    problems = _required(df, PARTICIPANT_REQUIRED, file)
    if problems:
        return problems
    problems += _per_row(df, df["participant_id"].isna(), file, "participant_id",
                         "empty participant id", "give every participant a unique id")
    dup = df["participant_id"].notna() & df.duplicated("participant_id", keep="first")
    problems += _per_row(df, dup, file, "participant_id", "duplicate participant id",
                         "each participant appears once; merge or renumber the duplicates")
    arms = spec.study.arms
    problems += _per_group(df, ~df["arm"].isin(arms), "arm", file, "arm",
                           lambda v: (f"unknown arm (declared arms: {arms})",
                                      "correct the arm, or declare it in study.toml [study] arms"))
    if "status" in df.columns:
        problems += _per_group(df, df["status"].notna() & ~df["status"].isin(STATUSES), "status", file, "status",
                               lambda v: (f"unknown status (allowed: {list(STATUSES)})",
                                          "use 'completed' or 'withdrawn'"))
        withdrawn = df["status"] == "withdrawn"
        for column in ("withdrawal_visit", "withdrawal_reason"):
            if withdrawn.any() and column not in df.columns:
                first = int(df.loc[withdrawn, ROW_COLUMN].iloc[0])
                problems.append(Problem(
                    f"participants are withdrawn (first at row {first}) but there is no '{column}' column",
                    file=file, row=1, column=column, rows_affected=int(withdrawn.sum()),
                    fix=f"add the column '{column}' and fill it in for every withdrawn participant"))
        if "withdrawal_visit" in df.columns:
            visits = spec.study.visits
            bad_visit = withdrawn & ~df["withdrawal_visit"].isin(visits)
            problems += _per_row(df, bad_visit, file, "withdrawal_visit",
                                 f"a withdrawn participant needs the last visit attended, one of {visits}",
                                 "fill in withdrawal_visit")
        if "withdrawal_reason" in df.columns:
            problems += _per_row(df, withdrawn & df["withdrawal_reason"].isna(), file, "withdrawal_reason",
                                 "a withdrawn participant needs a withdrawal reason",
                                 "fill in withdrawal_reason (CONSORT reports it)")
    if "age" in df.columns:
        age = pd.to_numeric(df["age"], errors="coerce")
        problems += _per_row(df, df["age"].notna() & ~(age.between(0, 130)), file, "age",
                             "age is not a number of years between 0 and 130", "correct the age")
    for cov in spec.analysis.covariates:
        if cov not in df.columns:
            problems.append(Problem(f"covariate '{cov}' of the analysis plan is not a column", file=file, row=1,
                                    column=cov, fix="add the column, or remove it from [analysis] covariates"))
        else:
            problems += _per_row(df, df[cov].isna(), file, cov, "covariate value missing",
                                 "fill in the covariate for every participant (the model needs it)")
    return problems


def check_measurements(
    df: pd.DataFrame, spec: StudyFile, participants: pd.DataFrame, file: str
) -> tuple[list[Problem], pd.DataFrame]:
    """Problems in ``measurements.csv``; returns them and the table with a float ``value`` column."""
    problems = _required(df, MEASUREMENT_REQUIRED, file)
    if problems:
        return problems, df
    known = set(participants["participant_id"].dropna()) if "participant_id" in participants else set()
    problems += _per_group(df, ~df["participant_id"].isin(known), "participant_id", file, "participant_id",
                           lambda v: ("measurements for a participant who is not in participants.csv",
                                      "add the participant to participants.csv, or correct the id"))
    visits = spec.study.visits
    problems += _per_group(df, ~df["visit"].isin(visits), "visit", file, "visit",
                           lambda v: (f"unknown visit (declared visits: {visits})",
                                      "correct the visit, or declare it in study.toml [study] visits"))
    declared = list(spec.outcomes)
    problems += _per_group(df, ~df["outcome"].isin(declared), "outcome", file, "outcome",
                           lambda v: ("outcome not declared in study.toml",
                                      f"add an [outcomes.{v}] table with its unit to study.toml, or correct the name"))
    raw = df["value"]
    value = pd.to_numeric(raw, errors="coerce")
    non_numeric = raw.notna() & value.isna()
    problems += _per_row(df, non_numeric, file, "value", "value is not a number",
                         "write a plain number with a decimal point (no units, no text)")
    problems += _per_row(df, raw.isna(), file, "value", "value is empty",
                         "leave out measurements that were not taken (one row per measurement taken)")
    problems += _per_row(df, value.notna() & ~np.isfinite(value), file, "value", "value is infinite",
                         "write the measured finite number")
    lo = df["outcome"].map({k: physical_range(v)[0] for k, v in spec.outcomes.items()})
    hi = df["outcome"].map({k: physical_range(v)[1] for k, v in spec.outcomes.items()})
    finite = value.notna() & np.isfinite(value) & lo.notna()
    out_of_range = finite & ((value < lo) | (value > hi))
    for o, grp in df.loc[out_of_range].groupby("outcome", sort=False):
        rng = physical_range(spec.outcomes[o])
        problems.append(Problem(
            f"value outside the physical range [{rng[0]:g}, {rng[1]:g}] of outcome '{o}' "
            f"({spec.outcomes[o].unit})",
            file=file, row=int(grp[ROW_COLUMN].iloc[0]), column="value", value=grp["value"].iloc[0],
            rows_affected=len(grp),
            fix="check the unit and the decimal point; declare min/max in study.toml if the range is really wider",
        ))
    keys = ["participant_id", "visit", "outcome"] + (["replicate"] if "replicate" in df.columns else [])
    base_keys = ["participant_id", "visit", "outcome"]
    dup = df[keys].fillna("").duplicated(keep="first") & df[base_keys].notna().all(axis=1)
    fix = ("remove the repeated row" if "replicate" in df.columns
           else "remove the repeated row, or add a 'replicate' column numbering repeated measurements")
    problems += _per_row(df, dup, file, "outcome", f"duplicate measurement (same {', '.join(keys)})", fix)
    return problems, df.assign(value=value)


def check_baselines(measurements: pd.DataFrame, participants: pd.DataFrame, spec: StudyFile,
                    file: str) -> list[Problem]:
    """Every randomised participant has at least one baseline measurement."""
    base = set(measurements.loc[measurements["visit"] == spec.study.baseline_visit, "participant_id"])
    ids = participants.drop_duplicates("participant_id")
    lacking = ids.loc[ids["participant_id"].notna() & ~ids["participant_id"].isin(base)]
    return [
        Problem(
            f"randomised participant has no measurement at the baseline visit '{spec.study.baseline_visit}'",
            file=file, row=int(r), column="participant_id", value=pid,
            fix="add the baseline measurements to measurements.csv (a trial analysis needs every "
                "randomised participant's baseline)",
        )
        for pid, r in zip(lacking["participant_id"], lacking[ROW_COLUMN], strict=True)
    ]


RAW_INSTRUMENTS = ("cutometer", "ultrasound")
MANIFEST_REQUIRED = ("participant_id", "visit", "instrument", "file")


def check_manifest(df: pd.DataFrame, spec: StudyFile, participants: pd.DataFrame, raw_dir, file: str) -> list[Problem]:
    """Problems in ``raw/manifest.csv``: ids, visits, instruments, empty or repeated file names.

    ``file`` paths are relative to the manifest's folder. A listed file that is missing or unreadable
    is not a problem of the manifest: like any bad file it becomes an error row when the files are
    measured, is listed in the results, and the rest of the batch goes on.
    """
    problems = _required(df, MANIFEST_REQUIRED, file)
    if problems:
        return problems
    known = set(participants["participant_id"].dropna()) if "participant_id" in participants else set()
    problems += _per_group(df, ~df["participant_id"].isin(known), "participant_id", file, "participant_id",
                           lambda v: ("raw file for a participant who is not in participants.csv",
                                      "add the participant, or correct the id"))
    visits = spec.study.visits
    problems += _per_group(df, ~df["visit"].isin(visits), "visit", file, "visit",
                           lambda v: (f"unknown visit (declared visits: {visits})", "correct the visit"))
    problems += _per_group(df, ~df["instrument"].isin(RAW_INSTRUMENTS), "instrument", file, "instrument",
                           lambda v: (f"unknown raw instrument (skintrial reads: {list(RAW_INSTRUMENTS)})",
                                      "correct the instrument name"))
    problems += _per_row(df, df["file"].isna(), file, "file", "empty file name", "give the file's path")
    dup = df.duplicated("file", keep="first") & df["file"].notna()
    problems += _per_row(df, dup, file, "file", "the same raw file is listed twice", "list each file once")
    problems += check_manifest_columns(df, file)  # unknown columns, per-file pixel spacing
    return problems


def check_declared_outcomes(spec: StudyFile, measurements: pd.DataFrame, manifest: pd.DataFrame | None,
                            file: str) -> list[Problem]:
    """Every declared outcome has measurements, or raw files of its instrument to compute them from."""
    present = set(measurements["outcome"].dropna()) if "outcome" in measurements.columns else set()
    raw_instruments = set(manifest["instrument"].dropna()) if manifest is not None and "instrument" in manifest else set()
    return [
        Problem(f"outcome '{name}' is declared but has no measurements"
                + (f" and no raw {o.instrument} files" if o.instrument in RAW_INSTRUMENTS else ""),
                file=file, column=f"outcomes.{name}",
                fix="add its measurements, or remove the outcome from study.toml (and from the analysis plan)")
        for name, o in spec.outcomes.items()
        if name not in present and not (o.instrument in RAW_INSTRUMENTS and o.instrument in raw_instruments)
    ]
