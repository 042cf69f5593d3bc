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
    client: Any = None,
) -> CldaPowerPlan:
    """Analytic power at ``n_per_arm`` controls (or the controls for ``power``) of the last-visit
    contrast of a cLDA trial with the ``retention`` per visit (baseline first), and optionally
    ``n_sims`` trials simulated and analysed by cLDA at that n (on ``client``: a
    ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process).

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
            client=client,
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


def pilot_visit_covariance(
    long: pd.DataFrame, *, outcome: str, visits: Sequence[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The SD at each of ``visits`` and the correlation between them of one outcome of a pilot:
    residuals from the arm × visit means, SDs on ``n − arms`` df, correlations over the participants
    seen at both visits (then made positive definite). None when a visit has fewer than 3 values or
    a pair of visits fewer than 3 participants in common."""
    d = long[(long["outcome"] == outcome) & long["visit"].isin(list(visits))]
    if d.empty:
        return None
    wide = d.pivot_table(index=["participant_id", "arm"], columns="visit", values="value", aggfunc="mean")
    wide = wide.reindex(columns=list(visits))
    resid = wide - wide.groupby(level="arm").transform("mean")
    seen = resid.notna().to_numpy()
    R0 = np.nan_to_num(resid.to_numpy(dtype=float))
    arms_seen = np.array(
        [[len(set(resid.index.get_level_values("arm")[seen[:, j]]))] for j in range(len(visits))]
    )
    n = seen.sum(axis=0)
    both = seen.T.astype(float) @ seen.astype(float)
    if n.min() < 3 or both.min() < 3 or np.any(n - arms_seen[:, 0] < 2):
        return None
    sds = np.sqrt((R0**2).sum(axis=0) / (n - arms_seen[:, 0]))
    cross = R0.T @ R0
    sq = (R0**2).T @ seen.astype(float)  # sq[i, j]: sum of r_i^2 over participants seen at i and j
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cross / np.sqrt(sq * sq.T)
    if not (np.all(np.isfinite(sds)) and np.all(sds > 0) and np.all(np.isfinite(corr))):
        return None
    w, V = np.linalg.eigh((corr + corr.T) / 2)
    corr = (V * np.clip(w, 1e-3, None)) @ V.T
    dinv = 1 / np.sqrt(np.diag(corr))
    return sds, corr * dinv[:, None] * dinv[None, :]


def linear_retention(n_visits: int, dropout: float) -> np.ndarray:
    """Retention falling linearly from 1 at the baseline to ``1 − dropout`` at the last visit.

    Examples
    --------
    >>> linear_retention(4, 0.3).round(2).tolist()
    [1.0, 0.9, 0.8, 0.7]
    """
    return 1.0 - float(dropout) * np.arange(int(n_visits)) / (int(n_visits) - 1)


def simulate_clda_plan(
    long: pd.DataFrame,
    design: pd.DataFrame,
    *,
    visits: Sequence[str],
    control_arm: str,
    families: dict[str, list[str]],
    n_per_arm: int,
    retention: Sequence[float] | np.ndarray,
    multiplicity: str,
    gatekeeping: bool,
    alpha: float,
    n_sims: int,
    seed: int,
    df_method: str = "kenward_roger",
    covariance: str = "us",
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The plan's simulation when the study's primary analysis is cLDA: every outcome of the
    families simulated over ``visits`` (baseline first, the follow-up visit last) with the pilot's
    SDs and correlations across those visits (:func:`pilot_visit_covariance`), the ``design``'s
    effects at the last visit, ``retention`` per visit (monotone dropout at random) in every arm, and
    each trial analysed by the study's cLDA; the outcomes are independent. Multiplicity and gatekeeping
    as :func:`skintrial.plan.simulate_power`. Returns the hypotheses table
    (:data:`skintrial.plan.simulate.HYPOTHESIS_COLUMNS`) and the outcomes left out (no pilot covariance).
    The trials run in blocks with their own random streams, one task per block on ``client``
    (:func:`skintrial.plan.clda_power.clda_blocks`): the same result in process and on any cluster."""
    from skintrial.plan.clda_power import _retention, clda_blocks
    from skintrial.plan.simulate import Tally, _result

    r = _retention(retention, "retention", len(visits))
    arms = [a for a in dict.fromkeys(design["arm"].astype(str)) if a != control_arm]
    outcomes, chols, dropped = [], [], []
    for o in dict.fromkeys(x for v in families.values() for x in v):
        cov = pilot_visit_covariance(long, outcome=o, visits=visits)
        if cov is None:
            dropped.append(o)
            continue
        sds, corr = cov
        outcomes.append(o)
        chols.append(np.linalg.cholesky(sds[:, None] * corr * sds[None, :]))
    fams = {f: [x for x in v if x in outcomes] for f, v in families.items()}
    fams = {f: v for f, v in fams.items() if v}
    delta = np.zeros((len(arms) + 1, len(outcomes)))
    eff = design.assign(outcome=design["outcome"].astype(str), arm=design["arm"].astype(str))
    eff = eff.pivot_table(index="arm", columns="outcome", values="effect", aggfunc="first")
    delta[1:] = eff.reindex(index=arms, columns=outcomes).fillna(0.0).to_numpy()
    hyp = [(f, outcomes.index(o), c) for f, outs in fams.items() for o in outs for c in range(len(arms))]
    tally = Tally(hyp, fams, multiplicity=multiplicity, gatekeeping=gatekeeping, alpha=alpha)
    n = [int(n_per_arm)] * (len(arms) + 1)
    per_outcome = [
        {"n": n, "delta": delta[:, k].tolist(), "chol": [ch] * len(n), "retention": [r] * len(n)}
        for k, ch in enumerate(chols)
    ]
    for P, E, _ in clda_blocks(  # no outcome with a pilot covariance: nothing to simulate
        n_sims if per_outcome else 0,
        seed,
        per_outcome,
        df_method=df_method,
        covariance=covariance,
        block_size=max(1, min(500, 200_000 // (sum(n) * len(visits)))),
        progress=progress,
        client=client,
    ):
        tally.add(P, E)
    res = _result(
        hyp,
        outcomes,
        arms,
        control_arm,
        delta,
        tally.rej,
        tally.rej_raw,
        tally.est_sum,
        tally.fam_any,
        tally.fam_all,
        fams,
        settings={"n_sims": int(n_sims)},
    )
    return res.hypotheses, dropped
