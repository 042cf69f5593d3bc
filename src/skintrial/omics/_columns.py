"""Shared by the omics readers: map a lab's column names onto ours, and read a table file with errors that help.

Two input columns that map to one of our names (``Sample`` and ``Sample Name``, ``Cq`` and ``CT``,
``value`` and ``conc``) are refused with both names: keeping either silently could analyse the wrong
one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["canonical_columns", "read_text_table"]


def canonical_columns(frame: pd.DataFrame, aliases: Mapping[str, str], *, file: str | None = None) -> pd.DataFrame:
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
        Problem(f"columns {' and '.join(repr(c) for c in cols)} both mean '{name}'", file=file, row=1,
                column=", ".join(cols),
                fix=f"keep one: delete the other column, or rename it to a name that is not read as '{name}'")
        for name, cols in sources.items() if len(cols) > 1
    ]
    InputError.collect(problems)
    return frame.rename(columns=names)


_PANDAS_ROW = re.compile(r"\brow (\d+)\b")  # the C parser counts lines from 0 here ("starting at row 4")
_PANDAS_LINE = re.compile(r"\bline (\d+)\b")  # ... and from 1 here ("Expected 4 fields in line 3")


def _parser_row(message: str) -> tuple[str, int | None]:
    """pandas' message with its line counted as a spreadsheet row (header = 1), and that row."""
    if m := _PANDAS_LINE.search(message):
        return message, int(m.group(1))
    if m := _PANDAS_ROW.search(message):
        row = int(m.group(1)) + 1
        return _PANDAS_ROW.sub(f"row {row}", message), row
    return message, None


def read_text_table(path: str | Path, *, sheet: str | int = 0, what: str = "table") -> pd.DataFrame:
    """Read CSV / TSV (text cells, ``""`` when empty) or Excel (cells as stored); failures are :class:`InputError`.

    The error names the file and says what went wrong in words a lab can act on: an empty file, a
    file that is not UTF-8 text (often an Excel workbook saved with a ``.csv`` name), an unclosed
    quote or a row with too many fields (with its spreadsheet row), an unreadable workbook.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError(Problem("file not found", fix="check the path", file=file))
    suffix = path.suffix.lower()
    fix_format = f"save the {what} as a UTF-8 CSV or an .xlsx workbook with one header row"
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            data = pd.read_excel(path, sheet_name=sheet, dtype=object)  # empty cells NaN, numbers as read
        else:
            sep = "\t" if suffix in (".tsv", ".txt") else ","
            data = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(Problem(f"the file is empty (no header row, no data): not a {what}", file=file,
                                 fix=f"export the {what} again; {fix_format}")) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(f"the file is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at "
                                 f"position {exc.start}; perhaps a binary file, or a workbook saved under a text name)",
                                 file=file, fix=fix_format)) from None
    except pd.errors.ParserError as exc:
        msg, row = _parser_row(str(exc).replace("Error tokenizing data. C error: ", "").strip())
        raise InputError(Problem(f"cannot be parsed as a table ({msg})", file=file, row=row,
                                 fix="close the quote or remove the extra separators on that row; "
                                     + fix_format)) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure on a user's file is bad input
        raise InputError(Problem(f"cannot be read as a {suffix or 'CSV'} {what} ({type(exc).__name__}: {exc})",
                                 file=file, fix=fix_format)) from None
    if len(data.columns) == 0:
        raise InputError(Problem(f"the file has no columns: not a {what}", file=file, fix=fix_format))
    data.attrs["file"] = file
    return data
