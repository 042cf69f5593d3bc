"""Two-way ANOVA of group × a second factor at one visit, with the simple effects of group per level.

The design of the 2015 cross-sectional study (Crane et al. 2015; paper.md §7): skin outcomes of highly
active and sedentary adults across age groups, analysed as a two-way ANOVA age group × activity, where
the question is whether the activity difference depends on age (it appeared after 40). For each
outcome, fitted for all outcomes at once by the batched engine:

    y = b0 + group + by + group:by [+ covariates] + e

* **Type III** tests (``car::Anova(type = 3)`` with ``contr.sum``): each term's sum-to-zero coded
  columns tested in the full model, so the main effect of group is the group difference averaged over
  the levels of ``by`` with equal weights.
* **Type II** tests (``car::Anova(type = 2)``): each main effect in the model without the
  interaction (group given by and the covariates), the interaction in the full model; every F uses
  the error mean square of the full model. With balanced cells Type II equals Type III.
* **Partial eta squared** ``SS_term / (SS_term + SS_residual) = F df1 / (F df1 + df2)``.
* **Cell means** (emmeans ``~ group | by``) at the covariate means (factor covariates averaged over
  their levels with equal weights), and the **simple effects**: the group contrasts within each level
  of ``by`` (``GROUP - REFERENCE``, or all pairs), t tests on the full model's error.

Every row has a ``status``: the engine's, or ``empty_cell`` when some group × by cell has no value of
the outcome (the interaction is then not estimable; statistics NaN). Checked against R ``lm`` +
``car::Anova`` + ``emmeans`` on carData::Moore (unbalanced, with and without a covariate),
ToothGrowth and warpbreaks in ``tests/stats/test_two_way.py`` (``tests/reference/designs``). The groups
are not randomised: a group difference is an association, not an effect of the grouping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import arm_design, check_subject_constant, pairwise_contrasts, trial_arrays
from skintrial.stats._engine import STATUS_OK, BatchedFit, fit_ols
from skintrial.stats._inference import f_pvalue
from skintrial.stats._schema import (
    PARTIAL_ETA_SQ,
    SIMPLE_EFFECTS_COLUMNS,
    TWO_WAY_ANOVA_COLUMNS,
    TWO_WAY_MEANS_COLUMNS,
)

__all__ = ["TwoWayAnova", "two_way_anova", "EMPTY_CELL"]

EMPTY_CELL = "empty_cell"


@dataclass(frozen=True, kw_only=True)
class TwoWayAnova:
    """The two-way ANOVA group × by of many outcomes at one visit.

    Attributes
    ----------
    tests : DataFrame
        ``results/two_way_anova.csv``: one row per outcome × term (group, by, group:by, named by their
        columns) × type (II, III), columns :data:`~skintrial.stats._schema.TWO_WAY_ANOVA_COLUMNS`.
    contrasts : DataFrame
        ``results/simple_effects.csv``: the group contrasts within each level of ``by``, columns
        :data:`~skintrial.stats._schema.SIMPLE_EFFECTS_COLUMNS` (``p_adj`` is filled by
        :func:`~skintrial.stats.multiplicity.adjust_families`).
    estimates : DataFrame
        ``results/two_way_means.csv``: the adjusted mean of every cell, columns
        :data:`~skintrial.stats._schema.TWO_WAY_MEANS_COLUMNS`.
    group, by : str
        The two factors' columns.
    ci_level : float
    """

    tests: pd.DataFrame
    contrasts: pd.DataFrame
    estimates: pd.DataFrame
    group: str
    by: str
    ci_level: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """``two_way_anova``, ``simple_effects`` and ``two_way_means`` (the names under ``results/``)."""
        return {
            "two_way_anova": self.tests,
            "simple_effects": self.contrasts,
            "two_way_means": self.estimates,
        }


def _levels(values: pd.Series, given: Sequence[str] | None, column: str) -> list[str]:
    found = sorted(values.dropna().astype(str).unique())
    if given is None:
        return found
    order = [str(v) for v in given]
    extra = sorted(set(found) - set(order))
    if extra:
        raise InputError(
            Problem(
                f"values {extra} of '{column}' are not among the levels given {order}",
                column=column,
                fix="list every level, or correct the column",
            )
        )
    return order


def _sum_codes(index: np.ndarray, n_levels: int) -> np.ndarray:
    """(n, L - 1) sum-to-zero codes (R's ``contr.sum``): level j < L-1 → e_j, the last level → -1."""
    codes = np.zeros((index.size, n_levels - 1))
    for j in range(n_levels - 1):
        codes[:, j] = (index == j).astype(float)
    codes[index == n_levels - 1] = -1.0
    return codes


def _products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1)


