"""The mechanism view: which participants' changes in circulating factors track their changes in skin.

For every circulating factor *f* and skin outcome *s*, the participants' changes (follow-up −
baseline; factors on their analysis scale, log2 by default) are correlated across participants:

* **Pearson** r of the changes, and **Spearman** ρ = Pearson r of their ranks (mid-ranks for ties);
* **arm-adjusted** (optional): the partial correlation given arm — each variable's changes are
  centred at their own arm's mean before correlating, so a factor that merely differs between arms
  (and a skin outcome that merely differs between arms) does not make a correlation. This is exactly
  the partial correlation controlling for the arm indicators; for Spearman, ranks are taken first and
  then centred by arm (the usual partial Spearman).

Tests: t = r √(df / (1 − r²)) on df = n − 2 (unadjusted) or df = n − 2 − (A − 1) (arm-adjusted, A arms
with participants in the pair), two-sided — the test of scipy's ``pearsonr`` / ``spearmanr``, and for
the partial correlation the t of the factor's slope in ``skin ~ factor + arm`` (an exact identity).
Benjamini–Hochberg runs across the whole factor × outcome grid, separately for each method and
adjustment (``family``).

Participants are paired within each factor × outcome pair on the complete cases of that pair
(pairwise deletion); Spearman ranks are computed within that pair's complete cases, as
``scipy.stats.spearmanr(..., nan_policy="omit")`` does. Everything is batched: the grid is one set of
array operations over (participants, factors, outcomes), chunked over factors to bound memory.

The findings are associations between changes in a small trial; they generate hypotheses (e.g. the
proposed CCL28 / CXCL4 → biglycan route to a thicker dermis) and do not show mechanism.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.omics._panels_schema import MECHANISM_COLUMNS

__all__ = ["MECHANISM_COLUMNS", "participant_changes", "correlate_changes", "mechanism", "strongest_pairs"]

_CHUNK = 4_000_000  # elements of a (participants × participants × factors) rank block


def participant_changes(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str,
    outcome: str = "outcome",
    value: str = "value",
    visit: str = "visit",
    subject: str = "participant_id",
) -> pd.DataFrame:
    """Wide table of changes: one row per participant, one column per outcome (follow-up − baseline).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": ["a", "a", "b", "b"], "visit": ["w0", "w16"] * 2,
    ...                   "outcome": "x", "value": [1.0, 1.5, 2.0, 1.0]})
    >>> participant_changes(d, baseline_visit="w0", followup_visit="w16")["x"].tolist()
    [0.5, -1.0]
    """
    for v in (baseline_visit, followup_visit):
        if v not in set(data[visit].astype(str)):
            raise InputError(
                Problem(
                    f"visit {v!r} not found in the data",
                    column=visit,
                    value=v,
                    fix=f"use one of {list(dict.fromkeys(data[visit].astype(str)))}",
                )
            )
    d = data[[subject, visit, outcome, value]].astype({subject: str, visit: str, outcome: str})
    wide = d.pivot_table(index=subject, columns=[visit, outcome], values=value, aggfunc="first", dropna=False)
    wide.columns = wide.columns.remove_unused_levels()
    change = wide[followup_visit] - wide[baseline_visit].reindex(columns=wide[followup_visit].columns)
    change.columns.name = None
    change.index.name = subject
    return change.astype(float)


def _ranks(x: np.ndarray, other_ok: np.ndarray) -> np.ndarray:
    """Mid-ranks of x (n, p) within the complete cases of every pair with the columns of other_ok (n, q).

    Returns (n, p, q); entries outside a pair's complete cases are meaningless (masked by the caller).
    The rank of x_i among the rows k kept for a pair is 1 + #{x_k < x_i} + (#{x_k = x_i} − 1)/2.
    """
    n, p = x.shape
    q = other_ok.shape[1]
    ok = np.isfinite(x)
    out = np.empty((n, p, q))
    step = max(1, _CHUNK // max(n * n, 1))
    for a in range(0, p, step):
        xs, oks = x[:, a : a + step], ok[:, a : a + step]
        with np.errstate(invalid="ignore"):
            less = (xs[None, :, :] < xs[:, None, :]).astype(float)  # [i, k, f]: x_k < x_i
            equal = (xs[None, :, :] == xs[:, None, :]).astype(float)
        score = (less + 0.5 * equal) * oks[None, :, :]
        out[:, a : a + step, :] = np.einsum("ikf,ks->ifs", score, other_ok.astype(float)) + 0.5
    return out


def _grid_correlation(X: np.ndarray, Y: np.ndarray, M: np.ndarray, groups: np.ndarray | None):
    """Pearson r of X and Y (n, p, q) over rows where M, after centring within groups; r, n, df."""
    if groups is None:
        groups = np.zeros(X.shape[0], dtype=int)
    n_obs = M.sum(axis=0)
    cxy = np.zeros(M.shape[1:])
    cxx = np.zeros(M.shape[1:])
    cyy = np.zeros(M.shape[1:])
    levels = np.zeros(M.shape[1:])
    for g in np.unique(groups):
        w = M & (groups == g)[:, None, None]
        ng = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = np.where(w, X, 0.0).sum(axis=0) / np.maximum(ng, 1)
            my = np.where(w, Y, 0.0).sum(axis=0) / np.maximum(ng, 1)
        dx = np.where(w, X - mx, 0.0)
        dy = np.where(w, Y - my, 0.0)
        cxy += np.einsum("ifs,ifs->fs", dx, dy)
        cxx += np.einsum("ifs,ifs->fs", dx, dx)
        cyy += np.einsum("ifs,ifs->fs", dy, dy)
        levels += ng > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(cxy / np.sqrt(cxx * cyy), -1.0, 1.0)
    df = n_obs - 2 - (levels - 1)
    r = np.where((df > 0) & (cxx > 0) & (cyy > 0), r, np.nan)
    return r, n_obs, df


def correlate_changes(
    factors: pd.DataFrame,
    skin: pd.DataFrame,
    *,
    arm: pd.Series | None = None,
    methods: Sequence[str] = ("spearman", "pearson"),
    adjust_for_arm: Sequence[bool] = (False,),
) -> pd.DataFrame:
    """Correlations of every factor column with every skin column over the shared participants (index).

    Parameters
    ----------
    factors, skin : DataFrame
        Wide change tables (participants × variables), e.g. from :func:`participant_changes`; rows are
        matched on the index.
    arm : Series, optional
        Each participant's arm (index = participant); needed for the arm-adjusted correlations.
    methods : sequence of {"spearman", "pearson"}
    adjust_for_arm : sequence of bool
        Which versions to compute: unadjusted (False), partial given arm (True), or both.

    Returns
    -------
    DataFrame
        :data:`~skintrial.omics._panels_schema.MECHANISM_COLUMNS`, BH-adjusted within each method ×
        adjustment (``family``).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"CCL28": [-1.0, -0.5, 0.1, 0.3, -0.8]}, index=list("abcde"))
    >>> s = pd.DataFrame({"dermal_thickness": [0.20, 0.10, 0.00, -0.05, 0.15]}, index=list("abcde"))
    >>> correlate_changes(f, s)[["method", "r"]].round(3).to_dict("records")
    [{'method': 'spearman', 'r': -1.0}, {'method': 'pearson', 'r': -0.998}]
    """
    from skintrial.stats import p_adjust, t_pvalue

    bad = [m for m in methods if m not in ("spearman", "pearson")]
    if bad:
        raise InputError(
            Problem(f"unknown correlation method(s) {bad}", fix="use 'spearman' and/or 'pearson'")
        )
    if any(adjust_for_arm) and arm is None:
        raise InputError(
            Problem(
                "the arm-adjusted correlation needs each participant's arm",
                fix="pass arm= (a Series indexed by participant)",
            )
        )
    ids = factors.index.intersection(skin.index, sort=False)
    if arm is not None:
        ids = ids.intersection(arm.dropna().index, sort=False)
    fx = factors.loc[ids].to_numpy(dtype=float)
    sy = skin.loc[ids].to_numpy(dtype=float)
    fok, sok = np.isfinite(fx), np.isfinite(sy)
    M = fok[:, :, None] & sok[:, None, :]
    groups = pd.factorize(arm.loc[ids])[0] if arm is not None else None
    parts = []
    for method in methods:
        if method == "spearman":
            X, Y = _ranks(fx, sok), np.swapaxes(_ranks(sy, fok), 1, 2)
        else:
            X, Y = np.broadcast_to(fx[:, :, None], M.shape), np.broadcast_to(sy[:, None, :], M.shape)
        for adjusted in dict.fromkeys(adjust_for_arm):
            r, n, df = _grid_correlation(X, Y, M, groups if adjusted else None)
            with np.errstate(invalid="ignore", divide="ignore"):
                t = r * np.sqrt(df / np.maximum(1.0 - r**2, 1e-300))
                p = t_pvalue(t, df)
            p = np.where((np.abs(r) >= 1.0) & (df > 0), 0.0, p)  # a perfect correlation; none with df 0
            family = f"{method}{', arm-adjusted' if adjusted else ''}"
            parts.append(
                pd.DataFrame(
                    {
                        "factor": np.repeat(factors.columns.astype(str), len(skin.columns)),
                        "skin_outcome": np.tile(skin.columns.astype(str), len(factors.columns)),
                        "method": method,
                        "arm_adjusted": bool(adjusted),
                        "r": r.ravel(),
                        "n": n.ravel().astype(int),
                        "df": df.ravel().astype(float),
                        "t": t.ravel(),
                        "p": p.ravel(),
                        "p_adj": p_adjust(p.ravel(), "bh"),
                        "p_adj_method": "bh",
                        "family": family,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=list(MECHANISM_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(MECHANISM_COLUMNS)]


def mechanism(
    factors: pd.DataFrame,
    skin: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str,
    methods: Sequence[str] = ("spearman", "pearson"),
    adjust_for_arm: Sequence[bool] = (False, True),
    factor: str = "analyte",
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
) -> pd.DataFrame:
    """Correlate participants' factor changes with their skin changes, from two long tables.

    Parameters
    ----------
    factors : DataFrame
        Long circulating-factor values on the analysis scale (e.g. ``PanelResult.values``, log2):
        ``participant_id, visit, analyte, value``.
    skin : DataFrame
        Long skin measurements (``Study.long()``): ``participant_id, visit, outcome, value, arm``.
    baseline_visit, followup_visit : str
    methods, adjust_for_arm
        As in :func:`correlate_changes`; by default Spearman and Pearson, unadjusted and given arm.
    factor, outcome, value, arm, visit, subject : str
        Column names (``factor`` in ``factors``, ``outcome`` and ``arm`` in ``skin``).

    Returns
    -------
    DataFrame
        :data:`~skintrial.omics._panels_schema.MECHANISM_COLUMNS`.
    """
    common = dict(
        baseline_visit=baseline_visit,
        followup_visit=followup_visit,
        value=value,
        visit=visit,
        subject=subject,
    )
    fx = participant_changes(factors, outcome=factor, **common)
    sy = participant_changes(skin, outcome=outcome, **common)
    arms = (
        skin.drop_duplicates(subject).set_index(skin.drop_duplicates(subject)[subject].astype(str))[arm]
        if arm in skin.columns
        else None
    )
    return correlate_changes(fx, sy, arm=arms, methods=methods, adjust_for_arm=adjust_for_arm)


def strongest_pairs(
    table: pd.DataFrame, *, top: int = 15, method: str = "spearman", arm_adjusted: bool | None = None
) -> pd.DataFrame:
    """The ``top`` factor × outcome pairs of one method, smallest p first (ties: larger |r| first).

    With ``arm_adjusted=None`` the arm-adjusted version is used when the table has it.
    """
    t = table[table["method"] == method]
    if arm_adjusted is None:
        arm_adjusted = bool(t["arm_adjusted"].any())
    t = t[t["arm_adjusted"] == arm_adjusted]
    t = t.assign(_abs=-t["r"].abs()).sort_values(["p", "_abs"], kind="mergesort", na_position="last")
    return t.drop(columns="_abs").head(top).reset_index(drop=True)
