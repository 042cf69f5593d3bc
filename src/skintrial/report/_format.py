"""Number formatting for people: the only place numbers become strings (results stay numeric).

The rules (docs/report.md, "Numbers"):

* an outcome's values, means, SDs, differences and their CIs share one number of decimals, the
  outcome's :func:`outcome_decimals` (its measurement precision), so a row never mixes "0.696" with
  "0.0625";
* p-values: three decimals, ``<0.001`` below 0.001 and ``>0.999`` above 0.999 (never "0.000" or "1");
* standardised effects (Hedges' g, correlations, ε): two decimals; generalized η²: three decimals,
  ``<0.001`` below; F: two decimals; ratios and fold changes: two decimals; percentages: one decimal.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "fixed",
    "num",
    "pval",
    "mean_sd",
    "ci",
    "dof",
    "effect",
    "eta_sq",
    "percent",
    "count_of",
    "outcome_decimals",
    "NAMES",
    "name_of",
    "table_section",
    "status_text",
]

MAX_DECIMALS = 6
"""No number is written with more decimals than this."""

NAMES: dict[str, str] = {
    "ancova": "ANCOVA",
    "ancova_per_protocol": "ANCOVA (per protocol)",
    "clda": "cLDA",
    "mixed_anova": "Mixed ANOVA",
    "cross_sectional": "Cross-sectional comparison",
    "change": "Within-arm change",
    "description": "Description",
    "instruments": "Raw instrument files",
    "training": "Training log",
    "qpcr": "qPCR",
    "serum": "Serum panel",
    "mechanism": "Mechanism view",
    "paired_t": "paired t test",
    "welch_t": "Welch's t test",
    "student_t": "Student's t test",
    "arm": "Arm",
    "visit": "Visit",
    "arm:visit": "Arm × visit",
    "spearman": "Spearman",
    "pearson": "Pearson",
    "no_data": "no data",
    "singular_covariance": "not estimable (singular covariance)",
    "too_few": "too few participants",
    "not_estimable": "not estimable",
    "sex": "Sex",
    "age": "Age",
    "age_group": "Age group",
}
"""Labels shown for the internal names of analyses, tests, terms and statuses (never shown raw)."""


def name_of(key: object) -> str:
    """The label of an internal name (:data:`NAMES`); other names with ``_`` read as words."""
    k = str(key)
    return NAMES.get(k, k.replace("_", " ") if "_" in k and k.islower() else k)


def _bad(x: object) -> bool:
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def fixed(x: float | None, decimals: int) -> str:
    """``x`` with exactly ``decimals`` decimals ('–' when missing; never '-0.00')."""
    if _bad(x):
        return "–"
    text = f"{float(x):.{max(0, min(decimals, MAX_DECIMALS))}f}"  # type: ignore[arg-type]
    return text[1:] if text.startswith("-") and float(text) == 0 else text.replace("-", "−")


def num(x: float | None, digits: int = 3) -> str:
    """``digits`` significant digits (at least the integer part), for numbers with no outcome scale
    (agreement of raw files with the table, training sessions); '–' when missing."""
    if _bad(x):
        return "–"
    x = float(x)  # type: ignore[arg-type]
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    return fixed(x, max(0, digits - 1 - mag))


def pval(p: float | None) -> str:
    """p-values as journals print them: '<0.001', '>0.999', else three decimals."""
    if _bad(p):
        return "–"
    p = float(p)  # type: ignore[arg-type]
    return "<0.001" if p < 0.001 else ">0.999" if p > 0.999 else f"{p:.3f}"


def effect(x: float | None) -> str:
    """Standardised effects, correlations and ε: two decimals."""
    return fixed(x, 2)


def eta_sq(x: float | None) -> str:
    """Generalized η²: three decimals, '<0.001' below (a tiny η² is not written as '0.0000018')."""
    if _bad(x):
        return "–"
    return "<0.001" if 0 <= float(x) < 0.0005 else fixed(x, 3)  # type: ignore[arg-type]


def percent(x: float | None) -> str:
    """A percentage (already ×100) with one decimal."""
    return "–" if _bad(x) else f"{fixed(x, 1)}%"


def mean_sd(mean: float | None, sd: float | None, decimals: int) -> str:
    return "–" if _bad(mean) else f"{fixed(mean, decimals)} ± {fixed(sd, decimals)}"


def ci(lo: float | None, hi: float | None, decimals: int) -> str:
    return "–" if _bad(lo) else f"{fixed(lo, decimals)} to {fixed(hi, decimals)}"


def dof(x: float | None) -> str:
    """Degrees of freedom: whole numbers as integers, others to one decimal; '–' when missing."""
    if _bad(x):
        return "–"
    return f"{float(x):.0f}" if float(x).is_integer() else fixed(x, 1)  # type: ignore[arg-type]


def count_of(n: object) -> str:
    """A count ('–' when missing)."""
    return "–" if _bad(n) else f"{int(float(n)):d}"  # type: ignore[arg-type]


def _recorded_decimals(values: np.ndarray) -> int:
    """The fewest decimals (0 to :data:`MAX_DECIMALS`) with which every value was written;
    :data:`MAX_DECIMALS` when values have no fixed precision (computed, not recorded)."""
    v = np.abs(values[np.isfinite(values)])
    for d in range(MAX_DECIMALS + 1):
        scaled = v * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, scaled)):
            return d
    return MAX_DECIMALS


def outcome_decimals(long: pd.DataFrame, *, baseline_visit: str | None = None) -> dict[str, int]:
    """Decimals for each outcome's numbers: ``min(recorded + 1, two significant digits of the SD)``.

    ``recorded`` is the precision the values were written with (0.786 → 3; computed values count as
    6), so a summary never claims more than one decimal beyond the measurement; the SD term (the SD
    over all participants at ``baseline_visit``, or over every value) keeps the spread to two
    significant digits (Cole 2015, Clin Chem 61:1016), so "62.3 ± 8.1 kg" and "0.696 ± 0.063".

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"outcome": ["r2"] * 4 + ["kg"] * 4,
    ...                      "visit": "week0", "value": [0.61, 0.72, 0.69, 0.78, 60.1, 71.3, 65.0, 58.4]})
    >>> outcome_decimals(long)
    {'kg': 1, 'r2': 3}
    """
    out: dict[str, int] = {}
    for outcome, g in long.groupby("outcome", sort=True, observed=True):
        values = g["value"].to_numpy(dtype=float)
        base = (
            g.loc[g["visit"] == baseline_visit, "value"].to_numpy(dtype=float) if baseline_visit else values
        )
        spread = base if np.isfinite(base).sum() > 1 else values
        spread = spread[np.isfinite(spread)]
        sd = float(np.std(spread, ddof=1)) if len(spread) > 1 else 0.0
        by_sd = 1 - math.floor(math.log10(sd)) if sd > 0 else MAX_DECIMALS
        out[str(outcome)] = int(
            max(0, min(_recorded_decimals(values) + 1, by_sd, MAX_DECIMALS)) if len(values) else 2
        )
    return out


def table_section(
    id_: str,
    title: str,
    headers: list[str],
    rows: list[list[str]],
    *,
    text_columns: int = 1,
    intro: str = "",
    note: str = "",
    sortable: bool = True,
) -> dict:
    """A section that is one table of already formatted cells (``section_table.html.j2``). Columns
    whose cells are all empty (a Status column where every fit is ok) are left out."""
    keep = [j for j in range(len(headers)) if j < text_columns or any(r[j] for r in rows)]
    if len(keep) < len(headers):
        headers = [headers[j] for j in keep]
        rows = [[r[j] for j in keep] for r in rows]
    return {
        "id": id_,
        "title": title,
        "template": "table",
        "headers": headers,
        "rows": rows,
        "text_columns": text_columns,
        "intro": intro,
        "note": note,
        "sortable": sortable,
    }


def status_text(status: object) -> str:
    """'' for a fit that is ok; otherwise the status in words."""
    return "" if status == "ok" else name_of(status)
