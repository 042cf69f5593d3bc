"""The value cells of a wide sheet: named as a spreadsheet names them, parsed once per distinct text,
checked as ``(rows, columns)`` masks and gathered into the long table (``skintrial.study._wide``).

A problem names the sheet's own row and column, and the cell (``E5``) where the sheet is one a
spreadsheet program shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._csvformat import parse_numbers
from skintrial.study._ranges import outcome_range
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._schema import OutcomeSpec

__all__ = ["Sheet", "cell_name", "cell_values", "gather_long", "keys_as_text", "seen_records"]


def cell_name(column_position: int, row: int) -> str:
    """The spreadsheet name of a cell: column position 0 and row 2 → ``A2``."""
    letters = ""
    n = column_position + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


@dataclass(frozen=True)
class Sheet:
    """One wide sheet: its frame, file and how its cells are named in messages."""

    frame: pd.DataFrame
    file: str
    cells: bool
    """Whether to name cells (``E5``): tables a spreadsheet program shows (not SPSS, Stata, Parquet)."""

    def where(self, column: str, row: int) -> str:
        if not self.cells:
            return ""
        return f" (cell {cell_name(list(self.frame.columns).index(column), row)})"

    def per_cell(self, column: str, bad: np.ndarray, message: str, fix: str) -> list[Problem]:
        """One problem per bad cell of ``column`` (the first :data:`MAX_SHOWN`; one more counts the rest)."""
        idx = np.flatnonzero(bad)
        rows = self.frame[ROW_COLUMN].to_numpy()
        values = self.frame[column].to_numpy()
        out = [
            Problem(
                message + self.where(column, int(rows[i])),
                file=self.file,
                row=int(rows[i]),
                column=column,
                value=values[i],
                fix=fix,
            )
            for i in idx[:MAX_SHOWN]
        ]
        if len(idx) > MAX_SHOWN:
            rest = rows[idx[MAX_SHOWN:]]
            example = Problem(message, file=self.file, column=column, fix=fix)
            out.append(more_like_this(example, len(rest), int(rest.min()), int(rest.max())))
        return out


def gather_long(
    ok: np.ndarray,
    values: np.ndarray,
    ids: np.ndarray,
    rows: np.ndarray,
    row_visit: np.ndarray | None,
    col_outcome: np.ndarray,
    col_visit: np.ndarray,
) -> pd.DataFrame:
    """The long table of the clean cells (``ok``), row by row: one vectorised gather, the three text
    columns written straight into one block and no column copied into the frame (a fresh megabyte
    costs more than the gather that fills it)."""
    per_row = ok.sum(axis=1)
    text = np.empty((3, int(per_row.sum())), dtype=object)
    if ok.all():  # a complete sheet: each text written in place, row by row (no gather, no temporary)
        text[0].reshape(ok.shape)[:] = ids[:, None]
        text[1].reshape(ok.shape)[:] = row_visit[:, None] if row_visit is not None else col_visit
        text[2].reshape(ok.shape)[:] = col_outcome
    else:
        text[0] = np.repeat(ids, per_row)
        text[1] = (
            np.repeat(row_visit, per_row)
            if row_visit is not None
            else np.broadcast_to(col_visit, ok.shape)[ok]
        )
        text[2] = np.broadcast_to(col_outcome, ok.shape)[ok]
    numbers = pd.DataFrame({"value": values[ok], ROW_COLUMN: np.repeat(rows, per_row)}, copy=False)
    texts = pd.DataFrame(text.T, columns=["participant_id", "visit", "outcome"], copy=False)
    return pd.concat([texts, numbers], axis=1, copy=False)  # side by side, nothing copied


def _text(cells: pd.Series) -> pd.Series:
    """A column as text cells (``None`` when empty), as :func:`read_table` gives them unless asked for
    categoricals."""
    if not isinstance(cells.dtype, pd.CategoricalDtype):
        return cells
    table = np.empty(len(cells.cat.categories) + 1, dtype=object)  # code -1 (empty) takes the trailing None
    table[:-1] = cells.cat.categories
    return pd.Series(table[cells.cat.codes.to_numpy()], index=cells.index, name=cells.name, dtype=object)


def keys_as_text(frame: pd.DataFrame, values: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with every column but the value columns as text: the checks of ids and visits work on
    text cells; the value columns stay categorical, their distinct texts parsed once (:func:`_numbers`)."""
    if not any(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns if c not in values):
        return frame
    out = pd.DataFrame({c: frame[c] if c in values else _text(frame[c]) for c in frame.columns}, copy=False)
    out.attrs.update(frame.attrs)
    return out


