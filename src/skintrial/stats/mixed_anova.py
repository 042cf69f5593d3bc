"""Two-way mixed ANOVA (arm between subjects × visit within subjects): the replication analysis.

Published exercise-and-skin papers test the arm × time interaction of a split-plot ANOVA. We compute
it so that their tables can be reproduced — it is **not** the treatment test: it needs complete cases
and does not adjust for baseline imbalance (Twisk et al. 2018). The treatment test is
:func:`skintrial.stats.ancova` (or ``clda``).

Method (the multivariate formulation that ``car::Anova`` and ``afex::aov_ez`` use). Per outcome, keep
the N subjects observed at every visit (a subjects' arms non-empty, b visits). Let ``Q = [q0 | C]`` be
an orthonormal b × b basis with ``q0 = 1/sqrt(b)``. For subject i let ``s_i = y_i' q0`` and
``D_i = C' y_i`` (b − 1 within-subject contrasts); bars are arm means, ``n_j`` arm sizes.

* arm:        SS = Σ_j n_j (s̄_j − s̄)²,  error SS_b = Σ_i (s_i − s̄_arm(i))², df (a − 1, N − a)
* visit:      SS = |ū|² / c with ū = (1/a) Σ_j D̄_j (unweighted: Type III), c = (1/a²) Σ_j 1/n_j
* arm:visit:  SS = Σ_j n_j |D̄_j − D̄|² (D̄ the weighted grand mean)
* within error ``E = Σ_i (D_i − D̄_arm(i))(D_i − D̄_arm(i))'``, SS_w = tr E, df (b − 1)(N − a);
  visit and arm:visit have num df (b − 1) and (a − 1)(b − 1)
* generalized eta squared (Olejnik & Algina 2003, no observed factors, as afex):
  ``ges = SS_effect / (SS_effect + SS_b + SS_w)``
* Greenhouse–Geisser ``ε = tr(E)² / ((b − 1) tr(E²))``; Huynh–Feldt as ``car`` computes it,
  ``ε_HF = ((N − a + 1)(b − 1) ε − 2) / ((b − 1)(N − a − (b − 1) ε))``, capped at 1 for its p-value.
  Corrected p-values multiply both df by ε. Reported only with more than two visits.

Checked against ``afex::aov_ez(type = 3)`` (F, df, MSE, p, ges, GG/HF ε and p) on O'Brien & Kaiser,
anorexia, ChickWeight (3 and 12 visits) and synthetic data, ``tests/stats/test_mixed_anova.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stats._data import trial_arrays
from skintrial.stats._inference import f_pvalue
from skintrial.stats._schema import CONTRAST_COLUMNS, MIXED_ANOVA_COLUMNS, VISIT_EMMEANS_COLUMNS
from skintrial.stats._trial import TrialAnalysis, empty_table

__all__ = ["MixedAnovaResult", "mixed_anova", "ARM_DROPPED"]

ARM_DROPPED = "arm_dropped"
"""Status of an outcome for which an arm has no subject observed at every visit: that arm is left out and
the ANOVA, reported in full, is on the remaining arms (unlike ANCOVA's ``arm_without_complete_cases``,
whose statistics are NaN)."""


@dataclass(frozen=True, kw_only=True)
class MixedAnovaResult(TrialAnalysis):
    """The arm × visit mixed ANOVA of many outcomes: a :class:`~skintrial.stats.TrialAnalysis`.

    Attributes
    ----------
    tests : DataFrame
        One row per outcome × term (``arm``, ``visit``, ``arm:visit``), columns
        :data:`~skintrial.stats._schema.MIXED_ANOVA_COLUMNS` (``results/mixed_anova.csv``).
    contrasts, estimates : DataFrame
        Empty (columns :data:`~skintrial.stats._schema.CONTRAST_COLUMNS` and
        :data:`~skintrial.stats._schema.VISIT_EMMEANS_COLUMNS`): the replication ANOVA tests terms;
        the arm contrasts are :func:`~skintrial.stats.ancova`'s and :func:`~skintrial.stats.clda`'s.
    ci_level : None
        The ANOVA has no intervals.
    """

    method: ClassVar[str] = "mixed_anova"
    contrast_columns: ClassVar[tuple[str, ...]] = CONTRAST_COLUMNS
    test_columns: ClassVar[tuple[str, ...]] = MIXED_ANOVA_COLUMNS
    estimate_columns: ClassVar[tuple[str, ...]] = VISIT_EMMEANS_COLUMNS

    def tables(self) -> dict[str, pd.DataFrame]:
        """``mixed_anova``: the tests."""
        return {"mixed_anova": self.tests}


def _arm_means(x: np.ndarray, onehot: np.ndarray, n_arm: np.ndarray) -> np.ndarray:
    """x (n, K, m) masked to zero outside complete cases → arm means (K, A, m); NaN for empty arms."""
    tot = np.einsum("ia,ikm->kam", onehot, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_arm[:, :, None] > 0, tot / n_arm[:, :, None], np.nan)


def _strata(values: np.ndarray, arm_index: np.ndarray, n_arms: int):
    """Sums of squares and error SSCP per outcome from (n, K, b) complete-case values."""
    b = values.shape[2]
    Q, _ = np.linalg.qr(np.column_stack([np.ones(b), np.eye(b)[:, : b - 1]]))
    complete = np.isfinite(values).all(axis=2)  # (n, K)
    y = np.where(complete[:, :, None], values, 0.0)
    proj = y @ Q  # (n, K, b): column 0 is the subject total / sqrt(b)
    onehot = (arm_index[:, None] == np.arange(n_arms)[None, :]).astype(float)
    n_arm = np.einsum("ia,ik->ka", onehot, complete.astype(float))  # (K, A)
    N = n_arm.sum(axis=1)
    a = (n_arm > 0).sum(axis=1)
    means = _arm_means(proj, onehot, n_arm)  # (K, A, b)
    m0 = np.nan_to_num(means)
    own = np.einsum("ia,kam->ikm", onehot, m0)  # each subject's arm mean
    dev = np.where(complete[:, :, None], proj - own, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = np.einsum("ka,kam->km", n_arm, m0) / N[:, None]
        ss_arm = np.einsum("ka,ka->k", n_arm, (m0[:, :, 0] - grand[:, :1]) ** 2)
        ss_err_b = np.einsum("ik,ik->k", dev[:, :, 0], dev[:, :, 0])
        d_w = dev[:, :, 1:]
        E = np.einsum("ikm,ikl->kml", d_w, d_w)
        u = m0[:, :, 1:].sum(axis=1) / a[:, None]
        c = np.where(n_arm > 0, 1.0 / np.where(n_arm > 0, n_arm, 1.0), 0.0).sum(axis=1) / a**2
        ss_visit = np.einsum("km,km->k", u, u) / c
        diff = m0[:, :, 1:] - grand[:, None, 1:]
        ss_int = np.einsum("ka,kam,kam->k", n_arm, diff, diff)
    return N, a, ss_arm, ss_err_b, ss_visit, ss_int, E


def _epsilons(E: np.ndarray, df_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = E.shape[1]
    tr = np.einsum("kii->k", E)
    tr2 = np.einsum("kij,kji->k", E, E)
    with np.errstate(invalid="ignore", divide="ignore"):
        gg = tr**2 / (p * tr2)
        hf = ((df_err + 1) * p * gg - 2) / (p * (df_err - p * gg))
    return gg, hf


def mixed_anova(
    data: pd.DataFrame,
    *,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    visits: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
) -> MixedAnovaResult:
    """Arm × visit mixed ANOVA (Type III, generalized eta squared) for every outcome at once.

    This is the **replication analysis** — the table most published pre/post exercise studies
    report — not the treatment test (use :func:`skintrial.stats.ancova`). See the module docstring
    for the formulas.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per subject × visit × outcome.
    outcome, value, arm, visit, subject : str
        Column names.
    visits : sequence of str, optional
        The within-subject levels, in order (default: every visit in the data, in
        :func:`~skintrial.stats._data.default_visit_order`: ``week0, week8, week16``, whatever the
        order of the rows). Each outcome is analysed on the visits at which it was measured (anyone
        has a value; ``n_visits``) and on its complete cases there: the subjects observed at all of
        them. The statistics do not depend on the order of the visits.
    arms : sequence of str, optional
        Arm order (does not change any statistic).

    Returns
    -------
    MixedAnovaResult
        ``tests`` with the columns :data:`~skintrial.stats._schema.MIXED_ANOVA_COLUMNS`: one row per
        outcome × term (``arm``, ``visit``, ``arm:visit``) with ``num_df, den_df, f, p, ges`` (the
        DESIGN.md contract), the error mean square ``mse``, the complete cases ``n``, the visits
        analysed ``n_visits``, and for more than two visits the Greenhouse–Geisser / Huynh–Feldt
        ``gg_eps, p_gg, hf_eps, p_hf`` (NaN otherwise and on the ``arm`` row). ``status`` is ``ok``,
        ``arm_dropped`` (an arm without complete cases is left out and the ANOVA is on the remaining
        arms: its statistics are reported), ``too_few_arms`` (fewer than two arms with complete
        cases), ``too_few_observations`` (no error df) or ``no_residual_variance`` or
        ``measured_at_fewer_than_two_visits``. ``contrasts`` and ``estimates`` are empty.

    Examples
    --------
    >>> import pandas as pd
    >>> vals = {"a": (1.0, 2.0), "b": (2.0, 2.5), "c": (1.5, 3.5), "d": (1.0, 3.5), "e": (2.0, 2.5),
    ...         "f": (1.2, 4.0)}
    >>> rows = [(s, "AT" if s in "abc" else "RT", v, "r2", x)
    ...         for s, pair in vals.items() for v, x in zip(["w0", "w16"], pair)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> res = mixed_anova(d, visits=["w0", "w16"])
    >>> res.tests[["term", "num_df", "den_df", "f"]].round(3).to_dict("records")
    [{'term': 'arm', 'num_df': 1.0, 'den_df': 4.0, 'f': 0.773}, {'term': 'visit', 'num_df': 1.0, 'den_df': 4.0, 'f': 13.43}, {'term': 'arm:visit', 'num_df': 1.0, 'den_df': 4.0, 'f': 0.821}]
    """
    ta = trial_arrays(data, outcome=outcome, value=value, arm=arm, visit=visit, subject=subject, arms=arms)
    vis = list(visits) if visits is not None else list(ta.visits)
    absent = [v for v in vis if v not in ta.visits]
    if absent or len(vis) < 2:
        raise InputError(
            Problem(
                f"visits {absent or vis} cannot be used for a mixed ANOVA",
                column=visit,
                value=absent or vis,
                fix=f"give at least two of the visits {list(ta.visits)}",
            )
        )
    values = ta.values[:, :, [ta.visits.index(v) for v in vis]]
    measured = np.isfinite(values).any(axis=0)  # (K, b): anyone has a value at the visit
    sets, which = np.unique(measured, axis=0, return_inverse=True)
    frames = []
    for k, on in enumerate(sets):  # one batched ANOVA per set of measured visits (a handful), not per outcome
        g = np.flatnonzero(which.reshape(-1) == k)
        names = [ta.outcomes[i] for i in g]
        if on.sum() < 2:
            frames.append(_not_analysable(names, on.sum()))
            continue
        frames.append(_anova(values[:, g][:, :, on], names, ta.arm_index, len(ta.arms)))
    order = {o: k for k, o in enumerate(ta.outcomes)}
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(
        ["outcome", "_t"], key=lambda s: s.map(order) if s.name == "outcome" else s, kind="mergesort"
    )
    return MixedAnovaResult(
        contrasts=empty_table(CONTRAST_COLUMNS),
        tests=out.reset_index(drop=True)[list(MIXED_ANOVA_COLUMNS)],
        estimates=empty_table(VISIT_EMMEANS_COLUMNS),
        ci_level=None,
    )


_TERMS = ("arm", "visit", "arm:visit")


def _not_analysable(outcomes: list[str], n_visits: int) -> pd.DataFrame:
    """Rows of outcomes measured at fewer than two of the visits: nothing to analyse within participants."""
    rows = pd.DataFrame([{"outcome": o, "term": t, "_t": k} for o in outcomes for k, t in enumerate(_TERMS)])
    rows = rows.reindex(columns=[*MIXED_ANOVA_COLUMNS, "_t"])
    return rows.assign(n=0, n_visits=int(n_visits), status="measured_at_fewer_than_two_visits")


def _anova(values: np.ndarray, outcomes: list[str], arm_index: np.ndarray, n_arms: int) -> pd.DataFrame:
    """The batched ANOVA of outcomes sharing their visits: ``values`` (n, K, b), complete cases per outcome."""
    b = values.shape[2]
    N, a, ss_arm, ss_b, ss_visit, ss_int, E = _strata(values, arm_index, n_arms)
    ss_w = np.einsum("kii->k", E)
    df_e = N - a
    status = np.full(N.shape, "ok", dtype=object)
    status[~(np.minimum(ss_b, ss_w) > 1e-24 * np.maximum(ss_b + ss_w, 1e-300))] = "no_residual_variance"
    status[df_e <= 0] = "too_few_observations"
    status[a < 2] = "too_few_arms"
    good = status == "ok"
    # the remaining arms are analysed (their statistics are reported), and the table says an arm dropped out
    status[good & (a < n_arms)] = ARM_DROPPED
    terms = [
        ("arm", ss_arm, a - 1.0, ss_b, df_e),
        ("visit", ss_visit, np.full(N.shape, b - 1.0), ss_w, (b - 1.0) * df_e),
        ("arm:visit", ss_int, (a - 1.0) * (b - 1), ss_w, (b - 1.0) * df_e),
    ]
    gg, hf = _epsilons(E, df_e) if b > 2 else (np.full(N.shape, np.nan),) * 2
    frames = []
    for name, ss, df1, sse, df2 in terms:
        with np.errstate(invalid="ignore", divide="ignore"):
            mse = np.where(good, sse / df2, np.nan)
            f = np.where(good, (ss / df1) / mse, np.nan)
            ges = np.where(good, ss / (ss + ss_b + ss_w), np.nan)
        p = f_pvalue(f, df1, df2)
        within = name != "arm" and b > 2
        eps_g = np.where(good & within, gg, np.nan)
        eps_h = np.where(good & within, hf, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "outcome": outcomes,
                    "term": name,
                    "num_df": np.where(good, df1, np.nan),
                    "den_df": np.where(good, df2, np.nan),
                    "f": f,
                    "p": p,
                    "ges": ges,
                    "mse": mse,
                    "n": N.astype(int),
                    "gg_eps": eps_g,
                    "p_gg": f_pvalue(f, eps_g * df1, eps_g * df2),
                    "hf_eps": eps_h,
                    "p_hf": f_pvalue(f, np.minimum(eps_h, 1.0) * df1, np.minimum(eps_h, 1.0) * df2),
                    "status": status,
                    "n_visits": b,
                    "_t": _TERMS.index(name),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
