"""Shared by the omics readers: map a lab's column names onto ours, and read a table file with errors that help.

Two input columns that map to one of our names (``Sample`` and ``Sample Name``, ``Cq`` and ``CT``,
``value`` and ``conc``) are refused with both names: keeping either silently could analyse the wrong
one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["canonical_columns", "read_text_table"]


def canonical_columns(
    frame: pd.DataFrame, aliases: Mapping[str, str], *, file: str | None = None
) -> pd.DataFrame:
    """Rename columns to our names (lower case, spaces/dashes as underscores, then ``aliases``).

    Raises
    ------
    InputError
        Two or more columns map to the same name; the message names the original columns.

    Examples
    --------
    >>> import pandas as pd
    >>> canonical_columns(pd.DataFrame(columns=["Sample Name", "Cq"]), {"sample_name": "sample", "cq": "ct"}).columns.tolist()
    ['sample', 'ct']
    >>> canonical_columns(pd.DataFrame(columns=["Cq", "CT"]), {"cq": "ct"})
    Traceback (most recent call last):
    ...
    skintrial.errors.InputError: row 1, column 'Cq, CT': columns 'Cq' and 'CT' both mean 'ct'. Fix: ...
    """
    names: dict[object, str] = {}
    sources: dict[str, list[str]] = {}
    for col in frame.columns:
        key = str(col).strip().lower().replace(" ", "_").replace("-", "_")
        names[col] = aliases.get(key, key)
        sources.setdefault(names[col], []).append(str(col))
    problems = [
        Problem(
            f"columns {' and '.join(repr(c) for c in cols)} both mean '{name}'",
            file=file,
            row=1,
            column=", ".join(cols),
            fix=f"keep one: delete the other column, or rename it to a name that is not read as '{name}'",
        )
        for name, cols in sources.items()
        if len(cols) > 1
    ]
    InputError.collect(problems)
    return frame.rename(columns=names)


def read_text_table(path: str | Path, *, sheet: str | int = 0, what: str = "table") -> pd.DataFrame:
    """Read a lab's table (CSV, TSV/TXT, Excel, Parquet) as text cells; failures are :class:`InputError`.

    The study bundle's reader, :func:`skintrial.study.read_table` (one reader for every table: the
    same messages for an empty file, a file that is not UTF-8 (with its row, or saying it is UTF-16 or
    a workbook under a text name), an unclosed quote or a row with too many fields (with its
    spreadsheet row), an unreadable workbook), without its row-number column. Empty cells are
    ``None``; ``attrs["file"]`` names the file. The column names are left as written: the omics
    readers map them onto ours with :func:`canonical_columns`.
    """
    from skintrial.study import ROW_COLUMN, read_table

    file = str(path)
    data = read_table(path, sheet=sheet, what=what).drop(columns=ROW_COLUMN)
    if len(data.columns) == 0:
        raise InputError(
            Problem(
                f"the file has no columns: not a {what}",
                file=file,
                fix=f"save the {what} as a UTF-8 CSV or an .xlsx workbook with one header row",
            )
        )
    data.attrs["file"] = file
    return data
