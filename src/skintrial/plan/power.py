"""Analytic power and sample size for a randomised pre/post trial analysed by ANCOVA.

The model
---------
Each participant has a baseline ``x`` and a follow-up ``y`` of the primary outcome, both with SD
``sd`` and correlation ``rho``. The primary analysis is the ANCOVA of follow-up on baseline + arm,
and each arm is compared with the control arm. Conditional on the baselines, the adjusted difference
``arm - control`` has variance

    sigma_e^2 * (1/n_arm + 1/n_control) * (1 + u),     sigma_e^2 = sd^2 (1 - rho^2),

where ``u = (xbar_arm - xbar_control)^2 / ((1/n_arm + 1/n_control) * Sxx_within)`` measures the chance
baseline imbalance; its t statistic is noncentral t with ``df = N - k - 1`` (N analysed, k arms, one
covariate) and noncentrality ``delta / sqrt(var)``. The variance factor ``1 - rho^2`` is Borm, Fransen &
Lemmens (2007): ANCOVA on groups of ``(1 - rho^2) n`` has the power of a t-test on groups of ``n``.

Two ways to treat the baseline (``method``):

``"exact"`` (default)
    The baseline is random, as it is in a trial: ``u * (N - k)`` follows an F(1, N - k) distribution
    (normal baselines), and the power is the noncentral-t power averaged over it by 64-point
    Gauss–Legendre quadrature in probability. This is the unconditional (Shieh 2020) power for one
    covariate; it is what a simulation of the trial reproduces.
``"approx"``
    ``u = 0``: the covariate treated as fixed and balanced. This is G*Power's "ANCOVA: Fixed effects,
    main effects and interactions" with numerator df 1, and is slightly optimistic (by well under one
    percentage point of power at n = 20 per arm).

Other analyses (``analysis``) use the same machinery: ``"change"`` (t-test / ANOVA on change scores,
variance ``2 sd^2 (1 - rho)``, Frison & Pocock 1992) and ``"followup"`` (follow-up only, variance
``sd^2``); both have ``df = N - k`` and no covariate.

Multiplicity
------------
With ``m = n_outcomes * (k - 1)`` hypotheses in the primary family, each contrast is powered at
``alpha / m`` for Bonferroni, and also for Holm, Hochberg and Benjamini–Hochberg: each of them rejects
every hypothesis Bonferroni rejects (their first step tests at ``alpha / m`` and later steps at a
larger level), so ``alpha / m`` gives a *lower bound* on their power, and the ``power_bound`` column
says ``"lower_bound"``. Benjamini–Yekutieli's smallest threshold is ``alpha / (m · H_m)`` with
``H_m = Σ_{i≤m} 1/i``: a p-value below it is rejected whatever the others are, so power at that
level is a lower bound too. For Bonferroni and ``"none"`` (each contrast at ``alpha``) the column says
``"as_tested"``, and so it does for every method when ``m = 1`` (all of them then test the one
hypothesis at ``alpha``). A ``"fixed_sequence"`` tests the hypotheses in order (the family's outcomes in
order, each arm's contrast in arm order), each at the full ``alpha`` until the first failure: the first
hypothesis of the sequence (``sequence_position = 0``) is ``"as_tested"`` at ``alpha``; a later one is
tested only after every earlier one was rejected, so its power at ``alpha`` is an ``"upper_bound"``.
For the power of the whole pre-specified analysis (Holm, a sequence, gatekeeping, several outcomes,
"all contrasts significant") use :func:`skintrial.plan.simulate.simulate_power`.

Dropout
-------
``n_per_arm`` counts participants *enrolled*; the analysed numbers are ``n (1 - dropout)`` (the
expected value; ANCOVA analyses completers). Sample sizes are searched on the analysed numbers and
inflated: ``n_enrolled = ceil(n_analysed / (1 - dropout))``.

G*Power
-------
Every row states the inputs that reproduce its ``"approx"`` power in G*Power 3.1: test family
"F tests", statistical test "ANCOVA: Fixed effects, main effects and interactions" (or "ANOVA: Fixed
effects, special, main effects and interactions" without a covariate), effect size
``f = sqrt(lambda / N)`` with ``lambda = ncp^2`` (for two equal arms of a two-arm trial f = d / 2),
alpha = the tested alpha, numerator df 1, number of groups k, number of covariates (1 for ANCOVA),
total sample size N analysed; ``gpower_power`` is the power G*Power then reports (our ``"approx"``). ``gpower_effect_size_d`` is the standardised difference
``delta / sigma_e`` for G*Power's t test of two independent means (whose df is one larger than the
ANCOVA's).

Checked against statsmodels ``TTestIndPower`` and ``FTestAnovaPower`` (follow-up analysis), a
G*Power 3.1 protocol (f = 0.3692745, N = 80, 4 groups: power 0.9033556), the Borm et al. formula,
and simulation through the engine, in ``tests/plan/test_power.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from skintrial.errors import InputError, Problem
from skintrial.plan._power_checks import MULTIPLICITY, _check_inputs, _check_sizes
from skintrial.plan._values import plain
from skintrial.stats import t_quantile

__all__ = [
    "POWER_COLUMNS",
    "ancova_power",
    "ancova_sample_size",
    "contrast_power",
    "alpha_per_test",
    "power_bound",
    "LOWER_BOUND_METHODS",
    "MULTIPLICITY",
]

POWER_COLUMNS: tuple[str, ...] = (
    "contrast",
    "arm",
    "control_arm",
    "effect",
    "sd",
    "rho",
    "analysis",
    "method",
    "n_enrolled_arm",
    "n_enrolled_control",
    "n_enrolled_total",
    "dropout",
    "n_analysed_arm",
    "n_analysed_control",
    "n_analysed_total",
    "alpha",
    "multiplicity",
    "n_hypotheses",
    "alpha_test",
    "sigma_e",
    "df",
    "ncp",
    "power",
    "power_bound",
    "target_power",
    "gpower_test_family",
    "gpower_statistical_test",
    "gpower_effect_size_f",
    "gpower_effect_size_d",
    "gpower_alpha",
    "gpower_power",
    "gpower_numerator_df",
    "gpower_groups",
    "gpower_covariates",
    "gpower_total_n",
)
"""Columns of :func:`ancova_power` and :func:`ancova_sample_size` (one row per arm-vs-control contrast)."""

ANALYSES = ("ancova", "change", "followup")
METHODS = ("exact", "approx")
LOWER_BOUND_METHODS = ("holm", "hochberg", "bh", "by")
"""Multiplicity methods whose analytic power (at their smallest threshold) is a lower bound: ``power_bound``."""
POWER_BOUNDS = ("as_tested", "lower_bound", "upper_bound")
"""Values of ``power_bound`` (module notes)."""
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_PROBS = (_NODES + 1.0) / 2.0
_WEIGHTS = _WEIGHTS / 2.0


def power_bound(multiplicity: str, *, n_hypotheses: int | None = None, position: int = 0) -> str:
    """What the analytic power of one hypothesis is: ``as_tested``, ``lower_bound`` or ``upper_bound``.

    ``n_hypotheses`` (m) of 1 makes every method test at ``alpha`` (``as_tested``); ``None`` means
    more than one. ``position`` is the hypothesis' place in a ``fixed_sequence`` (0 = tested first).

    Examples
    --------
    >>> power_bound("holm"), power_bound("bonferroni"), power_bound("holm", n_hypotheses=1)
    ('lower_bound', 'as_tested', 'as_tested')
    >>> power_bound("fixed_sequence", position=0), power_bound("fixed_sequence", position=1)
    ('as_tested', 'upper_bound')
    """
    if n_hypotheses is not None and int(n_hypotheses) <= 1:
        return "as_tested"
    if multiplicity == "fixed_sequence":
        return "as_tested" if int(position) == 0 else "upper_bound"
    return "lower_bound" if multiplicity in LOWER_BOUND_METHODS else "as_tested"


def alpha_per_test(alpha: float, multiplicity: str, n_hypotheses: int) -> float:
    """The per-contrast alpha used for analytic power (module notes).

    ``alpha / m`` for Bonferroni, Holm, Hochberg and BH; ``alpha / (m · H_m)`` for BY; ``alpha`` for a
    fixed sequence and for no adjustment.

    Examples
    --------
    >>> alpha_per_test(0.05, "holm", 4)
    0.0125
    >>> round(alpha_per_test(0.05, "by", 4), 6)  # 0.05 / (4 * (1 + 1/2 + 1/3 + 1/4))
    0.006
    """
    m = int(n_hypotheses)
    if multiplicity in ("none", "fixed_sequence"):
        return float(alpha)
    if multiplicity == "by":
        return float(alpha) / (m * float(np.sum(1.0 / np.arange(1, m + 1))))
    return float(alpha) / m


def _variance_factor(analysis: str, rho: np.ndarray) -> tuple[np.ndarray, int]:
    """(variance of the analysed quantity / sd^2, number of covariates)."""
    if analysis == "ancova":
        return 1.0 - rho**2, 1
    if analysis == "change":
        return 2.0 * (1.0 - rho), 0
    return np.ones_like(rho), 0


def _t_power(ncp: np.ndarray, df: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    tcrit = -t_quantile(alpha / 2.0, df)  # two-sided critical value, accurate for a tiny alpha
    ncp = np.abs(ncp)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        upper = special.nctdtr(df, ncp, tcrit)  # P(T <= tcrit)
        lower = special.nctdtr(df, ncp, -tcrit)  # P(T <= -tcrit)
        # the noncentral-t CDF underflows to NaN far in its tail (e.g. df 380, ncp 7, t -2.5, where
        # it is below 1e-20): there the normal approximation is as good as exact
        upper = np.where(np.isnan(upper), sps.norm.cdf(tcrit - ncp), upper)
        lower = np.where(np.isnan(lower), sps.norm.cdf(-tcrit - ncp), lower)
    return np.clip(1.0 - upper + lower, 0.0, 1.0)


def contrast_power(
    *,
    effect: float | np.ndarray,
    sd: float | np.ndarray,
    rho: float | np.ndarray,
    n_arm: float | np.ndarray,
    n_control: float | np.ndarray,
    n_total: float | np.ndarray,
    n_arms: int,
    alpha: float | np.ndarray,
    analysis: str = "ancova",
    method: str = "exact",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power of one two-sided arm-vs-control contrast, broadcast over all array arguments.

    ``n_*`` are the analysed numbers (they may be fractional: expected numbers after dropout).
    Returns ``(power, ncp, df)`` where ``ncp`` is the noncentrality at balanced baselines.

    Examples
    --------
    >>> pw, ncp, df = contrast_power(effect=0.5, sd=1.0, rho=0.0, n_arm=64, n_control=64,
    ...                              n_total=128, n_arms=2, alpha=0.05, analysis="followup")
    >>> round(float(pw), 4), float(df)
    (0.8015, 126.0)
    """
    if analysis not in ANALYSES:
        raise InputError(f"unknown analysis {analysis!r}", fix=f"use one of {', '.join(ANALYSES)}")
    if method not in METHODS:
        raise InputError(f"unknown power method {method!r}", fix=f"use one of {', '.join(METHODS)}")
    effect, sd, rho, n_arm, n_control, n_total, alpha = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (effect, sd, rho, n_arm, n_control, n_total, alpha))
    )
    factor, q = _variance_factor(analysis, rho)
    sigma_e = sd * np.sqrt(factor)
    harmonic = 1.0 / n_arm + 1.0 / n_control
    with np.errstate(divide="ignore", invalid="ignore"):
        ncp = effect / (sigma_e * np.sqrt(harmonic))
    df = n_total - n_arms - q
    if method == "approx" or q == 0:
        power = _t_power(ncp, df, alpha)
    else:
        df_w = (n_total - n_arms)[..., None]
        u = sps.f.ppf(_PROBS, 1.0, df_w) / df_w  # chance baseline imbalance, (..., 64)
        pw = _t_power(ncp[..., None] / np.sqrt(1.0 + u), df[..., None], alpha[..., None])
        power = pw @ _WEIGHTS
    bad = ~(df > 0) | ~(sigma_e > 0)
    power = np.where(bad, np.nan, power)
    return power, ncp, df


