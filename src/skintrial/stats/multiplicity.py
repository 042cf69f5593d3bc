"""Multiplicity adjustment: Holm, Hochberg, Bonferroni, Benjamini–Hochberg, Benjamini–Yekutieli,
fixed-sequence testing and a serial gatekeeper from primary to secondary outcomes.

The step-wise formulas are those of R's ``p.adjust`` (checked against it in
``tests/reference/stats``): with the m non-missing p-values sorted,

* Bonferroni: ``min(1, m p)``
* Holm (step-down): ``min(1, cummax((m - i + 1) p_(i)))`` in increasing order
* Hochberg (step-up): ``min(1, cummin((m - i + 1) p_(i)))`` in decreasing order
* BH: ``min(1, cummin(m / i p_(i)))`` in decreasing order
* BY: BH multiplied by ``sum_{j<=m} 1/j``
* Hommel (1988): the closed test of Simes tests, computed by R's algorithm (O(m²); for small
  confirmatory families)

Missing p-values stay missing and do not count in m, as in ``p.adjust``.

A **fixed sequence** tests pre-ordered hypotheses each at the full alpha until the first failure; its
adjusted p-values are the running maximum along the sequence. The **serial gatekeeper** adjusts the
secondary family within itself and then raises each of its adjusted p-values to at least the largest
adjusted p-value of the primary family: a secondary result can only be significant when every primary
one is (Dmitrienko & Tamhane 2007).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError

__all__ = ["METHODS", "p_adjust", "adjust_families"]

METHODS = ("holm", "hochberg", "hommel", "bonferroni", "bh", "by", "fixed_sequence", "none")
_ALIASES = {"fdr": "bh", "benjamini-hochberg": "bh", "benjamini-yekutieli": "by", "BH": "bh", "BY": "by"}


def _method(name: str) -> str:
    m = _ALIASES.get(name, name.lower())
    if m not in METHODS:
        raise InputError(
            f"unknown multiplicity method {name!r}",
            fix=f"use one of {', '.join(METHODS)}",
        )
    return m


def p_adjust(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple testing, as R's ``p.adjust`` does.

    Parameters
    ----------
    p : array-like
        Raw p-values; NaN stays NaN and is not counted. For ``fixed_sequence`` their order is the
        pre-specified testing order.
    method : {"holm", "hochberg", "hommel", "bonferroni", "bh", "by", "fixed_sequence", "none"}
        R's names (``"BH"``, ``"BY"``, ``"fdr"``) are accepted too.

    Returns
    -------
    ndarray
        Adjusted p-values, never below the raw ones and monotone in them.

    Examples
    --------
    >>> p_adjust([0.01, 0.04, 0.03], "holm").round(3)
    array([0.03, 0.06, 0.06])
    >>> p_adjust([0.01, 0.04, 0.03], "bh").round(3)
    array([0.03, 0.04, 0.04])
    """
    m_name = _method(method)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if m_name == "none":
        adj = q.copy()
    elif m_name == "fixed_sequence":
        adj = np.maximum.accumulate(q)
    elif m_name == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif m_name == "hommel":
        adj = _hommel(q)
    elif m_name == "holm":
        o = np.argsort(q, kind="mergesort")
        i = np.arange(1, m + 1)
        adj = np.empty(m)
        adj[o] = np.minimum(1.0, np.maximum.accumulate((m - i + 1) * q[o]))
    else:
        o = np.argsort(-q, kind="mergesort")
        i = np.arange(m, 0, -1)
        if m_name == "hochberg":
            factor = (m - i + 1).astype(float)
        else:
            factor = m / i
            if m_name == "by":
                factor = factor * np.sum(1.0 / np.arange(1, m + 1))
        adj = np.empty(m)
        adj[o] = np.minimum(1.0, np.minimum.accumulate(factor * q[o]))
    out[ok] = adj
    return out


def _hommel(p: np.ndarray) -> np.ndarray:
    """Hommel's adjusted p-values, the algorithm of R's ``p.adjust`` (vectorised over hypotheses)."""
    n = p.size
    if n == 1:
        return p.copy()
    o = np.argsort(p, kind="mergesort")
    ps = p[o]
    i = np.arange(1, n + 1)
    q = np.full(n, np.min(n * ps / i))
    pa = q.copy()
    for j in range(n - 1, 1, -1):
        head = np.arange(n - j + 1)
        tail = np.arange(n - j + 1, n)
        q1 = np.min(j * ps[tail] / np.arange(2, j + 1))
        q[head] = np.minimum(j * ps[head], q1)
        q[tail] = q[n - j]
        pa = np.maximum(pa, q)
    out = np.empty(n)
    out[o] = np.maximum(pa, ps)
    return out


def adjust_families(
    results: pd.DataFrame,
    *,
    families: dict[str, Sequence[str]],
    method: str = "holm",
    gatekeeping: bool = False,
    outcome: str = "outcome",
) -> pd.DataFrame:
    """Fill ``p_adj``, ``family`` and ``p_adj_method`` of a contrast table, family by family.

    Parameters
    ----------
    results : DataFrame
        A contrast table (one row per outcome × contrast) with a ``p`` column.
    families : dict
        Family name → outcomes, in testing order (``{"primary": [...], "secondary": [...]}``).
        Every row of a family (all its outcomes and contrasts) is one set of hypotheses. Outcomes in
        no family form their own family ``"other"``.
    method : str
        Any of :data:`METHODS`. With ``fixed_sequence`` the order is the outcomes' order within
        the families, then the contrast order.
    gatekeeping : bool
        Serial gatekeeper: each later family's adjusted p-values are raised to at least the largest
        adjusted p-value of the families before it.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"outcome": ["a", "b", "c"], "p": [0.01, 0.02, 0.04]})
    >>> out = adjust_families(res, families={"primary": ["a", "b"], "secondary": ["c"]}, method="holm")
    >>> out[["outcome", "family", "p_adj"]].to_dict("list")
    {'outcome': ['a', 'b', 'c'], 'family': ['primary', 'primary', 'secondary'], 'p_adj': [0.02, 0.02, 0.04]}
    """
    m_name = _method(method)
    out = results.copy()
    fam_of: dict[str, str] = {}
    rank: dict[str, int] = {}
    for fam, outs in families.items():
        for o in outs:
            fam_of.setdefault(o, fam)
            rank.setdefault(o, len(rank))
    out["family"] = out[outcome].map(fam_of).fillna("other")
    out["p_adj_method"] = m_name
    p_adj = np.full(len(out), np.nan)
    order = [*families.keys(), "other"]
    gate = 0.0
    for fam in order:
        idx = np.flatnonzero((out["family"] == fam).to_numpy())
        if idx.size == 0:
            continue
        seq = sorted(idx, key=lambda r: (rank.get(out[outcome].iat[r], len(rank)), r))
        adj = p_adjust(out["p"].to_numpy()[seq], m_name)
        if gatekeeping:
            adj = np.maximum(adj, gate)
            if np.isfinite(adj).any():
                gate = max(gate, float(np.nanmax(adj)))
        p_adj[seq] = adj
    out["p_adj"] = p_adj
    return out
