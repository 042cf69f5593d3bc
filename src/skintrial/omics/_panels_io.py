"""Reading a serum panel: a long table of analyte values per participant and visit, with detection limits.

One row per participant × visit × analyte::

    participant_id, visit, analyte, value [, lod] [, panel] [, unit]

``value`` holds a number, or a below-limit marker written by assay software: ``<LOD``, ``<LLOQ``,
``BLQ``, ``ND``, ``< 0.12`` (the number after ``<`` is the limit when no ``lod`` is given). An empty
``value`` is *missing* (not measured), which is different from *below the limit*. A number below the
row's ``lod`` is also treated as below the limit. ``panel`` (platform or panel name: ``cytokines``,
``metabolites`` …) defaults to ``serum``; analytes are identified by ``panel`` and ``analyte``
together, so the same analyte may appear on two platforms.

Every problem is reported in one pass with its file, spreadsheet row (header = row 1), column and value.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.omics._columns import canonical_columns
from skintrial.omics._panels_schema import PANEL_COLUMNS

__all__ = ["read_panel", "as_panel", "BELOW_LOD_MARKERS"]

REQUIRED = ("participant_id", "visit", "analyte", "value")
BELOW_LOD_MARKERS = frozenset(
    {
        "<lod",
        "<lloq",
        "<loq",
        "<dl",
        "<mdl",
        "blq",
        "bld",
        "bql",
        "nd",
        "n.d.",
        "below lod",
        "below lloq",
        "not detected",
        "<",
    }
)
_LIMIT = re.compile(r"^<\s*=?\s*([0-9.eE+-]+)$")
_ALIASES = {
    "participant": "participant_id",
    "subject": "participant_id",
    "subject_id": "participant_id",
    "factor": "analyte",
    "protein": "analyte",
    "metabolite": "analyte",
    "assay": "analyte",
    "feature": "analyte",
    "cytokine": "analyte",
    "concentration": "value",
    "conc": "value",
    "result": "value",
    "npx": "value",
    "intensity": "value",
    "lloq": "lod",
    "loq": "lod",
    "detection_limit": "lod",
    "limit_of_detection": "lod",
    "platform": "panel",
}


def _normalise(frame: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """Our column names; two columns meaning one name (``value`` and ``conc``) are an error naming both."""
    return canonical_columns(frame, _ALIASES, file=file)


def read_panel(path: str | Path) -> pd.DataFrame:
    """Read a serum panel from CSV, TSV, Excel (.xlsx) or Parquet and check it.

    Parameters
    ----------
    path : str or Path
        A long table (see the module docstring). Common column names are mapped: ``subject`` →
        ``participant_id``, ``protein`` / ``metabolite`` / ``feature`` → ``analyte``,
        ``concentration`` / ``NPX`` / ``intensity`` → ``value``, ``LLOQ`` → ``lod``, ``platform`` →
        ``panel``.

    Returns
    -------
    DataFrame
        Columns :data:`~skintrial.omics._panels_schema.PANEL_COLUMNS`; ``attrs["file"]`` names the file.

    Raises
    ------
    InputError
        Listing every problem: two columns that mean the same thing (``value`` and ``conc``,
        ``participant_id`` and ``subject``), missing columns, text that is neither a number nor a below-limit
        marker, a censored value without a limit, negative limits, duplicate rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "serum.csv"
    >>> _ = p.write_text("participant_id,visit,analyte,value,lod\\nP1,week0,IL6,2.5,0.4\\nP1,week16,IL6,<LOD,0.4\\n")
    >>> read_panel(p)[["visit", "value", "lod", "below_lod"]].to_dict("records")
    [{'visit': 'week0', 'value': 2.5, 'lod': 0.4, 'below_lod': False}, {'visit': 'week16', 'value': nan, 'lod': 0.4, 'below_lod': True}]
    """
    from skintrial.study import ROW_COLUMN, read_table

    frame = read_table(path)
    return as_panel(frame.rename(columns={ROW_COLUMN: "row"}), file=str(path))


def _numbers(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


def _text_problem(
    frame: pd.DataFrame, bad: np.ndarray, column: str, message: str, fix: str, file: str | None
) -> list[Problem]:
    if not bad.any():
        return []
    first = int(np.flatnonzero(bad)[0])
    return [
        Problem(
            message,
            file=file,
            row=int(frame["row"].iat[first]),
            column=column,
            value=frame[column].iat[first],
            rows_affected=int(bad.sum()),
            fix=fix,
        )
    ]


def _parse_values(
    frame: pd.DataFrame, file: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Numbers, the censored mask and limits written in the value cells (``<0.12``)."""
    raw = frame["value"]
    value = _numbers(raw)
    text = raw.notna().to_numpy() & ~np.isfinite(value)
    censored = np.zeros(len(frame), dtype=bool)
    cell_limit = np.full(len(frame), np.nan)
    problems: list[Problem] = []
    if text.any():
        cells = raw[text].astype(str).str.strip().str.lower()
        marker = cells.isin(BELOW_LOD_MARKERS).to_numpy()
        limit = pd.to_numeric(cells.str.extract(_LIMIT, expand=False), errors="coerce").to_numpy(dtype=float)
        idx = np.flatnonzero(text)
        ok = marker | np.isfinite(limit)
        censored[idx[ok]] = True
        cell_limit[idx] = limit
        bad = np.zeros(len(frame), dtype=bool)
        bad[idx[~ok]] = True
        problems += _text_problem(
            frame,
            bad,
            "value",
            "not a number nor a below-limit marker",
            "write a number, '<LOD' (with the limit in the 'lod' column), '<0.12', or "
            "leave the cell empty when the analyte was not measured",
            file,
        )
    return value, censored, cell_limit, problems


