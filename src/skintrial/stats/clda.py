"""Constrained longitudinal data analysis (cLDA) of many outcomes at once.

cLDA (Liang & Zeger 2000; Liu et al. 2009; Coffman, Edelman & Woolson 2016) treats the baseline as
one more response instead of a covariate. Every visit, baseline included, is an outcome of one
multivariate model; the arms share the baseline mean (randomisation makes them equal), differ by arm ×
visit effects after baseline, and the visits of one participant have an unstructured covariance.
Participants whose follow-up is missing still contribute their baseline, which is why the method is
recommended over complete-case ANCOVA when follow-up is missing at random given the baseline.

The fit is REML, batched over outcomes by :mod:`skintrial.stats._reml`; the details, the R code it
matches and the tolerances are in ``docs/clda.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from skintrial.errors import DegenerateFitWarning, InputError, Problem
from skintrial.stats._clda_fit import ClDAOptions, design, fit_all, precheck
from skintrial.stats._clda_tables import (
    CLDA_COLUMNS,
    _contrast_rows,
    _mean_rows,
    _means_table,
    _table,
)
from skintrial.stats._covstruct import STRUCTURES
from skintrial.stats._data import (
    ColumnCodes,
    TrialArrays,
    default_visit_order,
    pairwise_contrasts,
    trial_arrays,
)
from skintrial.stats._reml_inference import DF_METHODS, VCOV_METHODS
from skintrial.stats._schema import FTEST_COLUMNS, HEDGES_G, VISIT_EMMEANS_COLUMNS
from skintrial.stats._trial import TrialAnalysis, empty_table

__all__ = [
    "CldaResult",
    "clda",
    "CLDA_COLUMNS",
    "CLDA_STATUSES",
    "COVARIANCE_STRUCTURES",
    "DF_METHODS",
    "VCOV_METHODS",
]

COVARIANCE_STRUCTURES: dict[str, str] = dict(STRUCTURES)
"""The covariance structures across visits (``covariance``, ``fallback``), by their mmrm names."""

CLDA_STATUSES: dict[str, str] = {
    "ok": "fitted; the REML iterations converged",
    "constant_outcome": "the outcome takes a single value: there is no variance to model",
    "constant_visit": "no variance at some visit beyond the mean model (e.g. one value for everyone at that visit)",
    "arm_without_followup": "an arm has no value at some post-baseline visit, so its effect there is not estimable",
    "too_few_participants": "too few observations (or pairs of visits seen together) to estimate the covariance",
    "rank_deficient": "the mean model is not estimable from the observed rows (e.g. a constant covariate)",
    "not_converged": "REML did not reach the maximum in the allowed iterations",
    "df_not_estimable": "Satterthwaite / Kenward-Roger df or variance not computable (information of the "
    "covariance parameters not positive definite, or a non-positive adjusted variance)",
    "singular_covariance": "REML drives the visit covariance to singular: too few participants seen at some visits together",
    "not_measured_at_visit": "the outcome has no value at this visit for anyone (e.g. measured at baseline and the "
    "last visit only): it is fitted on the visits where it was measured, and this visit has no estimate",
    "no_baseline_data": "the outcome has no value at the baseline visit for anyone: the constrained model has no "
    "baseline to constrain",
    "no_followup_data": "(estimates, baseline rows) the outcome has no value after baseline for anyone: "
    "there is nothing to fit, so its baseline mean has no estimate either",
}
"""Every value of the ``status`` column and what it means; estimates are NaN unless the status is ok."""


@dataclass(frozen=True, kw_only=True)
class CldaResult(TrialAnalysis):
    """cLDA of many outcomes: a :class:`~skintrial.stats.TrialAnalysis`.

    Attributes
    ----------
    contrasts : DataFrame
        One row per outcome × post-baseline visit × contrast, columns :data:`CLDA_COLUMNS`: every
        visit, not only the primary one.
    estimates : DataFrame
        The adjusted mean of every arm at every visit, baseline included (where the arms share one
        mean), one row per outcome × visit × arm, columns
        :data:`~skintrial.stats._schema.VISIT_EMMEANS_COLUMNS`.
    tests : DataFrame
        Empty (columns :data:`~skintrial.stats._schema.FTEST_COLUMNS`): cLDA has no omnibus test.
    ci_level : float
    visits : tuple of str
        The visits analysed, baseline first; the last is the primary time point.
    df_method : str
        What gave ``df`` in both tables (:data:`DF_METHODS`).
    covariance, fallback : str, tuple of str
        The pre-specified covariance structure and the structures tried, in order, for an outcome it
        does not fit; the ``covariance`` column says which one each outcome used.
    vcov : str
        ``model`` or ``empirical`` (sandwich): the variance behind ``se``.
    visit_covariates : tuple of str
        Covariates whose slope differs by visit (covariate × visit terms).
    """

    method: ClassVar[str] = "clda"
    contrast_columns: ClassVar[tuple[str, ...]] = CLDA_COLUMNS
    test_columns: ClassVar[tuple[str, ...]] = FTEST_COLUMNS
    estimate_columns: ClassVar[tuple[str, ...]] = VISIT_EMMEANS_COLUMNS

    visits: tuple[str, ...]
    df_method: str
    covariance: str = "us"
    fallback: tuple[str, ...] = ()
    vcov: str = "model"
    visit_covariates: tuple[str, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        """``clda``: the contrasts at every post-baseline visit, ``primary_visit`` true at the last one,
        the primary time point (``results/clda.csv``)."""
        return {"clda": self.contrasts.assign(primary_visit=self.contrasts["visit"] == self.visits[-1])}


def _visit_order(data: pd.DataFrame, visit: str, visits: Sequence | None, baseline_visit) -> list[str]:
    order = [str(v) for v in visits] if visits is not None else default_visit_order(data[visit], column=visit)
    if str(baseline_visit) not in order:
        raise InputError(
            Problem(
                f"baseline visit {baseline_visit!r} is not among the visits {order}",
                fix="set baseline_visit to one of the visits in the data",
                column=visit,
                value=baseline_visit,
            )
        )
    if len(order) < 2:
        raise InputError(
            Problem("cLDA needs a baseline and at least one follow-up visit", column=visit, value=order)
        )
    base = str(baseline_visit)
    return [base, *[v for v in order if v != base]]


def _check_present(columns: Sequence[str], codes: ColumnCodes) -> None:
    """The arm and the covariates must not be missing (that they are constant within a participant
    is checked by :func:`~skintrial.stats._data.trial_arrays`, for every analysis); ``codes`` are the
    data's columns factorised (missing where the code is -1, as :func:`pandas.isna`)."""
    problems = []
    for c in columns:
        missing = codes.missing(c)
        if missing.any():
            problems.append(
                Problem(
                    f"'{c}' is missing",
                    fix="fill it in, or leave those participants out",
                    column=c,
                    row=int(np.flatnonzero(missing)[0]) + 2,
                    rows_affected=int(missing.sum()),
                )
            )
    InputError.collect(problems)


