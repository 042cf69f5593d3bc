"""Reading tables from CSV, TSV, Excel (.xlsx) and Parquet (and .txt, .xlsm, .xls for lab exports).

The one table reader of the package: the study bundle, the training log, serum panels and qPCR tables
(through :func:`skintrial.omics._columns.read_text_table`) all read through :func:`read_table`.

Every reader returns text cells (numbers are converted later, by the validator that can say which
row and column held a bad value) with the spreadsheet row number of each record in ``ROW_COLUMN``:
the header is row 1, so the first record is row 2 — what a person sees in Excel or LibreOffice.
Blank rows (every cell empty, e.g. an empty line in a CSV) are dropped after numbering, so the rows
after them keep their spreadsheet numbers; their numbers are in ``frame.attrs[BLANK_ROWS]``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ROW_COLUMN",
    "BLANK_ROWS",
    "find_table",
    "not_utf8",
    "read_table",
    "table_utf8_fix",
]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet")
ROW_COLUMN = "_row"
BLANK_ROWS = "blank_rows"
"""Key of ``DataFrame.attrs`` holding the spreadsheet numbers of the blank rows that were dropped."""


def find_table(root: Path, stem: str) -> Path | None:
    """The file ``root/stem.<suffix>`` for the first supported suffix that exists."""
    found = [root / f"{stem}{s}" for s in SUPPORTED_SUFFIXES if (root / f"{stem}{s}").is_file()]
    if len(found) > 1:
        raise InputError(
            Problem(
                f"more than one file for the table '{stem}': {[p.name for p in found]}",
                file=str(root),
                fix="keep exactly one of them in the bundle",
            )
        )
    return found[0] if found else None


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(object).where(frame.notna(), None)
    for c in out.columns:
        out[c] = [None if v is None else (str(v).strip() or None) for v in out[c]]
    out.columns = [str(c).strip() for c in out.columns]
    return out


def table_utf8_fix(what: str = "table") -> str:
    """How to re-save a table (``what``) that is not UTF-8, from the spreadsheet programs labs use."""
    return (
        f'save the {what} as UTF-8: in Excel "Save As" > "CSV UTF-8 (Comma delimited)"; in LibreOffice '
        '"Save As" > "Edit filter settings" > character set "Unicode (UTF-8)"'
    )


_BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip), .xls (OLE2)


def not_utf8(path: Path, fix: str | None = None) -> Problem:
    """Where a text file stops being UTF-8 (its line, shown as the row), and ``fix``: how to re-save it.

    The default ``fix`` is the advice for a table saved from a spreadsheet program
    (:func:`table_utf8_fix`); a file edited in a text editor (``study.toml``) passes its own. A UTF-16
    file (Excel's "Unicode Text") and a workbook saved under a text name are said as such, without a
    row: no line of theirs is UTF-8.
    """
    fix = table_utf8_fix() if fix is None else fix
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(
            'is not UTF-8 text: it is UTF-16 (as Excel saves "Unicode Text")', file=str(path), fix=fix
        )
    if data.startswith(_BINARY_SIGNATURES):
        return Problem(
            "is not UTF-8 text: it is a binary file, perhaps an Excel workbook saved under a text name",
            file=str(path),
            fix="give the workbook its .xlsx name, or " + fix,
        )
    try:
        data.decode("utf-8")
        at, byte = None, None
    except UnicodeDecodeError as exc:
        at, byte = exc.start, data[exc.start]
    return Problem(
        "is not UTF-8 text"
        + (
            ""
            if at is None
            else f" (byte {byte:#04x} is not UTF-8; the file was probably saved "
            "in a legacy encoding such as Windows-1252 or Latin-1)"
        ),
        file=str(path),
        row=None if at is None else data[:at].count(b"\n") + 1,
        fix=fix,
    )


_PANDAS_ROW = re.compile(r"\brow (\d+)\b")  # the C parser counts lines from 0 here ("starting at row 4")
_PANDAS_LINE = re.compile(r"\bline (\d+)\b")  # ... and from 1 here ("Expected 4 fields in line 3")


def _parser_row(message: str) -> tuple[str, int | None]:
    """pandas' parser message with its line counted as a spreadsheet row (header = 1), and that row."""
    if m := _PANDAS_LINE.search(message):
        return message, int(m.group(1))
    if m := _PANDAS_ROW.search(message):
        row = int(m.group(1)) + 1
        return _PANDAS_ROW.sub(f"row {row}", message), row
    return message, None


def _text_separator(path: Path, suffix: str) -> str:
    """Tab for ``.tsv``, comma for ``.csv``; a ``.txt`` is tab-separated when its first line has a tab
    (instrument exports), else comma-separated."""
    if suffix != ".txt":
        return "\t" if suffix == ".tsv" else ","
    with open(path, "rb") as fh:
        return "\t" if b"\t" in fh.readline() else ","


def read_table(path: Path | str, *, sheet: str | int = 0, what: str = "table") -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/Parquet table as text cells plus a spreadsheet row-number column.

    Also reads ``.txt`` (tab- or comma-separated, from its first line) and ``.xlsm``/``.xls``
    workbooks; ``sheet`` is the workbook's sheet (name or position). A file that cannot be read is an
    :class:`InputError` naming the file and saying, in words a lab can act on, what is wrong (``what``
    names the table in them): not found, empty, not UTF-8 (with the row), an unclosed quote or a row
    with too many fields (with its row), an unreadable workbook.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("participant_id,arm\\nP01, AT\\n")
    >>> read_table(p).to_dict("records")
    [{'participant_id': 'P01', 'arm': 'AT', '_row': 2}]
    """
    path = Path(path)
    file = str(path)
    suffix = path.suffix.lower()
    fix_format = f"save the {what} as a UTF-8 CSV or an .xlsx workbook with one header row"
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            frame = pd.read_csv(
                path,
                sep=_text_separator(path, suffix),
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                skip_blank_lines=False,
            )  # blank lines keep their row numbers
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(
                path,
                sheet_name=sheet,
                dtype=object,
                keep_default_na=False,
                engine="openpyxl" if suffix != ".xls" else None,
            )
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise InputError(
                Problem(
                    f"unsupported file type '{suffix}'",
                    file=file,
                    fix=f"save the {what} as one of {', '.join(SUPPORTED_SUFFIXES)}",
                )
            )
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=file, fix="check the path")) from None
    except UnicodeDecodeError:
        raise InputError(not_utf8(path, fix=table_utf8_fix(what))) from None
    except pd.errors.EmptyDataError:
        raise InputError(
            Problem(
                f"the file is empty (no header row, no data): not a {what}",
                file=file,
                fix=f"export the {what} again; {fix_format}",
            )
        ) from None
    except pd.errors.ParserError as exc:
        msg, row = _parser_row(str(exc).replace("Error tokenizing data. C error: ", "").strip())
        raise InputError(
            Problem(
                f"cannot be parsed as a table ({msg})",
                file=file,
                row=row,
                fix="close the quote or remove the extra separators on that row; " + fix_format,
            )
        ) from None
    except Exception as exc:  # noqa: BLE001 - only the readers run here; a reader's own message is the most useful
        raise InputError(
            Problem(
                f"could not be read as a {suffix} {what} ({type(exc).__name__}: {exc})",
                file=file,
                fix=fix_format,
            )
        ) from None
    dupes = [c for c in frame.columns if list(frame.columns).count(c) > 1]
    if dupes:
        raise InputError(
            Problem(
                f"column(s) {sorted(set(dupes))} appear twice in the header",
                file=file,
                row=1,
                fix="give every column a unique name",
            )
        )
    out = _as_text(frame)
    out[ROW_COLUMN] = range(2, len(out) + 2)
    cells = out.drop(columns=[ROW_COLUMN])
    blank = cells.isna().all(axis=1) if len(cells.columns) else pd.Series(False, index=out.index)
    if blank.any():
        last = out.loc[~blank, ROW_COLUMN].max() if (~blank).any() else 1
        interior = out.loc[
            blank & (out[ROW_COLUMN] < last), ROW_COLUMN
        ]  # trailing blank rows are not worth a note
        out = out.loc[~blank].reset_index(drop=True)
        out.attrs[BLANK_ROWS] = [int(r) for r in interior]
    return out
