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

from skintrial.errors import MAX_SHOWN, InputError, Problem, more_like_this
from skintrial.study._csvformat import (
    NumberFormat,
    extra_fields_problem,
    read_text_fast,
    sniff_separator,
    text_table,
)
from skintrial.study._formats import CsvSpec
from skintrial.study._statfiles import STAT_SUFFIXES, read_stat_file

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ROW_COLUMN",
    "BLANK_ROWS",
    "find_table",
    "not_utf8",
    "read_table",
    "table_utf8_fix",
]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet", ".sav", ".zsav", ".dta")
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


def _header_names(
    frame: pd.DataFrame, path: Path, suffix: str, sep: str | None = None, as_written: bool = False
) -> list[str]:
    """The header as the file writes it: pandas renames a repeated CSV column ``x`` to ``x.1``, so a
    text file's first row is read again as it stands (unless ``as_written``: the frame's names are the
    header as written, :func:`~skintrial.study._csvformat.read_text_fast`)."""
    if suffix not in (".csv", ".tsv", ".txt") or as_written:
        return [str(c) for c in frame.columns]
    head = pd.read_csv(
        path, sep=sep or _text_separator(path, suffix), header=None, nrows=1, dtype=str, keep_default_na=False
    )
    return [str(c) for c in head.iloc[0]] if len(head) else [str(c) for c in frame.columns]


def _check_header(
    frame: pd.DataFrame, path: Path, suffix: str, sep: str | None = None, as_written: bool = False
) -> None:
    """Every column name appears once, spaces around a name not counting (``participant_id`` and
    ``participant_id `` are one name written twice)."""
    names = [n.strip() for n in _header_names(frame, path, suffix, sep, as_written)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            Problem(
                f"column(s) {dupes} appear twice in the header (spaces around a name do not count)",
                file=str(path),
                row=1,
                fix="give every column a unique name",
            )
        )


_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _separator_problem(header: str, path: Path, what: str) -> Problem | None:
    """The problem of a text table whose header row holds no separator of its kind but another one:
    it was saved with that separator (Excel in a locale with a decimal comma saves "CSV" with
    semicolons)."""
    expected = _text_separator(path, path.suffix.lower())
    if expected in header:
        return None
    for sep, name in _SEPARATORS.items():
        if sep != expected and sep in header:
            fix = (
                "rename the file to .tsv (tab-separated tables are read as such)"
                if sep == "\t"
                else f'save it comma-separated: in Excel "Save As" > "CSV UTF-8 (Comma delimited)"; in '
                f'LibreOffice "Save As" > "Edit filter settings" > Field delimiter "," and character set '
                f'"Unicode (UTF-8)"; or save the {what} as an .xlsx workbook (then decimal commas and '
                "separators no longer matter)"
            )
            shown = header[:80] + ("…" if len(header) > 80 else "")
            return Problem(
                f"looks {name}-separated: the header row {shown!r} has no "
                f"{'tab' if expected == chr(9) else 'comma'} between its column names",
                file=str(path),
                row=1,
                fix=fix,
            )
    return None


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.readline().decode("utf-8", errors="replace").strip()


def _check_separator(frame: pd.DataFrame, path: Path, what: str) -> None:
    """A text table read as a single column may have been saved with another separator."""
    if len(frame.columns) == 1:
        problem = _separator_problem(_first_line(path), path, what)
        if problem is not None:
            raise InputError(problem)


