"""Checks of the participants table: ids, arms, status and withdrawal, age, the model's columns.

The model's columns are the covariates of ``[analysis]`` and, for the ``cross_sectional`` method, its
grouping column and the second factor (``by``) of its two-way ANOVA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import Problem
from skintrial.study._declared import Declared
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._validate_rows import (
    distinct,
    empty_cells,
    file_name,
    per_group,
    per_row,
    required_columns,
)

__all__ = ["STATUSES", "check_participants"]

STATUSES = ("completed", "withdrawn")
PARTICIPANT_REQUIRED = ("participant_id", "arm")


def check_participants(df: pd.DataFrame, d: Declared, file: str) -> list[Problem]:
    """Problems in the participants table: ids, arms, status, withdrawal visit, numeric age, covariates."""
    required = PARTICIPANT_REQUIRED if d.randomised else ("participant_id",)
    problems = required_columns(df, required, file)
    if problems:
        return problems
    problems += empty_cells(
        df, "participant_id", file, "give every participant a unique id (or delete the row)"
    )
    dup = df["participant_id"].notna() & df.duplicated("participant_id", keep="first")
    problems += per_row(
        df,
        dup,
        file,
        "participant_id",
        "duplicate participant id",
        "each participant appears once; merge or renumber the duplicates",
    )
    if "arm" in df.columns:
        problems += empty_cells(
            df,
            "arm",
            file,
            (
                "fill in the arm the participant was randomised to"
                if d.randomised
                else "fill in the participant's arm"
            )
            + (f" (one of {d.arms})" if d.arms else ""),
        )
    if d.arms is not None and "arm" in df.columns:
        problems += _arms(df, d, file)
    problems += _status(df, d, file)
    if "age" in df.columns:
        age = _numeric(df["age"])
        problems += per_row(
            df,
            df["age"].notna() & ~(age.between(0, 130)),
            file,
            "age",
            "age is not a number of years between 0 and 130",
            "correct the age",
        )
    problems += _model_columns(df, d, file)
    return problems


def _numeric(cells: pd.Series) -> pd.Series:
    """``pandas.to_numeric(cells, errors="coerce")`` as float, each distinct text parsed once (a column
    of a few dozen ages, not a parse per participant)."""
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    table = np.append(pd.to_numeric(uniques, errors="coerce").astype(float), np.nan)
    return pd.Series(table[codes], index=cells.index, name=cells.name)


def _model_columns(df: pd.DataFrame, d: Declared, file: str) -> list[Problem]:
    """Participant columns the plan's models use: covariates, and the cross-sectional grouping column."""
    problems = []
    cs = d.cross_sectional
    needed = {cov: "[analysis] covariates" for cov in d.covariates}
    if cs is not None:
        needed.update(
            {c: "[analysis.cross_sectional] covariates" for c in cs.covariates or [] if c not in needed}
        )
    for cov, where in needed.items():
        if cov not in df.columns:
            problems.append(
                Problem(
                    f"covariate '{cov}' of the analysis plan is not a column",
                    file=file,
                    row=1,
                    column=cov,
                    fix=f"add the column, or remove it from {where}",
                )
            )
        else:
            problems += per_row(
                df,
                df[cov].isna(),
                file,
                cov,
                "covariate value missing",
                "fill in the covariate for every participant (the model needs it)",
            )
    if cs is None:
        return problems
    if cs.by is not None:
        problems += _factor_column(df, cs.by, "by", file)
    if cs.group == "arm":
        return problems
    if cs.group not in df.columns:
        return [
            *problems,
            Problem(
                f"the grouping column '{cs.group}' of [analysis.cross_sectional] is not a column",
                file=file,
                row=1,
                column=cs.group,
                fix="add the column, or correct group in [analysis.cross_sectional] of study.toml",
            ),
        ]
    problems += per_row(
        df,
        df[cs.group].isna(),
        file,
        cs.group,
        "group missing",
        "fill in the group of every participant (the cross-sectional comparison needs it)",
    )
    levels = sorted(set(df[cs.group].dropna()))
    if cs.reference_group is not None and cs.reference_group not in levels:
        problems.append(
            Problem(
                f"reference_group of [analysis.cross_sectional] is not a value of column '{cs.group}' ({levels})",
                file=file,
                column=cs.group,
                value=cs.reference_group,
                fix="correct reference_group in study.toml, or leave it out to compare all pairs",
            )
        )
    if len(levels) < 2:
        problems.append(
            Problem(
                f"the grouping column '{cs.group}' has {len(levels)} distinct value(s); a comparison needs 2 or more",
                file=file,
                column=cs.group,
                fix="check the column, or group by another one",
            )
        )
    return problems