def clda(
    data: pd.DataFrame,
    *,
    baseline_visit,
    outcome: str = "outcome",
    value: str = "value",
    arm: str = "arm",
    visit: str = "visit",
    subject: str = "participant_id",
    visits: Sequence | None = None,
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    ci_level: float = 0.95,
    df_method: str = "residual",
    covariance: str = "us",
    fallback: Sequence[str] = (),
    vcov: str = "model",
    visit_covariates: Sequence[str] = (),
) -> CldaResult:
    """Constrained longitudinal data analysis (cLDA) of every outcome, fitted by REML.

    For each outcome the values of participant i at all visits t (baseline included) follow

        y_it = mu_t + sum_{a != first} delta_{a,t} [arm_i = a] [t != baseline] + gamma' z_i + e_it,

    with ``(e_i1, ..., e_iT)`` normal with a covariance of the chosen structure (by default
    unstructured: a variance per visit and a correlation per pair of visits). The arms share the baseline mean ``mu_baseline`` (no arm
    effect at baseline); ``delta_{a,t} - delta_{b,t}`` is the between-arm contrast at visit t.
    Participants contribute every visit they have, so those without follow-up still inform the
    baseline mean and the covariance. The fit is restricted maximum likelihood (REML), batched over
    outcomes (average-information then Newton steps on the exact information, no per-outcome loop).
    It is an MMRM with the baseline as a response: degrees of freedom, covariance structures, the
    sandwich variance and covariate × visit terms are those of R ``mmrm`` (docs/clda.md).

    Parameters
    ----------
    data : DataFrame
        Long table: one row per participant × visit × outcome, with the arm and any covariates on
        each row. Missing values (NaN or absent rows) are left out of that outcome only.
    baseline_visit
        The visit at which the arms are constrained to share the mean.
    visits : sequence, optional
        The visits to use, in order (others are dropped). By default all visits in
        :func:`~skintrial.stats._data.default_visit_order`: category order for a categorical column,
        numeric order for numbers, natural order for text (``week0, week8, week16``), whatever the
        order of the rows. The last visit is the primary time point.
    arms : sequence of str, optional
        Arm order (the reference arm is moved first); by default sorted.
    reference_arm : str, optional
        Contrasts are ``ARM - REFERENCE``; without one, all pairs (later arm minus earlier arm).
    covariates : sequence of str
        Participant-level columns (constant within a participant) entered as main effects common to
        all visits; numeric ones centred, text ones treatment-coded.
    ci_level : float
        Level of the two-sided Wald t interval.
    df_method : {"residual", "satterthwaite", "kenward_roger", "kenward_roger_linear", "between_within"}
        ``"residual"`` (default): N - p, the df of ``nlme::gls``. ``"satterthwaite"``:
        ``2 Var(c)^2 / (g' W g)`` per contrast c (g the derivative of Var(c) by the covariance
        parameters, W the inverse of their observed REML information; with ``vcov="empirical"`` the
        Bell–McCaffrey form). ``"kenward_roger"``: Kenward & Roger's adjusted variance and df (SAS
        ``ddfm=kr``); ``"kenward_roger_linear"`` leaves the second derivatives of the covariance out
        of the variance. ``"between_within"``: the df of the between- or within-participant columns
        the contrast involves. All as R ``mmrm`` computes them.
    covariance : {"us", "cs", "csh", "ar1", "ar1h", "toep", "toeph"}
        Covariance structure across visits (:data:`COVARIANCE_STRUCTURES`), in mmrm's parameters.
    fallback : sequence of str
        Structures tried, in order, for the outcomes ``covariance`` does not fit (too few
        observations for it, no convergence, a singular covariance, or an information matrix that is
        not positive definite when the df need it). The ``covariance`` column says which was used.
    vcov : {"model", "empirical"}
        The model-based variance of the estimates, or the cluster-robust sandwich (CR0); not with
        Kenward–Roger, which brings its own adjusted variance.
    visit_covariates : sequence of str
        Covariates whose slope may differ at every visit (covariate × post-baseline visit columns);
        added to ``covariates`` if they are not there.

    Returns
    -------
    CldaResult
        ``contrasts``: one row per outcome × post-baseline visit × contrast with the columns
        :data:`CLDA_COLUMNS`; ``tables()["clda"]`` adds ``primary_visit`` (true at the last
        visit), as ``results/clda.csv``. ``estimate`` (difference in adjusted means), ``se``, ``ci_low``,
        ``ci_high``, ``df``, ``t``, ``p`` (two-sided), ``p_adj`` (NaN until
        :func:`~skintrial.stats.multiplicity.adjust_families` fills it), ``n`` (participants of the
        two arms with at least one value), ``effect_size`` (estimate over the pooled baseline SD,
        Hedges-corrected) and ``status`` (see :data:`CLDA_STATUSES`).

        ``estimates``: the adjusted mean of each arm at each visit, baseline included (one mean shared
        by the arms there), one row per outcome × visit × arm with the columns
        :data:`~skintrial.stats._schema.VISIT_EMMEANS_COLUMNS`. Numeric covariates are taken at their
        mean over the participants with a value of the outcome, factors averaged over their levels
        with equal weights (as :func:`~skintrial.stats.ancova`'s adjusted means); ``n`` counts the
        arm's participants with at least one value; ``df`` as for the contrasts.

        ``tests`` is empty: cLDA has no omnibus test.

    Notes
    -----
    By default the degrees of freedom are those of ``nlme::gls``: the number of observations used
    minus the number of mean parameters, with t-distributed Wald statistics. Every df method,
    covariance structure and vcov agrees with R ``mmrm`` 0.3.18 to 1e-12 (estimates relative to their
    SE, SEs, df, log-likelihood; ``tests/reference/mmrm``, FEV and BtheB). Estimates and standard errors
    agree with ``nlme::gls(value ~ ..., correlation = corSymm(form = ~ visit | subject), weights =
    varIdent(form = ~ 1 | visit), method = "REML")`` to 1e-6 relative or better on the fixtures in
    ``tests/reference/clda`` (real and synthetic, with missing follow-up, three arms, a covariate
    and four visits). With complete data and two visits the estimate equals the ANCOVA of
    follow-up on baseline + arm exactly (the standard error differs slightly).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = []
    >>> for i in range(30):
    ...     a = "RT" if i % 2 else "CON"
    ...     b = rng.normal(2.0, 0.3)
    ...     rows.append((f"p{i}", a, "week0", "thickness", b))
    ...     if i % 10:  # every tenth participant misses the follow-up
    ...         rows.append((f"p{i}", a, "week16", "thickness", b + 0.2 * (a == "RT") + rng.normal(0, 0.1)))
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    >>> res = clda(d, baseline_visit="week0", reference_arm="CON")
    >>> res.contrasts[["outcome", "contrast", "visit", "n", "status"]].to_dict("records")
    [{'outcome': 'thickness', 'contrast': 'RT - CON', 'visit': 'week16', 'n': 30, 'status': 'ok'}]
    >>> bool(res.contrasts["ci_low"].iloc[0] < 0.2 < res.contrasts["ci_high"].iloc[0])
    True
    >>> means = res.estimates.set_index(["visit", "arm"])["emmean"]
    >>> bool(np.isclose(means["week0", "CON"], means["week0", "RT"]))  # one baseline mean for the arms
    True
    >>> bool(np.isclose(means["week16", "RT"] - means["week16", "CON"], res.contrasts["estimate"].iloc[0]))
    True
    >>> kr = clda(d, baseline_visit="week0", reference_arm="CON", df_method="kenward_roger").contrasts
    >>> kr[["df_method", "covariance", "vcov", "converged"]].to_dict("records")
    [{'df_method': 'kenward_roger', 'covariance': 'us', 'vcov': 'model', 'converged': True}]
    >>> bool(kr["df"].iloc[0] < res.contrasts["df"].iloc[0])  # fewer df than N - p: Sigma is estimated
    True
    """
    if not 0.0 < ci_level < 1.0:
        raise InputError(Problem("ci_level must lie between 0 and 1", value=ci_level, fix="e.g. 0.95"))
    opts = _options(df_method, covariance, fallback, vcov, visit_covariates)
    covariates = [*covariates, *(c for c in opts.visit_covariates if c not in covariates)]
    ta = _layout(
        data,
        baseline_visit=baseline_visit,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        visits=visits,
        arms=arms,
        reference_arm=reference_arm,
        covariates=covariates,
    )
    measured = np.isfinite(ta.values).any(axis=0)  # (G, T): anyone has the outcome at the visit
    # per outcome: its fit's status, or why it has none (no baseline, or no post-baseline visit measured)
    status = np.where(measured[:, 0], "not_measured_at_visit", "no_baseline_data").astype(object)
    tables, means = [], []
    for fit, crows, mrows, g in _fits_by_measured_visits(ta, measured, opts, reference_arm):
        tables.append(_table(fit, crows, reference_arm, ci_level, opts))
        means.append(_means_table(fit, mrows, len(crows), ci_level))
        status[g] = fit.status
    fill = dict(
        n=0,
        ci_level=ci_level,
        family="",
        p_adj_method="none",
        df_method=df_method,
        effect_size_formula=HEDGES_G,
        covariance=covariance,
        vcov=vcov,
        converged=False,
    )
    labels = [label for label, _, _ in pairwise_contrasts(ta.arms, reference_arm)]
    contrasts = _with_unmeasured_visits(tables, ta, measured, "contrast", labels, CLDA_COLUMNS, fill)
    estimates = _with_unmeasured_visits(
        means, ta, measured, "arm", list(ta.arms), VISIT_EMMEANS_COLUMNS, fill
    )
    status = pd.Series(status)
    bad = (status != "ok").to_numpy()
    if bad.any():
        counts = status[bad].value_counts().to_dict()
        warnings.warn(
            f"cLDA could not be fitted for {int(bad.sum())} of {bad.size} outcome(s) {counts}; "
            "their rows carry the status and NaN estimates",
            DegenerateFitWarning,
            stacklevel=2,
        )
    return CldaResult(
        contrasts=contrasts,
        tests=empty_table(FTEST_COLUMNS),
        estimates=estimates,
        ci_level=ci_level,
        visits=tuple(ta.visits),
        df_method=df_method,
        covariance=covariance,
        fallback=opts.fallback,
        vcov=vcov,
        visit_covariates=opts.visit_covariates,
    )


