"""Reading tables from CSV, TSV, Excel (.xlsx) and Parquet.

Every reader returns text cells (numbers are converted later, by the validator that can say which
row and column held a bad value) with the spreadsheet row number of each record in ``ROW_COLUMN``:
the header is row 1, so the first record is row 2 — what a person sees in Excel or LibreOffice.
Blank rows (every cell empty, e.g. an empty line in a CSV) are dropped after numbering, so the rows
after them keep their spreadsheet numbers; their numbers are in ``frame.attrs[BLANK_ROWS]``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["SUPPORTED_SUFFIXES", "ROW_COLUMN", "BLANK_ROWS", "TABLE_UTF8_FIX", "find_table", "not_utf8", "read_table"]

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


TABLE_UTF8_FIX = ('save the table as UTF-8: in Excel "Save As" > "CSV UTF-8 (Comma delimited)"; in LibreOffice '
                  '"Save As" > "Edit filter settings" > character set "Unicode (UTF-8)"')
"""How to re-save a table that is not UTF-8 (the advice of :func:`not_utf8` for tables)."""


def not_utf8(path: Path, fix: str = TABLE_UTF8_FIX) -> Problem:
    """Where a text file stops being UTF-8 (its line, shown as the row), and ``fix``: how to re-save it.

    The default ``fix`` is the advice for a table saved from a spreadsheet program; a file edited in a
    text editor (``study.toml``) passes its own.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        at, byte = None, None
    except UnicodeDecodeError as exc:
        at, byte = exc.start, data[exc.start]
    return Problem(
        "is not UTF-8 text" + ("" if at is None else f" (byte {byte:#04x} is not UTF-8; the file was probably saved "
                                                      "in a legacy encoding such as Windows-1252 or Latin-1)"),
        file=str(path), row=None if at is None else data[:at].count(b"\n") + 1, fix=fix,
    )


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV/TSV/XLSX/Parquet table as text cells plus a spreadsheet row-number column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("participant_id,arm\\nP01, AT\\n")
    >>> read_table(p).to_dict("records")
    [{'participant_id': 'P01', 'arm': 'AT', '_row': 2}]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                                skip_blank_lines=False)  # blank lines keep their row numbers
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=object, engine="openpyxl", keep_default_na=False)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise InputError(
                Problem(
                    f"unsupported file type '{suffix}'",
                    file=str(path),
                    fix=f"save the table as one of {', '.join(SUPPORTED_SUFFIXES)}",
                )
            )
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=str(path), fix="check the path")) from None
    except UnicodeDecodeError:
        raise InputError(not_utf8(path)) from None
    except Exception as exc:  # a reader's own message is the most useful thing to show
        raise InputError(
            Problem(
                f"could not be read as a {suffix} table: {exc}",
                file=str(path),
                fix="check that the file is a valid table with one header row",
            )
        ) from None
    dupes = [c for c in frame.columns if list(frame.columns).count(c) > 1]
    if dupes:
        raise InputError(
            Problem(f"column(s) {sorted(set(dupes))} appear twice in the header", file=str(path), row=1,
                    fix="give every column a unique name")
        )
    out = _as_text(frame)
    out[ROW_COLUMN] = range(2, len(out) + 2)
    cells = out.drop(columns=[ROW_COLUMN])
    blank = cells.isna().all(axis=1) if len(cells.columns) else pd.Series(False, index=out.index)
    if blank.any():
        last = out.loc[~blank, ROW_COLUMN].max() if (~blank).any() else 1
        interior = out.loc[blank & (out[ROW_COLUMN] < last), ROW_COLUMN]  # trailing blank rows are not worth a note
        out = out.loc[~blank].reset_index(drop=True)
        out.attrs[BLANK_ROWS] = [int(r) for r in interior]
    return out
