"""From a pilot study to the next trial: effects, SDs and ρ with their uncertainty; sample size; power curve.

The estimates (per-arm mean change, SD and ρ with their intervals) are :func:`pilot_estimates`
(``plan/_pilot_estimates.py``, whose notes give the formulas); this module plans from them.

Planning a controlled trial
---------------------------
The planned effect of arm *g* (its difference from control in mean change) comes, in this order,
from ``effects`` when given there (``effect_basis = "given"``); from the pilot's own control arm when
the pilot has one: pilot mean change of *g* minus pilot mean change of the control arm
(``"pilot_control"``); otherwise, as in a pilot without a control arm (Nishikori et al. 2023), which
cannot estimate an effect *against a control*, the pilot mean change of *g* minus an assumed mean
change in controls (``control_change``, default 0: controls do not change over 16 weeks;
``"assumed_control_change"``). The ``control_change`` column holds the control change subtracted.
``effect_ci_low`` / ``effect_ci_high`` give the effect's interval from the pilot: against the pilot's
own control, the difference of two independent change means with the pooled within-arm SD of change
over all pilot arms (a pooled t interval, df = N − A, the same SD as the per-arm intervals); against
an assumed control change, the arm's own interval shifted by it (the assumption is taken as known);
none for a given effect. Two scenarios are planned: ``pilot`` (point estimates of sd and rho) and
``conservative`` (sd at its upper and rho at its lower confidence limit: pilot SDs are imprecise and
planning on the point estimate under-powers half of all trials; Browne 1995, Kieser & Wassmer 1996).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan._pilot_estimates import CHANGE_COLUMNS, OUTCOME_COLUMNS, PilotEstimates, pilot_estimates
from skintrial.plan.power import (
    MULTIPLICITY,
    POWER_COLUMNS,
    alpha_per_test,
    ancova_sample_size,
    contrast_power,
    power_bound,
)
from skintrial.stats import t_critical

__all__ = [
    "PilotEstimates",
    "pilot_estimates",
    "plan_trial",
    "power_curve",
    "pilot_design",
    "PLAN_COLUMNS",
    "CURVE_COLUMNS",
    "OUTCOME_COLUMNS",
    "CHANGE_COLUMNS",
    "PILOT_DESIGN_COLUMNS",
    "EFFECT_BASES",
]

PLAN_COLUMNS: tuple[str, ...] = (
    "scenario",
    *POWER_COLUMNS,
    "effect_basis",
    "control_change",
    "effect_ci_low",
    "effect_ci_high",
    "effect_ci_level",
)
CURVE_COLUMNS: tuple[str, ...] = (
    "scenario",
    "contrast",
    "effect",
    "effect_basis",
    "control_change",
    "sd",
    "rho",
    "n_per_arm",
    "n_enrolled_total",
    "alpha_test",
    "power",
    "power_bound",
)
EFFECT_BASES: tuple[str, ...] = ("given", "pilot_control", "assumed_control_change", "no_pilot_estimate")
"""Values of ``effect_basis``: where each planned effect came from (module notes)."""
PILOT_DESIGN_COLUMNS: tuple[str, ...] = (
    "outcome",
    "arm",
    "effect",
    "sd",
    "rho",
    "effect_basis",
    "control_change",
)
SCENARIOS = ("pilot", "conservative")


class _Effect(NamedTuple):
    """A planned effect, where it came from, and its confidence interval from the pilot (NaN when given)."""

    effect: float
    basis: str
    control_change: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")


def _planned_effects(
    est: PilotEstimates,
    primary: str,
    arms: Sequence[str],
    control_arm: str,
    control_change: float,
    effects: Mapping[str, float] | None,
) -> dict[str, _Effect]:
    """{arm: _Effect} for every non-control arm of the new trial (module notes: the effect's interval)."""
    arms = [str(a) for a in arms]
    probs = []
    if control_arm not in arms:
        probs.append(
            Problem(
                f"the control arm {control_arm!r} is not one of the trial's arms {arms}",
                column="arms",
                value=arms,
                fix=f"list {control_arm!r} among the arms or name another control",
            )
        )
    extra = sorted(set(effects or {}) - set(arms))
    if extra:
        probs.append(
            Problem(
                f"effect(s) given for arm(s) {extra} that are not arms of the new trial",
                column="effects",
                value=extra,
                fix=f"give effects only for {arms}, or add the arm",
            )
        )
    if effects and control_arm in effects:
        probs.append(
            Problem(
                "an effect was given for the control arm; effects are differences from the control",
                column="effects",
                value=control_arm,
                fix="drop the control arm's effect",
            )
        )
    InputError.collect(probs)
    ch = est.changes[est.changes["outcome"] == primary].set_index("arm")
    m = ch["mean_change"]
    own = control_arm in ch.index and bool(np.isfinite(m[control_arm]))
    base = float(m[control_arm]) if own else float(control_change)
    se_base = float(ch.loc[control_arm, "se"]) if own else 0.0  # an assumed control change is taken as known
    basis = "pilot_control" if own else "assumed_control_change"
    out: dict[str, _Effect] = {}
    missing = []
    for a in arms:
        if a == control_arm:
            continue
        if effects is not None and a in effects:
            out[a] = _Effect(float(effects[a]), "given", float("nan"))
        elif a in ch.index and np.isfinite(m[a]):
            r = ch.loc[a]
            se = float(np.hypot(r["se"], se_base))
            q = float(t_critical(r["ci_level"], r["df"]))
            d = float(m[a]) - base
            out[a] = _Effect(d, basis, base, d - q * se, d + q * se)
        else:
            missing.append(a)
    if missing:
        raise InputError(
            Problem(
                f"arm(s) {missing} are not in the pilot, so their effect is unknown",
                column="arms",
                fix="give their effects (difference from control) explicitly",
            )
        )
    return out


def _scenarios(
    est: PilotEstimates,
    primary: str,
    arms: Sequence[str],
    control_arm: str,
    control_change: float,
    effects: Mapping[str, float] | None,
) -> tuple[dict[str, _Effect], dict[str, tuple[float, float]]]:
    o = est.outcomes.set_index("outcome")
    if primary not in o.index:
        raise InputError(
            Problem(
                f"outcome {primary!r} is not in the pilot data",
                column="primary",
                value=primary,
                fix=f"choose one of {list(o.index)}",
            )
        )
    eff = _planned_effects(est, primary, arms, control_arm, control_change, effects)
    r = o.loc[primary]
    scen = {
        "pilot": (float(r["sd"]), float(r["rho"])),
        "conservative": (float(r["sd_ci_high"]), float(max(r["rho_ci_low"], 0.0))),
    }
    return eff, scen


def plan_trial(
    estimates: PilotEstimates,
    *,
    primary: str,
    arms: Sequence[str] = ("CON", "AT", "RT"),
    control_arm: str = "CON",
    control_change: float = 0.0,
    effects: Mapping[str, float] | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    multiplicity: str = "holm",
    n_outcomes: int = 1,
    dropout: float = 0.1,
    allocation: Mapping[str, int] | None = None,
    method: str = "exact",
    analysis: str = "ancova",
    sequence_position: int = 0,
) -> pd.DataFrame:
    """Sample size of a controlled trial of the pilot's arms for one primary outcome.

    Parameters
    ----------
    estimates : PilotEstimates
    primary : str
        The new trial's primary outcome.
    arms, control_arm : the new trial's arms (the control need not be in the pilot).
    control_change : float
        Assumed mean change in the control arm (outcome units), used only when the pilot has no
        control arm: the planned effect of an arm is then its pilot mean change minus this. With the
        control arm in the pilot, its own mean change is subtracted instead (``effect_basis``).
    effects : mapping, optional
        Planned differences from control that override the pilot (e.g. a minimal important difference).
    power, alpha, multiplicity, n_outcomes, dropout, allocation, method, analysis, sequence_position
        As :func:`skintrial.plan.power.ancova_sample_size`.

    Returns
    -------
    DataFrame
        :data:`PLAN_COLUMNS`: one row per scenario (``pilot``, ``conservative``) × contrast;
        ``effect_basis`` and ``control_change`` say where each effect came from (module notes).

    Examples
    --------
    >>> from skintrial.plan.synthetic import synthetic_study
    >>> s = synthetic_study(seed=1)
    >>> long = s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")
    >>> plan = plan_trial(pilot_estimates(long, baseline_visit="week0"), primary="r2")
    >>> plan[["scenario", "contrast", "n_enrolled_arm"]].to_dict("list")
    {'scenario': ['pilot', 'pilot', 'conservative', 'conservative'], 'contrast': ['AT - CON', 'RT - CON', 'AT - CON', 'RT - CON'], 'n_enrolled_arm': [35, 35, 77, 77]}
    """
    eff, scen = _scenarios(estimates, primary, arms, control_arm, control_change, effects)
    parts = []
    for name, (sd, rho) in scen.items():
        t = ancova_sample_size(
            effects={a: e.effect for a, e in eff.items()},
            sd=sd,
            rho=rho,
            power=power,
            allocation=allocation,
            control_arm=control_arm,
            alpha=alpha,
            multiplicity=multiplicity,
            n_outcomes=n_outcomes,
            dropout=dropout,
            method=method,
            analysis=analysis,
            sequence_position=sequence_position,
        )
        parts.append(
            t.assign(
                scenario=name,
                effect_basis=[eff[a].basis for a in t["arm"]],
                control_change=[eff[a].control_change for a in t["arm"]],
                effect_ci_low=[eff[a].ci_low for a in t["arm"]],
                effect_ci_high=[eff[a].ci_high for a in t["arm"]],
                effect_ci_level=float(estimates.changes["ci_level"].iloc[0]),
            )
        )
    return pd.concat(parts, ignore_index=True)[list(PLAN_COLUMNS)]


def power_curve(
    estimates: PilotEstimates,
    *,
    primary: str,
    n_per_arm: Sequence[int] = tuple(range(10, 151, 5)),
    arms: Sequence[str] = ("CON", "AT", "RT"),
    control_arm: str = "CON",
    control_change: float = 0.0,
    effects: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    multiplicity: str = "holm",
    n_outcomes: int = 1,
    dropout: float = 0.1,
    method: str = "exact",
    analysis: str = "ancova",
    sequence_position: int = 0,
) -> pd.DataFrame:
    """Power of each contrast against the number enrolled per arm (equal arms), for both scenarios.

    Parameters as :func:`plan_trial`; ``n_per_arm`` are the numbers enrolled per arm.

    Returns
    -------
    DataFrame
        :data:`CURVE_COLUMNS`, one row per scenario × contrast × n (what
        :func:`skintrial.report.plot_power_curve` draws).

    Examples
    --------
    >>> from skintrial.plan.synthetic import synthetic_study
    >>> s = synthetic_study(seed=1)
    >>> long = s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")
    >>> c = power_curve(pilot_estimates(long, baseline_visit="week0"), primary="r2", n_per_arm=[10, 40])
    >>> c.query("scenario == 'pilot'")["power"].round(3).tolist()
    [0.253, 0.864, 0.561, 0.998]
    """
    if multiplicity not in MULTIPLICITY:
        raise InputError(
            Problem(
                f"multiplicity {multiplicity!r} has no analytic power formula",
                column="multiplicity",
                value=multiplicity,
                fix=f"use one of {', '.join(MULTIPLICITY)}",
            )
        )
    eff, scen = _scenarios(estimates, primary, arms, control_arm, control_change, effects)
    n = np.asarray(list(n_per_arm), dtype=float)
    k = len(eff) + 1
    m = n_outcomes * len(eff)
    a_test = alpha_per_test(alpha, multiplicity, m)
    keep = 1.0 - dropout
    parts = []
    for name, (sd, rho) in scen.items():
        for j, (a, (e, basis, c0, _, _)) in enumerate(eff.items()):
            pw, _, _ = contrast_power(
                effect=e,
                sd=sd,
                rho=rho,
                n_arm=n * keep,
                n_control=n * keep,
                n_total=k * n * keep,
                n_arms=k,
                alpha=a_test,
                method=method,
                analysis=analysis,
            )
            parts.append(
                pd.DataFrame(
                    {
                        "scenario": name,
                        "contrast": f"{a} - {control_arm}",
                        "effect": e,
                        "effect_basis": basis,
                        "control_change": c0,
                        "sd": sd,
                        "rho": rho,
                        "n_per_arm": n.astype(int),
                        "n_enrolled_total": (k * n).astype(int),
                        "alpha_test": a_test,
                        "power": pw,
                        "power_bound": power_bound(
                            multiplicity, n_hypotheses=m, position=sequence_position + j
                        ),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]


def pilot_design(
    estimates: PilotEstimates,
    *,
    outcomes: Sequence[str],
    primary: str,
    arms: Sequence[str] = ("CON", "AT", "RT"),
    control_arm: str = "CON",
    control_change: float = 0.0,
    effects: Mapping[str, float] | None = None,
    scenario: str = "pilot",
) -> pd.DataFrame:
    """Design table of :func:`skintrial.plan.simulate.simulate_power` for every outcome of an analysis plan.

    The ``primary`` outcome's effects follow :func:`plan_trial` (``effects``, else the pilot's own
    control arm, else ``control_change``). Every other outcome takes the pilot's estimate: arm mean
    change minus the pilot control arm's mean change, or minus 0 (no change in controls) when the
    pilot has no control arm (``control_change`` is in the primary outcome's unit and is not used for
    them). An arm of the new trial with no pilot data for an outcome other than the primary is
    simulated at effect 0 (``effect_basis = "no_pilot_estimate"``). ``sd`` and ``rho`` are the pilot
    point estimates (``scenario="pilot"``) or the conservative limits (``"conservative"``).

    Returns
    -------
    DataFrame
        :data:`PILOT_DESIGN_COLUMNS`, one row per outcome × non-control arm.

    Examples
    --------
    >>> from skintrial.plan.synthetic import synthetic_study
    >>> s = synthetic_study(seed=1)
    >>> long = s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")
    >>> d = pilot_design(pilot_estimates(long, baseline_visit="week0"), outcomes=["r2", "r5"], primary="r2",
    ...                  effects={"AT": 0.03})
    >>> d[["outcome", "arm", "effect_basis"]].values.tolist()
    [['r2', 'AT', 'given'], ['r2', 'RT', 'assumed_control_change'], ['r5', 'AT', 'assumed_control_change'], ['r5', 'RT', 'assumed_control_change']]
    """
    if scenario not in SCENARIOS:
        raise InputError(
            Problem(f"unknown scenario {scenario!r}", column="scenario", fix=f"use one of {SCENARIOS}")
        )
    o = estimates.outcomes.set_index("outcome")
    unknown = [x for x in [primary, *outcomes] if x not in o.index]
    if unknown:
        raise InputError(
            Problem(
                f"outcome(s) {unknown} are not in the pilot data",
                column="outcomes",
                value=unknown,
                fix=f"choose among {list(o.index)}",
            )
        )
    rows = []
    for name in dict.fromkeys([primary, *outcomes]):
        if name == primary:
            eff = _planned_effects(estimates, name, arms, control_arm, control_change, effects)
        else:
            eff = _other_effects(estimates, name, arms, control_arm)
        r = o.loc[name]
        sd, rho = (
            (float(r["sd"]), float(r["rho"]))
            if scenario == "pilot"
            else (float(r["sd_ci_high"]), float(max(r["rho_ci_low"], 0.0)))
        )
        rows += [(name, a, e.effect, sd, rho, e.basis, e.control_change) for a, e in eff.items()]
    out = pd.DataFrame(rows, columns=list(PILOT_DESIGN_COLUMNS))
    return out[out["outcome"].isin(list(outcomes))].reset_index(drop=True)


def _other_effects(
    est: PilotEstimates, outcome: str, arms: Sequence[str], control_arm: str
) -> dict[str, _Effect]:
    ch = est.changes[est.changes["outcome"] == outcome].set_index("arm")["mean_change"]
    own = control_arm in ch.index and bool(np.isfinite(ch[control_arm]))
    base = float(ch[control_arm]) if own else 0.0
    basis = "pilot_control" if own else "assumed_control_change"
    out = {}
    for a in (str(x) for x in arms):
        if a == control_arm:
            continue
        ok = a in ch.index and bool(np.isfinite(ch[a]))
        out[a] = (
            _Effect(float(ch[a]) - base, basis, base)
            if ok
            else _Effect(0.0, "no_pilot_estimate", float("nan"))
        )
    return out
