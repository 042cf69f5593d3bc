"""How a text table is written: separator, decimal mark, thousands separator; detected or declared.

Excel saves "CSV" in the separator of the computer's locale: in German, French, Dutch, Spanish …
locales that is a semicolon, with a decimal comma and often a thousands separator (``1.234,5``). A
table is read so that ``1,5`` is never 15 and never two columns:

* **separator** — from the header row: the one of ``,`` ``;`` tab ``|`` that splits it (when several
  do, the one that splits the first rows into as many fields as the header); a row with more fields
  than the header is an error naming it (a decimal comma in a comma-separated file), never a shifted
  row;
* **decimal mark and thousands separator** — in a file separated by anything but a comma, from every
  number-like cell: ``0,722`` or ``12,5`` can only be a decimal comma, ``0.722`` or ``12.5`` only a
  decimal point, ``1.234,5`` is both marks at once; a file with both kinds of decimal is an error,
  and so is one whose only evidence is cells like ``1.234`` (1.234, or 1234 with a thousands
  separator?), naming a cell of each kind and how to declare the format;
* **declared** — ``study.toml`` ``[csv]`` (``separator``, ``decimal``, ``thousands``) fixes any of
  them; a number-like cell that does not read in the declared format is an error naming its row and
  column (a ``0.722`` in a file declared decimal ``,``).

Numbers are then written the one way the validator reads (``1.234,5`` → ``1234.5``); every other cell
is left as it is. The work is done once per distinct cell text (:func:`text_cells`), so a column of a
million values with a few thousand distinct ones costs one hash pass.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = [
    "NumberFormat",
    "sniff_separator",
    "read_text_fast",
    "text_cells",
    "text_table",
    "parse_numbers",
    "extra_fields_problem",
    "SEPARATOR_NAMES",
]

SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_CANDIDATES = (",", ";", "\t", "|")
_DECLARE = (
    'declare the format in study.toml: [csv] separator = ";", decimal = ",", thousands = "." (or ""), '
    "see docs/import.md; or save the table as an .xlsx workbook, where numbers are numbers"
)


@dataclass(frozen=True)
class NumberFormat:
    """The number marks of a text table: ``auto`` to detect, or the declared mark (``""``: none).

    ``ambiguous_is_error``: whether cells like ``1.234``, with nothing else in the file to tell a
    decimal point from a thousands separator, are an error (a semicolon file: what Excel writes in a
    decimal-comma locale) or read with a decimal point (a tab-separated export, as before).
    """

    decimal: str = "auto"
    thousands: str = "auto"
    ambiguous_is_error: bool = True

    @property
    def declared(self) -> bool:
        return self.decimal != "auto" or self.thousands != "auto"


def _header_line(path: Path) -> str:
    with open(path, "rb") as fh:
        line = fh.readline()
    return line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")


def _fields(line: str, sep: str) -> int:
    try:
        return len(next(csv.reader(io.StringIO(line), delimiter=sep)))
    except (csv.Error, StopIteration):
        return 0


def _first_lines(path: Path, n: int = 50) -> list[str]:
    lines = []
    with open(path, "rb") as fh:
        for _ in range(n + 1):
            line = fh.readline()
            if not line:
                break
            lines.append(line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n"))
    return [ln for ln in lines[1:] if ln.strip()]


def sniff_separator(path: Path, suffix: str, declared: str = "auto") -> str:
    """The separator of a text table: the declared one, else the one that splits the header row
    (``.tsv`` is tab-separated; when several split it, the one that splits the first rows alike).

    Raises :class:`InputError` naming the header when two separators fit equally well.
    """
    if declared != "auto":
        return declared
    if suffix == ".tsv":
        return "\t"
    header = _header_line(path)
    fitting = [s for s in _CANDIDATES if _fields(header, s) > 1]
    if len(fitting) <= 1:
        return fitting[0] if fitting else ","
    rows = _first_lines(path)
    alike = [s for s in fitting if rows and all(_fields(r, s) == _fields(header, s) for r in rows)]
    if len(alike) == 1:
        return alike[0]
    names = " and ".join(f"{SEPARATOR_NAMES[s]}s ({s!r})" for s in fitting)
    shown = header[:80] + ("…" if len(header) > 80 else "")
    raise InputError(
        Problem(
            f"the header row {shown!r} is split by {names} alike: the separator cannot be told",
            file=str(path),
            row=1,
            fix=_DECLARE.replace(
                '[csv] separator = ";", decimal = ",", thousands = "." (or "")', "[csv] separator"
            ),
        )
    )


def extra_fields_problem(path: Path, sep: str, n_header: int) -> Problem:
    """The first row with more fields than the header (pandas would make the first column the index
    and shift every cell: a decimal comma in a comma-separated file does that)."""
    row = None
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for i, fields in enumerate(csv.reader(fh, delimiter=sep), start=1):
            if i > 1 and len(fields) > n_header:
                row = i
                break
    name = SEPARATOR_NAMES.get(sep, repr(sep))
    return Problem(
        f"the row has more fields than the header ({n_header}); in a {name}-separated file a decimal comma "
        f"('1,5') splits a number into two cells",
        file=str(path),
        row=row,
        fix='write decimals with a point, quote the cell ("1,5"), or save the file semicolon-separated with decimal '
        "commas (Excel in a European locale does), or as an .xlsx workbook",
    )


# --- numbers ------------------------------------------------------------------------------------------

_EXP = r"(?:[eE][+-]?\d+)?"
_CLASS_LIST = (  # in order: a cell takes the first class it matches
    ("eu", rf"[+-]?[1-9]\d{{0,2}}(?:\.\d{{3}})+,\d+{_EXP}"),  # 1.234,5
    ("us", rf"[+-]?[1-9]\d{{0,2}}(?:,\d{{3}})+\.\d+{_EXP}"),  # 1,234.5
    ("spaced", "[+-]?[1-9]\\d{0,2}(?:[ \u00a0\u202f']\\d{3})+(?:[.,]\\d+)?"),  # 1 234,5  1'234.5
    ("dots", r"[+-]?[1-9]\d{0,2}(?:\.\d{3}){2,}"),  # 1.234.567: thousands only
    ("commas", r"[+-]?[1-9]\d{0,2}(?:,\d{3}){2,}"),
    ("dot1", r"[+-]?[1-9]\d{0,2}\.\d{3}"),  # 1.234: 1.234 or 1234?
    ("comma1", r"[+-]?[1-9]\d{0,2},\d{3}"),
    ("dot", rf"[+-]?(?:\d*\.\d+|\d+\.){_EXP}"),  # 0.722 12.5
    ("comma", rf"[+-]?(?:\d*,\d+|\d+,){_EXP}"),  # 0,722 12,5
)


def _matches(texts: np.ndarray, pattern: str) -> np.ndarray:
    """Which texts (an object array, ``None`` for empty) match ``pattern`` whole: one vectorised pass
    (RE2 in Arrow), not a Python call per text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(texts, type=pa.string(), from_pandas=True)
    hit = pc.fill_null(pc.match_substring_regex(arr, f"^(?:{pattern})$"), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _kinds(texts: np.ndarray) -> np.ndarray:
    """The number class of each text (``"eu"``, ``"dot1"`` … or ``None``: not a number of those forms)."""
    kind = np.full(len(texts), None, dtype=object)
    if len(texts) == 0:
        return kind
    for name, pattern in _CLASS_LIST:
        hit = _matches(texts, pattern) & pd.isna(kind)
        kind[hit] = name
    return kind


def _number_re(decimal: str, thousands: str) -> re.Pattern[str]:
    d = re.escape(decimal)
    if thousands:
        t = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands)
        whole = rf"(?:\d+|[1-9]\d{{0,2}}(?:{t}\d{{3}})+)"
    else:
        whole = r"\d+"
    return re.compile(rf"[+-]?(?:{whole}(?:{d}\d*)?|{d}\d+){_EXP}")


