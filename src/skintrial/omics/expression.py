"""Differential expression with moderated statistics (limma's method on skintrial's engine).

Each gene's log expression is fitted with the same linear model — a group, a batch, the participant
of a paired pre/post study — by the batched engine :func:`skintrial.stats.fit_ols` (one factorisation
for all genes when nothing is missing; per-gene rows dropped exactly where values are missing). The
residual variances are then shrunk by Smyth's empirical Bayes (:func:`skintrial.stats.squeeze_var`)
and every contrast gets a moderated t on ``d_g + d0`` degrees of freedom, limma's B statistic, a t
interval, and Benjamini–Hochberg adjusted p-values across genes within the contrast.

This reproduces ``limma::lmFit`` + ``eBayes`` + ``topTable``: on the Kuehne 2017 skin-aging microarray
(15,801 genes × 48 arrays, ``~ condition + slide``, old vs young) log-fold changes, t, p, adjusted p
and B agree with R limma 3.54.1 to better than 1e-9 relative (``tests/omics/test_expression.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from skintrial.cluster import InProcess, Runner, as_runner
from skintrial.errors import InputError, Problem
from skintrial.omics._counts import tmm_factors, voom_weights
from skintrial.omics._design import DesignMatrix, build_design, contrast_vector
from skintrial.omics._dupcor import duplicate_correlation, whitening
from skintrial.omics._expression_io import ExpressionData, check_counts, load_expression
from skintrial.omics._outcome_chunks import chunked_duplicate_correlation, chunked_fit, chunked_voom_fit
from skintrial.stats import BatchedFit, fit_ols, moderated_contrasts, p_adjust

__all__ = [
    "DE_COLUMNS",
    "ExpressionFit",
    "differential_expression",
    "differential_expression_from_fit",
    "fit_expression",
    "load_expression",
    "tmm_factors",
    "voom_weights",
]

DE_COLUMNS = (
    "gene",
    "contrast",
    "log_fc",
    "se",
    "ave_expr",
    "t",
    "df_total",
    "p",
    "p_adj",
    "b",
    "ci_low",
    "ci_high",
    "ci_level",
    "status",
)


@dataclass(frozen=True)
class ExpressionFit:
    """A design fitted to every gene: the data, the design matrix and the engine's batched fit.

    For RNA-seq counts ``data.values`` holds voom's log-CPM values, ``weights`` their precision
    weights (genes × samples) and ``norm_factors`` the TMM factors; both are None for log-scale data.
    ``chunk_moments``: from a fit on a cluster, each chunk's ``fitFDist`` sufficient statistics
    (:func:`skintrial.stats.fdist_moments`), computed by the workers with the fit
    and used by :func:`differential_expression_from_fit` on a cluster; None in this process.
    """

    data: ExpressionData
    design: DesignMatrix
    fit: BatchedFit
    weights: np.ndarray | None = None
    norm_factors: np.ndarray | None = None
    correlation: float | None = None
    chunk_moments: np.ndarray | None = None

    def contrasts(self, contrast: str | Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Labels and the (m, p) matrix of one or several contrast specifications."""
        specs = [contrast] if isinstance(contrast, str) else list(contrast)
        pairs = [contrast_vector(self.design, s) for s in specs]
        return [lab for lab, _ in pairs], np.vstack([v for _, v in pairs])

    def residuals(self) -> np.ndarray:
        """Residuals, genes × samples (NaN where the value was missing or the fit failed)."""
        fitted = self.fit.coef @ self.design.X.T
        return self.data.values - fitted


