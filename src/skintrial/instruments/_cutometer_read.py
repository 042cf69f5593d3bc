"""Reading raw Cutometer curves: the documented CSV, vendor exports through a column/unit mapping."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.instruments._cutometer_defs import UNITS
from skintrial.study import CUTOMETER_COLUMN_KEYS, CUTOMETER_COLUMNS, CUTOMETER_READ_KEYS

__all__ = ["read_cutometer", "column_mapping", "COLUMN_KEYS", "LONG_COLUMNS", "MAX_DEFORMATION_MM"]

#: Columns of the long table :func:`read_cutometer` returns.
LONG_COLUMNS = ("file", "measurement_id", "time_s", "deformation_mm", "pressure_mbar")
#: Larger deformations cannot be millimetres: the Cutometer's largest probe opening is 8 mm.
MAX_DEFORMATION_MM = 10.0

_CANONICAL = CUTOMETER_COLUMNS
_READ_KEYS = CUTOMETER_READ_KEYS
#: Keys of a column mapping as written by a person (CLI ``--column KEY=...``, a bundle's
#: ``[raw.cutometer_columns]``): the canonical columns and the reader options (declared with the
#: study.toml schema, :data:`skintrial.study._schema.CUTOMETER_COLUMN_KEYS`).
COLUMN_KEYS = CUTOMETER_COLUMN_KEYS
# Header spellings recognised without a mapping: (canonical, unit).
_ALIASES = {
    "time_s": ("time_s", "s"),
    "time_ms": ("time_s", "ms"),
    "t_s": ("time_s", "s"),
    "deformation_mm": ("deformation_mm", "mm"),
    "deformation_um": ("deformation_mm", "um"),
    "deformation_µm": ("deformation_mm", "um"),
    "pressure_mbar": ("pressure_mbar", "mbar"),
    "pressure_hpa": ("pressure_mbar", "hpa"),
    "pressure_kpa": ("pressure_mbar", "kpa"),
    "measurement_id": ("measurement_id", None),
    "measurement": ("measurement_id", None),
}
_MAPPING_FIX = (
    "map your columns, e.g. mapping={'time_s': ('Time', 'ms'), 'deformation_mm': "
    "('Deformation', 'um')} (CLI: --column time_s=Time:ms --column deformation_mm=Deformation:um; "
    'a study bundle: [raw.cutometer_columns] in study.toml, time_s = "Time:ms")'
)


def read_cutometer(path: str | Path, *, mapping: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Read raw Cutometer suction curves into skintrial's long table.

    The documented format is a CSV (comma, semicolon or tab separated; a semicolon file may use decimal
    commas) with the columns ``time_s``, ``deformation_mm``, optional ``pressure_mbar`` (the suction, any
    sign) and optional ``measurement_id`` (several curves in one long file). Any sampling rate is
    accepted. Excel files (``.xlsx``) are read the same way.

    Vendor exports are read through ``mapping``: for each of ``time_s``, ``deformation_mm``,
    ``pressure_mbar``, ``measurement_id`` either the source column's name or a ``(name, unit)`` pair.
    Units: deformation ``mm, um (µm), cm, m``; time ``s, ms, min``; pressure ``mbar, hPa, kPa, Pa,
    mmHg, bar``. The keys ``sep``, ``decimal``, ``skiprows`` and ``sheet_name`` are passed to the pandas
    reader (for exports with metadata lines above the table).

    A mapped ``'NAME:UNIT'`` whose NAME is a column but whose UNIT is not listed above is reported as
    an unknown unit (with the allowed ones). Each curve needs at least 2 samples, and its pressure
    channel must be complete or entirely empty (a gap inside it would split a suction phase).

    Units are checked: deformations above 10 mm (larger than any Cutometer probe opening) are refused
    with an error that names the column and says they look like micrometres; time steps of a second or
    more are refused as probable milliseconds.

    Parameters
    ----------
    path : str or Path
        The file.
    mapping : dict, optional
        Column/unit mapping, as above.

    Returns
    -------
    pandas.DataFrame
        Long table ``file, measurement_id, time_s, deformation_mm, pressure_mbar`` (``pressure_mbar``
        NaN when the file has no pressure channel; ``measurement_id`` the file's stem when absent).

    Raises
    ------
    skintrial.errors.InputError
        Naming the file, row (header = row 1), column, value and fix, all problems found in one pass.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cheek.csv"
    >>> _ = p.write_text("Time [ms];Deformation [um]\\n0;0,0\\n10;150,0\\n20;180,5\\n")
    >>> df = read_cutometer(p, mapping={"time_s": ("Time [ms]", "ms"),
    ...                                 "deformation_mm": ("Deformation [um]", "um")})
    >>> df[["measurement_id", "time_s", "deformation_mm"]].to_numpy().tolist()
    [['cheek', 0.0, 0.0], ['cheek', 0.01, 0.15], ['cheek', 0.02, 0.1805]]
    """
    path = Path(path)
    name = str(path)
    mapping = dict(mapping or {})
    read_opts = {k: mapping.pop(k) for k in _READ_KEYS if k in mapping}
    skip = _skiprows(read_opts.get("skiprows"), name)
    if "skiprows" in read_opts:
        read_opts["skiprows"] = skip
    raw = _read_table(path, read_opts)
    columns = _resolve_columns(raw, mapping, name)
    if raw.empty:
        raise InputError(
            Problem(
                "no data rows: the file has a header but no samples",
                file=name,
                row=2 + skip,
                fix="export the whole curve (a Cutometer record holds hundreds of samples)"
                + (f"; skiprows={skip} may skip the samples" if skip else ""),
            )
        )
    out, problems = {}, []
    for canon, (src, unit) in columns.items():
        if canon == "measurement_id":
            continue
        values, bad, infinite = _numeric(raw[src], required=canon != "pressure_mbar")
        for mask, what, fix in (
            (
                bad,
                "empty or non-numeric value",
                "every row needs a number in this column (decimal point, or "
                "decimal comma in a semicolon-separated file)",
            ),
            (
                infinite,
                "not a finite number",
                "replace the infinite value by the measured number, or cut the curve before it",
            ),
        ):
            if mask.any():
                rows = np.flatnonzero(mask)
                problems.append(
                    Problem(
                        what,
                        file=name,
                        row=int(rows[0]) + 2 + skip,
                        column=src,
                        value=raw[src].iloc[rows[0]],
                        rows_affected=len(rows),
                        fix=fix,
                    )
                )
        assert unit is not None  # _resolve_columns gave every column but measurement_id a known unit
        out[canon] = values * UNITS[canon][unit]
    InputError.collect(problems)
    ids = (
        raw[columns["measurement_id"][0]].astype(str).to_numpy()
        if "measurement_id" in columns
        else np.full(len(raw), path.stem, dtype=object)
    )
    df = pd.DataFrame(
        {
            "file": name,
            "measurement_id": ids,
            "time_s": out["time_s"],
            "deformation_mm": out["deformation_mm"],
            "pressure_mbar": out.get("pressure_mbar", np.full(len(raw), np.nan)),
        }
    )
    _check(df, columns, name, skip)
    return df


