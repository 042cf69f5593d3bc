"""Binary and responder outcomes: logistic regression on baseline covariates with covariate-adjusted
risk differences and risk ratios by standardisation (g-computation), beside the unadjusted ones.

A responder is a participant whose follow-up meets a rule: for a binary outcome (values 0/1) the
follow-up value itself; for a continuous outcome, ``change >= change_at_least`` or ``100 · change /
baseline >= percent_change_at_least``. Over each outcome's complete cases (baseline, follow-up and
covariates):

* **Model**: ``logit P(responder) = b0 + b_arm + b_base · baseline [+ covariates]`` (the baseline value
  of the outcome, as in the ANCOVA), fitted by iteratively reweighted least squares batched over
  outcomes (Newton–Raphson on the binomial likelihood, as R's ``glm``).
* **Adjusted risk of each arm** (standardisation, g-computation): every analysed participant's
  predicted probability with their arm set to that arm, averaged over all of them — the marginal risk
  had everyone been allocated that arm (FDA 2023 covariate-adjustment guidance; Ge et al. 2011, Drug
  Inf J 45:481). The risk difference ``r_a − r_ref`` and the risk ratio ``r_a / r_ref`` (its interval
  on the log scale) with delta-method SEs from the model covariance: the gradient of ``r_a`` is
  ``mean_i p_i(a)(1 − p_i(a)) x_i(a)``. The odds ratio ``exp(b_arm)`` (conditional on the covariates)
  is reported too, with its Wald interval.
* **Unadjusted**: the observed proportions; RD with SE ``√(p₁q₁/n₁ + p₀q₀/n₀)``, RR on the log scale
  with SE ``√(q₁/(n₁p₁) + q₀/(n₀p₀))``; Wald z tests and intervals.

Statuses: ``ok``; ``no_variation`` (everyone or no one responded); ``not_converged`` (IRLS did not
converge in 50 iterations, e.g. complete separation, where the maximum-likelihood estimate does not
exist); ``arm_without_complete_cases``; ``too_few_observations`` (n ≤ parameters). Checked against R
``glm`` and a committed R computation of the standardised estimates (``tests/reference/responders``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from skintrial.errors import InputError, Problem
from skintrial.stats._data import arm_design, followup_visit_of, pairwise_contrasts, trial_arrays
from skintrial.stats._inference import z_critical, z_pvalue
from skintrial.stats._schema import RESPONDER_COLUMNS

__all__ = ["ResponderRule", "responder_analysis"]


@dataclass(frozen=True, kw_only=True)
class ResponderRule:
    """Who responded, for one outcome: ``binary`` (the follow-up value, 0/1), or a threshold on the
    change (``change_at_least``) or on the percent change (``percent_change_at_least``)."""

    binary: bool = False
    change_at_least: float | None = None
    percent_change_at_least: float | None = None

    def __post_init__(self) -> None:
        given = [self.binary, self.change_at_least is not None, self.percent_change_at_least is not None]
        if sum(given) != 1:
            raise InputError(
                Problem(
                    "a responder rule needs exactly one of: binary, change_at_least, percent_change_at_least",
                    column="responders",
                    fix='e.g. change_at_least = 0.05, or type = "binary" for a 0/1 outcome',
                )
            )

    def describe(self) -> str:
        if self.binary:
            return "binary"
        if self.change_at_least is not None:
            return f"change >= {self.change_at_least:g}"
        return f"percent change >= {self.percent_change_at_least:g}"

    def respond(self, base: np.ndarray, post: np.ndarray) -> np.ndarray:
        if self.binary:
            return post
        if self.change_at_least is not None:
            return np.where(
                np.isfinite(post - base), (post - base >= self.change_at_least).astype(float), np.nan
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = 100.0 * (post - base) / base
        threshold = float(self.percent_change_at_least or 0.0)
        return np.where(np.isfinite(pct), (pct >= threshold).astype(float), np.nan)


def _irls(X: np.ndarray, y: np.ndarray, W: np.ndarray, iters: int = 50, tol: float = 1e-10):
    """Batched logistic regression. X (K, n, p), y (n, K), W (n, K) rows used. Returns beta (K, p),
    covariance (K, p, p) and converged (K,)."""
    K, n, p = X.shape
    Wt = W.T.astype(float)  # (K, n)
    yt = np.where(W, y, 0.0).T
    beta = np.zeros((K, p))
    conv = np.zeros(K, dtype=bool)
    dev_old = np.full(K, np.inf)
    info = np.broadcast_to(np.eye(p), (K, p, p)).copy()
    for _ in range(iters):
        eta = np.einsum("knp,kp->kn", X, beta)
        mu = special.expit(eta)
        w = Wt * mu * (1 - mu)
        info = np.einsum("knp,kn,knq->kpq", X, w, X)
        score = np.einsum("knp,kn->kp", X, Wt * (yt - mu))
        try:
            step = np.linalg.solve(info, score[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        beta = beta + np.where(conv[:, None], 0.0, step)
        mu = special.expit(np.einsum("knp,kp->kn", X, beta))
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = -2 * (Wt * (special.xlogy(yt, mu) + special.xlogy(1 - yt, 1 - mu))).sum(axis=1)
        conv = conv | (np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < tol)  # R's glm criterion
        dev_old = dev
        if conv.all():
            break
    eta = np.einsum("knp,kp->kn", X, beta)
    mu = special.expit(eta)
    info = np.einsum("knp,kn,knq->kpq", X, Wt * mu * (1 - mu), X)
    with np.errstate(invalid="ignore"):
        cov = np.linalg.pinv(info)
    conv = conv & (np.abs(beta) < 30).all(axis=1)  # a diverging coefficient: separation
    return beta, cov, conv


def responder_analysis(
    data: pd.DataFrame,
    *,
    rules: Mapping[str, ResponderRule],
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
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Responder analysis of the outcomes named in ``rules`` (module docstring).

    Returns one row per outcome × contrast × measure (``risk_difference``, ``risk_ratio``,
    ``odds_ratio``) × ``adjusted`` (True: standardised from the logistic model; False: observed
    proportions; the odds ratio only adjusted), columns
    :data:`~skintrial.stats._schema.RESPONDER_COLUMNS`. ``se`` is on the scale of the test: the risk
    difference itself, the log risk ratio, the log odds ratio.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> vals = [("A", 1.0, 1.2), ("A", 2.0, 2.1), ("A", 3.0, 3.3), ("A", 2.0, 2.5), ("B", 1.5, 2.4),
    ...         ("B", 2.5, 3.1), ("B", 3.5, 4.6), ("B", 2.2, 2.3)]
    >>> for i, (a, b, f) in enumerate(vals):
    ...     rows += [(f"p{i}", a, "week0", "r2", b), (f"p{i}", a, "week16", "r2", f)]
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> r = responder_analysis(d, rules={"r2": ResponderRule(change_at_least=0.45)},
    ...                        baseline_visit="week0", reference_arm="A")
    >>> r.loc[~r["adjusted"], ["measure", "risk_arm", "risk_reference"]].to_dict("records")[0]
    {'measure': 'risk_difference', 'risk_arm': 0.75, 'risk_reference': 0.25}
    """
    names = [o for o in rules]
    sub = data[data[outcome].isin(names)]
    ta = trial_arrays(
        sub,
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
    base, post = ta.visit(baseline_visit), ta.visit(fu)
    y = np.column_stack([rules[o].respond(base[:, k], post[:, k]) for k, o in enumerate(ta.outcomes)])
    Xs, _, _ = arm_design(ta)
    A = len(ta.arms)
    K, n = len(ta.outcomes), len(ta.subjects)
    W = np.isfinite(y) & np.isfinite(base) & np.isfinite(Xs).all(axis=1)[:, None]
    X = np.concatenate(
        [np.broadcast_to(Xs, (K, n, Xs.shape[1])), np.where(W, base, 0.0).T[:, :, None]], axis=2
    )
    X = np.where(W.T[:, :, None], np.nan_to_num(X), 0.0)
    p = X.shape[2]
    onehot = (ta.arm_index[:, None] == np.arange(A)[None, :]).astype(float)
    n_arm = W.astype(float).T @ onehot  # (K, A)
    resp_arm = np.where(W, y, 0.0).T @ onehot
    tot = W.sum(axis=0)
    beta, cov, conv = _irls(X, y, W)
    status = np.full(K, "ok", dtype=object)
    status[~conv] = "not_converged"
    ny = np.where(W, y, 0.0).sum(axis=0)
    status[(ny == 0) | (ny == tot)] = "no_variation"
    status[tot <= p] = "too_few_observations"
    status[(n_arm == 0).any(axis=1)] = "arm_without_complete_cases"
    # standardised risks: every analysed participant with the arm set to a
    risks = np.zeros((K, A))
    grads = np.zeros((K, A, p))
    for a in range(A):
        Xa = X.copy()
        Xa[:, :, 1:A] = 0.0
        if a > 0:
            Xa[:, :, a] = 1.0
        mu = special.expit(np.einsum("knp,kp->kn", Xa, beta))
        wt = W.T / np.maximum(tot, 1)[:, None]
        risks[:, a] = (wt * mu).sum(axis=1)
        grads[:, a] = np.einsum("kn,knp->kp", wt * mu * (1 - mu), Xa)
    zc = float(z_critical(ci_level))
    rows = []
    for label, j, i in pairwise_contrasts(ta.arms, reference_arm):
        g_rd = grads[:, j] - grads[:, i]
        g_rr = grads[:, j] / risks[:, [j]] - grads[:, i] / risks[:, [i]]
        se_rd = np.sqrt(np.einsum("kp,kpq,kq->k", g_rd, cov, g_rd))
        se_rr = np.sqrt(np.einsum("kp,kpq,kq->k", g_rr, cov, g_rr))
        L = np.zeros(p)
        if j > 0:
            L[j] += 1.0
        if i > 0:
            L[i] -= 1.0
        lor = beta @ L
        se_or = np.sqrt(np.einsum("p,kpq,q->k", L, cov, L))
        p1, p0 = resp_arm[:, j] / n_arm[:, j], resp_arm[:, i] / n_arm[:, i]
        with np.errstate(divide="ignore", invalid="ignore"):
            u_rd, u_se_rd = p1 - p0, np.sqrt(p1 * (1 - p1) / n_arm[:, j] + p0 * (1 - p0) / n_arm[:, i])
            u_lrr = np.log(p1 / p0)
            u_se_rr = np.sqrt((1 - p1) / (n_arm[:, j] * p1) + (1 - p0) / (n_arm[:, i] * p0))
        nn = n_arm[:, j] + n_arm[:, i]
        parts = [
            ("risk_difference", True, risks[:, j] - risks[:, i], se_rd, False, risks[:, j], risks[:, i]),
            ("risk_ratio", True, np.log(risks[:, j] / risks[:, i]), se_rr, True, risks[:, j], risks[:, i]),
            ("odds_ratio", True, lor, se_or, True, risks[:, j], risks[:, i]),
            ("risk_difference", False, u_rd, u_se_rd, False, p1, p0),
            ("risk_ratio", False, u_lrr, u_se_rr, True, p1, p0),
        ]
        for measure, adjusted, est, se, log, r1, r0 in parts:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a diverged fit: NaN below
                z = est / se
                lo, hi = est - zc * se, est + zc * se
                est_out, lo_out, hi_out = (np.exp(est), np.exp(lo), np.exp(hi)) if log else (est, lo, hi)
            rows.append(
                pd.DataFrame(
                    {
                        "outcome": list(ta.outcomes),
                        "rule": [rules[o].describe() for o in ta.outcomes],
                        "contrast": label,
                        "measure": measure,
                        "adjusted": adjusted,
                        "estimate": est_out,
                        "se": se,
                        "ci_low": lo_out,
                        "ci_high": hi_out,
                        "ci_level": ci_level,
                        "z": z,
                        "p": z_pvalue(z),
                        "risk_arm": r1,
                        "risk_reference": r0,
                        "n": nn.astype(np.int64),
                        "status": status.astype(str),
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    order = {o: k for k, o in enumerate(ta.outcomes)}
    out = out.sort_values("outcome", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    # the observed proportions do not need the model: not_converged concerns the adjusted rows only
    out.loc[~out["adjusted"] & (out["status"] == "not_converged"), "status"] = "ok"
    bad = (out["status"] != "ok").to_numpy()
    out.loc[bad, ["estimate", "se", "ci_low", "ci_high", "z", "p"]] = np.nan
    out.loc[bad & out["adjusted"].to_numpy(), ["risk_arm", "risk_reference"]] = np.nan
    return out[list(RESPONDER_COLUMNS)]
