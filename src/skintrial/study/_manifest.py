"""The columns of ``raw/manifest.csv`` beyond the required ones: ``site`` and per-file pixel spacing.

The spacing checks are shared with the spacing manifest of ``skintrial ultrasound --spacing-manifest``
(:func:`read_spacing_manifest`), where every row must give its scan's spacing.

Every column of the manifest has a meaning; a column the manifest does not define is an error that
names it (a misspelt ``pixel_spacing`` would otherwise be ignored, and the scan measured with the
study-wide spacing). ``pixel_spacing_mm`` (and ``pixel_spacing_col_mm`` for non-square pixels) give an
ultrasound file its own spacing, which overrides ``[raw] pixel_spacing_mm``; an empty cell falls back
to it. A DICOM file's own calibration still wins (docs/ultrasound.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.study._ranges import pixel_spacing_problem
from skintrial.study._readers import ROW_COLUMN, read_table

__all__ = [
    "MANIFEST_COLUMNS",
    "SPACING_COLUMNS",
    "check_manifest_columns",
    "manifest_spacing",
    "read_spacing_manifest",
]

#: Row spacing (or both, for square pixels) and column spacing of a scan, mm per pixel.
SPACING_COLUMNS = ("pixel_spacing_mm", "pixel_spacing_col_mm")
#: Every column a manifest may have (the first four are required).
MANIFEST_COLUMNS = ("participant_id", "visit", "instrument", "file", "site", *SPACING_COLUMNS)

_SPACING_FIX = "mm per pixel, a positive number with '.' as decimal point (e.g. 0.0125)"


def _first(
    df: pd.DataFrame, bad: np.ndarray, column: str, message: str, fix: str, file: str
) -> list[Problem]:
    """One problem at the first offending row, with the count of rows that share it."""
    if not bad.any():
        return []
    i = int(np.flatnonzero(bad)[0])
    return [
        Problem(
            message,
            file=file,
            row=int(df[ROW_COLUMN].iloc[i]),
            column=column,
            value=df[column].iloc[i],
            rows_affected=int(bad.sum()),
            fix=fix,
        )
    ]


def _each(df: pd.DataFrame, bad: np.ndarray, column: str, message: str, fix: str, file: str) -> list[Problem]:
    """One problem per offending row."""
    return [
        Problem(
            message,
            file=file,
            row=int(df[ROW_COLUMN].iloc[i]),
            column=column,
            value=df[column].iloc[i],
            fix=fix,
        )
        for i in np.flatnonzero(bad)
    ]


def _spacing_checks(df: pd.DataFrame, *, required: bool) -> Iterator[tuple[np.ndarray, str, str, str]]:
    """``(bad rows, column, message, fix)`` for each spacing rule the table breaks.

    A spacing cell must be a positive number of mm; it may be empty unless ``required`` (then every
    row gives its scan's spacing). In a bundle manifest, a spacing is only for ultrasound rows, and a
    column spacing needs its row spacing.
    """
    given = {c: df[c].notna().to_numpy() for c in SPACING_COLUMNS if c in df.columns}
    fix = _SPACING_FIX if required else _SPACING_FIX + ", or leave it empty"
    for column, filled in given.items():
        value = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = (True if required else filled) & ~(np.isfinite(value) & (value > 0))
        yield bad, column, "pixel spacing must be a positive number of mm", fix
        for v in np.unique(value[~bad & filled]):  # plausible values pass; each implausible one is named
            why = pixel_spacing_problem(float(v))
            if why is not None:
                yield filled & (value == v), column, why, fix
        if "instrument" in df.columns:
            other = filled & (df["instrument"] != "ultrasound").to_numpy()
            yield (
                other,
                column,
                "pixel spacing is given for a file that is not an ultrasound scan",
                "leave the spacing empty on the rows of other instruments",
            )
    if "pixel_spacing_col_mm" in given and not required:
        alone = given["pixel_spacing_col_mm"] & ~given.get("pixel_spacing_mm", np.zeros(len(df), dtype=bool))
        yield (
            alone,
            "pixel_spacing_col_mm",
            "column spacing without a row spacing",
            "give pixel_spacing_mm (the row spacing) on this row too",
        )


def check_manifest_columns(df: pd.DataFrame, file: str) -> list[Problem]:
    """Unknown columns, and per-file pixel spacings that are not positive numbers of mm, that are given
    for a file other than an ultrasound scan, or a column spacing without its row spacing."""
    known = ", ".join(MANIFEST_COLUMNS)
    problems = [
        Problem(
            f"unknown manifest column {c!r}",
            file=file,
            row=1,
            column=str(c),
            fix=f"remove it or correct its spelling; a manifest has the columns {known}",
        )
        for c in df.columns
        if c != ROW_COLUMN and c not in MANIFEST_COLUMNS
    ]
    for bad, column, message, fix in _spacing_checks(df, required=False):
        problems += _first(df, bad, column, message, fix, file)
    return problems


_SPACING_MANIFEST_FIX = (
    "give columns file, pixel_spacing_mm [, pixel_spacing_col_mm]: one row per scan, spacing in mm"
)


def read_spacing_manifest(path: str | Path) -> dict[str, tuple[float, float]]:
    """``file, pixel_spacing_mm[, pixel_spacing_col_mm]`` → ``{file: (row, col) spacing in mm}``.

    The spacing manifest of ``skintrial ultrasound --spacing-manifest``: any table the study reader
    takes (CSV, TSV, Excel), one row per scan, named by its file name or path; every row gives its
    spacing (the column spacing defaults to the row spacing when the column is absent). Every bad
    row is reported at once, with the bundle manifest's spacing checks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("file,pixel_spacing_mm\\nscan1.png,0.0125\\n")
    >>> read_spacing_manifest(p)
    {'scan1.png': (0.0125, 0.0125)}
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError(Problem("spacing manifest not found", file=file, fix="check the path"))
    kind = "CSV " if path.suffix.lower() in (".csv", ".tsv", ".txt") else ""
    try:
        table = read_table(path, what="spacing manifest")
    except InputError as exc:
        raise InputError(
            [
                dataclasses.replace(
                    p, message=f"spacing manifest is not a readable {kind}table ({p.message})"
                )
                for p in exc.problems
            ]
        ) from None
    missing = [c for c in ("file", "pixel_spacing_mm") if c not in table.columns]
    if missing:
        raise InputError(
            Problem(f"missing column(s) {', '.join(missing)}", file=file, row=1, fix=_SPACING_MANIFEST_FIX)
        )
    if table.empty:
        raise InputError(Problem("spacing manifest has no rows", file=file, fix=_SPACING_MANIFEST_FIX))
    problems = _each(
        table,
        table["file"].isna().to_numpy(),
        "file",
        "file name is empty",
        "name the scan file (its name or path) on every row",
        file,
    )
    for bad, column, message, fix in _spacing_checks(table, required=True):
        problems += _each(table, bad, column, message, fix, file)
    InputError.collect(problems)
    row_col, col_col = SPACING_COLUMNS
    dy = pd.to_numeric(table[row_col], errors="coerce").to_numpy(dtype=float)  # required above
    dx = (
        pd.to_numeric(table[col_col], errors="coerce").to_numpy(dtype=float)
        if col_col in table.columns
        else dy
    )
    return {str(name): (float(a), float(b)) for name, a, b in zip(table["file"], dy, dx, strict=True)}


def manifest_spacing(
    rows: pd.DataFrame, default: float | None
) -> dict[str, tuple[float, float]] | float | None:
    """The spacing of each listed file (by its ``path``): its own, else ``default`` (``[raw]
    pixel_spacing_mm``). ``default`` itself when the manifest has no spacing column."""
    if "pixel_spacing_mm" not in rows.columns:
        return default
    dy = pd.to_numeric(rows["pixel_spacing_mm"], errors="coerce").to_numpy(dtype=float)
    dx = (
        pd.to_numeric(rows["pixel_spacing_col_mm"], errors="coerce").to_numpy(dtype=float)
        if "pixel_spacing_col_mm" in rows.columns
        else dy
    )
    out = {}
    for path, a, b in zip(rows["path"], dy, dx, strict=True):
        if np.isfinite(a):
            out[str(path)] = (float(a), float(b) if np.isfinite(b) else float(a))
        elif default is not None:
            out[str(path)] = (float(default), float(default))
    return out