@dataclass
class _Column:
    name: str
    codes: np.ndarray
    uniques: np.ndarray
    """The column's distinct texts, cleaned (a list or an object array; numbers are rewritten in place)."""


def _example(
    columns: Sequence[_Column], kinds: dict[int, np.ndarray], wanted: set[str]
) -> tuple[str, str, int] | None:
    """(cell text, column, spreadsheet row) of the first cell whose class is in ``wanted``."""
    for j, col in enumerate(columns):
        hit = np.flatnonzero(np.isin(kinds[j], list(wanted)))
        if len(hit):
            k = int(hit[0])
            row = int(np.flatnonzero(col.codes == k)[0]) + 2
            return str(col.uniques[k]), col.name, row
    return None


def _say(ex: tuple[str, str, int] | None) -> str:
    return f"{ex[0]!r} (row {ex[2]}, column '{ex[1]}')" if ex else ""


def _decide(
    columns: Sequence[_Column], fmt: NumberFormat, file: str
) -> tuple[str, str, dict[int, np.ndarray]]:
    """The decimal mark and thousands separator of the file (declared, or detected from its cells),
    and the number class of each column's distinct texts (:func:`_kinds`)."""
    kinds = {j: _kinds(c.uniques) for j, c in enumerate(columns)}
    seen = {k for ks in kinds.values() for k in pd.unique(ks) if k is not None}
    spaced = {j: list(c.uniques[kinds[j] == "spaced"]) for j, c in enumerate(columns)}
    space_marks = {ch for us in spaced.values() for u in us for ch in str(u) if ch in " \u00a0\u202f'"}
    space_dec = {m.group(1) for us in spaced.values() for u in us if (m := re.search(r"([.,])\d+$", str(u)))}
    comma_dec = bool(seen & {"eu", "comma"}) or "," in space_dec
    dot_dec = bool(seen & {"us", "dot"}) or "." in space_dec
    decimal = fmt.decimal
    if decimal == "auto":
        if comma_dec and dot_dec:
            a = _example(columns, kinds, {"eu", "comma"})
            b = _example(columns, kinds, {"us", "dot"})
            raise InputError(
                Problem(
                    f"numbers are written with a decimal comma, e.g. {_say(a)}, and with a decimal point, e.g. "
                    f"{_say(b)}: which is the decimal mark cannot be told",
                    file=file,
                    row=(a or b or ("", "", None))[2],
                    fix="write every number with the same decimal mark; or " + _DECLARE,
                )
            )
        if comma_dec or "dots" in seen:
            decimal = ","
        elif dot_dec or "commas" in seen:
            decimal = "."
        elif seen & {"dot1", "comma1"} and fmt.ambiguous_is_error:
            ex = _example(columns, kinds, {"dot1", "comma1"})
            mark = "." if ex and "." in ex[0] else ","
            as_int = ex[0].replace(mark, "") if ex else ""
            raise InputError(
                Problem(
                    f"numbers like {_say(ex)} read as {ex[0].replace(',', '.') if ex else ''} with a decimal "
                    f"{'point' if mark == '.' else 'comma'} or as {as_int} with a thousands separator, and no "
                    "cell of the file tells which",
                    file=file,
                    row=ex[2] if ex else None,
                    column=ex[1] if ex else None,
                    fix=_DECLARE,
                )
            )
        else:
            decimal = "."
    thousands = fmt.thousands
    if thousands == "auto":
        marks = set()
        if decimal == "," and seen & {"eu", "dots", "dot1"}:
            marks.add(".")
        if decimal == "." and seen & {"us", "commas", "comma1"}:
            marks.add(",")
        marks |= {" " if ch in " \u00a0\u202f" else ch for ch in space_marks}
        if len(marks) > 1:
            raise InputError(
                Problem(
                    f"numbers are written with several thousands separators ({sorted(marks)})",
                    file=file,
                    fix="write every number the same way; or " + _DECLARE,
                )
            )
        thousands = marks.pop() if marks else ""
    return decimal, thousands, kinds