@dataclass(frozen=True)
class _Layout:
    outcomes: tuple[str, ...]
    y: np.ndarray  # (n, K)
    g: np.ndarray  # (n,) group index
    b: np.ndarray  # (n,) by index
    groups: list[str]
    levels: list[str]
    cov: np.ndarray  # (n, c) covariate columns (arm_design's)
    cov_levels: list[int]  # levels of the factor each covariate column codes (1: numeric)
    cov_names: list[str]


def _layout(data, *, group, by, outcome, value, subject, covariates, outcomes, groups, by_levels) -> _Layout:
    absent = [c for c in (subject, outcome, value, group, by, *covariates) if c not in data.columns]
    if absent:
        raise InputError(f"column(s) {absent} not found in the data", fix="the data need these columns")
    check_subject_constant(data, [group, by, *covariates], subject=subject)
    g_levels = _levels(data[group], groups, group)
    b_levels = _levels(data[by], by_levels, by)
    for name, lv in ((group, g_levels), (by, b_levels)):
        if len(lv) < 2:
            raise InputError(
                Problem(f"'{name}' has {len(lv)} level(s); a two-way ANOVA needs 2 or more", column=name)
            )
    frame = data.assign(_g=data[group].astype(str), _b=data[by].astype(str), _v="v")
    ta = trial_arrays(
        frame,
        outcome=outcome,
        value=value,
        arm="_g",
        visit="_v",
        subject=subject,
        arms=g_levels,
        covariates=["_b", *covariates],
        outcomes=outcomes,
    )
    X, names, n_levels = arm_design(ta)
    A = len(ta.arms)
    n_b = len(b_levels) - 1  # arm_design codes "_b" as its first covariate: levels sorted, not ours
    cov, cov_levels, cov_names = X[:, A + n_b :], n_levels[A + n_b :], names[A + n_b :]
    b_index = pd.Index(b_levels).get_indexer(ta.covariates["_b"].astype(str))
    return _Layout(
        outcomes=ta.outcomes,
        y=ta.visit("v"),
        g=ta.arm_index,
        b=b_index,
        groups=list(ta.arms),
        levels=b_levels,
        cov=cov,
        cov_levels=list(cov_levels),
        cov_names=list(cov_names),
    )


def _cell_rows(lay: _Layout, means: np.ndarray) -> np.ndarray:
    """(K, G·B, p) reference-grid rows of the full sum-coded model: each cell at the covariate means of
    the outcome's rows (numeric covariates) or 1/levels (a factor's dummies)."""
    G, B = len(lay.groups), len(lay.levels)
    gi, bi = np.repeat(np.arange(G), B), np.tile(np.arange(B), G)
    cg, cb = _sum_codes(gi, G), _sum_codes(bi, B)
    base = np.column_stack([np.ones(G * B), cg, cb, _products(cg, cb)])  # (cells, p - c)
    K, c = means.shape[0], lay.cov.shape[1]
    cov_part = means[:, base.shape[1] :]  # (K, c) column means of the rows used
    lv = np.asarray(lay.cov_levels, dtype=float)
    cov_part = np.where(lv[None, :] > 1, 1.0 / np.maximum(lv, 1.0)[None, :], cov_part)
    rows = np.empty((K, G * B, base.shape[1] + c))
    rows[:, :, : base.shape[1]] = base[None]
    rows[:, :, base.shape[1] :] = cov_part[:, None, :]
    return rows


def _status(fit: BatchedFit, empty: np.ndarray) -> np.ndarray:
    st = fit.status.astype(object).copy()
    st[empty] = EMPTY_CELL
    return st.astype(str)