def _arm_table(
    effects: Mapping[str, float] | float, control_arm: str, n_per_arm: int | Mapping[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    eff = {"treatment": float(effects)} if isinstance(effects, int | float) else dict(effects)
    eff.pop(control_arm, None)
    arms = [control_arm, *eff]
    if isinstance(n_per_arm, Mapping):
        missing = [a for a in arms if a not in n_per_arm]
        if missing:
            raise InputError(
                f"no sample size given for arm(s) {missing}",
                fix=f"give n_per_arm for every arm: {arms}",
            )
        n = {a: float(n_per_arm[a]) for a in arms}
    else:
        n = {a: float(n_per_arm) for a in arms}
    return eff, n


def _table(
    eff,
    n_enrolled,
    *,
    control_arm,
    sd,
    rho,
    alpha,
    multiplicity,
    n_outcomes,
    dropout,
    analysis,
    method,
    target_power,
    sequence_position=0,
) -> pd.DataFrame:
    arms = list(eff)
    k = len(arms) + 1
    m = int(n_outcomes) * len(arms)
    a_test = alpha_per_test(alpha, multiplicity, m)
    keep = 1.0 - dropout
    n_an = {a: n_enrolled[a] * keep for a in n_enrolled}
    n_tot = sum(n_an.values())
    e = np.array([eff[a] for a in arms])
    n_arm = np.array([n_an[a] for a in arms])
    power, ncp, df = contrast_power(
        effect=e,
        sd=sd,
        rho=rho,
        n_arm=n_arm,
        n_control=n_an[control_arm],
        n_total=n_tot,
        n_arms=k,
        alpha=a_test,
        analysis=analysis,
        method=method,
    )
    gp_power, _, _ = contrast_power(
        effect=e,
        sd=sd,
        rho=rho,
        n_arm=n_arm,
        n_control=n_an[control_arm],
        n_total=n_tot,
        n_arms=k,
        alpha=a_test,
        analysis=analysis,
        method="approx",
    )
    factor, q = _variance_factor(analysis, np.asarray(rho, dtype=float))
    sigma_e = float(sd * np.sqrt(factor))
    test = (
        "ANCOVA: Fixed effects, main effects and interactions"
        if q
        else "ANOVA: Fixed effects, special, main effects and interactions"
    )
    out = pd.DataFrame(
        {
            "contrast": [f"{a} - {control_arm}" for a in arms],
            "arm": arms,
            "control_arm": control_arm,
            "effect": e,
            "sd": float(sd),
            "rho": float(rho),
            "analysis": analysis,
            "method": method,
            "n_enrolled_arm": [int(n_enrolled[a]) for a in arms],
            "n_enrolled_control": int(n_enrolled[control_arm]),
            "n_enrolled_total": int(sum(n_enrolled.values())),
            "dropout": float(dropout),
            "n_analysed_arm": n_arm,
            "n_analysed_control": n_an[control_arm],
            "n_analysed_total": n_tot,
            "alpha": float(alpha),
            "multiplicity": multiplicity,
            "n_hypotheses": m,
            "alpha_test": a_test,
            "sigma_e": sigma_e,
            "df": df,
            "ncp": ncp,
            "power": power,
            "power_bound": [
                power_bound(multiplicity, n_hypotheses=m, position=sequence_position + j)
                for j in range(len(arms))
            ],
            "target_power": float(target_power) if target_power is not None else np.nan,
            "gpower_test_family": "F tests",
            "gpower_statistical_test": test,
            "gpower_effect_size_f": np.abs(ncp) / np.sqrt(n_tot),
            "gpower_effect_size_d": np.abs(e) / sigma_e,
            "gpower_alpha": a_test,
            "gpower_power": gp_power,
            "gpower_numerator_df": 1,
            "gpower_groups": k,
            "gpower_covariates": q,
            "gpower_total_n": n_tot,
        }
    )
    return out[list(POWER_COLUMNS)]


def ancova_power(
    *,
    effects: Mapping[str, float] | float,
    sd: float,
    rho: float,
    n_per_arm: int | Mapping[str, float],
    control_arm: str = "CON",
    alpha: float = 0.05,
    multiplicity: str = "holm",
    n_outcomes: int = 1,
    dropout: float = 0.0,
    analysis: str = "ancova",
    method: str = "exact",
    sequence_position: int = 0,
) -> pd.DataFrame:
    """Power of each arm-vs-control contrast of a pre/post trial analysed by ANCOVA.

    Parameters
    ----------
    effects : mapping or float
        True difference in mean follow-up (equivalently in mean change) of each arm from the control
        arm, in the outcome's unit: ``{"AT": 0.03, "RT": 0.05}``. A single number means one arm
        called ``"treatment"``.
    sd : float
        SD of the outcome (the same at baseline and follow-up).
    rho : float
        Correlation between baseline and follow-up.
    n_per_arm : int or mapping
        Participants enrolled per arm (a mapping gives unequal arms).
    control_arm : str
    alpha : float
        Family-wise two-sided significance level.
    multiplicity : {"holm", "hochberg", "bh", "by", "bonferroni", "fixed_sequence", "none"}
        Holm, Hochberg and BH are powered at the Bonferroni level and BY at ``alpha / (m · H_m)``, a
        lower bound on their power; a fixed sequence at ``alpha`` (``power_bound``; module notes).
    n_outcomes : int
        Primary outcomes in the family (each adds ``k - 1`` hypotheses).
    dropout : float
        Expected fraction lost to follow-up.
    analysis : {"ancova", "change", "followup"}
    method : {"exact", "approx"}
        Random baseline (exact) or G*Power's fixed covariate (approx).
    sequence_position : int
        With ``fixed_sequence``: how many hypotheses are tested before this outcome's first contrast
        (0 when it is the first outcome of its family).

    Returns
    -------
    DataFrame
        One row per contrast, columns :data:`POWER_COLUMNS`, including the G*Power inputs.

    Examples
    --------
    >>> t = ancova_power(effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.6, n_per_arm=40)
    >>> t[["contrast", "alpha_test", "df", "power"]].round(4).to_dict("list")
    {'contrast': ['AT - CON', 'RT - CON'], 'alpha_test': [0.025, 0.025], 'df': [116.0, 116.0], 'power': [0.6955, 0.6955]}
    """
    _check_inputs(
        sd=sd,
        rho=rho,
        alpha=alpha,
        dropout=dropout,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        effects=effects,
        control_arm=control_arm,
    )
    eff, n = _arm_table(effects, control_arm, n_per_arm)
    _check_sizes(n, dropout)
    return _table(
        eff,
        n,
        control_arm=control_arm,
        sd=sd,
        rho=rho,
        alpha=alpha,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        dropout=dropout,
        analysis=analysis,
        method=method,
        target_power=None,
        sequence_position=sequence_position,
    )


def ancova_sample_size(
    *,
    effects: Mapping[str, float] | float,
    sd: float,
    rho: float,
    power: float = 0.8,
    allocation: Mapping[str, int] | None = None,
    control_arm: str = "CON",
    alpha: float = 0.05,
    multiplicity: str = "holm",
    n_outcomes: int = 1,
    dropout: float = 0.0,
    analysis: str = "ancova",
    method: str = "exact",
    max_n: int = 1_000_000,
    sequence_position: int = 0,
) -> pd.DataFrame:
    """Smallest trial in which every arm-vs-control contrast reaches the target power.

    The search runs over the allocation unit ``m`` (arm sizes ``m * allocation[arm]`` analysed):
    doubling until the power is reached, then bisection, so the answer is the exact smallest
    integer unit. Enrolled numbers are the analysed ones inflated for dropout and rounded up. With a
    ``fixed_sequence`` every contrast reaches the target at ``alpha``; for a contrast later in the
    sequence that is only necessary (``power_bound = "upper_bound"``): simulate the sequence.

    Parameters
    ----------
    power : float
        Target power of *each* contrast (the smallest over contrasts decides).
    allocation : mapping, optional
        Integer allocation ratio per arm, e.g. ``{"CON": 1, "AT": 2, "RT": 2}``; equal by default.
    Other parameters
        As :func:`ancova_power`.

    Returns
    -------
    DataFrame
        :func:`ancova_power`'s table at the enrolled sizes found, ``target_power`` filled.

    Examples
    --------
    >>> t = ancova_sample_size(effects=0.5, sd=1.0, rho=0.0, power=0.8, analysis="followup",
    ...                        control_arm="control", multiplicity="none")
    >>> t[["n_enrolled_arm", "n_enrolled_control", "power"]].round(4).to_dict("records")
    [{'n_enrolled_arm': 64, 'n_enrolled_control': 64, 'power': 0.8015}]
    """
    _check_inputs(
        sd=sd,
        rho=rho,
        alpha=alpha,
        dropout=dropout,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        effects=effects,
        control_arm=control_arm,
    )
    if not 0 < power < 1:
        raise InputError(
            Problem(
                "target power must lie between 0 and 1",
                column="power",
                value=plain(power),
                fix="e.g. 0.8 or 0.9",
            )
        )
    eff, _ = _arm_table(effects, control_arm, 1)
    arms = [control_arm, *eff]
    ratio = {a: 1 for a in arms} if allocation is None else {a: int(allocation.get(a, 0)) for a in arms}
    if any(r < 1 for r in ratio.values()):
        raise InputError(
            Problem(
                "every arm needs a positive integer allocation ratio",
                column="allocation",
                value=plain(dict(allocation or {})),
                fix=f"give ratios for {arms}",
            )
        )
    if not all(abs(v) > 0 for v in eff.values()):
        raise InputError(
            Problem(
                "an effect of zero cannot be powered",
                column="effects",
                value=plain(eff),
                fix="give the smallest difference worth detecting",
            )
        )
    kw = dict(
        control_arm=control_arm,
        sd=sd,
        rho=rho,
        alpha=alpha,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        dropout=0.0,
        analysis=analysis,
        method=method,
        target_power=power,
        sequence_position=sequence_position,
    )

    def min_power(m: int) -> float:
        t = _table(eff, {a: float(m * ratio[a]) for a in arms}, **kw)
        p = t["power"].to_numpy()
        return float(np.min(np.where(np.isfinite(p), p, 0.0)))

    lo, hi = 1, 2
    while min_power(hi) < power:
        lo, hi = hi, hi * 2
        if hi > max_n:
            raise InputError(
                Problem(
                    f"more than {max_n} participants per arm would be needed",
                    fix="check the effect, SD and rho, or raise max_n",
                )
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if min_power(mid) < power else (lo, mid)
    m = hi if min_power(lo) < power else lo
    enrolled = {a: float(math.ceil(m * ratio[a] / (1.0 - dropout) - 1e-9)) for a in arms}
    return _table(eff, enrolled, **{**kw, "dropout": dropout})
