"""Number formatting for people: the only place numbers become strings (results stay numeric)."""

from __future__ import annotations

import math

__all__ = ["num", "pval", "mean_sd", "ci", "dof", "table_section"]


def _bad(x: object) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x: float | None, digits: int = 3) -> str:
    """Round to ``digits`` significant digits (at least the integer part); '–' when missing."""
    if _bad(x):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:.{decimals}f}"


def pval(p: float | None) -> str:
    """p-values as journals print them: '<0.001', else 3 decimals."""
    if _bad(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def mean_sd(mean: float | None, sd: float | None, digits: int = 3) -> str:
    return f"{num(mean, digits)} ± {num(sd, digits)}" if not _bad(mean) else "–"


def ci(lo: float | None, hi: float | None, digits: int = 3) -> str:
    return f"{num(lo, digits)} to {num(hi, digits)}" if not _bad(lo) else "–"


def dof(x: float | None) -> str:
    """Degrees of freedom: whole numbers as integers, others to 3 significant digits; '–' when missing."""
    if _bad(x):
        return "–"
    return f"{x:.0f}" if float(x).is_integer() else num(x)


def table_section(
    id_: str,
    title: str,
    headers: list[str],
    rows: list[list[str]],
    *,
    text_columns: int = 1,
    intro: str = "",
    note: str = "",
) -> dict:
    """A section that is one table of already formatted cells (``section_table.html.j2``)."""
    return {
        "id": id_,
        "title": title,
        "template": "table",
        "headers": headers,
        "rows": rows,
        "text_columns": text_columns,
        "intro": intro,
        "note": note,
    }