def fit_expression(
    expr: Any,
    samples: Any = None,
    *,
    design: str,
    sample_column: str = "sample",
    counts: bool = False,
    block: str | None = None,
    client: Any = None,
) -> ExpressionFit:
    """Fit the design formula to every gene (no moderation yet; see :func:`differential_expression`).

    Parameters are as for :func:`differential_expression`. With a cluster ``client`` the genes are
    fitted in chunks on its workers (voom's trend and the consensus correlation over all genes here;
    :mod:`skintrial.omics._outcome_chunks`); the fit equals this process's to 1e-12 relative.
    """
    data = (
        expr
        if isinstance(expr, ExpressionData)
        else load_expression(expr, samples, sample_column=sample_column)
    )
    dm = build_design(data.samples, design, quoted=set(data.quoted), file=data.sample_file)
    runner = as_runner(client)
    chunked = not isinstance(runner, InProcess)
    if block is not None:
        return _blocked_fit(data, dm, block, counts, runner)
    if counts:
        check_counts(data, sample_column)
        nf = tmm_factors(data.values, client=runner)  # on a cluster: blocks of samples (whole columns)
        if chunked:
            logcpm, w, fit, moments = chunked_voom_fit(
                data.values,
                dm.X,
                data.values.sum(axis=0) * nf,
                outcomes=data.genes,
                params=dm.params,
                runner=runner,
            )
            data = replace(data, values=logcpm)
            return ExpressionFit(
                data=data, design=dm, fit=fit, weights=w, norm_factors=nf, chunk_moments=moments
            )
        logcpm, w = voom_weights(data.values, dm.X, data.values.sum(axis=0) * nf)
        data = replace(data, values=logcpm)
        fit = fit_ols(
            dm.X,
            np.ascontiguousarray(logcpm.T),
            outcomes=data.genes,
            params=dm.params,
            weights=np.ascontiguousarray(w.T),
        )
        return ExpressionFit(data=data, design=dm, fit=fit, weights=w, norm_factors=nf)
    if chunked:
        fit, moments = chunked_fit(dm.X, data.values, outcomes=data.genes, params=dm.params, runner=runner)
        return ExpressionFit(data=data, design=dm, fit=fit, chunk_moments=moments)
    # samples x genes, C-contiguous: the layout the engine's matrix products run fastest on
    fit = fit_ols(dm.X, np.ascontiguousarray(data.values.T), outcomes=data.genes, params=dm.params)
    return ExpressionFit(data=data, design=dm, fit=fit)


def _blocked_fit(
    data: ExpressionData, dm: DesignMatrix, block: str, counts: bool, runner: Runner
) -> ExpressionFit:
    """limma's duplicateCorrelation + lmFit(block=, correlation=): generalised least squares with
    the consensus within-block correlation, by whitening data and design once for all genes."""
    problems = []
    if block not in data.samples.columns:
        problems.append(
            Problem(
                f"the block column {block!r} is not in the sample table",
                fix=f"name a column of the sample table ({', '.join(map(str, data.samples.columns))})",
                file=data.sample_file,
            )
        )
    if counts:
        problems.append(
            Problem(
                "a random block with RNA-seq counts (voom with block and correlation) is not implemented",
                fix="give the participant as a fixed term of the design instead (~ participant + arm * visit)",
            )
        )
    if np.isnan(data.values).any():
        problems.append(
            Problem(
                "a random block needs complete data (genes with missing values)",
                fix="drop or impute the genes with missing values, or give the participant as a fixed term",
                file=data.expr_file,
                rows_affected=int(np.isnan(data.values).any(axis=1).sum()),
            )
        )
    InputError.collect(problems)
    groups = data.samples[block].astype(str).to_numpy()
    chunked = not isinstance(runner, InProcess)
    if chunked:
        rho = chunked_duplicate_correlation(data.values, dm.X, groups, runner=runner)
    else:
        rho, _ = duplicate_correlation(data.values, dm.X, groups)
    if not np.isfinite(rho):
        raise InputError(
            Problem(
                f"the within-{block} correlation cannot be estimated (too few blocks or samples)",
                fix=f"give {block} as a fixed term of the design instead",
                file=data.sample_file,
            )
        )
    W = whitening(groups, rho)
    if chunked:
        fit, moments = chunked_fit(
            dm.X, data.values, outcomes=data.genes, params=dm.params, runner=runner, whiten=W
        )
        return ExpressionFit(data=data, design=dm, fit=fit, correlation=rho, chunk_moments=moments)
    fit = fit_ols(W @ dm.X, np.ascontiguousarray(W @ data.values.T), outcomes=data.genes, params=dm.params)
    return ExpressionFit(data=data, design=dm, fit=fit, correlation=rho)


