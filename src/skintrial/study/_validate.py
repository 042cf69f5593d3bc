"""Checks of a bundle's tables: every problem found in one pass, each with file, row, column and fix.

A problem that repeats on many rows (an undeclared outcome on 120 rows) is reported once, at its
first row, with the number of rows affected. A value that is wrong on its own row (out of range,
not a number, an empty key cell) is reported on each row, for the first
:data:`~skintrial.errors.MAX_SHOWN` rows of its kind; one more record counts the rest (a file with a
million bad rows is a few lines, and the checks build a few records, not a million).

The checks read what ``study.toml`` declares through :class:`Declared`, which holds only the parts
that could be read: when ``study.toml`` has problems of its own, the tables are still checked for
everything that does not depend on the broken part, so one pass reports every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._csvformat import parse_numbers
from skintrial.study._manifest import check_manifest_columns
from skintrial.study._ranges import outcome_range
from skintrial.study._readers import BLANK_ROWS, ROW_COLUMN
from skintrial.study._schema import SINGLE_GROUP, CrossSectionalSpec, OutcomeSpec, StudyFile, design_of

__all__ = [
    "Declared",
    "check_participants",
    "check_measurements",
    "check_withdrawals",
    "check_followup",
    "check_baselines",
    "check_manifest",
    "check_declared_outcomes",
    "blank_row_notes",
    "STATUSES",
]

STATUSES = ("completed", "withdrawn")
PARTICIPANT_REQUIRED = ("participant_id", "arm")
MEASUREMENT_REQUIRED = ("participant_id", "visit", "outcome", "value")


def _strings(value: object) -> list[str] | None:
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def _table(raw: Mapping, key: str) -> Mapping:
    """The TOML table ``raw[key]``; empty when it is missing or not a table."""
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Declared:
    """What ``study.toml`` declares, as far as it could be read (``None``: that part is unreadable)."""

    arms: list[str] | None = None
    visits: list[str] | None = None
    baseline_visit: str | None = None
    outcomes: Mapping[str, OutcomeSpec | None] | None = None
    """Declared outcome names → their spec (``None`` for an outcome whose own table has errors)."""
    covariates: list[str] = field(default_factory=list)
    cross_sectional: CrossSectionalSpec | None = None
    """The ``cross_sectional`` method's settings when the plan lists it (its group and covariates are
    participants columns)."""
    design: str = "randomised"
    """``[study] design``: ``randomised``, ``cross_sectional`` or ``single_arm``."""

    @classmethod
    def from_spec(cls, spec: StudyFile) -> Declared:
        s, a = spec.study, spec.analysis
        cs = (a.cross_sectional or CrossSectionalSpec()) if "cross_sectional" in a.methods else None
        return cls(
            list(s.arms),
            list(s.visits),
            s.baseline_visit,
            dict(spec.outcomes),
            list(a.covariates),
            cs,
            s.design,
        )

    @classmethod
    def from_raw(cls, raw: Mapping | None) -> Declared:
        """The parts of an invalid ``study.toml`` document that are usable (lists of names, valid outcomes)."""
        if not isinstance(raw, Mapping):
            return cls()
        study, analysis = _table(raw, "study"), _table(raw, "analysis")
        outcomes: dict[str, OutcomeSpec | None] | None = None
        if isinstance(raw.get("outcomes"), Mapping):
            outcomes = {}
            for name, table in raw["outcomes"].items():
                try:
                    outcomes[name] = OutcomeSpec.model_validate(table)
                except ValueError:  # pydantic's ValidationError; already reported against study.toml
                    outcomes[name] = None
        base = study.get("baseline_visit")
        design = design_of(study)
        arms = _strings(study.get("arms"))
        return cls(
            [SINGLE_GROUP] if arms is None and "arms" not in study and design != "randomised" else arms,
            _strings(study.get("visits")),
            base if isinstance(base, str) else None,
            outcomes,
            _strings(analysis.get("covariates")) or [],
            design=design,
        )

    @property
    def followup_visit(self) -> str | None:
        """The primary follow-up visit (the last); none in a cross-sectional study."""
        if self.design == "cross_sectional":
            return None
        return self.visits[-1] if self.visits and len(self.visits) >= 2 else None

    @property
    def randomised(self) -> bool:
        return self.design == "randomised"

    @property
    def arm_optional(self) -> bool:
        """A non-randomised study that declares no arms needs no ``arm`` column (it has one group)."""
        return not self.randomised and self.arms == [SINGLE_GROUP]


def _distinct(column: pd.Series) -> set:
    """The distinct filled values of a column: one hash pass (``set(column.dropna())`` builds a Python
    object per row, a second per row for the set; on a million rows that was a quarter second)."""
    return {v for v in pd.unique(column.to_numpy()) if not pd.isna(v)}


def _name(file: str) -> str:
    return Path(file).name


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


def _with_rest(sub: pd.DataFrame, shown: list[Problem]) -> list[Problem]:
    """``shown`` (records of the first rows of ``sub``) and one record counting the rows left out."""
    rest = len(sub) - len(shown)
    if rest <= 0 or not shown:
        return shown
    rows = sub[ROW_COLUMN].iloc[len(shown) :]
    return [*shown, more_like_this(shown[-1], rest, int(rows.min()), int(rows.max()))]


def _per_group(
    df: pd.DataFrame,
    bad: pd.Series,
    key: str,
    file: str,
    column: str,
    make: Callable[[object], tuple[str, str]],
) -> list[Problem]:
    """One problem per distinct offending value of ``key``, at its first row, with a row count (the
    first :data:`MAX_SHOWN` values; one more record counts the others and their rows)."""
    sub = df.loc[bad.fillna(False).astype(bool)]
    if sub.empty:
        return []
    firsts = sub.drop_duplicates(key)
    counts = sub[key].value_counts(dropna=False, sort=False)
    out = []
    for value, row in zip(firsts[key].head(MAX_SHOWN), firsts[ROW_COLUMN].head(MAX_SHOWN), strict=True):
        message, fix = make(value)
        n = int(counts.get(value, 1))  # the callers' masks keep only filled cells
        out.append(
            Problem(message, file=file, row=int(row), column=column, value=value, rows_affected=n, fix=fix)
        )
    if len(firsts) > MAX_SHOWN:
        rest = firsts.iloc[MAX_SHOWN:]
        message, fix = make(rest[key].iloc[0])
        n_rows = len(sub) - sum(p.rows_affected for p in out)
        out.append(
            Problem(
                f"{message}: {len(rest):,} more distinct values like this (on {n_rows:,} rows, the first "
                f"at row {int(rest[ROW_COLUMN].iloc[0])})",
                file=file,
                column=column,
                rows_affected=n_rows,
                fix=fix,
            )
        )
    return out


def _per_row(
    df: pd.DataFrame, bad: pd.Series, file: str, column: str, message: str, fix: str
) -> list[Problem]:
    """One problem per offending row (the first :data:`MAX_SHOWN`; one more record counts the rest)."""
    sub = df.loc[bad.fillna(False).astype(bool)]
    head = sub.head(MAX_SHOWN)
    shown = [
        Problem(message, file=file, row=int(r), column=column, value=v, fix=fix)
        for r, v in zip(head[ROW_COLUMN], head[column], strict=True)
    ]
    return _with_rest(sub, shown)


def _empty(
    df: pd.DataFrame, column: str, file: str, fix: str, missing: pd.Series | None = None
) -> list[Problem]:
    """One problem per row whose ``column`` cell is empty (never 'value: nan' nonsense); ``missing``:
    the column's ``isna()`` when the caller has it already."""
    sub = df.loc[df[column].isna() if missing is None else missing]
    shown = [
        Problem(f"empty {column}", file=file, row=int(r), column=column, fix=fix)
        for r in sub[ROW_COLUMN].head(MAX_SHOWN)
    ]
    return _with_rest(sub, shown)