def _options(df_method, covariance, fallback, vcov, visit_covariates) -> ClDAOptions:
    """Check the analysis choices (:class:`InputError` naming the value and the allowed ones)."""
    problems = []
    if df_method not in DF_METHODS:
        problems.append(Problem("unknown df_method", value=df_method, fix=f"use one of {list(DF_METHODS)}"))
    if vcov not in VCOV_METHODS:
        problems.append(Problem("unknown vcov", value=vcov, fix=f"use one of {list(VCOV_METHODS)}"))
    if isinstance(fallback, str):
        fallback = [fallback]
    for name, value in [("covariance", covariance), *(("fallback", f) for f in fallback)]:
        if value not in STRUCTURES:
            problems.append(
                Problem(f"unknown {name} structure", value=value, fix=f"use one of {list(STRUCTURES)}")
            )
    if vcov == "empirical" and str(df_method).startswith("kenward_roger"):
        problems.append(
            Problem(
                "Kenward-Roger df come with their own adjusted model variance, not the empirical one",
                value=f"df_method = {df_method!r}, vcov = {vcov!r}",
                fix='use vcov = "model" with Kenward-Roger, or df_method = "satterthwaite" with the empirical vcov',
            )
        )
    if isinstance(visit_covariates, str):
        visit_covariates = [visit_covariates]
    InputError.collect(problems)
    return ClDAOptions(
        df_method=df_method,
        covariance=covariance,
        fallback=tuple(dict.fromkeys(f for f in fallback if f != covariance)),
        vcov=vcov,
        visit_covariates=tuple(visit_covariates),
    )


