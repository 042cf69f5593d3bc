"""The power of a planned cLDA / MMRM trial as tables: ``skintrial power --method clda`` without the
command line (:func:`plan_clda_power`), analytic (Lu, Luo & Chen 2008) and optionally simulated
through the study's own cLDA (:mod:`skintrial.plan.clda_power`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan.clda_power import (
    clda_power,
    clda_sample_size,
    simulated_clda_power,
    visit_correlation,
)

__all__ = ["CldaPowerPlan", "plan_clda_power", "CLDA_POWER_COLUMNS", "CLDA_SIMULATED_COLUMNS"]

CLDA_POWER_COLUMNS = (
    "contrast",
    "effect",
    "sd_last_visit",
    "visits",
    "retention_last_visit",
    "retention_last_visit_control",
    "correlation",
    "rho",
    "n_enrolled_arm",
    "n_enrolled_control",
    "n_enrolled_total",
    "n_analysed_last_visit",
    "alpha",
    "power",
    "method",
)
"""``skintrial power --method clda``'s table: one row, the last-visit contrast. ``n_enrolled_arm``
the treated arm (``ratio`` times the controls), ``n_analysed_last_visit`` the expected participants of
both arms still observed at the last visit, ``method`` the formula (``lu_luo_chen_2008``)."""

CLDA_SIMULATED_COLUMNS = (
    "contrast",
    "power",
    "mcse",
    "analytic_power",
    "mean_estimate",
    "mean_se",
    "n_failed",
    "n_sims",
    "df_method",
    "covariance",
    "seed",
)
"""The simulated power's table: the rejection rate of the last-visit contrast over ``n_sims`` trials
analysed by cLDA, its Monte-Carlo SE, the analytic power beside it, the trials not fitted."""


@dataclass(frozen=True)
class CldaPowerPlan:
    """What :func:`plan_clda_power` returns: ``table`` (:data:`CLDA_POWER_COLUMNS`) and, with
    ``n_sims > 0``, ``simulated`` (:data:`CLDA_SIMULATED_COLUMNS`)."""

    table: pd.DataFrame
    simulated: pd.DataFrame | None
    n_sims: int


def _one_effect(effects) -> tuple[str, float]:
    if len(effects) != 1:
        raise InputError(
            Problem(
                f"the cLDA power is for one treated arm against the control; {len(effects)} effects given",
                column="--effect",
                value=sorted(effects),
                fix="give one --effect ARM=DIFFERENCE at the last visit",
            )
        )
    return next(iter(effects.items()))


def plan_clda_power(
    *,
    effects: dict[str, float],
    sd: float | Sequence[float],
    retention: Sequence[float],
    retention_control: Sequence[float] | None = None,
    rho: float = 0.5,
    correlation: str = "ar1",
    ratio: float = 1.0,
    n_per_arm: int | None = None,
    power: float = 0.8,
    control_arm: str = "CON",
    alpha: float = 0.05,
    n_sims: int = 0,
    seed: int = 1,
    df_method: str = "kenward_roger",
    covariance: str = "us",
    progress: Callable[[int, int], None] | None = None,
) -> CldaPowerPlan:
    """Analytic power at ``n_per_arm`` controls (or the controls for ``power``) of the last-visit
    contrast of a cLDA trial with the ``retention`` per visit (baseline first), and optionally
    ``n_sims`` trials simulated and analysed by cLDA at that n.

    Examples
    --------
    >>> res = plan_clda_power(effects={"AT": 0.5}, sd=1.0, rho=0.6, retention=[1, 0.9, 0.8, 0.7])
    >>> res.table[["n_enrolled_control", "n_enrolled_arm"]].iloc[0].tolist(), round(float(res.table["power"][0]), 3)
    ([82, 82], 0.803)
    """
    arm, delta = _one_effect(effects)
    r = np.asarray(retention, dtype=float)
    R = visit_correlation(r.size, rho, correlation)
    kw: dict[str, Any] = dict(
        sd=sd, correlation=R, retention=r, retention_control=retention_control, alpha=alpha
    )
    if n_per_arm is None:
        n_c = int(clda_sample_size(delta, power=power, ratio=ratio, **kw))
        while clda_power(delta, n_per_arm=n_c, ratio=max(round(ratio * n_c), 1) / n_c, **kw) < power:
            n_c += 1  # the treated arm rounded down to a whole participant
    else:
        n_c = int(n_per_arm)
    n_t = max(int(round(ratio * n_c)), 1)
    pw = clda_power(delta, n_per_arm=n_c, ratio=n_t / n_c, **kw)
    r_c = r if retention_control is None else np.asarray(retention_control, dtype=float)
    table = pd.DataFrame(
        [
            {
                "contrast": f"{arm} - {control_arm}",
                "effect": float(delta),
                "sd_last_visit": float(np.atleast_1d(np.asarray(sd, dtype=float))[-1]),
                "visits": int(r.size),
                "retention_last_visit": float(r[-1]),
                "retention_last_visit_control": float(r_c[-1]),
                "correlation": correlation,
                "rho": float(rho),
                "n_enrolled_arm": n_t,
                "n_enrolled_control": n_c,
                "n_enrolled_total": n_t + n_c,
                "n_analysed_last_visit": n_t * float(r[-1]) + n_c * float(r_c[-1]),
                "alpha": float(alpha),
                "power": pw,
                "method": "lu_luo_chen_2008",
            }
        ],
        columns=list(CLDA_POWER_COLUMNS),
    )
    sim = None
    if n_sims > 0:
        s = simulated_clda_power(
            delta,
            n_per_arm=n_c,
            ratio=n_t / n_c,
            n_sims=n_sims,
            seed=seed,
            df_method=df_method,
            covariance=covariance,
            progress=progress,
            **kw,
        )
        sim = pd.DataFrame(
            [
                {
                    "contrast": table["contrast"][0],
                    "power": s.power,
                    "mcse": s.mc_error,
                    "analytic_power": pw,
                    "mean_estimate": s.mean_estimate,
                    "mean_se": s.mean_se,
                    "n_failed": s.n_failed,
                    "n_sims": s.n_sims,
                    "df_method": s.df_method,
                    "covariance": s.covariance,
                    "seed": s.seed,
                }
            ],
            columns=list(CLDA_SIMULATED_COLUMNS),
        )
    return CldaPowerPlan(table, sim, int(n_sims))
