"""Power and sample size of a longitudinal (cLDA / MMRM) trial with dropout, analytic and by simulation.

Analytic (Lu, Luo & Chen 2008, formula 3; R ``longpower::power.mmrm``). Visits 1..J (the baseline
first), a visit covariance Σ = D R D (R the correlation across visits, D the SDs per visit) and
monotone dropout: a fraction ``r_j`` of an arm is still observed at visit j (``r_1 ≥ r_2 ≥ … ≥ r_J``).
The participants whose last visit is j (a fraction ``r_j − r_{j+1}``, ``r_{J+1} = 0``) inform the
arm's visit means through ``Σ_{1:j}⁻¹``, so the information per participant of an arm is

    I = Σ_j (r_j − r_{j+1}) [Σ_{1:j}⁻¹ padded with zeros to J × J].

With a free mean per arm at every visit (LLC's MMRM, ``constrained=False``) the variance of the
difference at the last visit is ``σ_J² (φ_t/n_t + φ_c/n_c)``, ``φ = [I_R⁻¹]_{JJ}`` computed with the
correlation R: exactly ``longpower::power.mmrm``. cLDA (``constrained=True``, the study's analysis,
:func:`skintrial.stats.clda`) shares the baseline mean between the arms (Lu, Mehrotra & Liu 2009): the
same per-arm information, mapped through the design of the shared baseline mean and the arm × visit
effects, ``I_θ = n_c X_c' I_c X_c + n_t X_t' I_t X_t``, and the variance is ``[I_θ⁻¹]`` at the last-visit
effect. Power is the normal approximation of LLC and longpower (the far tail left out),

    power = Φ(|δ| / √Var − z_{1−α/2}),

and the n for a target power its closed-form root. By simulation (:func:`simulated_clda_power`):
``n_sims`` trials drawn from the same model, monotone dropout at random (MCAR) with the retention
given, each analysed by the batched cLDA engine (:func:`skintrial.stats.clda`, REML, the df method and
covariance structure of the analysis plan), the last-visit contrast's rejections counted.
Checked against R ``longpower`` in ``tests/reference/clda_power``; docs/clda.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from skintrial.errors import InputError, Problem
from skintrial.plan._values import plain

__all__ = [
    "visit_correlation",
    "clda_power",
    "clda_sample_size",
    "clda_contrast_variance",
    "simulated_clda_power",
    "SimulatedCldaPower",
    "clda_trials",
    "CORRELATION_STRUCTURES",
]

CORRELATION_STRUCTURES = ("ar1", "cs")
"""The correlations across visits :func:`visit_correlation` builds from one ``rho``."""


def visit_correlation(n_visits: int, rho: float, structure: str = "ar1") -> np.ndarray:
    """The correlation across ``n_visits`` equally spaced visits: ``ar1`` (ρ^|i−j|) or ``cs`` (ρ off the
    diagonal).

    Examples
    --------
    >>> visit_correlation(3, 0.5).round(3).tolist()
    [[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]]
    """
    probs = []
    if structure not in CORRELATION_STRUCTURES:
        probs.append(
            Problem(
                f"unknown correlation structure {structure!r}",
                column="correlation",
                value=structure,
                fix=f"use one of {', '.join(CORRELATION_STRUCTURES)}, or give the matrix",
            )
        )
    if not -1 < rho < 1:
        probs.append(
            Problem("rho must lie strictly between -1 and 1", column="rho", value=plain(rho), fix="e.g. 0.6")
        )
    if int(n_visits) < 2:
        probs.append(
            Problem("at least 2 visits (the baseline and one after it)", column="retention", value=n_visits)
        )
    InputError.collect(probs)
    i = np.arange(int(n_visits))
    if structure == "ar1":
        return rho ** np.abs(i[:, None] - i[None, :]).astype(float)
    return np.where(i[:, None] == i[None, :], 1.0, float(rho))


def _retention(r, name: str, J: int | None) -> np.ndarray:
    r = np.asarray(r, dtype=float).ravel()
    fix = "give the fraction still observed at each visit, baseline first, e.g. 1, 0.9, 0.8, 0.7"
    bad = (
        r.size < 2
        or (J is not None and r.size != J)
        or not np.all(np.isfinite(r))
        or np.any(r <= 0)
        or np.any(r > 1)
        or np.any(np.diff(r) > 0)
    )
    if bad:
        raise InputError(
            Problem(
                f"{name} must be fractions in (0, 1], one per visit"
                + (f" ({J} visits)" if J is not None else "")
                + ", never rising (dropout is monotone)",
                column=name,
                value=[plain(x) for x in r],
                fix=fix,
            )
        )
    return r


def _correlation(R, name: str, J: int) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    ok = R.shape == (J, J) and np.all(np.isfinite(R)) and np.allclose(R, R.T) and np.allclose(np.diag(R), 1)
    if ok:
        ok = bool(np.linalg.eigvalsh(R).min() > 1e-10)
    if not ok:
        raise InputError(
            Problem(
                f"{name} must be a positive definite {J} × {J} correlation matrix (one row per visit)",
                column=name,
                fix="give rho and a structure (ar1, cs), or a symmetric matrix with unit diagonal",
            )
        )
    return R


def _sds(sd, J: int) -> np.ndarray:
    s = np.broadcast_to(np.asarray(sd, dtype=float), (J,)) if np.ndim(sd) == 0 else np.asarray(sd, float)
    if s.shape != (J,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError(
            Problem(
                f"sd must be positive: one SD, or one per visit ({J} visits)",
                column="sd",
                value=[plain(x) for x in np.atleast_1d(s)],
                fix="e.g. 1.0, or 0.9, 1.0, 1.1, 1.2",
            )
        )
    return np.array(s)


def _information(sigma: np.ndarray, r: np.ndarray) -> np.ndarray:
    """LLC's information per participant about one arm's visit means: Σ_j (r_j − r_{j+1}) Σ_{1:j}⁻¹."""
    J = len(r)
    r0 = np.r_[r, 0.0]
    info = np.zeros((J, J))
    for j in range(1, J + 1):
        info[:j, :j] += (r0[j - 1] - r0[j]) * np.linalg.inv(sigma[:j, :j])
    return info


def clda_contrast_variance(
    *,
    sd,
    correlation,
    retention,
    retention_control=None,
    correlation_control=None,
    n_control: float = 1.0,
    ratio: float = 1.0,
    constrained: bool = True,
) -> float:
    """Variance of the treatment − control difference at the last visit with ``n_control`` controls and
    ``ratio × n_control`` treated (known covariance, expected dropout).

    Examples
    --------
    >>> R = visit_correlation(2, 0.6)
    >>> round(clda_contrast_variance(sd=1.0, correlation=R, retention=[1, 1], constrained=False), 6)
    2.0
    >>> round(clda_contrast_variance(sd=1.0, correlation=R, retention=[1, 1]), 6)  # ANCOVA: 2 (1 - rho^2)
    1.28
    """
    r_t = _retention(retention, "retention", None)
    J = r_t.size
    r_c = r_t if retention_control is None else _retention(retention_control, "retention_control", J)
    R_t = _correlation(correlation, "correlation", J)
    R_c = R_t if correlation_control is None else _correlation(correlation_control, "correlation_control", J)
    s = _sds(sd, J)
    if not (np.isfinite(ratio) and ratio > 0) or not (np.isfinite(n_control) and n_control > 0):
        raise InputError(
            Problem(
                "ratio and n_control must be positive",
                column="ratio",
                value=[plain(ratio), plain(n_control)],
                fix="ratio is treated per control, e.g. 1 or 2",
            )
        )
    info_t = _information(s[:, None] * R_t * s[None, :], r_t) * (ratio * n_control)
    info_c = _information(s[:, None] * R_c * s[None, :], r_c) * n_control
    if not constrained:
        return float(np.linalg.inv(info_t)[-1, -1] + np.linalg.inv(info_c)[-1, -1])
    # θ = (μ_1..μ_J common to both arms, δ_2..δ_J of treatment): control means X_c θ, treated X_t θ
    X_c = np.hstack([np.eye(J), np.zeros((J, J - 1))])
    X_t = np.hstack([np.eye(J), np.vstack([np.zeros((1, J - 1)), np.eye(J - 1)])])
    info = X_c.T @ info_c @ X_c + X_t.T @ info_t @ X_t
    return float(np.linalg.inv(info)[-1, -1])


def _z(alpha: float, sides: int) -> float:
    if not 0 < alpha < 1 or sides not in (1, 2):
        raise InputError(
            Problem(
                "alpha must lie strictly between 0 and 1, sides be 1 or 2",
                column="alpha",
                value=[plain(alpha), sides],
                fix="e.g. alpha 0.05, two-sided",
            )
        )
    return float(-special.ndtri(alpha / sides))


def _delta(delta: float) -> float:
    if not (np.isfinite(delta) and delta != 0):
        raise InputError(
            Problem(
                "the difference to detect at the last visit must be finite and not 0",
                column="delta",
                value=plain(delta),
                fix="give treatment minus control at the last visit, e.g. 0.5",
            )
        )
    return float(delta)


def clda_power(
    delta: float,
    *,
    n_per_arm: float,
    sd,
    correlation,
    retention,
    retention_control=None,
    correlation_control=None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    sides: int = 2,
    constrained: bool = True,
) -> float:
    """Power to detect ``delta`` (treatment − control at the last visit) with ``n_per_arm`` controls and
    ``ratio × n_per_arm`` treated: Lu, Luo & Chen (2008); ``constrained=False`` is
    ``longpower::power.mmrm`` (``N = (1 + ratio) n_per_arm``, ``lambda = ratio``, group a the treated).

    ``retention`` is the fraction of the treated arm (and of the controls, unless
    ``retention_control``) still observed at each visit, baseline first; ``correlation`` the visits'
    correlation matrix (:func:`visit_correlation`); ``sd`` one SD or one per visit.

    Examples
    --------
    >>> R = visit_correlation(4, 0.25, "cs")
    >>> round(clda_power(0.5, n_per_arm=87, sd=1, correlation=R, retention=[1, .9, .8, .7],
    ...                  constrained=False), 4)  # longpower::power.mmrm(N = 174, ...): 0.8000372
    0.8
    """
    d = _delta(delta)
    z = _z(alpha, sides)
    v = clda_contrast_variance(
        sd=sd,
        correlation=correlation,
        retention=retention,
        retention_control=retention_control,
        correlation_control=correlation_control,
        n_control=n_per_arm,
        ratio=ratio,
        constrained=constrained,
    )
    return float(special.ndtr(abs(d) / math.sqrt(v) - z))


def clda_sample_size(
    delta: float,
    *,
    power: float = 0.8,
    sd,
    correlation,
    retention,
    retention_control=None,
    correlation_control=None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    sides: int = 2,
    constrained: bool = True,
    exact: bool = False,
) -> float:
    """Controls to enrol for ``power`` (treated: ``ratio`` times as many), the closed-form root of
    :func:`clda_power`; rounded up to a whole participant unless ``exact``.

    Examples
    --------
    >>> R = visit_correlation(4, 0.25, "cs")
    >>> clda_sample_size(0.5, sd=1, correlation=R, retention=[1, .9, .8, .7])  # cLDA
    84
    >>> round(clda_sample_size(0.5, sd=1, correlation=R, retention=[1, .9, .8, .7], constrained=False,
    ...                        exact=True), 4)  # longpower::power.mmrm(..., power = 0.8)$n2: 86.99175039
    86.9918
    """
    d = _delta(delta)
    z = _z(alpha, sides)
    if not 0 < power < 1:
        raise InputError(Problem("power must lie strictly between 0 and 1", column="power", value=power))
    v1 = clda_contrast_variance(
        sd=sd,
        correlation=correlation,
        retention=retention,
        retention_control=retention_control,
        correlation_control=correlation_control,
        n_control=1.0,
        ratio=ratio,
        constrained=constrained,
    )
    n = v1 * (z + float(special.ndtri(power))) ** 2 / d**2
    return float(n) if exact else int(math.ceil(n - 1e-9))


@dataclass(frozen=True)
class SimulatedCldaPower:
    """Power of the last-visit contrast from ``n_sims`` simulated trials analysed by cLDA: the rejection
    rate, its Monte-Carlo SE, the trials not fitted (``status`` not ok, counted as not rejected), the
    mean estimate and SE of the contrast, the settings and the seed."""

    power: float
    mc_error: float
    n_sims: int
    n_failed: int
    mean_estimate: float
    mean_se: float
    df_method: str
    covariance: str
    seed: int


def _simulate_long(rng, S: int, n: Sequence[int], delta, chol, retention) -> pd.DataFrame:
    """S trials as one long table, one outcome per trial; arm ``a{g}`` (``a0`` the control) has
    ``n[g]`` participants, visit covariance ``chol[g] chol[g]'``, the baseline mean 0 and a mean rising
    linearly to ``delta[g]`` at the last visit; monotone dropout with ``retention[g]`` per visit."""
    J = len(retention[0])
    g = np.repeat(np.arange(len(n)), n)
    N = g.size
    z = rng.standard_normal((S, N, J))
    y = np.empty_like(z)
    for a in range(len(n)):
        y[:, g == a] = z[:, g == a] @ np.asarray(chol[a]).T
    y += (np.asarray(delta, float)[g][:, None] * np.arange(J) / (J - 1))[None]
    u = rng.random((S, N, 1))
    seen = u < np.asarray(retention, float)[g][None]
    y = np.where(seen, y, np.nan)
    visits = np.array([f"v{j}" for j in range(J)])
    return pd.DataFrame(
        {
            "outcome": np.repeat(np.arange(S), N * J),
            "participant_id": np.tile(np.repeat(np.arange(N), J), S),
            "arm": np.tile(np.repeat(np.char.add("a", g.astype(str)), J), S),
            "visit": np.tile(visits, S * N),
            "value": y.ravel(),
        }
    ).dropna(subset=["value"])


def clda_trials(
    rng: np.random.Generator,
    S: int,
    *,
    n: Sequence[int],
    delta: Sequence[float],
    chol: Sequence[np.ndarray],
    retention: Sequence[np.ndarray],
    df_method: str = "kenward_roger",
    covariance: str = "us",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``S`` simulated trials (arm 0 the control; see :func:`simulated_clda_power`) analysed by
    :func:`skintrial.stats.clda`, batched (one trial per outcome): p-value, estimate and SE of each
    treated arm − control at the last visit, arrays (S, arms − 1); NaN where the fit failed."""
    from skintrial.errors import DegenerateFitWarning
    from skintrial.stats import clda

    J = len(retention[0])
    data = _simulate_long(rng, S, n, delta, chol, retention)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)  # a failed trial is counted by the caller
        res = clda(
            data,
            baseline_visit="v0",
            visits=[f"v{j}" for j in range(J)],
            arms=[f"a{a}" for a in range(len(n))],
            reference_arm="a0",
            df_method=df_method,
            covariance=covariance,
        )
    c = res.contrasts[res.contrasts["visit"] == f"v{J - 1}"]
    c = c.assign(outcome=c["outcome"].astype(int))  # the engine names outcomes as text
    out = []
    for col in ("p", "estimate", "se"):
        wide = c.pivot_table(index="outcome", columns="contrast", values=col, aggfunc="first", dropna=False)
        wide = wide.reindex(index=range(S), columns=[f"a{a} - a0" for a in range(1, len(n))])
        bad = c.pivot_table(index="outcome", columns="contrast", values="status", aggfunc="first")
        bad = bad.reindex(index=range(S), columns=wide.columns) != "ok"
        out.append(np.where(bad.to_numpy(), np.nan, wide.to_numpy(dtype=float)))
    return out[0], out[1], out[2]


