"""Amplification efficiency from standard curves (dilution series), and efficiency tables for Pfaffl.

A standard curve regresses Ct on log10 of the input amount. With perfect doubling each cycle the
slope is −1/log10(2) = −3.32. The amplification factor is ``E = 10^(−1/slope)`` (2.0 = 100 %) and the
efficiency ``E − 1`` (0.97 = 97 %). The fit runs for all genes at once through the batched
linear-model engine (:func:`skintrial.stats.fit_ols`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from skintrial.errors import InputError, Problem

from ._qpcr_io import _normalise_columns

__all__ = ["standard_curve", "efficiency_table", "CURVE_COLUMNS"]

CURVE_COLUMNS = (
    "gene", "n", "n_levels", "slope", "slope_se", "intercept", "r_squared", "amplification_factor",
    "efficiency", "efficiency_low", "efficiency_high", "ci_level", "range_low", "range_high",
)


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    if len(np.unique(x)) < 2:
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


def standard_curve(
    data: pd.DataFrame,
    *,
    gene: str = "gene",
    amount: str = "amount",
    ct: str = "ct",
    linear_range: tuple[float, float] | str | None = None,
    min_r_squared: float = 0.98,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Fit Ct = slope · log10(amount) + intercept for every gene; report E, R² and the linear range.

    Parameters
    ----------
    data : DataFrame
        Long dilution series: one row per well with the gene, the input amount (any unit: relative
        dilution or copies) and the Ct. Non-numeric or missing Ct rows are left out of the fit (and
        counted in ``n``'s complement: compare with your plate layout).
    gene, amount, ct : str
        Column names.
    linear_range : (low, high), "auto" or None
        ``(low, high)`` keeps amounts within those bounds (inclusive). ``"auto"`` drops extreme
        dilution levels one at a time (the end whose removal raises R² most) while R² <
        ``min_r_squared``, down to three levels. ``None`` uses every point.
    min_r_squared : float, default 0.98
        Target R² for ``linear_range="auto"``.
    ci_level : float, default 0.95
        Level of the efficiency interval (from the t interval of the slope; E is monotone in it).

    Returns
    -------
    DataFrame
        One row per gene, columns ``gene, n, n_levels, slope, slope_se, intercept, r_squared,
        amplification_factor, efficiency, efficiency_low, efficiency_high, ci_level, range_low,
        range_high``. ``amplification_factor`` is E = 10^(−1/slope); ``efficiency`` is E − 1 as a
        fraction; ``range_low/high`` are the smallest and largest amounts in the fit.

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
    >>> standard_curve(d)[["slope", "amplification_factor", "r_squared"]].round(3).values.tolist()
    [[-3.318, 2.002, 1.0]]
    """
    from skintrial.stats import fit_ols

    missing = [c for c in (gene, amount, ct) if c not in data.columns]
    if missing:
        raise InputError(Problem(f"standard-curve table lacks column(s) {', '.join(missing)}",
                                 fix="give one row per well: gene, amount, ct", file=data.attrs.get("file")))
    df = pd.DataFrame({
        "gene": data[gene].astype(str).to_numpy(),
        "amount": pd.to_numeric(data[amount], errors="coerce").to_numpy(),
        "ct": pd.to_numeric(data[ct], errors="coerce").to_numpy(),
    })
    bad = ~(df["amount"] > 0)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise InputError(Problem("amount must be a positive number", fix="write the input amount or dilution",
                                 file=data.attrs.get("file"), row=r, column=amount,
                                 value=data[amount].iloc[r - 2], rows_affected=int(bad.sum())))
    df = df.loc[df["ct"].notna()].reset_index(drop=True)
    genes = list(dict.fromkeys(df["gene"]))
    x = np.log10(df["amount"].to_numpy())
    y = df["ct"].to_numpy()
    keep = np.ones(len(df), dtype=bool)
    if isinstance(linear_range, tuple):
        lo, hi = linear_range
        keep = (df["amount"] >= lo).to_numpy() & (df["amount"] <= hi).to_numpy()
    elif linear_range == "auto":
        for g in genes:  # a handful of genes, a few levels each: not a hot path
            idx = np.flatnonzero(df["gene"].to_numpy() == g)
            keep[idx] = _auto_range(x[idx], y[idx], min_r_squared, 3)
    elif linear_range is not None:
        raise InputError(f"linear_range must be (low, high), 'auto' or None, not {linear_range!r}")

    member = (df["gene"].to_numpy()[:, None] == np.array(genes)[None, :]) & keep[:, None]
    Y = np.where(member, y[:, None], np.nan)
    X = np.column_stack([np.ones(len(df)), x])
    fit = fit_ols(X, Y, outcomes=genes, params=["intercept", "slope"])
    slope, intercept = fit.coef[:, 1], fit.coef[:, 0]
    se = np.sqrt(fit.sigma2 * fit.xtx_inv[:, 1, 1])
    yc = np.where(member, Y - np.nanmean(Y, axis=0), 0.0)
    tss = (yc**2).sum(axis=0)
    r2 = 1.0 - fit.sigma2 * fit.df_resid / tss
    q = sps.t.ppf(0.5 + ci_level / 2.0, fit.df_resid)
    amp = lambda s: 10.0 ** (-1.0 / s)  # noqa: E731
    amounts = np.where(member, df["amount"].to_numpy()[:, None], np.nan)
    return pd.DataFrame({
        "gene": genes,
        "n": fit.n.astype(int),
        "n_levels": [int(np.unique(amounts[member[:, k], k]).size) for k in range(len(genes))],
        "slope": slope,
        "slope_se": se,
        "intercept": intercept,
        "r_squared": r2,
        "amplification_factor": amp(slope),
        "efficiency": amp(slope) - 1.0,
        "efficiency_low": amp(slope - q * se) - 1.0,
        "efficiency_high": amp(slope + q * se) - 1.0,
        "ci_level": ci_level,
        "range_low": np.nanmin(amounts, axis=0),
        "range_high": np.nanmax(amounts, axis=0),
    })[list(CURVE_COLUMNS)]


