"""Re-randomisation tests of the primary ANCOVA: the allocation re-drawn with the study's own scheme.

Under the null hypothesis that the arm makes no difference to anyone's follow-up, each participant's
outcomes are what they would have been under any allocation the scheme could have produced, so the
ANCOVA statistic's distribution over re-drawn allocations is its exact null distribution (Fisher 1935;
Rosenberger & Lachin 2016, ch. 6) — whatever the outcome's distribution, which matters in small trials
with skewed outcomes. The analysis stays the pre-specified ANCOVA (baseline, covariates); only the
reference distribution changes.

Scheme (:class:`AllocationScheme`): ``"simple"`` — every participant independently to an arm with
probability ratio / sum of ratios (what a study that declares no scheme is assumed to have used, and the
result says so); ``"permuted_blocks"`` — ``skintrial randomize``'s scheme: within each stratum, in
enrolment order, blocks whose size is drawn from ``block_sizes``, each holding every arm in proportion
to the ratios in random order.

Statistics: the |t| of every arm contrast and the F of arm (Type III), from one batched engine fit of
all (re-randomisation × outcome) pairs — the arm dummies become per-column design columns beside each
outcome's baseline, so there is no Python loop over re-randomisations (chunks of draws bound the
memory). The observed allocation is fitted in the same batch. An outcome with an arm
without complete cases is not tested (status ``arm_without_complete_cases``; the ANCOVA still compares
the other arms), nor one whose ANCOVA is not estimable (``not_estimable``). Monte-Carlo p-value
``(1 + #{T_b ≥ T_obs}) / (1 + B)`` (Phipson & Smyth 2010: never 0, a valid test), with Monte-Carlo
standard error ``sqrt(p (1 − p) / B)``; a re-drawn allocation that leaves an arm without complete cases
has no statistic and is not counted in B. Under simple randomisation with at most ``n_rerandomisations``
possible allocations every allocation is enumerated and the p-value is exact (``mc_error`` 0). The seed
is recorded on every row.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import arm_design, followup_visit_of, pairwise_contrasts, trial_arrays
from skintrial.stats._engine import STATUS_OK, fit_ols
from skintrial.stats._schema import RERANDOMISATION_COLUMNS

__all__ = ["AllocationScheme", "rerandomisation_test", "draw_allocations"]

_SEED = 20261207
ARM_WITHOUT_COMPLETE_CASES = "arm_without_complete_cases"
NOT_ESTIMABLE = "not_estimable"


@dataclass(frozen=True, kw_only=True)
class AllocationScheme:
    """How the trial allocated participants (re-drawn by :func:`rerandomisation_test`).

    Attributes
    ----------
    kind : {"simple", "permuted_blocks"}
    ratios : tuple of int, optional
        Allocation ratio per arm, in arm order (1:1:… by default).
    block_sizes : tuple of int
        Candidate block sizes (``permuted_blocks``), each a multiple of the sum of the ratios; default
        one and two times it.
    strata : mapping, optional
        Participant → stratum label (``permuted_blocks``); one stratum when absent.
    order : sequence, optional
        Participants in enrolment order (``permuted_blocks``); the data's order when absent.
    """

    kind: Literal["simple", "permuted_blocks"] = "simple"
    ratios: tuple[int, ...] | None = None
    block_sizes: tuple[int, ...] = ()
    strata: Mapping[str, str] | None = field(default=None)
    order: Sequence[str] | None = None

    def describe(self, n_arms: int) -> str:
        """The scheme in words, for the results table and the methods text."""
        r = ":".join(str(x) for x in (self.ratios or (1,) * n_arms))
        if self.kind == "simple":
            return f"simple randomisation {r} (no scheme declared)" if self.ratios is None else f"simple {r}"
        strata = "stratified " if self.strata else ""
        sizes = ", ".join(str(b) for b in self._sizes(n_arms))
        return f"{strata}permuted blocks of {sizes}, ratio {r}"

    def _ratios(self, n_arms: int) -> np.ndarray:
        r = np.asarray(self.ratios if self.ratios is not None else (1,) * n_arms, dtype=int)
        if r.shape != (n_arms,) or np.any(r < 1):
            raise InputError(
                Problem(
                    "allocation ratios must be positive integers, one per arm",
                    column="ratios",
                    value=list(map(int, r.ravel())),
                    fix=f"give {n_arms} ratios in arm order",
                )
            )
        return r

    def _sizes(self, n_arms: int) -> list[int]:
        total = int(self._ratios(n_arms).sum())
        sizes = list(self.block_sizes) or [total, 2 * total]
        if any(b < total or b % total for b in sizes):
            raise InputError(
                Problem(
                    f"block sizes must be multiples of the sum of the ratios ({total})",
                    column="block_sizes",
                    value=sizes,
                    fix=f"e.g. {[total, 2 * total]}",
                )
            )
        return sizes


def _blocks(rng: np.random.Generator, B: int, n: int, ratios: np.ndarray, sizes: list[int]) -> np.ndarray:
    """(B, n) arm indices: permuted blocks with random sizes, B sequences at once (loop over blocks)."""
    total = int(ratios.sum())
    width = n + max(sizes)
    out = np.zeros((B, width), dtype=np.int64)
    pos = np.zeros(B, dtype=np.int64)
    while pos.min() < n:
        choice = rng.integers(len(sizes), size=B)
        for s_i, size in enumerate(sizes):
            rows = np.flatnonzero((choice == s_i) & (pos < n))
            if rows.size == 0:
                continue
            content = np.repeat(np.arange(len(ratios)), ratios * (size // total))
            perm = np.argsort(rng.random((rows.size, size)), axis=1)
            out[rows[:, None], pos[rows][:, None] + np.arange(size)[None, :]] = content[perm]
            pos[rows] += size
    return out[:, :n]


def draw_allocations(
    scheme: AllocationScheme, subjects: Sequence[str], n_arms: int, B: int, rng: np.random.Generator
) -> np.ndarray:
    """(B, n) arm indices for ``subjects`` (in the order given) re-drawn with ``scheme``."""
    n = len(subjects)
    r = scheme._ratios(n_arms)
    if scheme.kind == "simple":
        return rng.choice(n_arms, size=(B, n), p=r / r.sum())
    sizes = scheme._sizes(n_arms)
    order = [str(s) for s in (scheme.order if scheme.order is not None else subjects)]
    position = {s: i for i, s in enumerate(order)}
    missing = [s for s in map(str, subjects) if s not in position]
    if missing:
        raise InputError(
            Problem(
                f"{len(missing)} participants are not in the enrolment order of the allocation scheme",
                value=missing[:5],
                fix="list every analysed participant in participants.csv",
            )
        )
    strata = scheme.strata or {}
    labels = np.array([str(strata.get(str(s), "all")) for s in subjects], dtype=object)
    out = np.zeros((B, n), dtype=np.int64)
    for stratum in pd.unique(labels):
        idx = np.flatnonzero(labels == stratum)
        idx = idx[np.argsort([position[str(subjects[int(i)])] for i in idx], kind="stable")]
        out[:, idx] = _blocks(rng, B, len(idx), r, sizes)
    return out


def _exact_simple(scheme: AllocationScheme, n: int, n_arms: int, limit: int):
    """Every allocation under simple randomisation with its probability, or None when there are more
    than ``limit``."""
    if n_arms**n > limit:
        return None
    alloc = np.array(list(itertools.product(range(n_arms), repeat=n)), dtype=np.int64)
    r = scheme._ratios(n_arms)
    logp = np.log(r / r.sum())[alloc].sum(axis=1)
    return alloc, np.exp(logp)


def _statistics(X0, y, base, W, alloc, n_arms, L, chunk):
    """|t| of the contrasts L (on the arm dummies) and F of arm for each allocation: (B, K, m), (B, K)."""
    B = alloc.shape[0]
    n, K = y.shape
    m = L.shape[0]
    T = np.full((B, K, m), np.nan)
    F = np.full((B, K), np.nan)
    p0 = X0.shape[1]
    Lfull = np.zeros((m, p0 + n_arms))
    Lfull[:, p0 + 1 :] = L
    Lf = np.zeros((n_arms - 1, p0 + n_arms))
    Lf[np.arange(n_arms - 1), p0 + 1 + np.arange(n_arms - 1)] = 1.0
    for s in range(0, B, chunk):
        a = alloc[s : s + chunk]  # (b, n)
        b = a.shape[0]
        D = (a[:, :, None] == np.arange(1, n_arms)[None, None, :]).astype(float)  # (b, n, A-1)
        Z = np.concatenate(
            [
                np.broadcast_to(base.T[None, :, :, None], (b, K, n, 1)),
                np.broadcast_to(D[:, None, :, :], (b, K, n, n_arms - 1)),
            ],
            axis=3,
        )  # (b, K, n, A)
        Z = np.ascontiguousarray(Z.transpose(2, 0, 1, 3)).reshape(n, b * K, n_arms)
        Y = np.tile(y, (1, b))
        M = None if W.all() else np.tile(W, (1, b))  # no mask: the engine's faster complete-data path
        # an arm without complete cases for an outcome: no statistic (the draw is not counted)
        counts = np.einsum("nk,bna->bka", W.astype(float), (a[:, :, None] == np.arange(n_arms)).astype(float))
        empty = (counts == 0).any(axis=2).reshape(b * K)
        fit = fit_ols(X0, Y, Z=Z, mask=M)
        c = fit.contrast(Lfull)
        f = fit.f_test(Lf)
        t = np.where(empty[:, None], np.nan, np.abs(c.t))
        fv = np.where(empty, np.nan, f.f)
        T[s : s + b] = t.reshape(b, K, m)
        F[s : s + b] = fv.reshape(b, K)
    return T, F


def rerandomisation_test(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    scheme: AllocationScheme | None = None,
    n_rerandomisations: int = 10_000,
    seed: int = _SEED,
    chunk: int = 1000,
) -> pd.DataFrame:
    """Re-randomisation p-values of the ANCOVA's arm contrasts (|t|) and arm test (F), every outcome.

    Parameters
    ----------
    data : DataFrame
        The long table of :func:`skintrial.stats.ancova`.
    scheme : AllocationScheme, optional
        The trial's allocation scheme; simple randomisation (equal ratios) when not given, and the
        ``scheme`` column says so.
    n_rerandomisations : int
        Re-drawn allocations (B); also the most allocations enumerated for an exact test.
    seed : int
        Seed of the re-draws, recorded on every row.
    chunk : int
        Re-randomisations per engine call (memory: n × chunk × outcomes × arms numbers).

    Returns
    -------
    DataFrame
        Columns :data:`~skintrial.stats._schema.RERANDOMISATION_COLUMNS`: one row per outcome ×
        contrast (``statistic = "abs_t"``) and one per outcome for the arm test (``contrast = "arm"``,
        ``statistic = "f"``); ``observed``, ``p``, ``mc_error``, ``n_rerandomisations`` (valid draws, or
        allocations enumerated), ``enumeration`` (``monte_carlo`` or ``exact``), ``scheme``, ``seed``,
        ``status``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> vals = [("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3), ("B", 1.5, 2.4), ("B", 2.5, 3.1),
    ...         ("B", 3.5, 4.6)]
    >>> for i, (a, b, f) in enumerate(vals):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> r = rerandomisation_test(d, baseline_visit="week0", reference_arm="A", n_rerandomisations=100)
    >>> r[["contrast", "statistic", "enumeration", "n_rerandomisations"]].to_dict("records")[0]
    {'contrast': 'B - A', 'statistic': 'abs_t', 'enumeration': 'exact', 'n_rerandomisations': 62}
    """
    scheme = scheme or AllocationScheme()
    ta = trial_arrays(
        data,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        arms=arms,
        reference_arm=reference_arm,
        covariates=covariates,
    )
    fu = followup_visit_of(ta.visits, baseline_visit, followup_visit)
    A = len(ta.arms)
    X, names, _ = arm_design(ta)
    X0 = np.delete(X, np.arange(1, A), axis=1)  # intercept and covariates: shared by every draw
    y, base = ta.visit(fu), ta.visit(baseline_visit)
    W = np.isfinite(y) & np.isfinite(base) & np.isfinite(X0).all(axis=1)[:, None]
    y, base = np.where(W, y, 0.0), np.where(W, base, 0.0)
    pairs = pairwise_contrasts(ta.arms, reference_arm)
    L = np.zeros((len(pairs), A - 1))
    for r, (_, j, i) in enumerate(pairs):
        if j > 0:
            L[r, j - 1] += 1.0
        if i > 0:
            L[r, i - 1] -= 1.0
    observed = ta.arm_index[None, :].astype(np.int64)
    T0, F0 = _statistics(X0, y, base, W, observed, A, L, chunk)
    exact = (
        _exact_simple(scheme, len(ta.subjects), A, n_rerandomisations) if scheme.kind == "simple" else None
    )
    if exact is not None:
        alloc, prob = exact
    else:
        rng = np.random.default_rng(seed)
        alloc = draw_allocations(scheme, list(map(str, ta.subjects)), A, n_rerandomisations, rng)
        prob = None
    T, F = _statistics(X0, y, base, W, alloc, A, L, chunk)
    stats_obs = np.concatenate([T0[0], F0[0][:, None]], axis=1)  # (K, m+1)
    stats_all = np.concatenate([T, F[:, :, None]], axis=2)  # (B, K, m+1)
    valid = np.isfinite(stats_all)
    tol = 1e-9 * np.abs(stats_obs)[None]
    hit = valid & (stats_all >= stats_obs[None] - tol)
    if prob is None:
        nb = valid.sum(axis=0)
        p = (1.0 + hit.sum(axis=0)) / (1.0 + nb)
        err = np.sqrt(p * (1 - p) / np.maximum(nb, 1))
        enumeration = "monte_carlo"
    else:
        w = prob[:, None, None]
        nb = valid.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = (w * hit).sum(axis=0) / (w * valid).sum(axis=0)
        err = np.zeros_like(p)
        enumeration = "exact"
    ok_obs = np.isfinite(stats_obs)
    nb = np.where(ok_obs, nb, 0)
    p = np.where(ok_obs, p, np.nan)
    err = np.where(ok_obs, err, np.nan)
    K, m = len(ta.outcomes), len(pairs)
    onehot = (ta.arm_index[:, None] == np.arange(A)[None, :]).astype(float)
    empty_obs = ((W.astype(float).T @ onehot) == 0).any(axis=1)  # (K,)
    labels = [lab for lab, _, _ in pairs] + ["arm"]
    kinds = ["abs_t"] * m + ["f"]
    out = pd.DataFrame(
        {
            "outcome": np.repeat(np.asarray(ta.outcomes, dtype=object), m + 1),
            "contrast": np.tile(np.asarray(labels, dtype=object), K),
            "statistic": np.tile(np.asarray(kinds, dtype=object), K),
            "observed": stats_obs.ravel(),
            "p": p.ravel(),
            "mc_error": err.ravel(),
            "n_rerandomisations": nb.ravel().astype(np.int64),
            "enumeration": enumeration,
            "scheme": scheme.describe(A),
            "seed": int(seed),
            "status": np.where(
                ok_obs, STATUS_OK, np.where(empty_obs[:, None], ARM_WITHOUT_COMPLETE_CASES, NOT_ESTIMABLE)
            ).ravel(),
        }
    )
    return out[list(RERANDOMISATION_COLUMNS)]