def column_mapping(specs: Mapping[str, object]) -> dict[str, object]:
    """A mapping for :func:`read_cutometer` from ``{KEY: "SOURCE[:UNIT]"}`` as a person writes it.

    Used by the CLI's ``--column KEY=SOURCE[:UNIT]`` and by a bundle's ``[raw.cutometer_columns]``
    alike. ``SOURCE:UNIT`` is split only when UNIT is a unit of that column (a colon may be part of a
    column name); ``skiprows`` becomes a number, and ``sheet_name`` too when it is one (a sheet index).
    Keys are not checked here: :func:`read_cutometer` names an unknown one.

    Examples
    --------
    >>> column_mapping({"time_s": "Time [ms]:ms", "deformation_mm": "Def", "skiprows": "3"})
    {'time_s': ('Time [ms]', 'ms'), 'deformation_mm': 'Def', 'skiprows': 3}
    """
    mapping: dict[str, object] = {}
    for key, source in specs.items():
        text = str(source).strip()
        if key in ("skiprows", "sheet_name"):
            mapping[key] = int(text) if text.isdigit() else source
            continue
        if key in _READ_KEYS:
            mapping[key] = source
            continue
        head, colon, unit = text.rpartition(":")
        if colon and key in UNITS and unit.strip().lower() in {u.lower() for u in UNITS[key]}:
            mapping[key] = (head, unit.strip())
        else:
            mapping[key] = source
    return mapping


