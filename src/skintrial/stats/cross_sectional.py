"""Cross-sectional group comparison adjusted for covariates (one visit, two or more groups).

The design of the active-vs-sedentary comparison (Crane et al. 2015; paper.md §7): each participant
is measured once, and the groups are compared on every outcome adjusted for covariates such as age
and BMI:

    y_k = b0 + b_group + covariates + e,      e ~ N(0, sigma_k^2)

fitted for all outcomes at once by the batched engine. The contrasts are the adjusted differences
(emmeans' ``trt.vs.ctrl`` or all pairs), the adjusted means are taken at the covariate means (factors
averaged over their levels with equal weights), and the group F test is reported with partial eta
squared. Groups here are *not* randomised: the adjusted difference is an association, not an effect.
Checked against R ``lm`` + ``emmeans`` + ``car::Anova`` in ``tests/stats/test_cross_sectional.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import arm_design, default_visit_order, trial_arrays
from skintrial.stats._engine import BatchedFit
from skintrial.stats._schema import (
    CROSS_SECTIONAL_COLUMNS,
    EMMEANS_COLUMNS,
    FTEST_COLUMNS,
    HEDGES_G_CROSS_SECTIONAL,
)
from skintrial.stats._trial import TrialAnalysis
from skintrial.stats.ancova import _arm_tests, _contrast_table, _emmeans_table, _fit
from skintrial.stats.two_way import TwoWayAnova, two_way_anova

__all__ = ["CrossSectionalResult", "cross_sectional"]


@dataclass(frozen=True, kw_only=True)
class CrossSectionalResult(TrialAnalysis):
    """A cross-sectional comparison over many outcomes: a :class:`~skintrial.stats.TrialAnalysis`.

    Attributes
    ----------
    contrasts : DataFrame
        The columns of ``results/ancova.csv``, then the ``visit`` compared and the ``group_column``
        that defines the groups (:data:`~skintrial.stats._schema.CROSS_SECTIONAL_COLUMNS`,
        ``results/cross_sectional.csv``); ``contrast`` is ``GROUP - REFERENCE``.
    tests : DataFrame
        The F test of the group term (FTEST_COLUMNS; one Type II row per outcome, equal to Type III
        here: no interaction) with partial eta squared and its formula; ``term`` is the group column.
    estimates : DataFrame
        The adjusted mean per outcome × group (EMMEANS_COLUMNS; its ``arm`` column holds the group).
    ci_level : float
    fit : BatchedFit
        The engine's fit.
    two_way : TwoWayAnova or None
        With a second factor (``by``): the two-way ANOVA group × by, the simple effects of group within
        each level of ``by`` and the cell means (:func:`~skintrial.stats.two_way_anova`).

    Every row has a ``status`` as in :func:`skintrial.stats.ancova` (a group without data at the
    visit: ``arm_without_complete_cases``).
    """

    method: ClassVar[str] = "cross_sectional"
    contrast_columns: ClassVar[tuple[str, ...]] = CROSS_SECTIONAL_COLUMNS
    test_columns: ClassVar[tuple[str, ...]] = FTEST_COLUMNS
    estimate_columns: ClassVar[tuple[str, ...]] = EMMEANS_COLUMNS

    fit: BatchedFit
    two_way: TwoWayAnova | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """``cross_sectional``: the contrasts (the tests and estimates are not written); with a second
        factor also ``two_way_anova``, ``simple_effects`` and ``two_way_means``."""
        return {"cross_sectional": self.contrasts, **(self.two_way.tables() if self.two_way else {})}


def cross_sectional(
    data: pd.DataFrame,
    *,
    group: str = "group",
    outcome: str = "outcome",
    value: str = "value",
    subject: str = "participant_id",
    covariates: Sequence[str] = (),
    outcomes: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    reference_group: str | None = None,
    visit: str = "visit",
    at_visit: str | None = None,
    by: str | None = None,
    by_levels: Sequence[str] | None = None,
    ci_level: float = 0.95,
) -> CrossSectionalResult:
    """Compare two or more groups on every outcome at one visit, adjusted for covariates.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per participant × outcome (× visit), the group and covariates on each row.
    group : str
        Column holding the group (e.g. ``"active"`` / ``"sedentary"``).
    covariates : sequence of str
        Participant-level columns: numeric as is, text as treatment-coded factors. The group and the
        covariates must be the same on every row of a participant at the analysed visit (otherwise
        :class:`~skintrial.errors.InputError`).
    outcomes : sequence of str, optional
        Outcomes to analyse (default: all).
    groups, reference_group : optional
        Group order; contrasts are ``GROUP - REFERENCE``, or all pairs without a reference.
    visit, at_visit : str, optional
        With several visits in ``data[visit]``, the one to analyse. Without a ``visit`` column the
        data are taken as one visit.
    by, by_levels : str, sequence of str, optional
        A second factor (a participant-level column, e.g. an age band) and the order of its levels:
        adds the two-way ANOVA group × by with the simple effects of group per level (``two_way``).
    ci_level : float

    Returns
    -------
    CrossSectionalResult
        ``contrasts`` (``results/cross_sectional.csv``; ``p_adj`` is filled by
        :func:`~skintrial.stats.multiplicity.adjust_families`), ``tests`` (the group F test) and
        ``estimates`` (adjusted means per group). The ``effect_size`` column is Hedges' g: the adjusted
        difference over the pooled SD of the outcome in the two groups, times
        ``J = 1 - 3 / (4 (n1 + n2) - 9)`` (formula in the table). ``visit`` is ``at_visit`` (empty when
        the data have no visit column and none is named).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": list("abcdefgh"), "group": ["active"] * 4 + ["sedentary"] * 4,
    ...                   "age": [40, 45, 50, 55, 42, 47, 52, 57], "outcome": "dermal_thickness",
    ...                   "value": [1.9, 1.8, 1.8, 1.7, 1.7, 1.6, 1.6, 1.4]})
    >>> r = cross_sectional(d, group="group", covariates=["age"], reference_group="sedentary")
    >>> r.contrasts[["contrast", "estimate", "df"]].round(3).to_dict("records")
    [{'contrast': 'active - sedentary', 'estimate': 0.195, 'df': 5.0}]
    >>> r.tests[["term", "type", "num_df", "den_df"]].to_dict("records")
    [{'term': 'group', 'type': 'II', 'num_df': 1.0, 'den_df': 5.0}]
    >>> r.estimates["arm"].tolist(), list(r.tables())
    (['sedentary', 'active'], ['cross_sectional'])
    """
    no_visit = visit not in data.columns and at_visit is None  # one visit, unnamed: "" in the table
    if visit not in data.columns:
        data = data.assign(**{visit: at_visit or "visit"})
    present = default_visit_order(data[visit], column=visit)
    if at_visit is None:
        if len(present) > 1:
            raise InputError(
                Problem(
                    f"the data hold several visits {present}",
                    column=visit,
                    fix="choose the visit to compare with at_visit=",
                )
            )
        at_visit = present[0]
    elif at_visit not in present:
        raise InputError(
            Problem(
                f"visit {at_visit!r} not found", column=visit, value=at_visit, fix=f"use one of {present}"
            )
        )
    data = data[data[visit].astype(str) == str(at_visit)]  # group and covariates as at that visit
    ta = trial_arrays(
        data,
        outcome=outcome,
        value=value,
        arm=group,
        visit=visit,
        subject=subject,
        arms=groups,
        reference_arm=reference_group,
        covariates=covariates,
        outcomes=outcomes,
        visits=[at_visit],
    )
    X, names, levels = arm_design(ta, arm_label=group)
    y = ta.visit(at_visit)
    W = np.isfinite(y) & np.isfinite(X).all(axis=1)[:, None]
    fit, empty = _fit(X, y, None, W, ta, names, False)
    contrasts = _contrast_table(
        fit, ta, at_visit, W, empty, reference_group, ci_level, HEDGES_G_CROSS_SECTIONAL
    )
    test = _arm_tests(fit, X, names, y, None, W, empty, len(ta.arms), False)
    two_way = None
    if by is not None:
        two_way = two_way_anova(
            data,
            group=group,
            by=by,
            outcome=outcome,
            value=value,
            subject=subject,
            covariates=covariates,
            outcomes=list(ta.outcomes),
            groups=list(ta.arms),
            by_levels=by_levels,
            reference_group=reference_group,
            ci_level=ci_level,
        )
    return CrossSectionalResult(
        contrasts=contrasts.assign(visit="" if no_visit else at_visit, group_column=group)[
            list(CROSS_SECTIONAL_COLUMNS)
        ],
        tests=test[test["type"] == "II"].assign(term=group).reset_index(drop=True),
        estimates=_emmeans_table(fit, ta, levels, False, W, empty, ci_level),
        ci_level=ci_level,
        fit=fit,
        two_way=two_way,
    )
