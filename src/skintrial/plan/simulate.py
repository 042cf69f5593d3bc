"""Power by simulation of the whole pre-specified analysis, batched through the engine.

Each simulated trial enrols ``n_per_arm`` participants per arm (fixed allocation). For outcome *k*,
participant *i* in arm *g*::

    baseline_ik = sd_k Zb_ik
    followup_ik = delta_gk + sd_k (rho_k Zb_ik + sqrt(1 - rho_k^2) Ze_ik)

with ``Zb_i`` and ``Ze_i`` independent standard-normal vectors whose between-outcome correlation is
``outcome_corr``; ``delta_gk`` is the arm's true difference from the control arm (control 0). Each
participant is lost to follow-up with probability ``dropout`` (all outcomes at once), independently
per trial: an ANCOVA then analyses the completers.

The analysis is the study's own: the method (``ancova``: follow-up on baseline + arm; ``change``:
change on arm; ``followup``: follow-up on arm), each arm against the control arm, and the
multiplicity adjustment within each family of outcomes (``primary``, ``secondary``, …), optionally
with a serial gatekeeper between families. A hypothesis is rejected when its adjusted p-value is
below ``alpha``.

How it is fitted
----------------
All trials share the allocation, so a batch of S trials × K outcomes is S·K outcome columns of *one*
design: a single :func:`skintrial.stats.fit_ols` call with ``Z`` = each column's own baseline and the
dropout as a per-column mask. Multiplicity is applied to each family's (S, hypotheses) p-value matrix
at once by :func:`skintrial.stats.p_adjust` — the very function the study analysis uses — and the
gatekeeper by :func:`skintrial.stats.serial_gatekeeper`, so the simulated analysis is the real one,
missing p-values (a degenerate simulated fit) included.

Random streams and clusters
---------------------------
The trials are cut into blocks of :data:`BLOCK_TRIALS` (fewer when a block would need more than
:data:`MAX_CHUNK_BYTES` in the engine: the block size depends on the design only), block ``b`` drawn
from its own stream ``default_rng(SeedSequence(seed, spawn_key=(b,)))`` — the ``b``-th child of
``SeedSequence(seed).spawn`` — and tallied by :func:`simulate_block`. The blocks' tallies are added in
block order, so a seed gives the same result, to the last bit, in this process or on a Dask cluster
of any size (``client=``; :mod:`skintrial.cluster`).

Monte Carlo error
-----------------
Every power is a proportion of ``n_sims`` independent trials; its Monte Carlo standard error is
``sqrt(p (1 - p) / n_sims)`` (reported as ``mcse``). 10,000 trials give ±0.4 percentage points at
80 % power.

Checked against the analytic ANCOVA power (:func:`skintrial.plan.power.ancova_power`, ``method="exact"``)
within 4 Monte Carlo SE in ``tests/plan/test_simulate.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skintrial.cluster import as_runner
from skintrial.errors import InputError, Problem
from skintrial.plan._values import plain
from skintrial.stats import fit_ols, p_adjust, serial_gatekeeper
from skintrial.stats.multiplicity import METHODS as P_ADJUST_METHODS

__all__ = [
    "HYPOTHESIS_COLUMNS",
    "FAMILY_COLUMNS",
    "SimulationResult",
    "simulate_power",
    "simulate_block",
    "design_table",
    "analysis_options",
]

HYPOTHESIS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "contrast",
    "family",
    "effect",
    "mean_estimate",
    "power",
    "mcse",
    "power_unadjusted",
    "mcse_unadjusted",
    "n_sims",
)
FAMILY_COLUMNS: tuple[str, ...] = ("family", "criterion", "n_hypotheses", "power", "mcse", "n_sims")
DESIGN_COLUMNS: tuple[str, ...] = ("outcome", "arm", "effect", "sd", "rho")
SIM_METHODS = ("ancova", "change", "followup")
MAX_CHUNK_BYTES = 256 * 2**20  # engine memory per block of trials
BLOCK_TRIALS = 5000
"""Trials per block (one random stream, one task on a cluster) unless :data:`MAX_CHUNK_BYTES` asks for
fewer. Chosen from benchmarks/bench_cluster_power.py (2026-12-07, 2 shared cores, five runs): a Dask
task costs 2.6-14 ms of wall time on ``local:2`` (the lower figure on the quietest machine), a block of
5,000 three-arm trials (40 per arm, two outcomes) 0.12-0.5 s in this process, so the overhead is
about 2 % (8 % at 1,000 trials, 30 % at 250; the engine's time per trial hardly depends on the block
size). 10⁶ trials are 200 tasks, 10⁷ trials 2,000: enough to spread over 100 cores."""
MAX_TOTAL_BYTES = 32 * 2**30
"""Work per worker beyond this (32 GiB through the engine: minutes on one core) is refused as a likely
mistake; on a cluster the bound is this times the number of workers (10⁷ three-arm trials of 40 per
arm, about 210 GiB, need 7 workers or more). The memory held at once is one block per worker
(:data:`MAX_CHUNK_BYTES`), whatever the number of trials."""


@dataclass(frozen=True)
class SimulationResult:
    """Simulated power of a pre-specified analysis.

    Attributes
    ----------
    hypotheses : DataFrame
        One row per outcome × contrast (:data:`HYPOTHESIS_COLUMNS`): power after the family's
        multiplicity adjustment, power of the raw test, mean estimate (≈ ``effect``), MC SEs.
    families : DataFrame
        Per family (:data:`FAMILY_COLUMNS`): ``criterion`` ``any`` (at least one hypothesis rejected,
        disjunctive power) and ``all`` (every hypothesis rejected, conjunctive power).
    settings : dict
        The inputs: n per arm, method, multiplicity, alpha, dropout, outcome_corr, n_sims, seed.
    """

    hypotheses: pd.DataFrame
    families: pd.DataFrame
    settings: dict


def design_table(
    *, effects: Mapping[str, Mapping[str, float]], sd: Mapping[str, float], rho: Mapping[str, float]
) -> pd.DataFrame:
    """Long design table (one row per outcome × non-control arm) from nested mappings.

    Examples
    --------
    >>> design_table(effects={"r2": {"AT": 0.02, "RT": 0.03}}, sd={"r2": 0.06}, rho={"r2": 0.7})
      outcome arm  effect    sd  rho
    0      r2  AT    0.02  0.06  0.7
    1      r2  RT    0.03  0.06  0.7
    """
    rows = [
        (o, a, float(d), float(sd[o]), float(rho[o])) for o, arms in effects.items() for a, d in arms.items()
    ]
    return pd.DataFrame(rows, columns=list(DESIGN_COLUMNS))


def analysis_options(analysis: Mapping[str, Any]) -> dict:
    """Keyword arguments of :func:`simulate_power` from a study's ``[analysis]`` table.

    Reads ``primary``, ``secondary``, ``methods`` (the first simulable one: ancova, change,
    followup), ``alpha``, ``multiplicity`` and ``gatekeeping``.

    Examples
    --------
    >>> analysis_options({"primary": ["r2"], "secondary": ["ue"], "methods": ["ancova", "clda"],
    ...                   "alpha": 0.05, "multiplicity": "holm"})["families"]
    {'primary': ['r2'], 'secondary': ['ue']}
    """
    methods = [str(m) for m in analysis.get("methods", ["ancova"])]
    usable = [m for m in methods if m in SIM_METHODS]
    if not usable:
        raise InputError(
            Problem(
                f"none of the analysis methods {methods} can be simulated",
                column="[analysis] methods",
                fix=f"simulation runs {', '.join(SIM_METHODS)}; with complete two-visit data cLDA is close to ANCOVA",
            )
        )
    fams = {"primary": list(analysis.get("primary", []))}
    if analysis.get("secondary"):
        fams["secondary"] = list(analysis["secondary"])
    return {
        "families": fams,
        "method": usable[0],
        "alpha": float(analysis.get("alpha", 0.05)),
        "multiplicity": str(analysis.get("multiplicity", "holm")),
        "gatekeeping": bool(analysis.get("gatekeeping", False)),
    }


def _check(design, control_arm, families, multiplicity, method, n_per_arm, dropout, n_sims, seed) -> tuple:
    probs = []
    absent = [c for c in DESIGN_COLUMNS if c not in design.columns]
    if absent:
        raise InputError(
            Problem(f"design table lacks column(s) {absent}", fix=f"columns {list(DESIGN_COLUMNS)}")
        )
    outcomes = list(dict.fromkeys(design["outcome"].astype(str)))
    arms = list(dict.fromkeys(design["arm"].astype(str)))
    if control_arm in arms:
        probs.append(
            Problem(
                "the control arm must not have a design row",
                column="arm",
                value=control_arm,
                fix="effects are differences from the control arm; drop its rows",
            )
        )
    per_o = design.groupby("outcome")[["sd", "rho"]].nunique()
    if (per_o > 1).any(axis=None):
        probs.append(Problem("sd and rho must be the same on every row of an outcome", column="sd, rho"))
    if ((design["sd"] <= 0) | ~design["rho"].between(-0.999999, 0.999999)).any():
        probs.append(Problem("sd must be positive and rho within (-1, 1)", column="sd, rho"))
    if multiplicity not in P_ADJUST_METHODS:
        probs.append(
            Problem(
                f"multiplicity {multiplicity!r} is unknown",
                column="multiplicity",
                value=multiplicity,
                fix=f"simulate with one of {', '.join(P_ADJUST_METHODS)}",
            )
        )
    if method not in SIM_METHODS:
        probs.append(
            Problem(
                f"method {method!r} cannot be simulated",
                column="method",
                fix=f"use one of {', '.join(SIM_METHODS)}",
            )
        )
    fams = {"primary": outcomes} if not families else {f: [str(o) for o in v] for f, v in families.items()}
    unknown = sorted({o for v in fams.values() for o in v} - set(outcomes))
    if unknown:
        probs.append(
            Problem(
                f"family outcome(s) {unknown} have no design rows",
                column="outcome",
                fix="give effect, sd and rho for every outcome of the analysis plan",
            )
        )
    all_arms = [control_arm, *arms]
    n = n_per_arm if isinstance(n_per_arm, Mapping) else {a: n_per_arm for a in all_arms}
    if any(int(n.get(a, 0)) < 2 for a in all_arms):
        probs.append(
            Problem(
                "every arm needs at least 2 participants",
                column="n_per_arm",
                value={str(a): int(v) for a, v in n.items()},
                fix=f"give n_per_arm for {all_arms}",
            )
        )
    if not 0 <= dropout < 1 or int(n_sims) < 1:
        probs.append(Problem("dropout must be in [0, 1) and n_sims positive", column="dropout, n_sims"))
    if not isinstance(seed, int | np.integer) or seed < 0:
        probs.append(
            Problem(
                "the seed must be a whole number, 0 or more",
                column="seed",
                value=plain(seed),
                fix="e.g. seed=1",
            )
        )
    InputError.collect(probs)
    return outcomes, arms, fams, {a: int(n[a]) for a in all_arms}


def _correlation(outcome_corr: float | np.ndarray, K: int) -> np.ndarray:
    C = np.asarray(outcome_corr, dtype=float)
    if C.ndim == 0:
        C = np.full((K, K), float(C))
        np.fill_diagonal(C, 1.0)
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise InputError(
            Problem(
                "outcome_corr is not a valid correlation matrix",
                column="outcome_corr",
                fix="give a positive definite K × K matrix or one number in (-1/(K-1), 1)",
            )
        ) from None


def _simulate_batch(rng, S, X, arm_idx, delta, sd, rho, chol, dropout, method):
    """p-values and estimates for S trials: arrays (S, K, n_contrasts)."""
    n, K = X.shape[0], sd.size
    zb = rng.standard_normal((n, S, K)) @ chol.T
    ze = rng.standard_normal((n, S, K)) @ chol.T
    base = sd * zb
    follow = delta[arm_idx][:, None, :] + sd * (rho * zb + np.sqrt(1.0 - rho**2) * ze)
    keep = np.repeat(rng.random((n, S)) >= dropout, K, axis=1) if dropout > 0 else None
    Y = (follow - base if method == "change" else follow).reshape(n, S * K)
    Z = base.reshape(n, S * K, 1) if method == "ancova" else None
    fit = fit_ols(X, Y, Z=Z, mask=keep)
    n_c = X.shape[1] - 1
    L = np.zeros((n_c, fit.coef.shape[1]))
    L[np.arange(n_c), np.arange(1, n_c + 1)] = 1.0
    c = fit.contrast(L)
    return c.p.reshape(S, K, n_c), c.estimate.reshape(S, K, n_c)


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The random stream of block ``block`` of a simulation seeded ``seed``: the ``block``-th child of
    ``SeedSequence(seed)`` (what ``SeedSequence(seed).spawn(n)[block]`` gives), independent of the
    other blocks' and of how many blocks there are."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(block),)))


def trial_blocks(n_sims: int, block_size: int) -> list[tuple[int, int]]:
    """``(block, trials)`` for ``n_sims`` trials cut into blocks of ``block_size`` (the last shorter).

    >>> trial_blocks(12, 5)
    [(0, 5), (1, 5), (2, 2)]
    """
    size = max(1, int(block_size))
    return [(b, min(size, int(n_sims) - start)) for b, start in enumerate(range(0, int(n_sims), size))]


@dataclass(frozen=True)
class _Model:
    """What every block of a :func:`simulate_power` run shares (sent once to each worker)."""

    X: np.ndarray
    arm_idx: np.ndarray
    delta: np.ndarray
    sd: np.ndarray
    rho: np.ndarray
    chol: np.ndarray
    dropout: float
    method: str
    seed: int
    hyp: list
    fams: dict
    tally: dict = field(default_factory=dict)  # multiplicity, gatekeeping, alpha


def simulate_block(block: tuple[int, int], *, model: _Model) -> Tally:
    """The tally of one block ``(block index, trials)`` of a :func:`simulate_power` run: its trials
    drawn from :func:`block_rng`, analysed and counted. A module-level task, so that Dask workers
    import it by name."""
    b, S = block
    m = model
    P, E = _simulate_batch(
        block_rng(m.seed, b), S, m.X, m.arm_idx, m.delta, m.sd, m.rho, m.chol, m.dropout, m.method
    )
    tally = Tally(m.hyp, m.fams, **m.tally)
    tally.add(P, E)
    return tally


def simulate_power(
    design: pd.DataFrame,
    *,
    n_per_arm: int | Mapping[str, int],
    control_arm: str = "CON",
    families: Mapping[str, Sequence[str]] | None = None,
    multiplicity: str = "holm",
    gatekeeping: bool = False,
    alpha: float = 0.05,
    method: str = "ancova",
    dropout: float = 0.0,
    outcome_corr: float | np.ndarray = 0.0,
    n_sims: int = 2000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> SimulationResult:
    """Simulate the trial and its pre-specified analysis ``n_sims`` times.

    Parameters
    ----------
    design : DataFrame
        One row per outcome × non-control arm: ``outcome, arm, effect, sd, rho`` (see
        :func:`design_table`); ``effect`` is the true difference from the control arm.
    n_per_arm : int or mapping
        Participants enrolled per arm.
    control_arm : str
    families : mapping, optional
        Family → outcomes (the analysis plan's ``primary`` / ``secondary``); all outcomes form
        one ``primary`` family by default. Outcomes in no family are not tested.
    multiplicity : str
        Any method of :func:`skintrial.stats.p_adjust` (``skintrial.stats.multiplicity.METHODS``),
        applied within each family of every simulated trial; any other is refused.
    gatekeeping : bool
        Serial gatekeeper between families, in the order given (:func:`skintrial.stats.serial_gatekeeper`).
    alpha : float
    method : {"ancova", "change", "followup"}
    dropout : float
        Probability that a participant has no follow-up.
    outcome_corr : float or (K, K) array
        Correlation between outcomes (of both baseline and follow-up noise).
    n_sims, seed : int
        Number of trials and the seed: block ``b`` of :data:`BLOCK_TRIALS` trials (fewer when a
        block would need more than :data:`MAX_CHUNK_BYTES`, about ``K · n · (p + 8) · 8`` bytes per
        trial) draws from :func:`block_rng` ``(seed, b)``.
    progress : callable, optional
        Called with (trials done, n_sims) as blocks finish.
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process: one
        task per block. The result is identical whatever runs it.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> d = design_table(effects={"r2": {"AT": 0.5, "RT": 0.5}}, sd={"r2": 1.0}, rho={"r2": 0.6})
    >>> res = simulate_power(d, n_per_arm=40, n_sims=400, seed=1)
    >>> res.hypotheses[["contrast", "power", "mcse"]].round(3).to_dict("list")
    {'contrast': ['AT - CON', 'RT - CON'], 'power': [0.765, 0.79], 'mcse': [0.021, 0.02]}
    """
    outcomes, arms, fams, n = _check(
        design, control_arm, families, multiplicity, method, n_per_arm, dropout, n_sims, seed
    )
    all_arms = [control_arm, *arms]
    arm_idx = np.repeat(np.arange(len(all_arms)), [n[a] for a in all_arms])
    X = np.column_stack(
        [np.ones(arm_idx.size), *[(arm_idx == j).astype(float) for j in range(1, len(all_arms))]]
    )
    d = design.assign(outcome=design["outcome"].astype(str), arm=design["arm"].astype(str))
    delta = np.zeros((len(all_arms), len(outcomes)))
    eff = d.pivot_table(index="arm", columns="outcome", values="effect", aggfunc="first")
    delta[1:] = eff.reindex(index=arms, columns=outcomes).fillna(0.0).to_numpy()
    first = d.drop_duplicates("outcome").set_index("outcome").loc[outcomes]
    sd, rho = first["sd"].to_numpy(float), first["rho"].to_numpy(float)
    chol = _correlation(outcome_corr, len(outcomes))
    per_trial = len(outcomes) * arm_idx.size * (X.shape[1] + 8) * 8  # bytes of one trial in the engine
    runner = as_runner(client)
    if per_trial * float(n_sims) > MAX_TOTAL_BYTES * runner.workers:
        where = "one process" if runner.workers == 1 else f"{runner.workers} workers"
        raise InputError(
            Problem(
                f"simulating {n_sims} trials of {arm_idx.size} participants is too much work for {where}",
                column="n_sims",
                value=int(n_sims),
                fix=(
                    "check the sample size (an effect near zero needs an enormous trial), simulate fewer "
                    "trials, or run on a cluster with more workers (--cluster; docs/scale.md)"
                ),
            )
        )
    blocks = trial_blocks(n_sims, max(1, min(BLOCK_TRIALS, MAX_CHUNK_BYTES // per_trial)))
    hyp = [(fam, outcomes.index(o), c) for fam, outs in fams.items() for o in outs for c in range(len(arms))]
    options: dict[str, Any] = dict(multiplicity=multiplicity, gatekeeping=gatekeeping, alpha=alpha)
    model = _Model(X, arm_idx, delta, sd, rho, chol, float(dropout), method, int(seed), hyp, fams, options)
    tally = Tally(hyp, fams, **options)
    for part in runner.map(
        simulate_block,
        blocks,
        shared={"model": model},
        progress=_trials_done(progress, int(n_sims)),
        size=lambda block: block[1],
        name="simulate_power",
    ):
        tally.merge(part)  # in block order: the same floating sums on every runner
    return _result(
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
        settings=dict(
            n_per_arm=n,
            method=method,
            multiplicity=multiplicity,
            gatekeeping=gatekeeping,
            alpha=alpha,
            dropout=dropout,
            outcome_corr=np.asarray(outcome_corr).tolist(),
            n_sims=int(n_sims),
            seed=seed,
        ),
    )


class Tally:
    """Rejections of the hypotheses ``(family, outcome index, contrast index)`` over simulated trials:
    each batch's p-values (S, outcomes, contrasts) adjusted within each family by
    :func:`skintrial.stats.p_adjust`, families gated by :func:`skintrial.stats.serial_gatekeeper` when
    ``gatekeeping``; a missing p-value is never a rejection."""

    def __init__(self, hyp, fams, *, multiplicity: str, gatekeeping: bool, alpha: float) -> None:
        self.hyp, self.fams = hyp, list(fams)
        self.multiplicity, self.gatekeeping, self.alpha = multiplicity, gatekeeping, alpha
        self.rej, self.rej_raw, self.est_sum = np.zeros(len(hyp)), np.zeros(len(hyp)), np.zeros(len(hyp))
        self.fam_any = {f: 0.0 for f in self.fams}
        self.fam_all = {f: 0.0 for f in self.fams}
        self.cols_of = {fam: [h for h, (f, _, _) in enumerate(hyp) if f == fam] for fam in self.fams}

    def add(self, P: np.ndarray, E: np.ndarray) -> None:
        hyp = self.hyp
        raw = {
            fam: np.stack([P[:, hyp[h][1], hyp[h][2]] for h in cols], axis=1)
            for fam, cols in self.cols_of.items()
        }
        adjusted = [p_adjust(raw[fam], self.multiplicity) for fam in self.fams]  # (S, hypotheses)
        if self.gatekeeping:
            adjusted = serial_gatekeeper(adjusted)
        for fam, adj in zip(self.fams, adjusted, strict=True):
            cols, Pf = self.cols_of[fam], raw[fam]
            r = adj < self.alpha
            self.rej[cols] += r.sum(axis=0)
            self.rej_raw[cols] += (Pf < self.alpha).sum(axis=0)
            self.est_sum[cols] += np.stack([E[:, hyp[h][1], hyp[h][2]] for h in cols], axis=1).sum(axis=0)
            self.fam_any[fam] += r.any(axis=1).sum()
            self.fam_all[fam] += r.all(axis=1).sum()

    def merge(self, other: Tally) -> None:
        """Add another batch's tally of the same hypotheses (blocks merged in a fixed order give the
        same sums whichever process counted them)."""
        self.rej += other.rej
        self.rej_raw += other.rej_raw
        self.est_sum += other.est_sum
        for fam in self.fams:
            self.fam_any[fam] += other.fam_any[fam]
            self.fam_all[fam] += other.fam_all[fam]


def _trials_done(progress: Callable[[int, int], None] | None, total: int) -> Callable[[int], None] | None:
    """A runner's ``progress(trials of a finished block)`` as the workflows' ``progress(done, total)``."""
    if progress is None:
        return None
    done = 0

    def step(trials: int) -> None:
        nonlocal done
        done += trials
        progress(done, total)

    return step


def _mcse(p: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(p * (1.0 - p) / n)


def _result(hyp, outcomes, arms, control_arm, delta, rej, rej_raw, est_sum, fam_any, fam_all, fams, settings):
    N = settings["n_sims"]
    power, raw = rej / N, rej_raw / N
    hypotheses = pd.DataFrame(
        {
            "outcome": [outcomes[k] for _, k, _ in hyp],
            "contrast": [f"{arms[c]} - {control_arm}" for _, _, c in hyp],
            "family": [f for f, _, _ in hyp],
            "effect": [delta[c + 1, k] for _, k, c in hyp],
            "mean_estimate": est_sum / N,
            "power": power,
            "mcse": _mcse(power, N),
            "power_unadjusted": raw,
            "mcse_unadjusted": _mcse(raw, N),
            "n_sims": N,
        }
    )
    rows = []
    for f in fams:
        m = sum(1 for h in hyp if h[0] == f)
        for crit, cnt in (("any", fam_any[f]), ("all", fam_all[f])):
            p = cnt / N
            rows.append((f, crit, m, p, float(_mcse(np.asarray(p), N)), N))
    families = pd.DataFrame(rows, columns=list(FAMILY_COLUMNS))
    return SimulationResult(
        hypotheses=hypotheses[list(HYPOTHESIS_COLUMNS)], families=families, settings=settings
    )