def _skiprows(value: object, name: str) -> int:
    """The ``skiprows`` reader option as a number of lines (0 when not given)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise InputError(
        Problem(
            f"the reader option skiprows={value!r} is not a number of lines",
            file=name,
            value=value,
            fix="give skiprows as the whole number (>= 0) of lines above the header row, e.g. skiprows=3",
        )
    )


def _read_table(path: Path, opts: dict) -> pd.DataFrame:
    name = str(path)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return _read_excel(path, opts)
    try:
        if "sep" not in opts:
            opts = {**opts, **_sniff(path, opts.get("skiprows") or 0)}
        raw = pd.read_csv(
            path,
            sep=opts["sep"],
            skiprows=opts.get("skiprows"),
            skipinitialspace=True,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
        if opts.get("decimal", ".") != ".":
            raw = raw.apply(lambda col: col.str.replace(opts["decimal"], ".", regex=False))
        return raw
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=name, fix="check the path")) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise InputError(
            Problem(
                f"cannot be read as a table ({type(e).__name__}: {e})",
                file=name,
                fix="export the curves as CSV with a header row",
            )
        ) from None


def _read_excel(path: Path, opts: dict) -> pd.DataFrame:
    """An Excel sheet; any reader failure (not a zip, no workbook inside, a missing sheet, a missing
    engine) is an :class:`InputError` naming the file, never a traceback."""
    name = str(path)
    try:
        return pd.read_excel(path, sheet_name=opts.get("sheet_name", 0), skiprows=opts.get("skiprows"))
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=name, fix="check the path")) from None
    except Exception as e:  # zipfile, openpyxl, xlrd and pandas each raise their own kinds
        raise InputError(
            Problem(
                f"cannot be read as an Excel workbook ({type(e).__name__}: {e})",
                file=name,
                fix="open and save it again in Excel as .xlsx (check sheet_name), or export the curves as CSV "
                "with a header row",
            )
        ) from None


def _sniff(path: Path, skip: int) -> dict:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        lines = fh.read(8192).splitlines()[skip : skip + 20]
    head = "\n".join(lines)
    try:
        sep = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        sep = ","
    body = "\n".join(lines[1:])
    decimal = "," if sep != "," and re.search(r"\d,\d", body) else "."
    return {"sep": sep, "decimal": decimal}


def _resolve_columns(raw: pd.DataFrame, mapping: dict, name: str) -> dict[str, tuple[str, str | None]]:
    problems = []
    for key in mapping:
        if key not in _CANONICAL:
            problems.append(
                Problem(
                    f"unknown mapping key {key!r}",
                    file=name,
                    value=key,
                    fix=f"use one of {', '.join(_CANONICAL + _READ_KEYS)}",
                )
            )
    found: dict[str, tuple[str, str | None]] = {}
    lower = {str(c).strip().lower(): c for c in raw.columns}
    for alias, (canon, unit) in _ALIASES.items():
        if canon not in found and alias in lower:
            found[canon] = (lower[alias], unit)
    for canon, spec in mapping.items():
        if canon not in _CANONICAL:
            continue
        src, unit = (spec, None) if isinstance(spec, str) else tuple(spec)
        if src not in raw.columns:
            problems.append(_not_found(raw, canon, src, name))
            continue
        alias_unit = _ALIASES.get(str(src).strip().lower(), (None, None))[1]
        unit = unit or alias_unit or _default_unit(canon)
        found[canon] = (src, unit)
    for canon, (src, unit) in found.items():
        if canon != "measurement_id":
            units = UNITS[canon]
            if str(unit).lower() not in units and unit not in units:
                problems.append(_unknown_unit(canon, src, unit, name))
            else:
                found[canon] = (src, unit if unit in units else str(unit).lower())
    for canon in ("time_s", "deformation_mm"):
        if canon not in found:
            problems.append(
                Problem(
                    f"required column {canon!r} not found",
                    file=name,
                    column=canon,
                    fix=f"{_MAPPING_FIX}; columns in the file: {', '.join(map(str, raw.columns))}",
                )
            )
    InputError.collect(problems)
    return found


def _declare_unit(canon: str, src: object, unit: str) -> str:
    """How to declare a column's unit, in each of the three places a user can: Python, CLI, study.toml."""
    return (
        f"mapping={{{canon!r}: ({src!r}, {unit!r})}} (CLI: --column {canon}={src}:{unit}; a study bundle: "
        f'[raw.cutometer_columns] {canon} = "{src}:{unit}" in study.toml)'
    )


def _unknown_unit(canon: str, src: str, unit: object, name: str) -> Problem:
    allowed = ", ".join(UNITS[canon])
    return Problem(
        f"unknown unit {unit!r} for {canon} (allowed: {allowed})",
        file=name,
        column=src,
        fix=f"use one of {allowed}, e.g. {_declare_unit(canon, src, next(iter(UNITS[canon])))}",
    )


