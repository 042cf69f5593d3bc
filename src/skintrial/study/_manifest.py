"""The columns of ``raw/manifest.csv`` beyond the required ones: ``site`` and per-file pixel spacing.

Every column of the manifest has a meaning; a column the manifest does not define is an error that
names it (a misspelt ``pixel_spacing`` would otherwise be ignored, and the scan measured with the
study-wide spacing). ``pixel_spacing_mm`` (and ``pixel_spacing_col_mm`` for non-square pixels) give an
ultrasound file its own spacing, which overrides ``[raw] pixel_spacing_mm``; an empty cell falls back
to it. A DICOM file's own calibration still wins (docs/ultrasound.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import Problem
from skintrial.study._readers import ROW_COLUMN

__all__ = ["MANIFEST_COLUMNS", "SPACING_COLUMNS", "check_manifest_columns", "manifest_spacing"]

#: Row spacing (or both, for square pixels) and column spacing of a scan, mm per pixel.
SPACING_COLUMNS = ("pixel_spacing_mm", "pixel_spacing_col_mm")
#: Every column a manifest may have (the first four are required).
MANIFEST_COLUMNS = ("participant_id", "visit", "instrument", "file", "site", *SPACING_COLUMNS)

_SPACING_FIX = "mm per pixel, a positive number with '.' as decimal point (e.g. 0.0125), or leave it empty"


def _first(df: pd.DataFrame, bad: np.ndarray, column: str, message: str, fix: str, file: str) -> list[Problem]:
    """One problem at the first offending row, with the count of rows that share it."""
    if not bad.any():
        return []
    i = int(np.flatnonzero(bad)[0])
    return [Problem(message, file=file, row=int(df[ROW_COLUMN].iloc[i]), column=column,
                    value=df[column].iloc[i], rows_affected=int(bad.sum()), fix=fix)]


def check_manifest_columns(df: pd.DataFrame, file: str) -> list[Problem]:
    """Unknown columns, and per-file pixel spacings that are not positive numbers of mm, that are given
    for a file other than an ultrasound scan, or a column spacing without its row spacing."""
    known = ", ".join(MANIFEST_COLUMNS)
    problems = [Problem(f"unknown manifest column {c!r}", file=file, row=1, column=str(c),
                        fix=f"remove it or correct its spelling; a manifest has the columns {known}")
                for c in df.columns if c != ROW_COLUMN and c not in MANIFEST_COLUMNS]
    given = {c: df[c].notna().to_numpy() for c in SPACING_COLUMNS if c in df.columns}
    for column, filled in given.items():
        value = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = filled & ~(np.isfinite(value) & (value > 0))
        problems += _first(df, bad, column, "pixel spacing must be a positive number of mm", _SPACING_FIX, file)
        if "instrument" in df.columns:
            other = filled & (df["instrument"] != "ultrasound").to_numpy()
            problems += _first(df, other, column, "pixel spacing is given for a file that is not an ultrasound "
                               "scan", "leave the spacing empty on the rows of other instruments", file)
    if "pixel_spacing_col_mm" in given:
        alone = given["pixel_spacing_col_mm"] & ~given.get("pixel_spacing_mm", np.zeros(len(df), dtype=bool))
        problems += _first(df, alone, "pixel_spacing_col_mm", "column spacing without a row spacing",
                           "give pixel_spacing_mm (the row spacing) on this row too", file)
    return problems


def manifest_spacing(rows: pd.DataFrame, default: float | None) -> dict[str, tuple[float, float]] | float | None:
    """The spacing of each listed file (by its ``path``): its own, else ``default`` (``[raw]
    pixel_spacing_mm``). ``default`` itself when the manifest has no spacing column."""
    if "pixel_spacing_mm" not in rows.columns:
        return default
    dy = pd.to_numeric(rows["pixel_spacing_mm"], errors="coerce").to_numpy(dtype=float)
    dx = (pd.to_numeric(rows["pixel_spacing_col_mm"], errors="coerce").to_numpy(dtype=float)
          if "pixel_spacing_col_mm" in rows.columns else dy)
    out = {}
    for path, a, b in zip(rows["path"], dy, dx, strict=True):
        if np.isfinite(a):
            out[str(path)] = (float(a), float(b) if np.isfinite(b) else float(a))
        elif default is not None:
            out[str(path)] = (float(default), float(default))
    return out