def _fit(
    data,
    *,
    baseline_visit,
    outcome,
    value,
    arm,
    visit,
    subject,
    visits,
    arms,
    reference_arm,
    covariates,
    opts: ClDAOptions | None = None,
):
    """Validate, lay out and fit on every visit; returns the :class:`~skintrial.stats._clda_fit.Fit` and
    the column of each arm × visit effect (tests and the docs use it; :func:`clda` fits each outcome on
    its measured visits)."""
    ta = _layout(
        data,
        baseline_visit=baseline_visit,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        visits=visits,
        arms=arms,
        reference_arm=reference_arm,
        covariates=covariates,
    )
    opts = opts or ClDAOptions()
    fit, _, _, d = _fit_arrays(ta, opts, reference_arm)
    return fit, d.col


def _fit_arrays(ta: TrialArrays, opts: ClDAOptions, reference_arm):
    """Fit the laid-out outcomes on all of ``ta``'s visits: the fit (with the contrast rows and then the
    adjusted-mean rows estimated), those rows and the design."""
    d = design(ta, opts.visit_covariates)
    y = ta.values.transpose(1, 0, 2)  # (G, n, T)
    mask = np.isfinite(y)
    status = precheck(y, mask, d.X, ta.arm_index, len(ta.arms), opts.covariance)
    crows, Lc = _contrast_rows(ta, d, reference_arm)
    mrows, Lm = _mean_rows(ta, d, mask.any(axis=2))
    L = np.concatenate([np.broadcast_to(Lc, (Lm.shape[0], *Lc.shape)), Lm], axis=1)
    return replace(fit_all(y, mask, d.X, status, L, opts), ta=ta), crows, mrows, d