def _not_found(raw: pd.DataFrame, canon: str, src: object, name: str) -> Problem:
    """A mapped column that is not in the file; ``'NAME:UNIT'`` with a known NAME is an unknown unit."""
    head, colon, unit = str(src).rpartition(":")
    if colon and canon in UNITS and head in raw.columns:
        return _unknown_unit(canon, head, unit.strip(), name)
    return Problem(
        f"mapped column {src!r} (for {canon}) not found",
        file=name,
        column=str(src),
        fix=f"columns in the file: {', '.join(map(str, raw.columns))}",
    )


def _default_unit(canon: str) -> str | None:
    return {"time_s": "s", "deformation_mm": "mm", "pressure_mbar": "mbar"}.get(canon)


def _numeric(col: pd.Series, *, required: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, cells that are empty (where required) or not numbers, and cells that are infinite."""
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    missing = col.isna().to_numpy()
    bad = np.isnan(values) & (~missing | required)
    return values, bad, np.isinf(values)


def _check(df: pd.DataFrame, columns: dict, name: str, skip: int) -> None:
    problems = []
    d_src, d_unit = columns["deformation_mm"]
    big = np.abs(df["deformation_mm"].to_numpy()) > MAX_DEFORMATION_MM
    if big.any():
        i = int(np.flatnonzero(big)[0])
        looks = "micrometres (µm)" if d_unit == "mm" else "a wrong unit"
        problems.append(
            Problem(
                f"deformation of {df['deformation_mm'].iloc[i]:g} mm is impossible (the largest Cutometer "
                f"opening is 8 mm): the values look like {looks} read as {d_unit}",
                file=name,
                row=i + 2 + skip,
                column=d_src,
                value=float(df["deformation_mm"].iloc[i]),
                rows_affected=int(big.sum()),
                fix=f"declare the unit: {_declare_unit('deformation_mm', d_src, 'um')}",
            )
        )
    t = df["time_s"].to_numpy()
    same = df["measurement_id"].to_numpy()[1:] == df["measurement_id"].to_numpy()[:-1]
    step = np.diff(t)
    t_src, t_unit = columns["time_s"]
    back = np.flatnonzero(same & ~(step > 0))
    if back.size:
        i = int(back[0]) + 1
        problems.append(
            Problem(
                f"time does not increase within measurement {df['measurement_id'].iloc[i]!r}",
                file=name,
                row=i + 2 + skip,
                column=t_src,
                value=float(df["time_s"].iloc[i]),
                rows_affected=len(back),
                fix="sort the rows by time; give each curve its own measurement_id",
            )
        )
    elif same.any() and np.median(step[same]) >= 1.0:
        problems.append(
            Problem(
                f"median time step is {np.median(step[same]):g} s: the times look like milliseconds read "
                f"as {t_unit}",
                file=name,
                column=t_src,
                fix=f"declare the unit: {_declare_unit('time_s', t_src, 'ms')}",
            )
        )
    problems += _curve_problems(df, columns, name, skip)
    InputError.collect(problems)


def _curve_problems(df: pd.DataFrame, columns: dict, name: str, skip: int) -> list[Problem]:
    """Per measurement: at least 2 samples, and a pressure channel that is complete or absent.

    A gap inside the pressure column would split a suction phase in two (spurious cycles, ends flagged
    implausible with the cause hidden), so a partly empty pressure channel is refused here, where the
    file, row and column can still be named.
    """
    problems = []
    ids = df["measurement_id"].to_numpy()
    codes = pd.factorize(ids)[0]
    size = np.bincount(codes)
    for k in np.flatnonzero(size < 2):
        i = int(np.flatnonzero(codes == k)[0])
        problems.append(
            Problem(
                f"measurement {ids[i]!r} has only {size[k]} sample (a curve needs at least 2)",
                file=name,
                row=i + 2 + skip,
                column=columns["time_s"][0],
                fix="export the whole curve (a Cutometer record holds hundreds of samples), or remove the row; "
                "in a long file give each curve its own measurement_id",
            )
        )
    if "pressure_mbar" in columns:
        gap = np.isnan(df["pressure_mbar"].to_numpy())
        n_gap = np.bincount(codes, weights=gap, minlength=len(size))
        src = columns["pressure_mbar"][0]
        for k in np.flatnonzero((n_gap > 0) & (n_gap < size)):
            i = int(np.flatnonzero(gap & (codes == k))[0])
            problems.append(
                Problem(
                    f"pressure missing inside measurement {ids[i]!r} (an incomplete pressure channel splits the "
                    "suction phases)",
                    file=name,
                    row=i + 2 + skip,
                    column=src,
                    rows_affected=int(n_gap[k]),
                    fix="fill in every pressure value of the curve, or leave its pressure column empty and give "
                    "the suction/relaxation times (on_s/off_s; CLI: --on/--off)",
                )
            )
    return problems
