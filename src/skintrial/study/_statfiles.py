"""SPSS (``.sav``, ``.zsav``) and Stata (``.dta``) files as bundle tables, read with pyreadstat.

What the statistics packages keep beside the numbers is used, not lost:

* **value labels** become the values (an ``arm`` coded 1/2 with labels AT/RT reads as ``AT``/``RT``;
  an ``outcome`` column coded 1..k reads as the outcomes' names), codes without a label stay codes;
* **user-defined missing values** (SPSS ``MISSING VALUES 999``, Stata's ``.a``–``.z``) are missing:
  an empty cell, never the number 999;
* **variable labels** are kept in ``frame.attrs["variable_labels"]``; a wide sheet's outcome columns
  give their labels to outcomes that ``study.toml`` does not label (``skintrial.study._wide``).

Cells come back as text like every other reader's (a whole number as ``12``, not ``12.0``; any
other number in full precision), with the row numbers of the bundle's convention: the first case is
row 2 (SPSS's Data View shows it as case 1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["STAT_SUFFIXES", "read_stat_file"]

STAT_SUFFIXES = (".sav", ".zsav", ".dta")
_VARIABLE_LABELS = "variable_labels"  # skintrial.study._wide.VARIABLE_LABELS (kept in one place there)


def _text(value: object) -> str | None:
    """A cell as text: whole numbers without ``.0``, other numbers by their shortest exact form."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _column_text(s: pd.Series) -> list[str | None]:
    if s.dtype.kind == "f":
        arr = s.to_numpy()
        whole = np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) < 2**53)
        out: list[str | None] = [None] * len(arr)
        for i in np.flatnonzero(whole):
            out[i] = str(int(arr[i]))
        for i in np.flatnonzero(~whole & ~np.isnan(arr)):
            out[i] = repr(float(arr[i]))
        return out
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = np.array([_text(u) for u in uniques] + [None], dtype=object)
    return list(texts[codes])  # code -1 (missing) picks the trailing None


def read_stat_file(path: Path, *, what: str = "table") -> pd.DataFrame:
    """An SPSS or Stata file as text cells (``None`` when missing), value labels applied, user-defined
    missing values missing, variable labels in ``attrs["variable_labels"]``.

    Raises :class:`InputError` naming the file when it cannot be read.
    """
    import pyreadstat

    file = str(path)
    suffix = path.suffix.lower()
    reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
    try:
        frame, meta = reader(
            str(path), apply_value_formats=True, formats_as_category=False, user_missing=False
        )
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=file, fix="check the path")) from None
    except Exception as exc:  # noqa: BLE001 - pyreadstat's own errors say what it could not read
        kind = "Stata" if suffix == ".dta" else "SPSS"
        raise InputError(
            Problem(
                f"could not be read as a {kind} file ({type(exc).__name__}: {exc})",
                file=file,
                fix=f"save the {what} again from {kind} (File > Save As), or as a UTF-8 CSV or .xlsx",
            )
        ) from None
    out = pd.DataFrame({str(c).strip(): _column_text(frame[c]) for c in frame.columns}, dtype=object)
    labels = getattr(meta, "column_names_to_labels", None) or {}
    out.attrs[_VARIABLE_LABELS] = {str(k).strip(): v for k, v in labels.items() if v}
    return out