def efficiency_table(data: pd.DataFrame) -> pd.Series:
    """Amplification factors E per gene from a table of efficiencies or a dilution series.

    Accepted forms (columns, case-insensitive):

    * ``gene, amplification_factor`` — E itself (2.0 = 100 %);
    * ``gene, efficiency`` — E − 1 as a fraction (0.95) or, when every value is above 1.5, a
      percentage (95);
    * ``gene, amount, ct`` — a dilution series; E comes from :func:`standard_curve`.

    Returns
    -------
    Series
        E indexed by gene name.

    Examples
    --------
    >>> import pandas as pd
    >>> efficiency_table(pd.DataFrame({"gene": ["A", "B"], "efficiency": [0.95, 1.0]})).tolist()
    [1.95, 2.0]
    """
    file = data.attrs.get("file")
    df = _normalise_columns(data, file=file)
    if "gene" not in df.columns:
        raise InputError(Problem("efficiency table lacks a 'gene' column", file=file,
                                 fix="columns gene + amplification_factor, gene + efficiency, "
                                     "or a dilution series gene, amount, ct"))
    if "amplification_factor" in df.columns:
        e = pd.to_numeric(df["amplification_factor"], errors="coerce")
        col = "amplification_factor"
    elif "efficiency" in df.columns:
        col = "efficiency"
        e = pd.to_numeric(df["efficiency"], errors="coerce")
        e = (e / 100.0 if (e > 1.5).all() else e) + 1.0
    elif {"amount", "ct"} <= set(df.columns):
        curve = standard_curve(df)
        return pd.Series(curve["amplification_factor"].to_numpy(), index=curve["gene"].to_numpy(), name="E")
    else:
        raise InputError(Problem("efficiency table needs amplification_factor, efficiency, or amount + ct",
                                 file=file, fix="add one of those columns"))
    bad = ~((e > 1.0) & (e <= 2.5))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(Problem("amplification factor outside (1, 2.5]", file=file, row=i + 2, column=col,
                                 value=df[col].iloc[i], rows_affected=int(bad.sum()),
                                 fix="efficiency is E − 1 (0.95 or 95 for 95 %); amplification_factor is E (1.95)"))
    dup = df["gene"].astype(str).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(Problem("gene listed twice in the efficiency table", file=file, row=i + 2,
                                 column="gene", value=df["gene"].iloc[i], fix="give one efficiency per gene"))
    return pd.Series(e.to_numpy(dtype=float), index=df["gene"].astype(str).to_numpy(), name="E")