def _normalise(
    columns: Sequence[_Column], kinds: dict[int, np.ndarray], decimal: str, thousands: str, file: str
) -> None:
    """Number-like texts written in (decimal, thousands) → the plain form, in place; number-like texts
    that do not read in that format are an error (a few examples at once). Vectorised over each
    column's distinct texts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    number = _number_re(decimal, thousands).pattern
    bad: list[Problem] = []
    for j, col in enumerate(columns):
        classified = pd.notna(kinds[j])
        if not classified.any():
            continue
        ok = classified & _matches(col.uniques, number)
        for k in np.flatnonzero(classified & ~ok)[: max(0, 10 - len(bad))]:
            u = col.uniques[k]
            bad.append(
                Problem(
                    f"{u!r} does not read as a number with decimal {decimal!r} and "
                    + (f"thousands separator {thousands!r}" if thousands else "no thousands separator"),
                    file=file,
                    row=int(np.flatnonzero(col.codes == k)[0]) + 2,
                    column=col.name,
                    value=u,
                    fix="write the number in the file's format; or, if the format is wrong, " + _DECLARE,
                )
            )
        plain = pa.array(col.uniques[ok], type=pa.string())
        for ch in (" ", "\u00a0", "\u202f") if thousands == " " else (thousands,) if thousands else ():
            plain = pc.replace_substring(plain, ch, "")
        if decimal != ".":
            plain = pc.replace_substring(plain, decimal, ".")
        col.uniques[ok] = plain.to_numpy(zero_copy_only=False)
    InputError.collect(bad)


def _clean(u: object) -> str | None:
    if u is None or (isinstance(u, float) and u != u):
        return None
    return str(u).strip() or None


def text_cells(frame: pd.DataFrame, *, numbers: NumberFormat | None = None, file: str = "") -> pd.DataFrame:
    """:func:`text_table`'s cells."""
    return text_table(frame, numbers=numbers, file=file)[0]


