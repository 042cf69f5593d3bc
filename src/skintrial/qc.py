"""QC flags in result tables: which rows are flagged, and per file which measurements and why.

A ``qc`` cell holds semicolon-separated flags (empty when clean, ``error: ...`` for a file that could
not be read). Some flags are informational (the instruments' ``INFORMATIONAL_FLAGS``, e.g.
``phases_inferred``): such a row is measured and used, its flag kept for the record. One definition for
the stages that write such tables and for the report that reads them (the report imports no stage).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["FLAGGED_CURVES_PAGE", "flagged", "flagged_measurements", "measurement_flags"]

FLAGGED_CURVES_PAGE = "overlays/flagged_curves.html"
"""The asset where the instruments stage draws every flagged Cutometer file (the report links it)."""


def _bad(qc: str, info: set[str]) -> bool:
    return any(f and f not in info for f in qc.split(";"))


def flagged(qc: pd.Series, informational: Iterable[str]) -> pd.Series:
    """True where ``qc`` holds an error or a flag that is not ``informational``."""
    info = set(informational)
    return qc.fillna("").astype(str).map(lambda q: _bad(q, info)).astype(bool)


def measurement_flags(files: pd.DataFrame, informational: Iterable[str]) -> dict[str, str]:
    """File → the flags of every flagged measurement of it, e.g. ``"m2: drift; m5: clipped"``.

    ``files`` has one row per measurement (``file``, ``measurement_id``, ``qc``: the stage's
    ``instrument_files``). A file whose only row is flagged (one measurement, or an error for the whole
    file) gives its ``qc`` alone. Files with no flagged measurement are left out.
    """
    info = set(informational)
    qc = files["qc"].fillna("").astype(str)
    mids = files["measurement_id"] if "measurement_id" in files else pd.Series("", index=files.index)
    out: dict[str, str] = {}
    for name, rows in files.assign(_qc=qc, _mid=mids.fillna("").astype(str)).groupby("file", sort=False):
        bad = rows[rows["_qc"].map(lambda q: _bad(q, info))]
        if bad.empty:
            continue
        if len(rows) == 1:
            out[str(name)] = bad["_qc"].iloc[0]
        else:
            out[str(name)] = "; ".join(
                f"{m}: {q}" if m else q for m, q in zip(bad["_mid"], bad["_qc"], strict=True)
            )
    return out


def flagged_measurements(files: pd.DataFrame, informational: Iterable[str]) -> set[tuple[str, str]]:
    """``(file, measurement_id)`` of every flagged measurement (as :func:`measurement_flags` decides)."""
    info = set(informational)
    mids = files["measurement_id"] if "measurement_id" in files else pd.Series("", index=files.index)
    qc = files["qc"].fillna("").astype(str)
    return {
        (str(f), str(m)) for f, m, q in zip(files["file"], mids.fillna(""), qc, strict=True) if _bad(q, info)
    }