def simulated_clda_power(
    delta: float,
    *,
    n_per_arm: int,
    sd,
    correlation,
    retention,
    retention_control=None,
    correlation_control=None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    df_method: str = "kenward_roger",
    covariance: str = "us",
    n_sims: int = 1000,
    seed: int = 20261207,
    progress=None,
    client=None,
) -> SimulatedCldaPower:
    """Power by simulating the trial and analysing every simulated trial with the study's cLDA
    (:func:`skintrial.stats.clda`, batched: one trial per outcome), two-sided at ``alpha``.

    ``n_per_arm`` controls and ``round(ratio × n_per_arm)`` treated; the visits' covariance
    ``D R D`` from ``sd`` and ``correlation`` (``correlation_control`` for the controls); monotone
    dropout completely at random with the ``retention`` of each arm (each participant's last visit
    drawn with probabilities ``r_j − r_{j+1}``). Agrees with :func:`clda_power` within Monte-Carlo
    error when n is large enough for the normal approximation (tests/plan/test_clda_power.py).

    The trials are drawn in blocks of :data:`CLDA_BLOCK_TRIALS`, block ``b`` from its own stream
    (:func:`skintrial.plan.simulate.block_rng`), one task per block on ``client`` (a
    ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process); the blocks
    are counted in order, so a seed gives the same result whatever runs it.

    Examples
    --------
    >>> R = visit_correlation(3, 0.6)
    >>> s = simulated_clda_power(0.5, n_per_arm=40, sd=1, correlation=R, retention=[1, .9, .8],
    ...                          n_sims=40, seed=3, df_method="residual")
    >>> s.n_sims, s.n_failed, 0 <= s.power <= 1
    (40, 0, True)
    """
    d = _delta(delta)
    r_t = _retention(retention, "retention", None)
    J = r_t.size
    r_c = r_t if retention_control is None else _retention(retention_control, "retention_control", J)
    R_t = _correlation(correlation, "correlation", J)
    R_c = R_t if correlation_control is None else _correlation(correlation_control, "correlation_control", J)
    s = _sds(sd, J)
    n_c, n_t = int(n_per_arm), int(round(ratio * n_per_arm))
    if n_c != n_per_arm or min(n_c * r_c[-1], n_t * r_t[-1]) < 2 or int(n_sims) < 1:
        raise InputError(
            Problem(
                "n_per_arm must be whole and leave at least 2 participants per arm at the last visit; "
                "n_sims at least 1",
                column="n_per_arm",
                value=[plain(n_per_arm), plain(n_sims)],
                fix="enrol more participants per arm",
            )
        )
    _z(alpha, 2)
    chol_c = np.linalg.cholesky(s[:, None] * R_c * s[None, :])
    chol_t = np.linalg.cholesky(s[:, None] * R_t * s[None, :])
    arms = {"n": [n_c, n_t], "delta": [0.0, d], "chol": [chol_c, chol_t], "retention": [r_c, r_t]}
    rej = est = se = 0.0
    failed = 0
    for P, E, SE in clda_blocks(
        n_sims, seed, [arms], df_method=df_method, covariance=covariance, progress=progress, client=client
    ):
        ok = np.isfinite(P[:, 0, 0])
        failed += P.shape[0] - int(ok.sum())
        rej += float((P[ok, 0, 0] < alpha).sum())
        est += float(E[ok, 0, 0].sum())
        se += float(SE[ok, 0, 0].sum())
    p = rej / n_sims
    fitted = max(n_sims - failed, 1)
    return SimulatedCldaPower(
        power=p,
        mc_error=math.sqrt(p * (1 - p) / n_sims),
        n_sims=int(n_sims),
        n_failed=failed,
        mean_estimate=est / fitted,
        mean_se=se / fitted,
        df_method=df_method,
        covariance=covariance,
        seed=seed,
    )


