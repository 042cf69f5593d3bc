"""How a table check reports what it finds: records naming file, row and column, and the count of the rest.

A problem that repeats on many rows (an undeclared outcome on 120 rows) is reported once, at its
first row, with the number of rows affected (:func:`per_group`). A value that is wrong on its own row
(out of range, not a number, an empty key cell) is reported on each row (:func:`per_row`,
:func:`empty_cells`), for the first :data:`~skintrial.errors.MAX_SHOWN` rows of its kind; one more
record counts the rest (:func:`with_rest`: a file with a million bad rows is a few lines, and the
checks build a few records, not a million).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._readers import BLANK_ROWS, ROW_COLUMN

__all__ = [
    "distinct",
    "file_name",
    "required_columns",
    "with_rest",
    "per_group",
    "per_row",
    "empty_cells",
    "blank_row_notes",
]


def distinct(column: pd.Series) -> set:
    """The distinct filled values of a column: one hash pass (``set(column.dropna())`` builds a Python
    object per row, a second per row for the set; on a million rows that was a quarter second)."""
    return {v for v in pd.unique(column.to_numpy()) if not pd.isna(v)}


def file_name(file: str) -> str:
    return Path(file).name


def required_columns(df: pd.DataFrame, cols: Iterable[str], file: str) -> list[Problem]:
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


def with_rest(sub: pd.DataFrame, shown: list[Problem]) -> list[Problem]:
    """``shown`` (records of the first rows of ``sub``) and one record counting the rows left out."""
    rest = len(sub) - len(shown)
    if rest <= 0 or not shown:
        return shown
    rows = sub[ROW_COLUMN].iloc[len(shown) :]
    return [*shown, more_like_this(shown[-1], rest, int(rows.min()), int(rows.max()))]


def per_group(
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


def per_row(
    df: pd.DataFrame, bad: pd.Series, file: str, column: str, message: str, fix: str
) -> list[Problem]:
    """One problem per offending row (the first :data:`MAX_SHOWN`; one more record counts the rest)."""
    sub = df.loc[bad.fillna(False).astype(bool)]
    head = sub.head(MAX_SHOWN)
    shown = [
        Problem(message, file=file, row=int(r), column=column, value=v, fix=fix)
        for r, v in zip(head[ROW_COLUMN], head[column], strict=True)
    ]
    return with_rest(sub, shown)


def empty_cells(
    df: pd.DataFrame, column: str, file: str, fix: str, missing: pd.Series | None = None
) -> list[Problem]:
    """One problem per row whose ``column`` cell is empty (never 'value: nan' nonsense); ``missing``:
    the column's ``isna()`` when the caller has it already."""
    sub = df.loc[df[column].isna() if missing is None else missing]
    shown = [
        Problem(f"empty {column}", file=file, row=int(r), column=column, fix=fix)
        for r in sub[ROW_COLUMN].head(MAX_SHOWN)
    ]
    return with_rest(sub, shown)


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