def _fits_by_measured_visits(ta: TrialArrays, measured: np.ndarray, opts: ClDAOptions, reference_arm):
    """One fit per set of visits at which outcomes were measured (a handful: the loop is over visit sets,
    not outcomes), yielding the fit, its contrast and mean rows and the outcomes' positions. An outcome
    measured at baseline and the last visit only is fitted on those two; the rows of the visits it lacks
    are added by :func:`_with_unmeasured_visits`."""
    sets, which = np.unique(measured, axis=0, return_inverse=True)
    for k, visits_on in enumerate(sets):
        g = np.flatnonzero(which.reshape(-1) == k)
        if not visits_on[0] or visits_on[1:].sum() == 0:
            continue  # no baseline, or no follow-up at all: rows come from _with_unmeasured_visits
        t = np.flatnonzero(visits_on)
        sub = replace(
            ta,
            outcomes=tuple(ta.outcomes[i] for i in g),
            visits=tuple(ta.visits[i] for i in t),
            values=ta.values[:, g][:, :, t],
        )
        fit, crows, mrows, _ = _fit_arrays(sub, opts, reference_arm)
        yield fit, crows, mrows, g


def _with_unmeasured_visits(
    fitted: list[pd.DataFrame],
    ta: TrialArrays,
    measured: np.ndarray,
    key: str,
    labels: list[str],
    columns: tuple[str, ...],
    fill: dict,
) -> pd.DataFrame:
    """The fits' rows with the rows of outcome × visit × ``key`` that no fit produced, in outcome, visit
    and ``labels`` order: a visit at which the outcome was not measured, or an outcome without baseline
    or follow-up data, with their status and the ``fill`` values of ``columns``.

    ``key`` is ``contrast`` (rows at the post-baseline visits) or ``arm`` (the estimates: every visit,
    baseline included)."""
    out = pd.concat(fitted, ignore_index=True) if fitted else pd.DataFrame(columns=list(columns))
    first = 1 if key == "contrast" else 0
    fitted_outcome = measured[:, 0] & measured[:, 1:].any(axis=1)
    g, t = np.nonzero(~(fitted_outcome[:, None] & measured[:, first:]))  # (outcome, visit) without a fit
    t = t + first
    if g.size:
        L = len(labels)
        why = np.where(t == 0, "no_followup_data", "not_measured_at_visit")
        extra = pd.DataFrame(
            {
                "outcome": np.repeat(np.asarray(ta.outcomes, dtype=object)[g], L),
                key: np.tile(np.asarray(labels, dtype=object), g.size),
                "visit": np.repeat(np.asarray(ta.visits, dtype=object)[t], L),
                "status": np.repeat(np.where(measured[g, 0], why, "no_baseline_data"), L),
            }
        ).reindex(columns=list(columns))
        extra = extra.assign(**{k: v for k, v in fill.items() if k in columns})
        out = pd.concat([out, extra], ignore_index=True) if len(out) else extra
    elif len(fitted) == 1:
        return out  # one fit of every outcome on every visit: already in outcome, visit, key order
    order = {
        "outcome": {o: k for k, o in enumerate(ta.outcomes)},
        "visit": {v: k for k, v in enumerate(ta.visits)},
        key: {c: k for k, c in enumerate(labels)},
    }
    out = out.sort_values(["outcome", "visit", key], key=lambda s: s.map(order[s.name]), kind="mergesort")
    return out.reset_index(drop=True)[list(columns)]


def _layout(
    data, *, baseline_visit, outcome, value, arm, visit, subject, visits, arms, reference_arm, covariates
) -> TrialArrays:
    """Validate the columns and visits and lay the long table out (all visits)."""
    needed = [subject, visit, outcome, value, arm, *covariates]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise InputError(f"column(s) {absent} not found in the data", fix=f"the data need columns {needed}")
    order = _visit_order(data, visit, visits, baseline_visit)
    codes = ColumnCodes(data)  # each column factorised once, for the checks and the layout
    _check_present([arm, *covariates], codes)
    return trial_arrays(
        data,
        outcome=outcome,
        value=value,
        arm=arm,
        visit=visit,
        subject=subject,
        visits=order,
        arms=arms,
        reference_arm=reference_arm,
        covariates=covariates,
        column_codes=codes,
    )