def _only_ok(out: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    bad = (out["status"] != STATUS_OK).to_numpy()
    if bad.any():
        out.loc[bad, columns] = np.nan
    return out


def two_way_anova(
    data: pd.DataFrame,
    *,
    group: str,
    by: str,
    outcome: str = "outcome",
    value: str = "value",
    subject: str = "participant_id",
    covariates: Sequence[str] = (),
    outcomes: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    by_levels: Sequence[str] | None = None,
    reference_group: str | None = None,
    ci_level: float = 0.95,
) -> TwoWayAnova:
    """Two-way ANOVA group × by (Type II and III, partial eta squared) and the simple effects of group.

    Parameters
    ----------
    data : DataFrame
        One visit: one row per participant × outcome, the two factors and the covariates on each row.
    group, by : str
        The factor compared (e.g. activity) and the second factor (e.g. an age band).
    covariates : sequence of str
        Participant-level columns added to the model (numeric as is, text as treatment-coded factors).
    outcomes : sequence of str, optional
    groups, by_levels : sequence of str, optional
        Level orders (default: sorted). With ``reference_group`` the group order starts with it.
    reference_group : str, optional
        Simple effects are ``GROUP - REFERENCE`` within each level of ``by``; without one, all pairs.
    ci_level : float

    Returns
    -------
    TwoWayAnova

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": [f"p{i}" for i in range(12)],
    ...                   "activity": ["ACT", "SED"] * 6, "age_band": ["<40"] * 6 + ["40+"] * 6,
    ...                   "outcome": "dermis", "value": [1.9, 1.8, 2.0, 1.8, 1.9, 1.9,
    ...                                                  1.8, 1.5, 1.7, 1.4, 1.8, 1.5]})
    >>> r = two_way_anova(d, group="activity", by="age_band", reference_group="SED", by_levels=["<40", "40+"])
    >>> r.tests.query("type == 'III'")[["term", "num_df", "den_df"]].to_dict("records")
    [{'term': 'activity', 'num_df': 1.0, 'den_df': 8.0}, {'term': 'age_band', 'num_df': 1.0, 'den_df': 8.0}, {'term': 'activity:age_band', 'num_df': 1.0, 'den_df': 8.0}]
    >>> r.contrasts[["by_level", "contrast", "estimate"]].round(3).to_dict("records")
    [{'by_level': '<40', 'contrast': 'ACT - SED', 'estimate': 0.1}, {'by_level': '40+', 'contrast': 'ACT - SED', 'estimate': 0.3}]
    """
    if reference_group is not None:
        order = list(groups) if groups is not None else None
        if order is not None and reference_group in order:
            order.remove(reference_group)
            groups = [reference_group, *order]
        elif order is None:
            found = sorted(data[group].dropna().astype(str).unique())
            if reference_group not in found:
                raise InputError(
                    Problem(
                        f"reference group {reference_group!r} is not a value of '{group}' ({found})",
                        column=group,
                        value=reference_group,
                        fix="name one of its values",
                    )
                )
            groups = [reference_group, *(g for g in found if g != reference_group)]
    lay = _layout(
        data,
        group=group,
        by=by,
        outcome=outcome,
        value=value,
        subject=subject,
        covariates=covariates,
        outcomes=outcomes,
        groups=groups,
        by_levels=by_levels,
    )
    G, B = len(lay.groups), len(lay.levels)
    n = lay.g.size
    cg, cb = _sum_codes(lay.g, G), _sum_codes(lay.b, B)
    inter = _products(cg, cb)
    X_full = np.column_stack([np.ones(n), cg, cb, inter, lay.cov])
    X_add = np.column_stack([np.ones(n), cg, cb, lay.cov])
    W = np.isfinite(lay.y) & np.isfinite(X_full).all(axis=1)[:, None]
    cells = (lay.g * B + lay.b)[:, None] == np.arange(G * B)[None, :]  # (n, cells)
    cell_n = W.astype(float).T @ cells.astype(float)  # (K, cells)
    empty = (cell_n == 0).any(axis=1)
    params = ["intercept", *[f"g{j}" for j in range(G - 1)], *[f"b{j}" for j in range(B - 1)]]
    params += [f"g{i}:b{j}" for i in range(G - 1) for j in range(B - 1)] + lay.cov_names
    full = fit_ols(X_full, lay.y, mask=W, outcomes=lay.outcomes, params=params)
    add = fit_ols(X_add, lay.y, mask=W, outcomes=lay.outcomes)
    blocks = {
        group: (1, G),
        by: (G, G + B - 1),
        f"{group}:{by}": (G + B - 1, G + B - 1 + (G - 1) * (B - 1)),
    }
    status = _status(full, empty)
    rows = []
    for typ in ("II", "III"):
        for term, (lo, hi) in blocks.items():
            interaction = term not in (group, by)
            model = full if typ == "III" or interaction else add
            L = np.zeros((hi - lo, model.coef.shape[1]))
            L[np.arange(hi - lo), np.arange(lo, hi)] = 1.0
            ft = model.f_test(L, sigma2=full.sigma2)  # the error mean square of the full model
            den = full.df_resid.astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                pes = ft.f * ft.num_df / (ft.f * ft.num_df + den)
            rows.append(
                pd.DataFrame(
                    {
                        "outcome": lay.outcomes,
                        "term": term,
                        "num_df": float(ft.num_df),
                        "den_df": den,
                        "f": ft.f,
                        "p": f_pvalue(ft.f, ft.num_df, den),
                        "partial_eta_sq": pes,
                        "type": typ,
                        "partial_eta_sq_formula": PARTIAL_ETA_SQ,
                        "n": full.n.astype(np.int64),
                        "status": status,
                    }
                )
            )
    rank = {o: k for k, o in enumerate(lay.outcomes)}
    tests = pd.concat(rows, ignore_index=True)
    tests = tests.sort_values("outcome", key=lambda s: s.map(rank), kind="mergesort").reset_index(drop=True)
    tests = _only_ok(tests, ["num_df", "den_df", "f", "p", "partial_eta_sq"])[list(TWO_WAY_ANOVA_COLUMNS)]
    grid = _cell_rows(lay, np.asarray(full.means, dtype=float))  # (K, cells, p)
    means = _means(full, grid, lay, cell_n, status, ci_level)
    simple = _simple_effects(full, grid, lay, cell_n, status, reference_group, ci_level, group, by)
    return TwoWayAnova(tests=tests, contrasts=simple, estimates=means, group=group, by=by, ci_level=ci_level)


def _means(full, grid, lay: _Layout, cell_n, status, ci_level) -> pd.DataFrame:
    c = full.contrast(grid)
    lo, hi = c.ci(ci_level)
    K, C = c.estimate.shape
    B = len(lay.levels)
    out = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(lay.outcomes, dtype=object), C),
            "group": np.tile(np.repeat(np.asarray(lay.groups, dtype=object), B), K),
            "by_level": np.tile(np.asarray(lay.levels * len(lay.groups), dtype=object), K),
            "emmean": c.estimate.ravel(),
            "se": c.se.ravel(),
            "df": c.df.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "ci_level": ci_level,
            "n": cell_n.ravel().astype(np.int64),
            "status": np.repeat(status, C),
        }
    )
    return _only_ok(out, ["emmean", "se", "df", "ci_low", "ci_high"])[list(TWO_WAY_MEANS_COLUMNS)]