def blank_row_notes(table: pd.DataFrame, file: str) -> list[Problem]:
    """A note naming the blank rows the reader skipped (their row numbers are kept by the rows below)."""
    rows = table.attrs.get(BLANK_ROWS) or []
    if not rows:
        return []
    shown = ", ".join(str(r) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
    message = "blank row skipped" if len(rows) == 1 else f"{len(rows)} blank rows skipped (rows {shown})"
    return [
        Problem(
            message,
            file=file,
            row=int(rows[0]),
            kind="note",
            fix="nothing to do; delete the blank rows to silence this note",
        )
    ]


def check_participants(df: pd.DataFrame, d: Declared, file: str) -> list[Problem]:
    """Problems in the participants table: ids, arms, status, withdrawal visit, numeric age, covariates."""
    required = PARTICIPANT_REQUIRED if d.randomised else ("participant_id",)
    problems = _required(df, required, file)
    if problems:
        return problems
    problems += _empty(df, "participant_id", file, "give every participant a unique id (or delete the row)")
    dup = df["participant_id"].notna() & df.duplicated("participant_id", keep="first")
    problems += _per_row(
        df,
        dup,
        file,
        "participant_id",
        "duplicate participant id",
        "each participant appears once; merge or renumber the duplicates",
    )
    if "arm" in df.columns:
        problems += _empty(
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
        problems += _per_row(
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
            problems += _per_row(
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
    problems += _per_row(
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
    problems = _per_row(
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
    problems = _per_group(
        df,
        df["arm"].notna() & ~df["arm"].isin(arms),
        "arm",
        file,
        "arm",
        lambda v: (f"unknown arm (declared arms: {arms})", fix),
    )
    present = _distinct(df["arm"])
    problems += (
        [
            Problem(
                f"arm '{a}' is declared in study.toml [study] arms but no participant in {_name(file)} is "
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
    problems = _per_group(
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
        problems += _per_row(
            df,
            withdrawn & ~df["withdrawal_visit"].isin(d.visits),
            file,
            "withdrawal_visit",
            f"a withdrawn participant needs the last visit attended, one of {d.visits}",
            "fill in withdrawal_visit",
        )
    if "withdrawal_reason" in df.columns:
        problems += _per_row(
            df,
            withdrawn & df["withdrawal_reason"].isna(),
            file,
            "withdrawal_reason",
            "a withdrawn participant needs a withdrawal reason",
            "fill in withdrawal_reason (CONSORT reports it)",
        )
    return problems


def check_measurements(
    df: pd.DataFrame, d: Declared, participants: pd.DataFrame, file: str, participants_file: str
) -> tuple[list[Problem], pd.DataFrame]:
    """Problems in the measurements table; returns them and the table with a float ``value`` column."""
    problems = _required(df, MEASUREMENT_REQUIRED, file)
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
    pfile = _name(participants_file)
    # each key column's empty cells, found once (a million-row table: one pass per column, not four)
    missing = {c: df[c].isna() for c in ("participant_id", "visit", "outcome")}
    problems += _empty(
        df,
        "participant_id",
        file,
        f"fill in the participant's id, as in {pfile} (or delete the row)",
        missing["participant_id"],
    )
    problems += _empty(
        df,
        "visit",
        file,
        "fill in the visit" + (f", one of {d.visits}" if d.visits else ""),
        missing["visit"],
    )
    problems += _empty(
        df,
        "outcome",
        file,
        "fill in the outcome's name, as declared in study.toml [outcomes.NAME]",
        missing["outcome"],
    )
    if "participant_id" in participants.columns:
        known = set(participants["participant_id"].dropna())
        problems += _per_group(
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
        problems += _per_group(
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
        problems += _per_group(
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
    problems = _per_row(
        df,
        ~empty & value.isna(),
        file,
        "value",
        "value is not a number",
        "write a plain number with a decimal point (no units, no text)",
    )
    problems += _per_row(
        df,
        empty,
        file,
        "value",
        "value is empty",
        "leave out measurements that were not taken (one row per measurement taken)",
    )
    problems += _per_row(
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
    return _per_row(
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
        problems += _with_rest(sub, shown)
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
    pfile = _name(participants_file)
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
    seen = _distinct(measurements["visit"])
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
        f"add the baseline measurements to {_name(measurements_file)} (a trial analysis needs every "
        "randomised participant's baseline)"
        if d.randomised
        else f"add the participant's measurements to {_name(measurements_file)}, or remove the participant "
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
    return _with_rest(lacking, shown)


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
    problems = _required(df, MANIFEST_REQUIRED, file)
    if problems:
        return problems
    pfile = _name(participants_file)
    for column in MANIFEST_REQUIRED:
        problems += _empty(df, column, file, f"fill in the {column} of this raw file (or delete the row)")
    known = set(participants["participant_id"].dropna()) if "participant_id" in participants else set()
    problems += _per_group(
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
        problems += _per_group(
            df,
            df["visit"].notna() & ~df["visit"].isin(d.visits),
            "visit",
            file,
            "visit",
            lambda v: (f"unknown visit (declared visits: {d.visits})", "correct the visit"),
        )
    problems += _per_group(
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
    present = _distinct(measurements["outcome"]) if "outcome" in measurements.columns else set()
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