def _check_formulas(path: Path, sheet: str | int, header: list[str]) -> None:
    """Formula cells without a saved value: a workbook written by a program that does not compute
    formulas (a script, some exporters) holds only the formula, and pandas reads the cell as empty."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    found: list[tuple[int, int, str]] = []
    try:
        books = [load_workbook(path, read_only=True, data_only=flag) for flag in (False, True)]
    except Exception:  # noqa: BLE001 - pandas read it; a second reading that fails says nothing new
        return
    try:
        sheets = [b.worksheets[sheet] if isinstance(sheet, int) else b[sheet] for b in books]
        rows = zip(*(s.iter_rows(min_row=1, min_col=1, values_only=True) for s in sheets), strict=False)
        for r, (formulas, values) in enumerate(rows, start=1):
            for c, (f, v) in enumerate(zip(formulas, values, strict=False), start=1):
                if isinstance(f, str) and f.startswith("=") and v is None:
                    found.append((r, c, f))
    except Exception:  # noqa: BLE001 - as above
        return
    finally:
        for b in books:
            b.close()
    if not found:
        return
    fix = (
        "open the file in Excel or LibreOffice and save it again (that stores each formula's value), "
        "or replace the formulas by their values"
    )
    problems = [
        Problem(
            f"cell {get_column_letter(c)}{r} holds a formula without a saved value ({f[:60]})",
            file=str(path),
            row=r,
            column=header[c - 1] if 0 < c <= len(header) and r > 1 else None,
            fix=fix,
        )
        for r, c, f in found[:MAX_SHOWN]
    ]
    if len(found) > MAX_SHOWN:
        rest = [r for r, _, _ in found[MAX_SHOWN:]]
        example = Problem("a formula without a saved value", file=str(path), fix=fix)
        problems.append(more_like_this(example, len(rest), min(rest), max(rest)))
    raise InputError(problems)


def read_table(
    path: Path | str,
    *,
    sheet: str | int = 0,
    what: str = "table",
    csv: CsvSpec | None = None,
    categorical: bool = False,
) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/Parquet/SPSS/Stata table as text cells plus a spreadsheet row-number column.

    Also reads ``.txt`` and ``.xlsm``/``.xls`` workbooks; ``sheet`` is the workbook's sheet (name or
    position). A text file's separator, decimal mark and thousands separator are detected, or
    declared by ``csv`` (``[csv]`` of study.toml; ``skintrial.study._csvformat``): a semicolon file
    with decimal commas reads ``1,5`` as 1.5. SPSS and Stata files give value labels as values,
    user-defined missing values as empty cells, and their variable labels in
    ``attrs["variable_labels"]`` (``skintrial.study._statfiles``). A file that cannot be read is an
    :class:`InputError` naming the file and saying, in words a lab can act on, what is wrong (``what``
    names the table in them): not found, empty, not UTF-8 (with the row), an unclosed quote or a row
    with too many fields (with its row), an unreadable workbook. ``categorical`` gives each column whose
    texts repeat as a categorical over its distinct texts (:func:`~skintrial.study._csvformat.text_table`).

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
    sep = ","
    fast = None
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            sep = sniff_separator(path, suffix, csv.separator if csv is not None else "auto")
            fast = read_text_fast(path, sep)  # None: pandas reads it, and says what is wrong
            frame = (
                fast
                if fast is not None
                else pd.read_csv(
                    path,
                    sep=sep,
                    dtype=str,
                    keep_default_na=False,
                    skipinitialspace=True,
                    skip_blank_lines=False,
                )  # blank lines keep their row numbers
            )
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
        elif suffix in STAT_SUFFIXES:
            frame = read_stat_file(path, what=what)
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
        wrong_sep = (
            _separator_problem(_first_line(path), path, what)
            if sep == _text_separator(path, suffix)
            else None
        )
        if wrong_sep is not None:  # '1,5' decimal commas in a ';' file give rows of several fields
            raise InputError(wrong_sep) from None
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
    numbers = None
    if suffix in (".csv", ".tsv", ".txt"):
        if not isinstance(frame.index, pd.RangeIndex):  # rows longer than the header: pandas shifted them
            raise InputError(extra_fields_problem(path, sep, len(frame.columns)))
        _check_separator(frame, path, what)
        declared = csv is not None and (csv.decimal, csv.thousands) != ("auto", "auto")
        if sep != "," or declared:  # a comma file has decimal points (a decimal comma would split cells)
            numbers = NumberFormat(
                csv.decimal if csv is not None else "auto",
                csv.thousands if csv is not None else "auto",
                ambiguous_is_error=sep == ";",
            )
    _check_header(frame, path, suffix, sep, as_written=fast is not None)
    out, blank_rows = text_table(frame, numbers=numbers, file=file, categorical=categorical)
    out.attrs.update(frame.attrs)  # an SPSS or Stata file's variable labels
    if suffix in (".xlsx", ".xlsm") and out.isna().to_numpy().any():
        _check_formulas(path, sheet, [str(c) for c in out.columns])
    out[ROW_COLUMN] = range(2, len(out) + 2)
    blank = pd.Series(blank_rows, index=out.index)  # every cell empty (found from the distinct texts)
    if blank.any():
        last = out.loc[~blank, ROW_COLUMN].max() if (~blank).any() else 1
        interior = out.loc[
            blank & (out[ROW_COLUMN] < last), ROW_COLUMN
        ]  # trailing blank rows are not worth a note
        out = out.loc[~blank].reset_index(drop=True)
        out.attrs[BLANK_ROWS] = [int(r) for r in interior]
    return out
