"""Amplification efficiency from standard curves (dilution series), and efficiency tables for Pfaffl.

A standard curve regresses Ct on log10 of the input amount. With perfect doubling each cycle the
slope is −1/log10(2) = −3.32. The amplification factor is ``E = 10^(−1/slope)`` (2.0 = 100 %) and the
efficiency ``E − 1`` (0.97 = 97 %). The fit is the closed-form simple regression, batched over genes
(not the general engine: a curve through its points exactly is a valid curve here, whose slope the
engine would withhold as a degenerate fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats import t_critical

from ._qpcr_io import (
    EXCLUSION_COLUMNS,
    _as_text,
    _normalise_columns,
    check_cutoff,
    empty_exclusions,
    late_or_undetermined,
    parse_ct_cells,
)

__all__ = [
    "standard_curve",
    "StandardCurveResult",
    "efficiency_table",
    "check_amplification",
    "CURVE_COLUMNS",
    "CURVE_STATUS",
    "AMPLIFICATION_RANGE",
    "MIN_LEVELS",
]

CURVE_COLUMNS = (
    "gene",
    "n",
    "n_levels",
    "slope",
    "slope_se",
    "intercept",
    "r_squared",
    "amplification_factor",
    "efficiency",
    "efficiency_low",
    "efficiency_high",
    "ci_level",
    "range_low",
    "range_high",
    "status",
)
CURVE_STATUS = ("ok", "perfect_fit", "low_r_squared", "efficiency_out_of_range")
"""``status`` of a curve, most serious last: ``efficiency_out_of_range`` (E outside
:data:`AMPLIFICATION_RANGE`: a flat or rising curve, or a slope steeper than −2.51), ``low_r_squared``
(R² below ``min_r_squared``), ``perfect_fit`` (no residual variance: the slope is exact, its SE 0 and
the interval a point — real dilution series are never this clean; check for copied values), ``ok``."""
AMPLIFICATION_RANGE = (1.0, 2.5)
"""Plausible amplification factors E: (1, 2.5]. E = 2 is perfect doubling; E ≤ 1 is no amplification, and
above 2.5 (efficiency over 150 %) is an inhibition or dilution artefact, never chemistry."""
MIN_LEVELS = 3
"""Fewest dilution levels a standard curve is fitted on: two points always lie on a line, so
linearity (and R²) needs a third."""


@dataclass(frozen=True)
class StandardCurveResult:
    """Standard curves of a dilution series, with the wells left out.

    Attributes
    ----------
    table : DataFrame
        One row per gene, columns :data:`CURVE_COLUMNS` (slope, R², amplification factor and
        efficiency with its interval, the linear range, a status of :data:`CURVE_STATUS`).
    exclusions : DataFrame
        The wells not used (undetermined, above the cutoff): the exclusions schema of
        :func:`~skintrial.omics.qpcr.clean_ct`, stage ``standard_curve``.
    """

    table: pd.DataFrame
    exclusions: pd.DataFrame


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    if len(np.unique(x)) < 2 or np.ptp(y) == 0:
        return np.nan
    r = np.corrcoef(x, y)[0, 1]
    return float(r * r)


def _auto_range(x: np.ndarray, y: np.ndarray, min_r_squared: float, min_levels: int) -> np.ndarray:
    """Drop extreme dilution levels, one at a time, while R² is below ``min_r_squared``.

    At each step the end (lowest or highest amount) whose removal raises R² most is dropped; it
    stops at ``min_levels`` levels. Returns a boolean mask of the points kept.
    """
    keep = np.ones(len(x), dtype=bool)
    while _r2(x[keep], y[keep]) < min_r_squared:
        levels = np.unique(x[keep])
        if len(levels) <= min_levels:
            break
        candidates = [keep & (x != levels[0]), keep & (x != levels[-1])]
        keep = max(candidates, key=lambda m: _r2(x[m], y[m]))
    return keep


def _read_series(data: pd.DataFrame, gene: str, amount: str, ct: str, cutoff: float | None):
    """Dilution-series rows → (gene, amount, ct) of the wells used, and the exclusions (clean_ct's rules)."""
    file = data.attrs.get("file")
    missing = [c for c in (gene, amount, ct) if c not in data.columns]
    if missing:
        raise InputError(
            Problem(
                f"standard-curve table lacks column(s) {', '.join(missing)}",
                fix="give one row per well: gene, amount, ct",
                file=file,
            )
        )
    rows = np.arange(len(data)) + 2
    genes = _as_text(data[gene].reset_index(drop=True))
    amounts = pd.to_numeric(_as_text(data[amount].reset_index(drop=True)), errors="coerce")
    text, ctv, undet, problems = parse_ct_cells(data[ct], rows, file=file, column=ct)
    bad = ~(amounts > 0).to_numpy()
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        problems.append(
            Problem(
                "amount must be a positive number",
                fix="write the input amount or dilution",
                file=file,
                row=r + 2,
                column=amount,
                value=data[amount].iloc[r],
                rows_affected=int(bad.sum()),
            )
        )
    empty = (genes == "").to_numpy()
    if empty.any():
        problems.append(
            Problem(
                "empty gene",
                fix="fill in the gene of every well",
                file=file,
                row=int(rows[empty][0]),
                column=gene,
                rows_affected=int(empty.sum()),
            )
        )
    InputError.collect(problems)
    flagged, reason = late_or_undetermined(ctv, undet, cutoff)
    f = flagged.to_numpy()
    excl = pd.DataFrame(
        {
            "stage": "standard_curve",
            "sample": [f"amount {a:g}" for a in amounts[f]],
            "gene": genes[f].to_numpy(),
            "replicate": None,
            "row": rows[f],
            "value": text[f].to_numpy(),
            "reason": reason[f],
            "action": "excluded",
        },
        columns=list(EXCLUSION_COLUMNS),
    )
    df = pd.DataFrame(
        {"gene": genes[~f].to_numpy(), "amount": amounts[~f].to_numpy(float), "ct": ctv[~f].to_numpy(float)}
    )
    return df, excl if len(excl) else empty_exclusions()


def _select(
    df: pd.DataFrame,
    genes: list[str],
    x: np.ndarray,
    y: np.ndarray,
    linear_range,
    min_r_squared,
    file: str | None,
) -> np.ndarray:
    """Points in the linear range; fewer than :data:`MIN_LEVELS` levels for any gene is an error."""
    keep = np.ones(len(df), dtype=bool)
    if isinstance(linear_range, tuple):
        lo, hi = (float(v) for v in linear_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise InputError(
                Problem(
                    f"linear range {lo:g}:{hi:g} is empty or reversed",
                    value=linear_range,
                    fix="give LOW:HIGH amounts with LOW <= HIGH, e.g. 0.001:1",
                )
            )
        keep = (df["amount"] >= lo).to_numpy() & (df["amount"] <= hi).to_numpy()
    elif linear_range == "auto":
        for g in genes:  # a handful of genes, a few levels each: not a hot path
            idx = np.flatnonzero(df["gene"].to_numpy() == g)
            if np.unique(x[idx]).size >= MIN_LEVELS:
                keep[idx] = _auto_range(x[idx], y[idx], min_r_squared, MIN_LEVELS)
    elif linear_range is not None:
        raise InputError(f"linear_range must be (low, high), 'auto' or None, not {linear_range!r}")
    problems = []
    for g in genes:
        sel = df["gene"].to_numpy() == g
        levels = np.unique(df["amount"].to_numpy()[sel & keep])
        if levels.size < MIN_LEVELS:
            have = np.unique(df["amount"].to_numpy()[sel])
            where = (
                "" if levels.size == have.size else f" inside the linear range (of {have.size} in the data)"
            )
            problems.append(
                Problem(
                    f"gene '{g}': {levels.size} dilution level(s){where} ({', '.join(f'{a:g}' for a in levels)}); "
                    f"a standard curve needs at least {MIN_LEVELS}",
                    file=file,
                    column="amount",
                    fix="measure at least 3 dilutions (5 or more, in replicate, is usual)"
                    + ("" if levels.size == have.size else ", or widen the linear range"),
                )
            )
    InputError.collect(problems)
    return keep


def standard_curve(
    data: pd.DataFrame,
    *,
    gene: str = "gene",
    amount: str = "amount",
    ct: str = "ct",
    linear_range: tuple[float, float] | str | None = None,
    min_r_squared: float = 0.98,
    ci_level: float = 0.95,
    cutoff: float | None = 35.0,
) -> pd.DataFrame:
    """Fit Ct = slope · log10(amount) + intercept for every gene; report E, R² and the linear range.

    Parameters
    ----------
    data : DataFrame
        Long dilution series: one row per well with the gene, the input amount (any unit: relative
        dilution or copies) and the Ct. Ct cells follow :func:`clean_ct`'s rules: text that is not a
        number is an error naming row and column; undetermined wells ("Undetermined", "No Ct", empty)
        and wells above ``cutoff`` are left out and listed in ``exclusions``.
    gene, amount, ct : str
        Column names.
    linear_range : (low, high), "auto" or None
        ``(low, high)`` keeps amounts within those bounds (inclusive; an empty or reversed range is an
        error). ``"auto"`` drops extreme dilution levels one at a time (the end whose removal raises R²
        most) while R² < ``min_r_squared``, down to three levels. ``None`` uses every point.
    min_r_squared : float, default 0.98
        Target R² for ``linear_range="auto"``; a curve below it has ``status = "low_r_squared"``.
    ci_level : float, default 0.95
        Level of the efficiency interval (from the t interval of the slope; E is monotone in it).
    cutoff : float or None, default 35.0
        Ct above this counts as not detected (as in :func:`clean_ct`; 10–60 cycles, ``None`` keeps all).

    Returns
    -------
    StandardCurveResult
        ``table``: one row per gene, columns :data:`CURVE_COLUMNS`: ``gene, n, n_levels, slope,
        slope_se, intercept, r_squared, amplification_factor, efficiency, efficiency_low,
        efficiency_high, ci_level, range_low, range_high, status``. ``amplification_factor`` is
        E = 10^(−1/slope); ``efficiency`` is E − 1 as a fraction; ``range_low/high`` are the smallest
        and largest amounts in the fit; ``status`` is one of :data:`CURVE_STATUS`. ``exclusions``: the
        wells not used (the exclusions schema of :func:`clean_ct`, stage ``standard_curve``).

    Raises
    ------
    InputError
        Text in a Ct or amount cell (with its row), an empty or reversed ``linear_range``, or a gene
        with fewer than three dilution levels (in its linear range).

    Notes
    -----
    Checked against the R ``pcr`` package's dilution data ``ct3`` (c-myc slope −3.388, R² 0.9966,
    E 1.973; GAPDH slope −3.415, E 1.963) and R ``lm`` (``tests/reference/qpcr``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> amount = np.repeat([1, 0.1, 0.01, 0.001], 2)
    >>> noise = [0.02, -0.02, 0.03, -0.01, -0.02, 0.0, 0.01, -0.01]
    >>> d = pd.DataFrame({"gene": "G", "amount": amount, "ct": 20 - 3.32 * np.log10(amount) + noise})
    >>> standard_curve(d).table[["slope", "amplification_factor", "r_squared", "status"]].round(3).values.tolist()
    [[-3.318, 2.002, 1.0, 'ok']]
    """
    check_cutoff(cutoff)
    if not 0.0 < ci_level < 1.0:
        raise InputError(f"ci_level must be between 0 and 1, not {ci_level!r}", fix="e.g. 0.95")
    if not 0.0 < min_r_squared <= 1.0:
        raise InputError(f"min_r_squared must be in (0, 1], not {min_r_squared!r}", fix="e.g. 0.98")
    file = data.attrs.get("file")
    df, excl = _read_series(data, gene, amount, ct, cutoff)
    genes = list(dict.fromkeys(df["gene"]))
    if not genes:
        raise InputError(
            Problem(
                "no well with a usable Ct in the dilution series",
                file=file,
                fix="check the Ct column (every well undetermined or above the cutoff?)",
            )
        )
    x = np.log10(df["amount"].to_numpy())
    y = df["ct"].to_numpy()
    keep = _select(df, genes, x, y, linear_range, min_r_squared, file)

    # Simple regression in closed form, batched over genes (M: points × genes membership).
    M = (df["gene"].to_numpy()[:, None] == np.array(genes)[None, :]) & keep[:, None]
    n = M.sum(axis=0)
    xm = np.where(M, x[:, None], 0.0).sum(axis=0) / n
    ym = np.where(M, y[:, None], 0.0).sum(axis=0) / n
    dx = np.where(M, x[:, None] - xm, 0.0)
    dy = np.where(M, y[:, None] - ym, 0.0)
    sxx, sxy, syy = (dx * dx).sum(axis=0), (dx * dy).sum(axis=0), (dy * dy).sum(axis=0)
    slope = sxy / sxx  # sxx > 0: at least three levels
    intercept = ym - slope * xm
    rss = (np.where(M, dy - slope * dx, 0.0) ** 2).sum(axis=0)
    df_resid = n - 2
    se = np.sqrt(rss / df_resid / sxx)
    q = t_critical(ci_level, df_resid)
    with np.errstate(
        invalid="ignore", divide="ignore", over="ignore"
    ):  # a flat curve: E = inf / NaN, flagged
        r2 = np.where(syy > 0, 1.0 - rss / syy, np.nan)
        amp = lambda s: np.where(s < 0, 10.0 ** (-1.0 / np.where(s < 0, s, -1.0)), np.nan)  # noqa: E731
        e = amp(slope)
        lo_e, hi_e = amp(slope - q * se), amp(slope + q * se)
    status = np.full(len(genes), "ok", dtype=object)
    status[rss <= 1e-20 * np.maximum(syy, 1e-300)] = "perfect_fit"
    status[~(r2 >= min_r_squared)] = "low_r_squared"
    status[~((e > AMPLIFICATION_RANGE[0]) & (e <= AMPLIFICATION_RANGE[1]))] = "efficiency_out_of_range"
    amounts = np.where(M, df["amount"].to_numpy()[:, None], np.nan)
    out = pd.DataFrame(
        {
            "gene": genes,
            "n": n.astype(int),
            "n_levels": [int(np.unique(amounts[M[:, k], k]).size) for k in range(len(genes))],
            "slope": slope,
            "slope_se": se,
            "intercept": intercept,
            "r_squared": r2,
            "amplification_factor": e,
            "efficiency": e - 1.0,
            "efficiency_low": lo_e - 1.0,
            "efficiency_high": hi_e - 1.0,
            "ci_level": ci_level,
            "range_low": np.nanmin(amounts, axis=0),
            "range_high": np.nanmax(amounts, axis=0),
            "status": status.astype(str),
        }
    )[list(CURVE_COLUMNS)]
    out.attrs["file"] = file
    return StandardCurveResult(table=out, exclusions=excl)


def check_amplification(
    eff: pd.Series,
    genes: list[str],
    *,
    file: str | None = None,
    curve: pd.DataFrame | None = None,
    option: str = "efficiencies",
) -> None:
    """Every gene needs a finite amplification factor in :data:`AMPLIFICATION_RANGE`; else an error per gene.

    ``curve`` (the :func:`standard_curve` table the factors came from) adds the slope, R² and status.
    """
    low, high = AMPLIFICATION_RANGE
    problems = []
    for g in genes:
        e = float(eff.get(g, np.nan))
        if low < e <= high:
            continue
        if curve is not None:
            row = curve.set_index("gene").loc[g]
            what = (
                f"the dilution series gives gene '{g}' no usable amplification factor (E = {e:.4g}, "
                f"slope {row['slope']:.4g}, R² {row['r_squared']:.4g}, status {row['status']})"
            )
            fix = (
                "check the amounts and Ct of its dilutions (a flat or rising curve means a wrong column or "
                "swapped amounts), or give its efficiency in a gene, efficiency table"
            )
        else:
            what = f"gene '{g}': amplification factor {e!r} is not a number in ({low:g}, {high:g}]"
            fix = f"give E between {low:g} and {high:g} (2.0 = 100 % efficiency) in {option}"
        problems.append(Problem(what, file=file, column="gene", value=g, fix=fix))
    InputError.collect(problems)


def efficiency_table(data: pd.DataFrame, *, cutoff: float | None = 35.0) -> pd.Series:
    """Amplification factors E per gene from a table of efficiencies or a dilution series.

    Accepted forms (columns, case-insensitive):

    * ``gene, amplification_factor`` — E itself (2.0 = 100 %);
    * ``gene, efficiency`` — E − 1 as a fraction (0.95) or, when every value is above 1.5, a
      percentage (95);
    * ``gene, amount, ct`` — a dilution series; E comes from :func:`standard_curve` (with ``cutoff``),
      and must be a finite number in (1, 2.5] for every gene (a curve that cannot give one is an
      error naming the gene, its slope and the file).

    Returns
    -------
    Series
        E indexed by gene name. The wells of a dilution series that were not used are in
        :func:`standard_curve`'s ``exclusions`` (a qPCR analysis given the series lists them).

    Examples
    --------
    >>> import pandas as pd
    >>> efficiency_table(pd.DataFrame({"gene": ["A", "B"], "efficiency": [0.95, 1.0]})).tolist()
    [1.95, 2.0]
    """
    return efficiencies_with_exclusions(data, cutoff=cutoff)[0]


def efficiencies_with_exclusions(
    data: pd.DataFrame, *, cutoff: float | None = 35.0
) -> tuple[pd.Series, pd.DataFrame]:
    """:func:`efficiency_table` and the wells a dilution series left out (empty for a table of efficiencies)."""
    file = data.attrs.get("file")
    df = _normalise_columns(data, file=file)
    if "gene" not in df.columns:
        raise InputError(
            Problem(
                "efficiency table lacks a 'gene' column",
                file=file,
                fix="columns gene + amplification_factor, gene + efficiency, "
                "or a dilution series gene, amount, ct",
            )
        )
    if "amplification_factor" in df.columns:
        e = pd.to_numeric(df["amplification_factor"], errors="coerce")
        col = "amplification_factor"
    elif "efficiency" in df.columns:
        col = "efficiency"
        e = pd.to_numeric(df["efficiency"], errors="coerce")
        e = (e / 100.0 if (e > 1.5).all() else e) + 1.0
    elif {"amount", "ct"} <= set(df.columns):
        df.attrs["file"] = file
        curve = standard_curve(df, cutoff=cutoff)
        t = curve.table
        out = pd.Series(t["amplification_factor"].to_numpy(), index=t["gene"].to_numpy(), name="E")
        check_amplification(out, list(out.index), file=file, curve=t)
        return out, curve.exclusions
    else:
        raise InputError(
            Problem(
                "efficiency table needs amplification_factor, efficiency, or amount + ct",
                file=file,
                fix="add one of those columns",
            )
        )
    low, high = AMPLIFICATION_RANGE
    bad = ~((e > low) & (e <= high))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            Problem(
                f"amplification factor outside ({low:g}, {high:g}]",
                file=file,
                row=i + 2,
                column=col,
                value=df[col].iloc[i],
                rows_affected=int(bad.sum()),
                fix="efficiency is E − 1 (0.95 or 95 for 95 %); amplification_factor is E (1.95)",
            )
        )
    dup = df["gene"].astype(str).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            Problem(
                "gene listed twice in the efficiency table",
                file=file,
                row=i + 2,
                column="gene",
                value=df["gene"].iloc[i],
                fix="give one efficiency per gene",
            )
        )
    return pd.Series(
        e.to_numpy(dtype=float), index=df["gene"].astype(str).to_numpy(), name="E"
    ), empty_exclusions()
