"""Checks that read more than one table: visits against withdrawals, baselines, follow-up; raw files.

Data after a participant's withdrawal visit (:func:`check_withdrawals`), the follow-up visit with no
data (:func:`check_followup`), a participant without a baseline measurement
(:func:`check_baselines`), the raw-file manifest against the participants and visits
(:func:`check_manifest`), and a declared outcome with neither measurements nor raw files
(:func:`check_declared_outcomes`).
"""

from __future__ import annotations

import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem
from skintrial.study._declared import Declared
from skintrial.study._manifest import check_manifest_columns
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._validate_rows import (
    distinct,
    empty_cells,
    file_name,
    per_group,
    required_columns,
    with_rest,
)

__all__ = [
    "RAW_INSTRUMENTS",
    "check_withdrawals",
    "check_followup",
    "check_baselines",
    "check_manifest",
    "check_declared_outcomes",
]


def check_withdrawals(
    table: pd.DataFrame,
    participants: pd.DataFrame,
    d: Declared,
    file: str,
    participants_file: str,
    what: str = "measurements",
) -> list[Problem]:
    """Data of a withdrawn participant at a visit after the withdrawal visit (the last visit attended)."""
    need = {"participant_id", "status", "withdrawal_visit"}
    if (
        d.visits is None
        or not need <= set(participants.columns)
        or not {"participant_id", "visit"} <= set(table)
    ):
        return []
    order = {v: i for i, v in enumerate(d.visits)}
    wd = participants[(participants["status"] == "withdrawn") & participants["withdrawal_visit"].isin(order)]
    wd = wd.drop_duplicates("participant_id").set_index("participant_id")
    last = table["participant_id"].map(wd["withdrawal_visit"].map(order))
    bad = table.loc[last.notna() & (table["visit"].map(order) > last)]
    pfile = file_name(participants_file)
    problems = []
    for (pid, visit), grp in bad.groupby(["participant_id", "visit"], sort=False):
        w = wd.loc[pid]
        problems.append(
            Problem(
                f"{what} of participant '{pid}' at visit '{visit}', after the visit '{w['withdrawal_visit']}' at which "
                f"{pfile} (row {int(w[ROW_COLUMN])}) says they withdrew",
                file=file,
                row=int(grp[ROW_COLUMN].iloc[0]),
                column="visit",
                value=visit,
                rows_affected=len(grp),
                fix=f"if the participant completed the visit, correct status and withdrawal_visit in {pfile} (the "
                f"last visit attended); otherwise remove these rows or correct their participant or visit",
            )
        )
    return problems


def check_followup(
    measurements: pd.DataFrame, manifest: pd.DataFrame | None, d: Declared, file: str
) -> list[Problem]:
    """The study has data at the visits its analyses compare: the follow-up visit (the last of ``[study]
    visits``, the primary endpoint) and the visit of ``[analysis.cross_sectional]``."""
    if "visit" not in measurements.columns:
        return []
    seen = distinct(measurements["visit"])
    if manifest is not None and "visit" in manifest.columns:
        seen |= set(manifest["visit"].dropna())
    problems = []
    follow = d.followup_visit
    if follow is not None and follow not in seen:
        problems.append(
            Problem(
                f"no measurements at the follow-up visit '{follow}' (the last of study.toml [study] visits {d.visits}, "
                "which the primary analysis compares with the baseline)",
                file=file,
                column="visit",
                value=follow,
                fix=f"add the measurements of visit '{follow}', or, if the study ended earlier, list only the visits "
                "that took place in study.toml [study] visits",
            )
        )
    cs_visit = d.cross_sectional.visit if d.cross_sectional is not None else None
    if (
        cs_visit is not None
        and cs_visit != follow
        and d.visits
        and cs_visit in d.visits
        and cs_visit not in seen
    ):
        problems.append(
            Problem(
                f"no measurements at visit '{cs_visit}', the visit of study.toml [analysis.cross_sectional]",
                file=file,
                column="visit",
                value=cs_visit,
                fix="add that visit's measurements, or name another visit in [analysis.cross_sectional]",
            )
        )
    return problems


