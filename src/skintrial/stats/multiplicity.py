"""Multiplicity adjustment: Holm, Hochberg, Hommel, Bonferroni, Benjamini–Hochberg, Benjamini–Yekutieli,
fixed-sequence testing and a serial gatekeeper from primary to secondary outcomes.

One implementation serves the study analysis (one vector of p-values per family) and the power
simulation (one row per simulated trial): :func:`p_adjust` adjusts along the last axis of a 1-D or
2-D array, with no Python loop over rows. The step-wise formulas are those of R's ``p.adjust``
(checked against it in ``tests/reference/stats/make_p_adjust.R``): with the m non-missing p-values of
a row sorted, ``p_(1) <= … <= p_(m)``,

* Bonferroni: ``min(1, m p)``
* Holm (step-down): ``min(1, cummax((m - i + 1) p_(i)))`` in increasing order
* Hochberg (step-up): ``min(1, cummin((m - i + 1) p_(i)))`` in decreasing order
* BH: ``min(1, cummin(m / i p_(i)))`` in decreasing order
* BY: BH multiplied by ``sum_{j<=m} 1/j``
* Hommel (1988): the closed test of Simes tests, computed by R's algorithm (O(m²) per distinct m,
  vectorised over rows)

Missing values
--------------
A p-value that is NaN (or not finite: a contrast that could not be estimated) is *missing*.

* Step-wise methods and Bonferroni: a missing p-value stays missing and does **not** count in m,
  exactly as R's ``p.adjust`` (whose default ``n = length(p)`` is evaluated after the NAs are
  dropped). Each row has its own m.
* ``fixed_sequence`` and the serial gatekeeper: a missing p-value is a **non-rejection that stops the
  chain**. It stays missing, and every hypothesis tested after it — later in the sequence, or in any
  later family — gets adjusted p = 1. A hypothesis that was not tested cannot open the gate.

A **fixed sequence** tests pre-ordered hypotheses each at the full alpha until the first failure; its
adjusted p-values are the running maximum along the sequence (so after the first non-rejection at a
level alpha nothing later is rejected at alpha). The **serial gatekeeper** adjusts each family within
itself and then raises each of its adjusted p-values to at least the largest adjusted p-value of the
families before it: a secondary result can only be significant when every primary one is (Dmitrienko &
Tamhane 2007).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError

__all__ = ["METHODS", "p_adjust", "serial_gatekeeper", "adjust_families"]

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
    """Adjust p-values for multiple testing along the last axis, as R's ``p.adjust`` does.

    Parameters
    ----------
    p : array-like, 1-D or 2-D
        Raw p-values. A 2-D array is adjusted row by row (each row one family: one simulated trial);
        the result equals the 1-D call on every row. For ``fixed_sequence`` the order along the last
        axis is the pre-specified testing order.
    method : {"holm", "hochberg", "hommel", "bonferroni", "bh", "by", "fixed_sequence", "none"}
        R's names (``"BH"``, ``"BY"``, ``"fdr"``) are accepted too.

    Returns
    -------
    ndarray
        Adjusted p-values, same shape: never below the raw ones, at most 1, and monotone in the raw
        ones within a row (along the sequence for ``fixed_sequence``).

    Notes
    -----
    Missing (NaN) p-values stay NaN. For the step-wise methods and Bonferroni they do not count in m
    (R's ``p.adjust``); for ``fixed_sequence`` a missing p-value is a non-rejection that stops the
    sequence, so every later hypothesis gets 1.

    Examples
    --------
    >>> p_adjust([0.01, 0.04, 0.03], "holm").round(3)
    array([0.03, 0.06, 0.06])
    >>> p_adjust([0.01, 0.04, 0.03], "bh").round(3)
    array([0.03, 0.04, 0.04])
    >>> p_adjust([0.01, np.nan, 0.03], "bonferroni").round(3)
    array([0.02,  nan, 0.06])
    >>> p_adjust([0.01, np.nan, 0.03], "fixed_sequence")
    array([0.01,  nan, 1.  ])
    >>> p_adjust([[0.01, 0.04, 0.03], [0.2, 0.01, 0.5]], "holm").round(3)
    array([[0.03, 0.06, 0.06],
           [0.4 , 0.03, 0.5 ]])
    """
    name = _method(method)
    P = np.array(p, dtype=float)  # a copy
    if P.ndim not in (1, 2):
        raise ValueError(f"p_adjust takes a 1-D or 2-D array of p-values, not {P.ndim}-D")
    rows = P.reshape(-1, P.shape[-1]) if P.size else P.reshape(0, 0)
    return _adjust_rows(rows, name).reshape(P.shape)


def _adjust_rows(P: np.ndarray, method: str) -> np.ndarray:
    """Adjust every row of an (R, m) matrix; NaN marks a missing p-value."""
    miss = ~np.isfinite(P)
    P[miss] = np.nan
    if method == "none" or P.size == 0:
        return P
    if method == "fixed_sequence":
        adj = np.fmax.accumulate(P, axis=1)  # the running maximum, skipping NaN
        stopped = np.cumsum(miss, axis=1) > 0  # at or after the first missing p-value
        return np.where(miss, np.nan, np.where(stopped, 1.0, adj))
    n = (~miss).sum(axis=1, keepdims=True)  # m of each row: its non-missing p-values
    if method == "bonferroni":
        return np.minimum(1.0, n * P)
    m = P.shape[1]
    order = np.argsort(np.where(miss, np.inf, P), axis=1, kind="stable")  # missing ones last
    ps = np.take_along_axis(P, order, axis=1)
    i = np.arange(1, m + 1)
    valid = i <= n  # the first n sorted positions hold the row's p-values
    ps0 = np.where(valid, ps, 0.0)
    if method == "holm":
        adj = np.maximum.accumulate(np.where(valid, (n + 1 - i) * ps0, 0.0), axis=1)
    elif method == "hommel":
        adj = _hommel_sorted(ps0, n[:, 0])
    else:
        if method == "hochberg":
            factor = (n + 1 - i).astype(float)
        elif method == "bh":
            factor = n / i
        else:  # by: R's q * n / i with q = sum(1 / (1:n))
            harmonic = np.concatenate([[0.0], np.cumsum(1.0 / i)])
            factor = harmonic[n] * n / i
        vals = np.where(valid, factor * ps0, np.inf)
        adj = np.minimum.accumulate(vals[:, ::-1], axis=1)[:, ::-1]
    out = np.empty_like(P)
    np.put_along_axis(out, order, np.minimum(1.0, adj), axis=1)
    return np.where(miss, np.nan, out)


def _hommel_sorted(ps: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Hommel's adjusted p-values of rows sorted increasingly (the first ``n[r]`` entries of row r are
    its p-values), R's ``p.adjust`` algorithm vectorised over the rows that share the same n."""
    out = ps.copy()
    for k in np.unique(n):
        if k < 2:
            continue  # one p-value (or none) is its own adjustment
        rows = np.flatnonzero(n == k)
        p = ps[rows, :k]
        i = np.arange(1, k + 1)
        q = np.repeat(np.min(k * p / i, axis=1, keepdims=True), k, axis=1)
        pa = q.copy()
        for j in range(k - 1, 1, -1):
            head, tail = slice(0, k - j + 1), slice(k - j + 1, k)
            q1 = np.min(j * p[:, tail] / np.arange(2, j + 1), axis=1, keepdims=True)
            q[:, head] = np.minimum(j * p[:, head], q1)
            q[:, tail] = q[:, k - j : k - j + 1]
            pa = np.maximum(pa, q)
        out[rows, :k] = np.maximum(pa, p)
    return out


def serial_gatekeeper(adjusted: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Chain families of adjusted p-values by a serial gatekeeper, in the order given.

    Each family's adjusted p-values (arrays whose last axis holds the family's hypotheses; leading
    axes, e.g. simulated trials, are batched) are raised to at least the largest adjusted p-value of
    every family before it. A missing (NaN) p-value in a family closes the gate: every later family
    gets adjusted p = 1 (its own missing values stay NaN).

    Examples
    --------
    >>> primary, secondary = np.array([0.01, 0.03]), np.array([0.001, 0.2])
    >>> [a.tolist() for a in serial_gatekeeper([primary, secondary])]
    [[0.01, 0.03], [0.03, 0.2]]
    >>> [a.tolist() for a in serial_gatekeeper([np.array([0.01, np.nan]), secondary])]
    [[0.01, nan], [1.0, 1.0]]
    """
    out = []
    gate: np.ndarray | float = 0.0
    for adj in adjusted:
        adj = np.asarray(adj, dtype=float)
        raised = np.where(np.isnan(adj), np.nan, np.maximum(adj, np.asarray(gate)[..., None]))
        out.append(raised)
        if adj.shape[-1]:
            closed = np.isnan(adj).any(axis=-1)
            top = np.max(np.where(np.isnan(raised), 0.0, raised), axis=-1)
            gate = np.where(closed, 1.0, np.maximum(gate, top))
    return out


def adjust_families(
    results: pd.DataFrame,
    *,
    families: Mapping[str, Sequence[str]],
    method: str = "holm",
    gatekeeping: bool = False,
    outcome: str = "outcome",
) -> pd.DataFrame:
    """Fill ``p_adj``, ``family`` and ``p_adj_method`` of a contrast table, family by family.

    Parameters
    ----------
    results : DataFrame
        A contrast table (one row per outcome × contrast) with a ``p`` column; its other columns
        (``status`` included) are passed through unchanged.
    families : mapping
        Family name → outcomes, in testing order (``{"primary": [...], "secondary": [...]}``).
        Every row of a family (all its outcomes and contrasts) is one set of hypotheses. Outcomes in
        no family form their own family ``"other"``, adjusted last.
    method : str
        Any of :data:`METHODS`. With ``fixed_sequence`` the order is the outcomes' order within
        the families, then the contrast order.
    gatekeeping : bool
        Serial gatekeeper (:func:`serial_gatekeeper`): each later family's adjusted p-values are
        raised to at least the largest adjusted p-value of the families before it.

    Notes
    -----
    A hypothesis without a p-value — a row whose ``p`` is NaN (its ``status`` says why), or an
    outcome named in ``families`` that has no row at all — is never rejected. Within a family it
    does not count in m for the step-wise methods; it stops a ``fixed_sequence`` (every later
    hypothesis of the family gets 1); with ``gatekeeping`` it closes the gate, so every hypothesis
    of every later family gets 1. A primary family that could not be estimated therefore never lets
    a secondary result be significant.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"outcome": ["a", "b", "c"], "p": [0.01, 0.02, 0.04]})
    >>> out = adjust_families(res, families={"primary": ["a", "b"], "secondary": ["c"]}, method="holm")
    >>> out[["outcome", "family", "p_adj"]].to_dict("list")
    {'outcome': ['a', 'b', 'c'], 'family': ['primary', 'primary', 'secondary'], 'p_adj': [0.02, 0.02, 0.04]}
    >>> res.loc[1, "p"] = float("nan")  # b could not be estimated: the gate stays closed
    >>> adjust_families(res, families={"primary": ["a", "b"], "secondary": ["c"]}, gatekeeping=True)["p_adj"].tolist()
    [0.01, nan, 1.0]
    """
    m_name = _method(method)
    out = results.copy()
    fam_of: dict[str, str] = {}
    for fam, outs in families.items():
        for o in outs:
            fam_of.setdefault(o, fam)
    out["family"] = out[outcome].map(fam_of).fillna("other")
    out["p_adj_method"] = m_name
    names, family = out[outcome].to_numpy(), out["family"].to_numpy()
    p = np.append(out["p"].to_numpy(dtype=float), np.nan)  # p[-1]: an outcome without rows
    seqs, adjusted = [], []
    for fam in [*families, "other"]:
        rows = np.flatnonzero(family == fam)
        if fam == "other":
            seq = rows
        else:  # the testing order: each named outcome's rows in row order; -1 for one without rows
            outs = [o for o in dict.fromkeys(families[fam]) if fam_of[o] == fam]
            parts = [rows[names[rows] == o] for o in outs]
            seq = np.concatenate([[-1] if r.size == 0 else r for r in parts] or [[]]).astype(int)
        seqs.append(seq)
        adjusted.append(p_adjust(p[seq], m_name))
    if gatekeeping:
        adjusted = serial_gatekeeper(adjusted)
    p_adj = np.full(len(out), np.nan)
    for seq, adj in zip(seqs, adjusted, strict=True):
        p_adj[seq[seq >= 0]] = adj[seq >= 0]
    out["p_adj"] = p_adj
    return out