def _numbers(sheet: Sheet, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The value columns as float64 (``NaN`` where empty or not a number) and which cells are filled,
    each ``(rows, columns)``.

    The sheet's distinct texts are parsed once, all columns together (a categorical column's own
    categories, another column's distinct cells); a sheet with a text that pyarrow does not read
    parses each column by :func:`parse_numbers` (which then reads the whole column with pandas' more
    lenient parser), exactly as it would one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    frame = sheet.frame
    n, k = len(frame), len(names)
    codes = np.empty((n, k), dtype=np.int32, order="F")  # filled column by column
    texts: list[np.ndarray] = []
    offset = 0
    for j, c in enumerate(names):  # codes into one list of every column's distinct texts
        cells = frame[c]
        if isinstance(cells.dtype, pd.CategoricalDtype):
            code = cells.cat.codes.to_numpy().astype(np.int32)
            distinct = np.asarray(cells.cat.categories, dtype=object)
        else:
            code, distinct = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=True)
        codes[:, j] = np.where(code >= 0, code + offset, -1)
        texts.append(np.asarray(distinct, dtype=object))
        offset += len(distinct)
    filled = codes >= 0
    try:
        every = np.concatenate(texts) if texts else np.empty(0, dtype=object)
        parsed = pc.cast(pa.array(every, type=pa.string(), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = np.empty((n, k), dtype=float)
        for j, c in enumerate(names):
            values[:, j] = parse_numbers(_text(frame[c])).to_numpy(dtype=float)
        return values, filled
    table = np.append(parsed.to_numpy(zero_copy_only=False).astype(float, copy=False), np.nan)
    return table[codes], filled  # code -1 (empty) takes the trailing NaN


def cell_values(
    sheet: Sheet, columns: Mapping[str, tuple[str, str | None]], outcomes: Mapping[str, OutcomeSpec | None]
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Every value cell as a number, which cells are clean (a finite number within the outcome's
    physical range), and one problem per other filled cell, column by column in the sheet's order."""
    names = list(columns)
    values, filled = _numbers(sheet, names)
    finite = np.isfinite(values)  # an empty cell is NaN: finite cells are filled ones
    ranges = {o: outcome_range(s, o) for o, s in outcomes.items() if s is not None}
    low = np.array([ranges[o].low if o in ranges else -np.inf for o, _ in columns.values()], dtype=float)
    high = np.array([ranges[o].high if o in ranges else np.inf for o, _ in columns.values()], dtype=float)
    out = finite & ((values < low) | (values > high))  # no outcome range: -inf, inf (never out)
    problems: list[Problem] = []
    for j in np.flatnonzero((filled & ~finite).any(axis=0) | out.any(axis=0)):  # columns with a problem
        c, value = names[j], values[:, j]
        o = columns[c][0]
        problems += sheet.per_cell(
            c,
            filled[:, j] & np.isnan(value),
            "value is not a number",
            "write a plain number (no units, no text), or leave the cell empty",
        )
        problems += sheet.per_cell(
            c, np.isinf(value), "value is infinite", "write the measured finite number"
        )
        if out[:, j].any():
            rng, unit = ranges[o], outcomes[o].unit  # type: ignore[union-attr]
            problems += sheet.per_cell(
                c,
                out[:, j],
                f"value outside the physical range [{rng.low:g}, {rng.high:g}] of outcome '{o}' in "
                f"'{unit}' ({rng.basis})",
                "check the unit and the decimal point; declare min/max in study.toml if the range is really wider",
            )
    return values, finite & ~out, problems


def seen_records(
    ok: np.ndarray,
    col_outcome: np.ndarray,
    col_visit: np.ndarray,
    ids: np.ndarray,
    rows: np.ndarray,
    row_visit: np.ndarray | None,
    visits: list[str],
) -> pd.DataFrame:
    """:attr:`WideResult.seen`: per sheet row and visit with a value, one record (vectorised)."""
    parts: list[tuple[np.ndarray, ...]] = []
    for visit in [None] if row_visit is not None else visits:
        at = np.flatnonzero(col_visit == visit) if visit is not None else np.arange(len(col_outcome))
        sub = ok[:, at]
        hit = np.flatnonzero(sub.any(axis=1))  # rows with a value (at the visit) …
        first = col_outcome[at[sub[hit].argmax(axis=1)]] if len(at) else np.empty(0, dtype=object)
        vis = row_visit[hit] if row_visit is not None else np.full(len(hit), visit, dtype=object)
        parts.append((ids[hit], vis, first, rows[hit]))  # … and the first outcome with one
    names = ["participant_id", "visit", "outcome", ROW_COLUMN]
    seen = (
        pd.DataFrame({name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)})
        if parts
        else pd.DataFrame(columns=names)
    )
    listed = set(pd.unique(seen["outcome"].to_numpy()))
    extra = []
    for j in np.flatnonzero(ok.any(axis=0)):  # an outcome never the first of its row still counts as measured
        o = col_outcome[j]
        if o in listed:
            continue
        i = int(np.flatnonzero(ok[:, j])[0])
        at_visit = row_visit[i] if row_visit is not None else col_visit[j]
        extra.append({"participant_id": ids[i], "visit": at_visit, "outcome": o, ROW_COLUMN: rows[i]})
        listed.add(o)
    return pd.concat([seen, pd.DataFrame(extra)], ignore_index=True) if extra else seen