def text_table(
    frame: pd.DataFrame, *, numbers: NumberFormat | None = None, file: str = "", categorical: bool = False
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every cell as stripped text (``None`` when empty), column names stripped; with ``numbers``,
    number-like cells rewritten from the file's format (declared or detected, :class:`NumberFormat`)
    to the plain form (``1.234,5`` → ``1234.5``). With ``categorical``, each column whose texts repeat
    (fewer distinct texts than half its cells) is a categorical over its distinct texts (two that trim
    alike merged, an empty cell missing) instead: a wide sheet parses each distinct value once
    (``skintrial.study._wide``).

    Each column is factorised once and only its distinct texts are cleaned, so the cost is one hash
    pass per column, not a Python call per cell.

    Also returns which rows are blank (every cell empty), found from the distinct texts as well.

    >>> df = pd.DataFrame({"id": ["P1 ", "P2"], "value": ["1.234,5", "0,25"]})
    >>> text_table(df, numbers=NumberFormat())[0].to_dict("list")
    {'id': ['P1', 'P2'], 'value': ['1234.5', '0.25']}
    """
    import pyarrow as pa

    columns = []
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        cleaned: np.ndarray
        if isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_dictionary(s.dtype.pyarrow_dtype):
            codes, cleaned = _dictionary_texts(s)  # read_text_fast: the column's distinct texts
        elif isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            cleaned = np.asarray(s.cat.categories, dtype=object)
            cleaned[cleaned == ""] = None
        elif pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            cleaned = np.array([_clean(u) for u in uniques] + [None], dtype=object)[:-1]
        else:  # numbers, dates, booleans (a workbook): each cell as it is written (1 and 1.0 stay apart)
            codes = np.arange(len(s))
            cleaned = np.array([_clean(v) for v in s.astype(object)] + [None], dtype=object)[:-1]
        columns.append(_Column(str(frame.columns[i]).strip(), codes, cleaned))
    if numbers is not None:
        decimal, thousands, kinds = _decide(columns, numbers, file)
        if (decimal, thousands) != (".", "") or numbers.declared:
            _normalise(columns, kinds, decimal, thousands, file)
    data = {}
    blank = np.ones(len(frame), dtype=bool) if columns else np.zeros(len(frame), dtype=bool)
    for col in columns:
        table = np.empty(len(col.uniques) + 1, dtype=object)
        table[: len(col.uniques)] = col.uniques
        blank &= pd.isna(table)[col.codes]  # per distinct text (each a text or None)
        if categorical and 2 * len(table) < len(
            col.codes
        ):  # texts that repeat: each once, empty ones missing
            merged, texts = pd.factorize(table, use_na_sentinel=True)
            codes = merged[col.codes]
            data[col.name] = pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=object))
        else:
            data[col.name] = table[col.codes]  # code -1 (missing) takes the trailing None
    cells = pd.DataFrame(data, index=frame.index, columns=[c.name for c in columns] if columns else None)
    return cells, blank


def _dictionary_texts(cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A dictionary-encoded column's codes and its distinct texts, trimmed (``None`` for an empty one;
    two that trim alike merged into one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pa.array(cells.array)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    trimmed = pc.utf8_trim_whitespace(encoded.dictionary)
    texts = trimmed.to_numpy(zero_copy_only=False).astype(object, copy=False)
    if not trimmed.equals(encoded.dictionary):  # ' P1' and 'P1' are one text
        merged, texts = pd.factorize(texts)
        codes = merged[codes]
    texts = np.asarray(texts, dtype=object)
    texts[texts == ""] = None
    return codes, texts


def read_text_fast(path: Path, sep: str) -> pd.DataFrame | None:
    """A text table read by pyarrow's CSV reader: every column dictionary-encoded in Arrow (``""`` for
    an empty cell, texts as written: :func:`text_table` trims the distinct ones), the header as
    written; ``None`` when pyarrow cannot read the file as it stands (a blank line, a short or long
    row, bytes that are not UTF-8, …): then pandas reads it and says what is wrong, with the row.

    Dictionary-encoding each column in Arrow avoids building a Python string per cell; :func:`text_cells`
    then works on the distinct texts only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    try:
        data = path.read_bytes()
        if b'"' in data:
            return None  # quoted cells (an unclosed quote among them): pandas' parser and its messages
        end = data.find(b"\n")
        first = data[: end if end >= 0 else len(data)].decode("utf-8").lstrip("\ufeff").rstrip("\r")
        header = next(csv.reader(io.StringIO(first), delimiter=sep))
        if len(set(header)) != len(header) or not header:
            return None  # repeated names: pandas reads them, the header check names them
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, StopIteration, OSError, csv.Error):
        return None
    columns = {
        i: pd.arrays.ArrowExtensionArray(pc.dictionary_encode(table.column(i))) for i in range(len(header))
    }
    frame = pd.DataFrame(columns)
    frame.columns = header
    return frame


def parse_numbers(cells: pd.Series) -> pd.Series:
    """Text cells as float64, ``NaN`` where a cell is empty or not a number.

    pyarrow's parser reads the column in one pass and rounds correctly (``repr`` of any float reads
    back as that float, so a number from an SPSS file or a workbook is the number it was); a column
    with a cell that only pandas reads (spaces, a hexadecimal or underscored number — or a cell that
    is not a number at all, which validation then names) is read by ``pandas.to_numeric``, as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_numeric_dtype(cells.dtype):
        return cells.astype(float)
    try:
        arr = pa.array(cells.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(cells, errors="coerce").astype(float)
    return pd.Series(values, index=cells.index, name=cells.name)
