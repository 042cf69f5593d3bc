"""The checks of the power functions' inputs: every bad value an InputError that names it and the fix.

Split from :mod:`skintrial.plan.power`; private to plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from skintrial.errors import InputError, Problem
from skintrial.plan._values import plain

MULTIPLICITY = ("holm", "hochberg", "bh", "by", "bonferroni", "fixed_sequence", "none")
"""The multiplicity methods the analytic power formulas know."""


def _check_inputs(*, sd, rho, alpha, dropout, multiplicity, n_outcomes, effects, control_arm) -> None:
    probs = []
    if not (np.isfinite(sd) and sd > 0):
        probs.append(
            Problem(
                "the SD must be finite and positive",
                column="sd",
                value=plain(sd),
                fix="give the outcome's SD, e.g. 0.06",
            )
        )
    if not -1 < rho < 1:
        probs.append(
            Problem(
                "rho must lie strictly between -1 and 1",
                column="rho",
                value=plain(rho),
                fix="give the baseline–follow-up correlation, e.g. 0.6",
            )
        )
    if not 0 < alpha < 1:
        probs.append(
            Problem("alpha must lie between 0 and 1", column="alpha", value=plain(alpha), fix="e.g. 0.05")
        )
    if not 0 <= dropout < 1:
        probs.append(
            Problem(
                "dropout must be a fraction in [0, 1)",
                column="dropout",
                value=plain(dropout),
                fix="give the expected fraction lost to follow-up, e.g. 0.1",
            )
        )
    if multiplicity not in MULTIPLICITY:
        probs.append(
            Problem(
                f"multiplicity {multiplicity!r} has no analytic power formula",
                column="multiplicity",
                value=multiplicity,
                fix=f"use one of {', '.join(MULTIPLICITY)}",
            )
        )
    if int(n_outcomes) < 1:
        probs.append(Problem("n_outcomes must be at least 1", column="n_outcomes", value=plain(n_outcomes)))
    if isinstance(effects, Mapping) and control_arm in effects:
        probs.append(
            Problem(
                f"an effect was given for the control arm {control_arm!r}; effects are differences "
                "from the control arm",
                column="effects",
                value=control_arm,
                fix=f"give effects only for the other arms, or name another --control than {control_arm!r}",
            )
        )
    elif not effects and not isinstance(effects, int | float):
        probs.append(
            Problem(
                "no arm to compare with the control arm",
                column="effects",
                fix="give effects as {arm: difference from control}",
            )
        )
    values = (
        [effects] if isinstance(effects, int | float) else list(dict(effects).values()) if effects else []
    )
    if not all(np.isfinite(float(v)) for v in values):
        probs.append(
            Problem(
                "every effect must be a finite number",
                column="effects",
                fix="give each arm's difference from control",
            )
        )
    InputError.collect(probs)


def _check_sizes(n: Mapping[str, float], dropout: float) -> None:
    """Arms enrol whole participants, and every arm must analyse at least 2 on average (else the t test
    has no df)."""
    partial = {a: float(v) for a, v in n.items() if np.isfinite(v) and v != round(v)}
    if partial:
        raise InputError(
            Problem(
                f"participants enrolled per arm must be whole numbers ({len(partial)} arm(s) are not)",
                column="n_per_arm",
                value=partial,
                fix="give whole numbers of participants, e.g. "
                + ", ".join(f"{a}: {math.ceil(v)}" for a, v in partial.items()),
            )
        )
    small = {a: float(v) for a, v in n.items() if not np.isfinite(v) or v * (1.0 - dropout) < 2.0}
    if small:
        raise InputError(
            Problem(
                f"too few participants per arm: n_per_arm × (1 − dropout) must be at least 2 in every arm "
                f"(dropout {float(dropout):g})",
                column="n_per_arm",
                value=small,
                fix=f"enrol at least {math.ceil(2.0 / (1.0 - dropout) - 1e-9)} per arm",
            )
        )