def check_baselines(
    measurements: pd.DataFrame, participants: pd.DataFrame, d: Declared, file: str, measurements_file: str
) -> list[Problem]:
    """Every randomised participant has at least one baseline measurement."""
    if d.baseline_visit is None:
        return []
    base = pd.unique(measurements.loc[measurements["visit"] == d.baseline_visit, "participant_id"].to_numpy())
    ids = participants["participant_id"]  # each participant at its first row, as drop_duplicates keeps it
    lacking = participants.loc[~ids.duplicated(keep="first") & ids.notna() & ~ids.isin(base)]
    head = lacking.head(MAX_SHOWN)
    what = (
        f"randomised participant has no measurement at the baseline visit '{d.baseline_visit}'"
        if d.randomised
        else f"participant has no measurement at the {'' if d.design == 'cross_sectional' else 'baseline '}"
        f"visit '{d.baseline_visit}'"
    )
    fix = (
        f"add the baseline measurements to {file_name(measurements_file)} (a trial analysis needs every "
        "randomised participant's baseline)"
        if d.randomised
        else f"add the participant's measurements to {file_name(measurements_file)}, or remove the participant "
        "from the participants table"
    )
    shown = [
        Problem(
            what,
            file=file,
            row=int(r),
            column="participant_id",
            value=pid,
            fix=fix,
        )
        for pid, r in zip(head["participant_id"], head[ROW_COLUMN], strict=True)
    ]
    return with_rest(lacking, shown)


RAW_INSTRUMENTS = ("cutometer", "ultrasound")
MANIFEST_REQUIRED = ("participant_id", "visit", "instrument", "file")


def check_manifest(
    df: pd.DataFrame, d: Declared, participants: pd.DataFrame, file: str, participants_file: str
) -> list[Problem]:
    """Problems in ``raw/manifest.csv``: ids, visits, instruments, empty file names
    (where each file lies, and a file listed twice, are checked on resolved paths by
    :func:`skintrial.study._paths.manifest_paths`).

    ``file`` paths are relative to the manifest's folder. A listed file that is missing or unreadable
    is not a problem of the manifest: like any bad file it becomes an error row when the files are
    measured, is listed in the results, and the rest of the batch goes on.
    """
    problems = required_columns(df, MANIFEST_REQUIRED, file)
    if problems:
        return problems
    pfile = file_name(participants_file)
    for column in MANIFEST_REQUIRED:
        problems += empty_cells(
            df, column, file, f"fill in the {column} of this raw file (or delete the row)"
        )
    known = set(participants["participant_id"].dropna()) if "participant_id" in participants else set()
    problems += per_group(
        df,
        df["participant_id"].notna() & ~df["participant_id"].isin(known),
        "participant_id",
        file,
        "participant_id",
        lambda v: (
            f"raw file for a participant who is not in {pfile}",
            "add the participant, or correct the id",
        ),
    )
    if d.visits is not None:
        problems += per_group(
            df,
            df["visit"].notna() & ~df["visit"].isin(d.visits),
            "visit",
            file,
            "visit",
            lambda v: (f"unknown visit (declared visits: {d.visits})", "correct the visit"),
        )
    problems += per_group(
        df,
        df["instrument"].notna() & ~df["instrument"].isin(RAW_INSTRUMENTS),
        "instrument",
        file,
        "instrument",
        lambda v: (
            f"unknown raw instrument (skintrial reads: {list(RAW_INSTRUMENTS)})",
            "correct the instrument name",
        ),
    )
    # the same file listed twice is checked on resolved paths (study._paths.manifest_paths)
    problems += check_manifest_columns(df, file)  # unknown columns, per-file pixel spacing
    problems += check_withdrawals(df, participants, d, file, participants_file, what="raw file")
    return problems


def check_declared_outcomes(
    d: Declared, measurements: pd.DataFrame, manifest: pd.DataFrame | None, file: str
) -> list[Problem]:
    """Every declared outcome has measurements, or raw files of its instrument to compute them from."""
    present = distinct(measurements["outcome"]) if "outcome" in measurements.columns else set()
    raw_instruments = (
        set(manifest["instrument"].dropna()) if manifest is not None and "instrument" in manifest else set()
    )
    out = []
    for name, o in (d.outcomes or {}).items():
        instrument = o.instrument if o is not None else None
        if name in present or (instrument in RAW_INSTRUMENTS and instrument in raw_instruments):
            continue
        out.append(
            Problem(
                f"outcome '{name}' is declared but has no measurements"
                + (f" and no raw {instrument} files" if instrument in RAW_INSTRUMENTS else ""),
                file=file,
                column=f"outcomes.{name}",
                fix="add its measurements, or remove the outcome from study.toml (and from the analysis plan)",
            )
        )
    return out
