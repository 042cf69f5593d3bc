"""Long trial data → the arrays the engine fits: subjects × outcomes × visits, arms, covariates.

Every trial analysis starts here, so the conventions live in one place: the arm order (reference
first), the treatment-coded design, and the categorical-covariate dummies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = [
    "TrialArrays",
    "trial_arrays",
    "check_subject_constant",
    "arm_design",
    "pairwise_contrasts",
    "default_visit_order",
    "followup_visit_of",
]


@dataclass(frozen=True)
class TrialArrays:
    """A long trial table laid out for batched fitting.

    ``values[i, k, v]`` is subject i's value of outcome k at visit v (NaN when missing).
    """

    subjects: np.ndarray
    outcomes: tuple[str, ...]
    visits: tuple[str, ...]
    arms: tuple[str, ...]
    arm_index: np.ndarray  # (n,) position of each subject's arm in ``arms``
    values: np.ndarray  # (n, K, V)
    covariates: pd.DataFrame  # one row per subject, index = subjects

    def visit(self, name: str) -> np.ndarray:
        """The (n, K) slice of one visit."""
        return self.values[:, :, self.visits.index(str(name))]


def _ordered_arms(found: Sequence[str], arms: Sequence[str] | None, reference: str | None) -> tuple[str, ...]:
    order = list(arms) if arms is not None else sorted(set(found))
    missing = sorted(set(found) - set(order))
    if missing:
        raise InputError(
            f"arm(s) {missing} found in the data but not among the declared arms {order}",
            fix="declare every arm in study.toml [study] arms, or correct the arm column",
        )
    if reference is not None:
        if reference not in order:
            raise InputError(
                f"reference arm {reference!r} is not one of the arms {order}",
                fix="set [study] reference_arm to one of the declared arms",
            )
        order.remove(reference)
        order.insert(0, reference)
    return tuple(order)


def _natural_key(text: str) -> tuple[tuple[object, ...], str]:
    """Sort key comparing the runs of digits in a label as numbers: week0 < week8 < week16, visit2 < visit10."""
    parts: list[object] = list(re.split(r"([0-9]+)", text))  # text, digits, text, ...: one type per position
    parts[1::2] = [int(str(p)) for p in parts[1::2]]
    return tuple(parts), text  # the label itself breaks ties ("week08" and "week8")


def _natural_sorted(labels) -> list[str]:
    """Distinct labels as text in natural order (numbers inside a label compared as numbers)."""
    return sorted(dict.fromkeys(str(v) for v in labels), key=_natural_key)


def _refuse_missing_visits(
    col: pd.Series, column: str | None = None, missing: np.ndarray | None = None
) -> None:
    """Raise :class:`~skintrial.errors.InputError` when a visit is missing, naming the column and rows.

    A missing visit is not a visit called ``'nan'``: the row cannot be placed in time. Rows are numbered
    as in a spreadsheet (header row 1, first data row 2), in the order of the table given. ``missing``
    ((rows,) bool) may be passed by a caller that has it.
    """
    missing = np.flatnonzero(pd.isna(col).to_numpy() if missing is None else missing)
    if missing.size:
        rows = (missing[:5] + 2).tolist()
        listed = (
            f" (rows {', '.join(map(str, rows))}{', ...' if missing.size > 5 else ''})"
            if missing.size > 1
            else ""
        )
        name = column if column is not None else str(col.name if col.name is not None else "visit")
        raise InputError(
            Problem(
                f"the visit is missing{listed}: a row without a visit cannot be placed in time",
                fix=f"fill in '{name}' on those rows, or leave the rows out",
                file=col.attrs.get("file"),
                row=int(rows[0]),
                column=name,
                rows_affected=int(missing.size),
            )
        )


def default_visit_order(col: pd.Series, *, column: str | None = None) -> list[str]:
    """The visits of a column in their natural order, when the caller names none.

    Category order for a categorical column, numeric order for numbers, and for text the natural
    order: numbers inside a label are compared as numbers (``week0 < week8 < week16``,
    ``visit2 < visit10``), never plain text order, where ``week8`` would follow ``week16``. The order
    never depends on the order of the rows. A missing visit is an :class:`~skintrial.errors.InputError`
    naming the column and rows. Study bundles always pass the order declared in study.toml.

    Examples
    --------
    >>> default_visit_order(pd.Series(["week16", "week0", "week8", "week16"]))
    ['week0', 'week8', 'week16']
    """
    _refuse_missing_visits(col, column)
    if isinstance(col.dtype, pd.CategoricalDtype):
        used = set(pd.unique(col.cat.codes))
        return [str(v) for k, v in enumerate(col.cat.categories) if k in used]
    if pd.api.types.is_numeric_dtype(col):
        return list(dict.fromkeys(str(v) for v in sorted(pd.unique(col))))
    return _natural_sorted(pd.unique(col))


def followup_visit_of(
    visits: Sequence[str],
    baseline_visit: str,
    followup_visit: str | None,
    *,
    column: str = "visit",
    declared: Sequence[str] | None = None,
) -> str:
    """The follow-up visit of a pre/post comparison: as given, or the only visit besides the baseline.

    ``visits`` are the visits in the data (in :func:`default_visit_order`). With several visits besides
    the baseline and none named, the error names them: which post-baseline visit is the primary endpoint
    is a pre-specified choice, not something to infer from the data. A caller that holds a declared
    visit order (``declared``, a study's ``[study] visits``) gets its last visit present in the data.
    Every analysis that compares a baseline with one follow-up resolves it here (``ancova``,
    ``pilot_estimates``, ``dose_response``, ``panel_analysis``).

    Examples
    --------
    >>> followup_visit_of(["week0", "week16"], "week0", None)
    'week16'
    """
    visits = [str(v) for v in visits]
    baseline_visit = str(baseline_visit)
    others = [v for v in visits if v != baseline_visit]
    if followup_visit is None and declared is not None:
        later = [str(v) for v in declared if str(v) in set(others)]
        followup_visit = later[-1] if later else None
    probs = []
    if baseline_visit not in visits:
        probs.append(
            Problem(
                f"the baseline visit {baseline_visit!r} is not in the data (visits: {visits})",
                column=column,
                value=baseline_visit,
                fix="pass the baseline visit's name as it appears in the visit column",
            )
        )
    if followup_visit is None and not others:
        probs.append(
            Problem(
                f"no follow-up visit: the data have no visit besides the baseline {baseline_visit!r}",
                column=column,
                fix="give data with a follow-up visit",
            )
        )
    elif followup_visit is None and len(others) > 1:
        probs.append(
            Problem(
                f"the data have {len(others)} visits besides the baseline {baseline_visit!r}: {others}; "
                "which one is the follow-up must be named",
                column=column,
                value=others,
                fix="name it with followup_visit= (the CLI: --followup); a study's last visit in "
                "study.toml's [study] visits is the usual choice",
            )
        )
    elif followup_visit is not None and str(followup_visit) not in others:
        probs.append(
            Problem(
                f"the follow-up visit {str(followup_visit)!r} is not in the data (visits besides the "
                f"baseline: {others})",
                column=column,
                value=str(followup_visit),
                fix=f"use one of {others}",
            )
        )
    InputError.collect(probs)
    return str(followup_visit) if followup_visit is not None else others[0]


def _factorize(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column's values (-1 where missing, as :func:`pandas.isna`) and the distinct
    values (in order of first appearance, as :func:`pandas.factorize`).

    A long table repeats its text columns in runs (an outcome's rows, a participant's visits, the arm
    on each of them): such a column is factorised at the first row of each run only, the codes repeated
    along the runs (one comparison of neighbours instead of hashing every row; the same codes)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), col.cat.categories
    values = col.to_numpy()
    if values.dtype == object and values.size > 1:
        try:  # the first 1,000 rows tell whether the column runs (a visit column changes every row)
            head = values[:1001]
            change = None
            if 2 * int(np.count_nonzero(np.asarray(head[1:] != head[:-1], dtype=bool))) < head.size:
                change = np.asarray(values[1:] != values[:-1], dtype=bool)  # NaN != NaN: its own run
        except (TypeError, ValueError):  # e.g. pd.NA, whose comparison is not a bool
            change = None
        if change is not None and 2 * int(change.sum()) < values.size:
            starts = np.concatenate(([0], np.flatnonzero(change) + 1))
            head_codes, uniques = pd.factorize(values[starts])
            return np.repeat(head_codes, np.diff(np.append(starts, values.size))), pd.Index(uniques)
    codes, uniques = pd.factorize(col)
    return codes, pd.Index(uniques)


class ColumnCodes:
    """The factorisation of a long table's columns, each computed once and shared by the checks
    (missing values, participant-level columns constant) and the layout: on a table of a thousand
    outcomes a pass over one column costs about as much as a pass of the checks, so each column is
    read once. Local to one call (not a global cache)."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data
        self._raw: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def raw(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """:func:`_factorize` of ``column``."""
        if column not in self._raw:
            self._raw[column] = _factorize(self.data[column])
        return self._raw[column]

    def missing(self, column: str) -> np.ndarray:
        """(rows,) bool: the value is missing."""
        return self.raw(column)[0] < 0

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_codes` of ``column``."""
        return _text_codes(*self.raw(column))


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column's values compared as text, and the distinct texts (one pass)."""
    return _text_codes(*_factorize(col))


def _text_codes(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_codes` from a column's :func:`_factorize`."""
    if (codes < 0).any():  # a missing key: keep it as its own text, as str(nan) did
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = pd.Index(list(uniques) + [np.nan], dtype=object)
    text = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    merged, names = pd.factorize(text)  # 1 and "1" are the same participant
    return merged[codes], np.asarray(names, dtype=object)


def check_subject_constant(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    subject: str = "participant_id",
    s_code: np.ndarray | None = None,
    first_of: np.ndarray | None = None,
    column_codes: ColumnCodes | None = None,
) -> None:
    """Raise :class:`~skintrial.errors.InputError` when a participant-level column varies within a participant.

    The arm and the covariates describe a participant, not a visit: the analyses read them once per
    participant, so two values on one participant's rows would make the result depend on the row
    order. Values are compared as text (``1`` and ``"1"`` agree); a missing value next to a present
    one is a conflict. One problem per column names the first such participant, both values, and
    how many participants and rows are affected. ``s_code`` (each row's subject code) and
    ``first_of`` (the first row of each code) may be passed by a caller that has them, and
    ``column_codes`` the columns' factorisations.
    """
    cc = column_codes if column_codes is not None else ColumnCodes(data)
    if s_code is None or first_of is None:
        s_code, _ = cc.codes(subject)
        first_of = np.empty(int(s_code.max(initial=-1)) + 1, dtype=np.intp)
        first_of[s_code[::-1]] = np.arange(len(data))[::-1]
    ref_row = first_of[s_code]  # (rows,) the first row of the same participant
    problems = []
    for c in dict.fromkeys(columns):
        codes, _ = cc.codes(c)
        differ = codes != codes[ref_row]
        if not differ.any():
            continue
        r = int(np.flatnonzero(differ)[0])
        first, other = data[c].iloc[[int(ref_row[r]), r]].tolist()
        who = np.unique(s_code[differ])
        pid = data[subject].iloc[[r]].tolist()[0]
        more = f" ({who.size} participants in all)" if who.size > 1 else ""
        problems.append(
            Problem(
                f"'{c}' must be the same on every row of a participant: participant {pid!r} has "
                f"{first!r} and {other!r}{more}",
                fix=f"correct '{c}' so that each participant has one value on all of their rows",
                column=c,
                rows_affected=int(np.isin(s_code, who).sum()),
            )
        )
    InputError.collect(problems)


def trial_arrays(
    data: pd.DataFrame,
    *,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    visits: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    outcomes: Sequence[str] | None = None,
    column_codes: ColumnCodes | None = None,
) -> TrialArrays:
    """Lay out a long table (one row per subject × visit × outcome) as subject × outcome × visit.

    ``column_codes`` (of ``data``) may be passed by a caller that has factorised some columns already."""
    needed = [subject, visit, outcome, value, arm, *covariates]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise InputError(f"column(s) {absent} not found in the data", fix=f"the data need columns {needed}")
    cc = column_codes if column_codes is not None else ColumnCodes(data)
    _refuse_missing_visits(data[visit], visit, missing=cc.missing(visit))
    s_code, s_names = cc.codes(subject)
    v_code, v_names = cc.codes(visit)
    o_code, o_names = cc.codes(outcome)
    nS, nV, nO = len(s_names), len(v_names), len(o_names)
    cell = (s_code * nV + v_code) * nO + o_code
    counts = np.bincount(cell, minlength=nS * nV * nO)
    if counts.max(initial=0) > 1:
        dup = counts[cell] > 1
        first = data.loc[dup, [subject, visit, outcome]].iloc[0].tolist()
        raise InputError(
            Problem(
                "more than one value for the same participant, visit and outcome",
                fix="average replicates first (study bundles do this by the declared replicate rule)",
                value=first,
                rows_affected=int(dup.sum()),
            )
        )
    order = np.argsort(s_names, kind="stable")  # subjects sorted by their text
    subjects = np.asarray(s_names[order].tolist(), dtype=str)
    rank = np.empty(nS, dtype=np.intp)
    rank[order] = np.arange(nS)
    first_of = np.empty(nS, dtype=np.intp)
    first_of[s_code[::-1]] = np.arange(len(data))[::-1]  # first row of each subject (by code)
    check_subject_constant(
        data, [arm, *covariates], subject=subject, s_code=s_code, first_of=first_of, column_codes=cc
    )
    first_row = first_of[order]  # first row of each sorted subject: all its rows agree (checked)
    subj_tab = data[[arm, *covariates]].iloc[first_row].set_axis(pd.Index(subjects, name=subject))
    arm_order = _ordered_arms(pd.unique(subj_tab[arm].astype(str)).tolist(), arms, reference_arm)
    outs = tuple(outcomes) if outcomes is not None else tuple(sorted(o_names.tolist()))
    if visits is not None:
        vis = tuple(str(v) for v in visits)
    elif isinstance(data[visit].dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(data[visit]):
        vis = tuple(default_visit_order(data[visit], column=visit))
    else:  # text: the distinct visits _codes found, in natural order (no second pass over the table)
        vis = tuple(_natural_sorted(v_names))
    o_map = pd.Index(outs).get_indexer(o_names)  # data code -> position in outs (-1: not analysed)
    v_map = pd.Index(vis).get_indexer(v_names)
    o_idx, v_idx = o_map[o_code], v_map[v_code]
    keep = (o_idx >= 0) & (v_idx >= 0)
    values = np.full((nS, len(outs), len(vis)), np.nan)
    vals = pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    at = (rank[s_code] * len(outs) + o_idx) * len(vis) + v_idx  # flat position (one index: 3x faster)
    values.reshape(-1)[at[keep]] = vals[keep]
    arm_index = pd.Index(arm_order).get_indexer(subj_tab[arm].astype(str))
    return TrialArrays(
        subjects=subjects,
        outcomes=outs,
        visits=vis,
        arms=arm_order,
        arm_index=arm_index,
        values=values,
        covariates=subj_tab[list(covariates)],
    )


def arm_design(ta: TrialArrays, *, arm_label: str = "arm") -> tuple[np.ndarray, list[str], list[int]]:
    """Intercept, treatment-coded arm dummies (reference = first arm) and covariate columns.

    Categorical covariates become treatment-coded dummies named ``cov[level]``. Returns the design,
    the column names, and for each column the number of levels of the factor it codes (1 for
    numeric columns and the intercept; emmeans averages a factor's dummies at 1/levels).
    """
    n = len(ta.subjects)
    cols = [np.ones(n)]
    names = ["intercept"]
    levels = [1]
    for j, a in enumerate(ta.arms[1:], start=1):
        cols.append((ta.arm_index == j).astype(float))
        names.append(f"{arm_label}[{a}]")
        levels.append(0)  # arm dummies are set explicitly per arm in the reference grid
    for c in ta.covariates.columns:
        s = ta.covariates[c]
        if pd.api.types.is_numeric_dtype(s):
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
            levels.append(1)
        else:
            lv = sorted(s.dropna().astype(str).unique())
            for level in lv[1:]:
                cols.append(np.where(s.isna(), np.nan, (s.astype(str) == level).astype(float)))
                names.append(f"{c}[{level}]")
                levels.append(len(lv))
    return np.column_stack(cols), names, levels


def pairwise_contrasts(arms: Sequence[str], reference_arm: str | None) -> list[tuple[str, int, int]]:
    """Contrasts as (label, arm position, baseline arm position): vs the reference, or all pairs."""
    if reference_arm is not None:
        return [(f"{a} - {arms[0]}", j, 0) for j, a in enumerate(arms) if j > 0]
    return [(f"{arms[j]} - {arms[i]}", j, i) for i in range(len(arms)) for j in range(i + 1, len(arms))]