def as_panel(data: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """Check and type a panel held in a DataFrame (text or numbers); the reader's second half.

    ``row`` is taken from a ``row`` column when there is one (the reader's spreadsheet rows), else
    the DataFrame's position + 2.
    """
    frame = _normalise(data.reset_index(drop=True), file=file)
    if "row" not in frame.columns:
        frame["row"] = np.arange(2, len(frame) + 2)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            Problem(
                f"required column(s) {missing} are missing (found: {[c for c in frame.columns if c != 'row']})",
                file=file,
                row=1,
                fix="a panel is long: participant_id, visit, analyte, value [, lod, panel, unit]",
            )
        )
    problems: list[Problem] = []
    for col in ("participant_id", "visit", "analyte"):
        problems += _text_problem(
            frame, frame[col].isna().to_numpy(), col, "empty cell", f"fill in the {col} of every row", file
        )
    value, censored, cell_limit, found = _parse_values(frame, file)
    problems += found
    lod = _numbers(frame["lod"]) if "lod" in frame.columns else np.full(len(frame), np.nan)
    if "lod" in frame.columns:
        bad = frame["lod"].notna().to_numpy() & ~np.isfinite(lod)
        problems += _text_problem(
            frame,
            bad,
            "lod",
            "the limit of detection is not a number",
            "write the limit as a number in the value's unit, or leave it empty",
            file,
        )
        problems += _text_problem(
            frame,
            lod < 0,
            "lod",
            "negative limit of detection",
            "limits are concentrations of 0 or more",
            file,
        )
    lod = np.where(np.isfinite(lod), lod, cell_limit)
    below = censored | (np.isfinite(value) & np.isfinite(lod) & (value < lod))
    problems += _text_problem(
        frame,
        censored & ~np.isfinite(lod),
        "value",
        "below the limit of detection but no limit is given",
        "give the limit in the 'lod' column (or write '<0.12' with the number)",
        file,
    )
    panel = (
        frame["panel"].fillna("serum") if "panel" in frame.columns else pd.Series("serum", index=frame.index)
    )
    unit = frame["unit"].fillna("") if "unit" in frame.columns else pd.Series("", index=frame.index)
    out = pd.DataFrame(
        {
            "participant_id": frame["participant_id"].astype(str).to_numpy(),
            "visit": frame["visit"].astype(str).to_numpy(),
            "panel": panel.astype(str).to_numpy(),
            "analyte": frame["analyte"].astype(str).to_numpy(),
            "unit": unit.astype(str).to_numpy(),
            "value": np.where(below, np.nan, value),
            "lod": lod,
            "below_lod": below,
            "row": frame["row"].to_numpy(dtype=np.int64),
        },
        columns=list(PANEL_COLUMNS),
    )
    dup = out.duplicated(["participant_id", "visit", "panel", "analyte"], keep="first").to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        problems.append(
            Problem(
                "the same participant, visit and analyte appear twice",
                file=file,
                row=int(out["row"].iat[first]),
                column="participant_id, visit, analyte",
                rows_affected=int(dup.sum()),
                value=" / ".join(out.loc[first, ["participant_id", "visit", "analyte"]]),
                fix="keep one row per participant, visit and analyte (average replicates first)",
            )
        )
    InputError.collect(problems)
    out.attrs["file"] = file
    return out