def _factor_column(df: pd.DataFrame, column: str, key: str, file: str) -> list[Problem]:
    """The second factor of the two-way ANOVA (``[analysis.cross_sectional] by``): a participants
    column, filled for everyone, with two or more values."""
    if column not in df.columns:
        return [
            Problem(
                f"the column '{column}' named by {key} in [analysis.cross_sectional] is not a column",
                file=file,
                row=1,
                column=column,
                fix=f"add the column (e.g. an age band for each participant), or correct {key} in study.toml",
            )
        ]
    problems = per_row(
        df,
        df[column].isna(),
        file,
        column,
        f"{key} value missing",
        f"fill in '{column}' for every participant (the two-way ANOVA needs it)",
    )
    levels = sorted({str(v) for v in df[column].dropna()})
    if len(levels) < 2:
        problems.append(
            Problem(
                f"the column '{column}' ({key} of [analysis.cross_sectional]) has {len(levels)} distinct "
                "value(s); the two-way ANOVA needs 2 or more",
                file=file,
                column=column,
                fix=f"check the column, or leave {key} out of [analysis.cross_sectional]",
            )
        )
    return problems


def _arms(df: pd.DataFrame, d: Declared, file: str) -> list[Problem]:
    """Unknown arms, and declared arms nobody was randomised to (their contrasts could not be estimated)."""
    arms = d.arms or []
    fix = "correct the arm, or declare it in study.toml [study] arms"
    if d.arm_optional:
        fix = (
            'declare the study\'s one arm in study.toml (arms = ["NAME"]), or remove the arm column'
            if d.design == "single_arm"
            else "remove the arm column (the groups are named by [analysis.cross_sectional] group), or declare "
            "the arms in study.toml [study] arms"
        )
    problems = per_group(
        df,
        df["arm"].notna() & ~df["arm"].isin(arms),
        "arm",
        file,
        "arm",
        lambda v: (f"unknown arm (declared arms: {arms})", fix),
    )
    present = distinct(df["arm"])
    problems += (
        [
            Problem(
                f"arm '{a}' is declared in study.toml [study] arms but no participant in {file_name(file)} is "
                + ("randomised to it" if d.randomised else "in it"),
                file=file,
                column="arm",
                value=a,
                fix="add the arm's participants, or remove the arm from [study] arms (and from reference_arm "
                "and arm_labels)",
            )
            for a in arms
            if a not in present
        ]
        if present
        else []
    )
    return problems


def _status(df: pd.DataFrame, d: Declared, file: str) -> list[Problem]:
    if "status" not in df.columns:
        return []
    problems = per_group(
        df,
        df["status"].notna() & ~df["status"].isin(STATUSES),
        "status",
        file,
        "status",
        lambda v: (f"unknown status (allowed: {list(STATUSES)})", "use 'completed' or 'withdrawn'"),
    )
    withdrawn = df["status"] == "withdrawn"
    for column in ("withdrawal_visit", "withdrawal_reason"):
        if withdrawn.any() and column not in df.columns:
            first = int(df.loc[withdrawn, ROW_COLUMN].iloc[0])
            problems.append(
                Problem(
                    f"participants are withdrawn (first at row {first}) but there is no '{column}' column",
                    file=file,
                    row=1,
                    column=column,
                    rows_affected=int(withdrawn.sum()),
                    fix=f"add the column '{column}' and fill it in for every withdrawn participant",
                )
            )
    if "withdrawal_visit" in df.columns and d.visits is not None:
        problems += per_row(
            df,
            withdrawn & ~df["withdrawal_visit"].isin(d.visits),
            file,
            "withdrawal_visit",
            f"a withdrawn participant needs the last visit attended, one of {d.visits}",
            "fill in withdrawal_visit",
        )
    if "withdrawal_reason" in df.columns:
        problems += per_row(
            df,
            withdrawn & df["withdrawal_reason"].isna(),
            file,
            "withdrawal_reason",
            "a withdrawn participant needs a withdrawal reason",
            "fill in withdrawal_reason (CONSORT reports it)",
        )
    return problems