def differential_expression(
    expr: Any,
    samples: Any = None,
    *,
    design: str,
    contrast: str | Sequence[str],
    sample_column: str = "sample",
    ci_level: float = 0.95,
    p_adjust_method: str = "bh",
    trend: bool = False,
    robust: bool = False,
    counts: bool = False,
    block: str | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Moderated differential-expression table for one or more contrasts (limma's method).

    Parameters
    ----------
    expr : AnnData, DataFrame, or path
        Log-scale expression: an AnnData (samples × genes), a ``.h5ad`` file, a CSV/TSV matrix whose
        first column is the gene and then one column per sample, or a DataFrame genes × samples.
    samples : DataFrame or path, optional
        The sample table, one row per sample with a ``sample`` column naming the matrix columns and
        the columns the design uses. Optional for AnnData (its ``obs`` is used).
    design : str
        Formula, e.g. ``"~ condition + slide"`` (a group and a batch), ``"~ visit + participant"``
        (paired pre/post) or ``"~ participant + arm * visit"`` (two arms, pre/post in each
        participant; the arm main effect is dropped as not estimable). ``C(x)`` forces a factor, ``num(x)`` a numeric
        covariate; a column of whole numbers must say which (see :mod:`skintrial.omics._design`).
    contrast : str or sequence of str
        ``"term: level_a - level_b"`` (weights allowed: ``"arm: 0.5*AT + 0.5*RT - CON"``), or a
        numeric term's name for its slope. With an interaction: ``"visit: post - pre | arm = RT"``
        (the change within one arm) or ``"visit: post - pre | arm: RT - AT"`` (the difference
        between the arms' changes).
    sample_column : str
        Column of the sample table that names the samples.
    ci_level : float
        Level of the interval for ``log_fc`` (moderated t quantile on ``df_total``).
    p_adjust_method : str
        Adjustment across genes within each contrast (``"bh"`` as limma's ``topTable``).
    trend : bool
        limma-trend (``eBayes(trend=TRUE)``): the prior variance follows a natural-spline curve in
        the genes' average expression (for logCPM RNA-seq values, or arrays whose variance depends
        on intensity). ``attrs["var_prior"]`` is then one value per gene.
    robust : bool
        limma's ``robust=TRUE`` (Phipson et al. 2016): hyperparameters robust to hypervariable
        genes, a prior df per gene (``attrs["df_prior"]`` is then one value per gene). Not with
        ``trend``.
    counts : bool
        ``expr`` holds RNA-seq counts (non-negative; a missing or negative cell is an error naming
        its row and column): TMM normalisation factors (edgeR ``calcNormFactors``), voom's log-CPM
        values and precision weights, and the weighted fit (limma ``voom`` + ``lmFit`` + ``eBayes``;
        see :mod:`skintrial.omics._counts`). ``log_fc`` and ``ave_expr`` are then on the log2-CPM
        scale, and ``.attrs["norm_factors"]`` holds the TMM factors.
    block : str, optional
        A sample-table column (the participant) whose samples are correlated: limma's
        ``duplicateCorrelation`` estimates the consensus within-block correlation
        (``.attrs["correlation"]``) and every gene is fitted by generalised least squares with it
        (``lmFit(block=, correlation=)``). Then ``~ arm * visit`` needs no participant term, and the
        arms can also be compared at baseline. Log-scale, complete data only.
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process. On a
        cluster the genes are fitted and moderated in chunks of 2,000 on the workers; the
        empirical-Bayes hyperparameters are combined from the chunks' sufficient statistics
        (:mod:`skintrial.omics._outcome_chunks`, :mod:`skintrial.stats._moderation_chunks`), and the
        table equals this process's to 1e-12 relative.

    Returns
    -------
    DataFrame
        Columns :data:`DE_COLUMNS`: ``gene, contrast, log_fc, se, ave_expr, t, df_total, p, p_adj,
        b, ci_low, ci_high, ci_level, status``; one row per gene × contrast, genes in input order.
        ``ave_expr`` is the gene's mean over its non-missing samples (limma's ``AveExpr``); ``b`` is
        limma's log-odds; ``status`` is the engine's fit status (``ok`` or why the gene has no
        statistics). The empirical-Bayes hyperparameters are in ``.attrs``: ``df_prior`` and
        ``var_prior``; ``.attrs["not_estimable"]`` lists coefficients of the full coding that the
        design cannot separate and that were dropped (as limma's ``lmFit`` does), e.g. the arm
        main effect in ``~ participant + arm_visit``. A contrast that needs them is refused.

    Notes
    -----
    For gene g and contrast c: ``log_fc = c' beta_g``, ``se = sqrt(c' (X'X)^-1 c) * s~_g`` with the
    moderated variance ``s~_g^2 = (d_g s_g^2 + d0 s0^2) / (d_g + d0)``, ``t = log_fc / se``,
    ``df_total = min(d_g + d0, sum_g d_g)``, ``p = 2 P(T_df_total > |t|)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> samples = pd.DataFrame({"sample": [f"s{i}" for i in range(8)],
    ...                         "participant": ["p1", "p2", "p3", "p4"] * 2,
    ...                         "visit": ["pre"] * 4 + ["post"] * 4})
    >>> expr = pd.DataFrame(rng.normal(8, 0.3, (100, 8)), columns=samples["sample"],
    ...                     index=[f"g{i}" for i in range(100)])
    >>> expr.iloc[0, 4:] += 2.0
    >>> de = differential_expression(expr, samples, design="~ visit + participant",
    ...                              contrast="visit: post - pre")
    >>> de.loc[0, ["gene", "contrast"]].tolist()
    ['g0', 'visit: post - pre']
    >>> bool(de.loc[0, "p_adj"] < 0.01)
    True
    """
    ef = fit_expression(
        expr, samples, design=design, sample_column=sample_column, counts=counts, block=block, client=client
    )
    return differential_expression_from_fit(
        ef,
        contrast,
        ci_level=ci_level,
        p_adjust_method=p_adjust_method,
        trend=trend,
        robust=robust,
        client=client,
    )


def differential_expression_from_fit(
    ef: ExpressionFit,
    contrast: str | Sequence[str],
    *,
    ci_level: float = 0.95,
    p_adjust_method: str = "bh",
    trend: bool = False,
    robust: bool = False,
    client: Any = None,
) -> pd.DataFrame:
    """The table of :func:`differential_expression` from an existing :class:`ExpressionFit`
    (``client``: the moderation in chunks on a cluster, :func:`skintrial.stats.moderated_contrasts`)."""
    labels, L = ef.contrasts(contrast)
    values = ef.data.values
    if np.isnan(values).any():
        n_obs = np.sum(~np.isnan(values), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ave = np.where(n_obs > 0, np.nansum(values, axis=1) / n_obs, np.nan)  # limma AveExpr
    else:
        ave = values.mean(axis=1)
    cov = np.where(np.isfinite(ave), ave, np.nanmean(ave)) if trend else None
    if trend and robust:
        raise InputError(
            Problem("trend and robust together are not implemented", fix="choose one of trend or robust")
        )
    mod = moderated_contrasts(
        ef.fit,
        L,
        contrast_names=labels,
        ci_level=ci_level,
        trend=cov,
        robust=robust,
        client=client,
        moments=ef.chunk_moments,  # from the workers that fitted the chunks: no round of tasks for them
    )
    tab = mod.table
    m = len(labels)
    # one family per contrast: rows of the (contrast, gene) matrix, adjusted in one call
    p = tab["p"].to_numpy()
    p_adj = p_adjust(p.reshape(-1, m).T, p_adjust_method).T.ravel()
    out = pd.DataFrame(
        {
            "gene": tab["outcome"].to_numpy(),
            "contrast": tab["contrast"].to_numpy(),
            "log_fc": tab["estimate"].to_numpy(),
            "se": tab["se"].to_numpy(),
            "ave_expr": np.repeat(ave, m),
            "t": tab["t"].to_numpy(),
            "df_total": tab["df_total"].to_numpy(),
            "p": p,
            "p_adj": p_adj,
            "b": tab["b"].to_numpy(),
            "ci_low": tab["ci_low"].to_numpy(),
            "ci_high": tab["ci_high"].to_numpy(),
            "ci_level": ci_level,
            "status": tab["status"].to_numpy(),
        },
        columns=list(DE_COLUMNS),
    )
    if m > 1:  # contrast-major order: all genes of the first contrast, then the next
        out = out.iloc[np.argsort(np.tile(np.arange(m), len(ef.data.genes)), kind="stable")].reset_index(
            drop=True
        )
    out.attrs.update(
        df_prior=mod.df_prior,
        var_prior=mod.var_prior,
        design=ef.design.formula,
        not_estimable=list(ef.design.dropped),
        norm_factors=None if ef.norm_factors is None else ef.norm_factors.tolist(),
        correlation=ef.correlation,
    )
    return out