def _simple_effects(full, grid, lay: _Layout, cell_n, status, reference, ci_level, group, by) -> pd.DataFrame:
    B = len(lay.levels)
    pairs = pairwise_contrasts(lay.groups, reference)
    K, C, p = grid.shape
    L = np.empty((K, B * len(pairs), p))
    n = np.empty((K, B * len(pairs)))
    labels, levels = [], []
    r = 0
    for bl in range(B):
        for label, j, i in pairs:
            L[:, r] = grid[:, j * B + bl] - grid[:, i * B + bl]
            n[:, r] = cell_n[:, j * B + bl] + cell_n[:, i * B + bl]
            labels.append(label)
            levels.append(lay.levels[bl])
            r += 1
    c = full.contrast(L)
    lo, hi = c.ci(ci_level)
    m = L.shape[1]
    out = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(lay.outcomes, dtype=object), m),
            "by_level": np.tile(np.asarray(levels, dtype=object), K),
            "contrast": np.tile(np.asarray(labels, dtype=object), K),
            "estimate": c.estimate.ravel(),
            "se": c.se.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "df": c.df.ravel(),
            "t": c.t.ravel(),
            "p": c.p.ravel(),
            "p_adj": np.nan,
            "n": n.ravel().astype(np.int64),
            "ci_level": ci_level,
            "family": "",
            "p_adj_method": "none",
            "status": np.repeat(status, m),
            "group_column": group,
            "by_column": by,
        }
    )
    return _only_ok(out, ["estimate", "se", "ci_low", "ci_high", "df", "t", "p"])[
        list(SIMPLE_EFFECTS_COLUMNS)
    ]
