"""Rank-based sensitivity analyses of a pre/post trial: Quade's rank ANCOVA, the Wilcoxon–Mann–Whitney
test of the change from baseline with the Hodges–Lehmann shift and its interval, and the
Kruskal–Wallis test across all arms.

They answer "does the conclusion lean on normality?" for small trials with skewed outcomes, beside the
pre-specified ANCOVA, never instead of it. Over each outcome's complete cases (baseline and follow-up):

* **Quade's rank ANCOVA** (Quade 1967, JASA 62:1187): rank the follow-up and the baseline over all
  participants (ties averaged), regress the follow-up ranks on the baseline ranks, and compare the
  arms by the one-way ANOVA F of the residuals, on (A − 1, N − A) df. The residual F comes from the
  batched engine. R: ``anova(lm(resid(lm(rank(post) ~ rank(pre))) ~ arm))``.
* **Wilcoxon–Mann–Whitney** of the change in each arm against the reference arm, as R's
  ``wilcox.test(change[arm], change[reference], conf.int = TRUE)``: ``W`` is the rank sum of the arm
  minus n(n+1)/2; exact p-value and interval (the order statistics of the n₁n₂ pairwise differences
  at ``qwilcox``) when both arms have fewer than 50 participants and there are no ties, otherwise the
  normal approximation with continuity and tie corrections, and the interval and shift as the roots of
  the corrected statistic. The Hodges–Lehmann shift is the median of the pairwise differences (exact)
  or the root at z = 0 (approximate); the statistic is a step function there, and where it is zero on
  an interval the shift is that interval's midpoint (R's ``uniroot`` returns a point of it).
* **Kruskal–Wallis** of the change across every arm, ties corrected, χ² on A − 1 df (``kruskal.test``).

Checked against R in ``tests/reference/rank/make_rank.R``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from skintrial.stats._data import TrialArrays, followup_visit_of, pairwise_contrasts, trial_arrays
from skintrial.stats._engine import STATUS_OK, fit_ols
from skintrial.stats._inference import f_pvalue, z_critical, z_pvalue
from skintrial.stats._schema import KRUSKAL_COLUMNS, RANK_ANCOVA_COLUMNS, WILCOXON_COLUMNS

__all__ = ["rank_ancova", "wilcoxon_shift", "kruskal_wallis", "QUADE", "TOO_FEW", "CONSTANT"]

QUADE = "Quade 1967: one-way ANOVA F of the residuals of rank(follow-up) on rank(baseline)"
TOO_FEW = "too_few_observations"
CONSTANT = "constant_outcome"


def _arrays(data, baseline_visit, followup_visit, **cols) -> tuple[TrialArrays, np.ndarray, np.ndarray]:
    ta = trial_arrays(data, **cols)
    fu = followup_visit_of(ta.visits, baseline_visit, followup_visit)
    base, post = ta.visit(baseline_visit), ta.visit(fu)
    W = np.isfinite(base) & np.isfinite(post)
    return ta, np.where(W, base, np.nan), np.where(W, post, np.nan)


def _cols(outcome, value, arm, visit, subject, arms, reference_arm) -> dict:
    return {
        "outcome": outcome,
        "value": value,
        "arm": arm,
        "visit": visit,
        "subject": subject,
        "arms": arms,
        "reference_arm": reference_arm,
    }


def rank_ancova(
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
) -> pd.DataFrame:
    """Quade's (1967) rank ANCOVA of follow-up on baseline, for every outcome at once.

    Returns one row per outcome with the columns of ``results/rank_ancova.csv``
    (:data:`~skintrial.stats._schema.RANK_ANCOVA_COLUMNS`): F, its df and p, n, the method's name and
    the engine's status of the residual ANOVA (``ok``, ``too_few_observations`` when N ≤ A,
    ``rank_deficient`` when an arm has no complete case, ``no_residual_variance``).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> vals = [("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3), ("B", 1.5, 2.4), ("B", 2.5, 3.1),
    ...         ("B", 3.5, 4.6)]
    >>> for i, (a, b, f) in enumerate(vals):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> rank_ancova(d, baseline_visit="week0")[["num_df", "den_df", "n", "status"]].to_dict("records")
    [{'num_df': 1.0, 'den_df': 4.0, 'n': 6, 'status': 'ok'}]
    """
    cols = _cols(outcome, value, arm, visit, subject, arms, reference_arm)
    ta, base, post = _arrays(data, baseline_visit, followup_visit, **cols)
    W = np.isfinite(post)
    rx = rankdata(base, axis=0, nan_policy="omit")
    ry = rankdata(post, axis=0, nan_policy="omit")
    n = W.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = np.nanmean(rx, axis=0), np.nanmean(ry, axis=0)
        sxy = np.nansum((rx - mx) * (ry - my), axis=0)
        sxx = np.nansum((rx - mx) ** 2, axis=0)
        slope = np.where(sxx > 0, sxy / sxx, 0.0)
    resid = np.where(W, ry - my - slope * (rx - mx), 0.0)
    A = len(ta.arms)
    X = (ta.arm_index[:, None] == np.arange(A)[None, :]).astype(float)
    X[:, 0] = 1.0
    fit = fit_ols(X, resid, mask=W, outcomes=ta.outcomes)
    L = np.zeros((A - 1, A))
    L[np.arange(A - 1), np.arange(1, A)] = 1.0
    ft = fit.f_test(L)
    status = np.asarray(
        fit.status, dtype=object
    )  # the engine's: ok, too_few_observations, rank_deficient, ...
    ok = status == STATUS_OK
    out = pd.DataFrame(
        {
            "outcome": list(ta.outcomes),
            "f": np.where(ok, ft.f, np.nan),
            "num_df": np.where(ok, float(A - 1), np.nan),
            "den_df": np.where(ok, ft.den_df, np.nan),
            "p": np.where(ok, ft.p, np.nan),
            "n": n.astype(np.int64),
            "method": QUADE,
            "status": status.astype(str),
        }
    )
    return out[list(RANK_ANCOVA_COLUMNS)]


def kruskal_wallis(
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
) -> pd.DataFrame:
    """Kruskal–Wallis test of the change from baseline across every arm (R ``kruskal.test``).

    One row per outcome, columns :data:`~skintrial.stats._schema.KRUSKAL_COLUMNS`: the tie-corrected
    H (``statistic``), df = A − 1, the χ² p-value, n and a status.
    """
    cols = _cols(outcome, value, arm, visit, subject, arms, reference_arm)
    ta, base, post = _arrays(data, baseline_visit, followup_visit, **cols)
    change = post - base
    W = np.isfinite(change)
    r = np.where(W, rankdata(change, axis=0, nan_policy="omit"), 0.0)
    N = W.sum(axis=0).astype(float)
    A = len(ta.arms)
    onehot = (ta.arm_index[:, None] == np.arange(A)[None, :]).astype(float)
    nj = onehot.T @ W.astype(float)  # (A, K)
    Rj = onehot.T @ r
    with np.errstate(invalid="ignore", divide="ignore"):
        H = 12.0 / (N * (N + 1)) * np.where(nj > 0, Rj**2 / nj, 0.0).sum(axis=0) - 3.0 * (N + 1)
    ties = np.array([_tie_sum(change[W[:, k], k]) for k in range(change.shape[1])])
    with np.errstate(invalid="ignore", divide="ignore"):
        H = H / (1.0 - ties / (N**3 - N))
    groups = (nj > 0).sum(axis=0)
    df = groups - 1.0
    status = np.where(groups < 2, TOO_FEW, np.where(np.isfinite(H), STATUS_OK, CONSTANT)).astype(object)
    ok = status == STATUS_OK
    out = pd.DataFrame(
        {
            "outcome": list(ta.outcomes),
            "statistic": np.where(ok, H, np.nan),
            "df": np.where(ok, df, np.nan),
            "p": np.where(ok, f_pvalue(H / np.where(df > 0, df, np.nan), df, np.inf), np.nan),
            "n": N.astype(np.int64),
            "status": status.astype(str),
        }
    )
    return out[list(KRUSKAL_COLUMNS)]


def _tie_sum(v: np.ndarray) -> float:
    _, t = np.unique(v, return_counts=True)
    return float((t.astype(float) ** 3 - t).sum())


@lru_cache(maxsize=64)
def _mwu_cdf(m: int, n: int) -> np.ndarray:
    """P(W <= w), w = 0..mn, of the Mann–Whitney statistic without ties (R's ``pwilcox``)."""
    prev = [np.ones(1) for _ in range(n + 1)]
    for a in range(1, m + 1):
        cur = [np.ones(1)]
        for b in range(1, n + 1):
            arr = np.zeros(a * b + 1)
            x, y = prev[b], cur[b - 1]
            arr[b : b + len(x)] += x  # the largest value is an x: it beats all b y's
            arr[: len(y)] += y
            cur.append(arr)
        prev = cur
    counts = prev[n]
    return np.cumsum(counts) / counts.sum()


def _qwilcox(p: float, m: int, n: int) -> int:
    cdf = _mwu_cdf(m, n)
    return int(np.searchsorted(cdf, p - 10 * np.finfo(float).eps, side="left"))


def _exact(x: np.ndarray, y: np.ndarray, w: float, level: float) -> tuple[float, float, float, float]:
    m, n = len(x), len(y)
    cdf = _mwu_cdf(m, n)
    if w > m * n / 2:
        p = 1.0 - cdf[int(w) - 1]
    else:
        p = cdf[int(w)]
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    qu = _qwilcox((1 - level) / 2, m, n)
    qu = max(qu, 1)
    ql = m * n - qu
    return min(2 * p, 1.0), float(np.median(diffs)), float(diffs[qu - 1]), float(diffs[ql])


def _wdiff(x: np.ndarray, y: np.ndarray, d: np.ndarray, zq: float) -> np.ndarray:
    """R's corrected standardised statistic at shifts ``d`` (vector) minus ``zq``."""
    m, n = len(x), len(y)
    comb = np.concatenate([x[None, :] - d[:, None], np.broadcast_to(y, (len(d), n))], axis=1)
    r = rankdata(comb, axis=1)
    dz = r[:, :m].sum(axis=1) - m * (m + 1) / 2 - m * n / 2
    srt = np.sort(comb, axis=1)
    ties = np.zeros(len(d))
    for i in range(len(d)):  # tie counts of each shifted sample
        _, t = np.unique(srt[i], return_counts=True)
        ties[i] = (t.astype(float) ** 3 - t).sum()
    sigma = np.sqrt(m * n / 12 * ((m + n + 1) - ties / ((m + n) * (m + n - 1))))
    return (dz - np.sign(dz) * 0.5) / sigma - zq


def _root(x: np.ndarray, y: np.ndarray, zq: float) -> float:
    """Where the (non-increasing, step) statistic crosses zero: a jump point, or the midpoint of the
    interval on which it is exactly zero; the ends of the range when it does not cross."""
    D = np.unique(np.subtract.outer(x, y).ravel())
    mid = (D[:-1] + D[1:]) / 2
    pts = np.sort(np.concatenate([D, mid]))
    f = _wdiff(x, y, pts, zq)
    if f[0] <= 0:
        return float(pts[0])
    if f[-1] >= 0:
        return float(pts[-1])
    zero = np.flatnonzero(f == 0)
    if zero.size:
        return float((pts[zero[0]] + pts[zero[-1]]) / 2)
    k = int(np.flatnonzero(f < 0)[0])  # first negative: the jump lies at pts[k] or just below
    return float(pts[k] if k % 2 == 0 else pts[k - 1])


def _approx(x: np.ndarray, y: np.ndarray, w: float, level: float) -> tuple[float, float, float, float]:
    m, n = len(x), len(y)
    allv = np.concatenate([x, y])
    ties = _tie_sum(allv)
    z = w - m * n / 2
    sigma = np.sqrt(m * n / 12 * ((m + n + 1) - ties / ((m + n) * (m + n - 1))))
    p = float(z_pvalue((z - np.sign(z) * 0.5) / sigma)) if sigma > 0 else np.nan
    zq = float(z_critical(level))
    return p, _root(x, y, 0.0), _root(x, y, zq), _root(x, y, -zq)


def wilcoxon_shift(
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
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Wilcoxon–Mann–Whitney test of the change from baseline, each arm against the reference arm (or
    every pair without one), with the Hodges–Lehmann shift and its interval (R ``wilcox.test(...,
    conf.int = TRUE)``).

    One row per outcome × contrast, columns :data:`~skintrial.stats._schema.WILCOXON_COLUMNS`: ``w``
    (R's W for the first arm of the contrast), ``p``, ``estimate`` (the shift of the contrast's first
    arm over its second), ``ci_low``, ``ci_high``, ``ci_level``, ``n``, ``method`` (``exact`` or
    ``normal_approximation``) and ``status`` (``too_few_observations`` when an arm has no change).
    One outcome and contrast at a time: the exact distribution and the interval's roots are per sample.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> vals = [("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3), ("B", 1.5, 2.4), ("B", 2.5, 3.1),
    ...         ("B", 3.5, 4.6)]
    >>> for i, (a, b, f) in enumerate(vals):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> r = wilcoxon_shift(d, baseline_visit="week0", reference_arm="A")
    >>> r[["contrast", "w", "p", "estimate", "method"]].round(4).to_dict("records")
    [{'contrast': 'B - A', 'w': 9.0, 'p': 0.1, 'estimate': 0.7, 'method': 'exact'}]
    """
    cols = _cols(outcome, value, arm, visit, subject, arms, reference_arm)
    ta, base, post = _arrays(data, baseline_visit, followup_visit, **cols)
    change = post - base
    pairs = pairwise_contrasts(ta.arms, reference_arm)
    rows = []
    for k, name in enumerate(ta.outcomes):
        ck = change[:, k]
        for label, j, i in pairs:
            x = ck[(ta.arm_index == j) & np.isfinite(ck)]
            y = ck[(ta.arm_index == i) & np.isfinite(ck)]
            row = {"outcome": name, "contrast": label, "n": len(x) + len(y), "ci_level": ci_level}
            if len(x) == 0 or len(y) == 0:
                rows.append({**row, "method": "", "status": TOO_FEW})
                continue
            r = rankdata(np.concatenate([x, y]))
            w = float(r[: len(x)].sum() - len(x) * (len(x) + 1) / 2)
            exact = len(x) < 50 and len(y) < 50 and len(np.unique(np.concatenate([x, y]))) == len(r)
            p, est, lo, hi = (_exact if exact else _approx)(x, y, w, ci_level)
            rows.append(
                {
                    **row,
                    "w": w,
                    "p": p,
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "method": "exact" if exact else "normal_approximation",
                    "status": STATUS_OK if np.isfinite(p) else CONSTANT,
                }
            )
    out = pd.DataFrame(rows, columns=list(WILCOXON_COLUMNS))
    for c in ("w", "p", "estimate", "ci_low", "ci_high"):
        out[c] = out[c].astype(float)
    out["n"] = out["n"].astype(np.int64)
    return out
