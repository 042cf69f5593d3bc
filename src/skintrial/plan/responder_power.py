"""Power and sample size for a responder outcome: two proportions, analytic and by simulation.

Analytic (R ``power.prop.test``, two-sided, ``strict = FALSE``): with responder proportions p₀
(control) and p₁ (treatment), n per arm and ``z = qnorm(1 − alpha/2)``,

    power = Φ((√n |p₁ − p₀| − z √((p₀ + p₁)(q₀ + q₁)/2)) / √(p₀q₀ + p₁q₁))

and the n per arm for a target power solves it in closed form (rounded up to a whole participant by
:func:`responder_sample_size`). By simulation: ``n_sims`` trials of binomial responders per arm,
each tested by the unadjusted Wald z test of the risk difference (the ``responders`` table's
unadjusted row), batched over trials; the power with its Monte-Carlo SE and the seed. Adjustment for a
prognostic baseline only adds power (FDA 2023), so these are conservative for the standardised
analysis. Checked against R in ``tests/reference/responder_power``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skintrial.errors import InputError, Problem
from skintrial.stats import t_cdf, z_critical, z_pvalue

__all__ = ["responder_power", "responder_sample_size", "simulated_responder_power", "SimulatedPower"]


def _check(p0: float, p1: float, alpha: float) -> None:
    for name, v in (("p_control", p0), ("p_treatment", p1)):
        if not 0 < v < 1:
            raise InputError(Problem(f"{name} must lie strictly between 0 and 1", column=name, value=v))
    if p0 == p1:
        raise InputError(
            Problem(
                "p_control equals p_treatment: there is no effect to detect", column="p_treatment", value=p1
            )
        )
    if not 0 < alpha < 1:
        raise InputError(Problem("alpha must lie strictly between 0 and 1", column="alpha", value=alpha))


def responder_power(p_control: float, p_treatment: float, *, n_per_arm: float, alpha: float = 0.05) -> float:
    """Analytic power of the two-sided comparison of two responder proportions (``power.prop.test``).

    Examples
    --------
    >>> round(responder_power(0.35, 0.6, n_per_arm=30), 4)
    0.4913
    """
    _check(p_control, p_treatment, alpha)
    p0, p1 = p_control, p_treatment
    z = float(z_critical(1 - alpha))
    num = np.sqrt(n_per_arm) * abs(p1 - p0) - z * np.sqrt((p0 + p1) * (2 - p0 - p1) / 2)
    return float(t_cdf(num / np.sqrt(p0 * (1 - p0) + p1 * (1 - p1)), np.inf))


def responder_sample_size(
    p_control: float, p_treatment: float, *, power: float = 0.8, alpha: float = 0.05, exact: bool = False
) -> float:
    """Participants per arm for ``power`` (the closed-form root of :func:`responder_power`); rounded up
    to a whole participant unless ``exact``.

    Examples
    --------
    >>> responder_sample_size(0.35, 0.6, power=0.8)
    62
    """
    _check(p_control, p_treatment, alpha)
    if not 0 < power < 1:
        raise InputError(Problem("power must lie strictly between 0 and 1", column="power", value=power))
    p0, p1 = p_control, p_treatment
    z = float(z_critical(1 - alpha))
    zb = float(z_critical(2 * power - 1)) if power > 0.5 else -float(z_critical(1 - 2 * power))
    n = (
        (z * np.sqrt((p0 + p1) * (2 - p0 - p1) / 2) + zb * np.sqrt(p0 * (1 - p0) + p1 * (1 - p1))) / (p1 - p0)
    ) ** 2
    return float(n) if exact else int(np.ceil(n - 1e-9))


@dataclass(frozen=True)
class SimulatedPower:
    """Power estimated from ``n_sims`` simulated trials, its Monte-Carlo SE and the seed."""

    power: float
    mc_error: float
    n_sims: int
    seed: int


def simulated_responder_power(
    p_control: float,
    p_treatment: float,
    *,
    n_per_arm: int,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    seed: int = 20261207,
) -> SimulatedPower:
    """Power by simulation: binomial responders per arm, the unadjusted Wald z test of the risk
    difference (a trial with no variation counts as not significant), batched over trials.

    Examples
    --------
    >>> s = simulated_responder_power(0.35, 0.6, n_per_arm=30, n_sims=20_000, seed=1)
    >>> abs(s.power - responder_power(0.35, 0.6, n_per_arm=30)) < 0.05
    True
    """
    _check(p_control, p_treatment, alpha)
    rng = np.random.default_rng(seed)
    x0 = rng.binomial(n_per_arm, p_control, n_sims) / n_per_arm
    x1 = rng.binomial(n_per_arm, p_treatment, n_sims) / n_per_arm
    se = np.sqrt((x0 * (1 - x0) + x1 * (1 - x1)) / n_per_arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 - x0) / se, np.nan)
    p = z_pvalue(z)
    hit = np.isfinite(p) & (p < alpha)
    power = float(hit.mean())
    return SimulatedPower(power, float(np.sqrt(power * (1 - power) / n_sims)), n_sims, seed)