CLDA_BLOCK_TRIALS = 250
"""Simulated cLDA trials per block (one random stream, one engine call per outcome, one task on a
cluster): a block of 250 trials of 120 participants × 4 visits takes about half a second, far above a
Dask task's few milliseconds of overhead."""


def clda_block(
    block: tuple[int, int], *, seed: int, outcomes: Sequence[dict], df_method: str, covariance: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block ``(block index, trials)`` of a cLDA simulation: for each outcome in turn (keywords
    ``n, delta, chol, retention`` of :func:`clda_trials`) its trials drawn from the block's stream
    (:func:`skintrial.plan.simulate.block_rng`) and analysed. p-value, estimate and SE as arrays
    (trials, outcomes, contrasts). A module-level task, so that Dask workers import it by name."""
    from skintrial.plan.simulate import block_rng

    b, S = block
    rng = block_rng(seed, b)
    fits = [clda_trials(rng, S, df_method=df_method, covariance=covariance, **o) for o in outcomes]
    P, E, SE = (np.stack(x, axis=1) for x in zip(*fits, strict=True))
    return P, E, SE


def clda_blocks(
    n_sims: int,
    seed: int,
    outcomes: Sequence[dict],
    *,
    df_method: str,
    covariance: str,
    block_size: int | None = None,
    progress=None,
    client=None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n_sims`` cLDA trials in blocks of ``block_size`` (default :data:`CLDA_BLOCK_TRIALS`; see
    :func:`clda_block`), run by ``client`` (see
    :func:`skintrial.cluster.as_runner`), in block order; ``progress(done, n_sims)`` as blocks finish."""
    from skintrial.cluster import as_runner
    from skintrial.plan.simulate import _trials_done, trial_blocks

    return as_runner(client).map(
        clda_block,
        trial_blocks(n_sims, block_size or CLDA_BLOCK_TRIALS),
        shared={
            "seed": int(seed),
            "outcomes": list(outcomes),
            "df_method": df_method,
            "covariance": covariance,
        },
        progress=_trials_done(progress, int(n_sims)),
        size=lambda block: block[1],
        name="clda_trials",
    )
