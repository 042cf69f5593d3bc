"""Gene-set enrichment: over-representation (hypergeometric) and CAMERA (competitive, correlation-aware).

Over-representation asks whether a list of selected genes (say, those up with age at 5% FDR) holds
more members of a set than chance would put there, given an explicit *background* — the genes that
could have been selected (all genes measured and tested). The background decides the answer, so it
is a required argument and every result row states it.

CAMERA (Wu & Smyth 2012, *Nucleic Acids Res* 40:e133) asks whether the genes of a set are more
differentially expressed than the other genes, and corrects the test for the correlation between
genes in the set that a plain two-sample comparison ignores: the variance of the set's mean
statistic is inflated by ``VIF = 1 + (m - 1) * rho``. ``rho`` is either fixed (limma's default
``inter_gene_cor=0.01``) or estimated per set from the residuals of the linear model. The gene-wise
statistic is the moderated t of the contrast (converted to a z-score by Hill's approximation for the
parametric version; its rank for ``use_ranks=True``, a correlation-adjusted Wilcoxon rank-sum test).

Both follow R limma 3.54.1 (``camera.default``, ``rankSumTestWithCorrelation``, ``zscoreT`` with
``method="hill"``) and were checked against it on the Kuehne 2017 skin-aging microarray
(``tests/omics/test_enrichment.py``); all sets are tested at once with sparse membership matrices,
no loop over sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy import stats as sps

from skintrial.errors import InputError, Problem
from skintrial.omics.expression import ExpressionFit, fit_expression
from skintrial.omics.genesets import as_gene_sets, match_gene_sets
from skintrial.stats import p_adjust, squeeze_var, t_cdf, t_sf

__all__ = ["ORA_COLUMNS", "CAMERA_COLUMNS", "over_representation", "camera", "camera_from_fit"]

ORA_COLUMNS = (
    "set",
    "n_set",
    "n_selected",
    "n_background",
    "overlap",
    "expected",
    "fold_enrichment",
    "p",
    "p_adj",
    "background",
    "overlap_genes",
)
CAMERA_COLUMNS = (
    "set",
    "contrast",
    "method",
    "n_genes",
    "correlation",
    "correlation_source",
    "direction",
    "p",
    "p_adj",
)


def _membership(index: dict[str, np.ndarray], n_genes: int) -> sparse.csr_matrix:
    sizes = np.array([len(v) for v in index.values()], dtype=np.intp)
    rows = np.repeat(np.arange(len(index)), sizes)
    cols = np.concatenate(list(index.values())) if len(index) else np.array([], dtype=np.intp)
    return sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(index), n_genes))


def over_representation(
    selected: Sequence[str],
    *,
    gene_sets: Any,
    background: Sequence[str],
    background_label: str = "",
    min_size: int = 1,
    aliases: bool = True,
) -> pd.DataFrame:
    """Hypergeometric over-representation of gene sets among selected genes, against a stated background.

    Parameters
    ----------
    selected : sequence of str
        The selected genes (e.g. ``de.gene[(de.p_adj < 0.05) & (de.log_fc > 0)]``).
    gene_sets : GeneSetCollection, dict, GMT path, or ``"ecm"``
    background : sequence of str
        Every gene that could have been selected (usually all genes tested). Required: the answer
        depends on it. It must contain every selected gene.
    background_label : str
        Words for the ``background`` column (default: "N genes given as background").
    min_size : int
        Sets with fewer members in the background are left out.
    aliases : bool
        Match previous HGNC symbols in the data to the sets' current symbols.

    Returns
    -------
    DataFrame
        Columns :data:`ORA_COLUMNS`. With N background genes, K of them in the set, n selected and
        k selected in the set: ``p = P(X >= k)`` for ``X ~ Hypergeometric(N, K, n)`` (one-sided,
        R ``phyper(k - 1, K, N - K, n, lower.tail = FALSE)``), ``expected = n K / N``,
        ``fold_enrichment = k / expected``, ``p_adj`` Benjamini–Hochberg across the sets tested.

    Examples
    --------
    >>> bg = [f"g{i}" for i in range(100)]
    >>> res = over_representation(["g1", "g2", "g3", "g50"], gene_sets={"S": ["g1", "g2", "g3", "g4"]},
    ...                           background=bg)
    >>> [int(res.loc[0, c]) for c in ("overlap", "n_set", "n_background")]
    [3, 4, 100]
    >>> float(res.loc[0, "p"]) < 1e-4
    True
    """
    sets = as_gene_sets(gene_sets)
    bg = list(dict.fromkeys(map(str, background)))
    bg_set = set(bg)
    sel = list(dict.fromkeys(map(str, selected)))
    outside = [g for g in sel if g not in bg_set]
    if outside:
        raise InputError(
            Problem(
                f"{len(outside)} selected gene(s) are not in the background (first: {outside[0]!r})",
                fix="use as background every gene that could have been selected (all genes tested)",
                value=outside[0],
                rows_affected=len(outside),
            )
        )
    index = {
        k: v for k, v in match_gene_sets(sets, bg, aliases=aliases).items() if len(v) >= max(min_size, 1)
    }
    N, n = len(bg), len(sel)
    is_sel = np.isin(np.asarray(bg, dtype=object), np.asarray(sel, dtype=object))
    M = _membership(index, N)
    K = np.asarray(M.sum(axis=1)).ravel()
    k = M @ is_sel.astype(float)
    p = sps.hypergeom.sf(k - 1, N, K, n)
    expected = n * K / N
    genes = np.asarray(bg, dtype=object)
    overlap_genes = [";".join(genes[idx[is_sel[idx]]]) for idx in index.values()]
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = np.where(expected > 0, k / expected, np.nan)
    return pd.DataFrame(
        {
            "set": list(index),
            "n_set": K.astype(int),
            "n_selected": n,
            "n_background": N,
            "overlap": k.astype(int),
            "expected": expected,
            "fold_enrichment": fold,
            "p": p,
            "p_adj": p_adjust(p, "bh") if len(p) else p,
            "background": background_label or f"{N} genes given as background",
            "overlap_genes": overlap_genes,
        },
        columns=list(ORA_COLUMNS),
    )


def _zscore_t_hill(t: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """Hill's (1970) approximation of the z-score with the same tail probability as t (limma)."""
    df = np.minimum(df, 1e100)
    A = df - 0.5
    B = 48 * A * A
    z = A * np.log1p(t / df * t)
    z = (((((-0.4 * z - 3.3) * z - 24) * z - 85.5) / (0.8 * z * z + 100 + B) + z + 3) / B + 1) * np.sqrt(z)
    return z * np.sign(t)


def _rank_sum_with_correlation(M, stat, m, rho, df):
    """limma's ``rankSumTestWithCorrelation`` for every set: (p_less, p_greater)."""
    G = stat.size
    r = sps.rankdata(stat)
    n2 = G - m
    U = m * n2 + m * (m + 1) / 2 - M @ r
    mu = m * n2 / 2
    s_ind = m * n2 * (G + 1) / 12
    s_cor = (
        np.arcsin(1.0) * m * n2
        + np.arcsin(0.5) * m * n2 * (n2 - 1)
        + np.arcsin(rho / 2) * m * (m - 1) * n2 * (n2 - 1)
        + np.arcsin((rho + 1) / 2) * m * (m - 1) * n2
    ) / (2 * np.pi)
    sigma2 = np.where((rho == 0) | (m == 1), s_ind, s_cor)
    _, counts = np.unique(r, return_counts=True)
    if counts.max() > 1:
        sigma2 = sigma2 * (1 - np.sum(counts * (counts + 1) * (counts - 1)) / (G * (G + 1) * (G - 1)))
    z_low = (U + 0.5 - mu) / np.sqrt(sigma2)
    z_up = (U - 0.5 - mu) / np.sqrt(sigma2)
    return t_sf(z_up, df), t_cdf(z_low, df)  # df = inf: the normal tails


def _gene_statistic(
    ef: ExpressionFit, L: np.ndarray, ok: np.ndarray, use_ranks: bool, trend_var: bool = False
) -> np.ndarray:
    """Moderated t of the contrast (use_ranks) or its Hill z-score, for the fitted genes.

    ``trend_var``: the prior variance follows the genes' average expression (limma camera's
    ``trend.var = TRUE``: ``squeezeVar(covariate = rowMeans(y))``).
    """
    fit = ef.fit
    df_resid = float(ef.data.values.shape[1] - len(fit.params))
    est = fit.coef[ok] @ L
    v2 = np.einsum("i,kij,j->k", L, fit.xtx_inv[ok], L)
    covariate = ef.data.values[ok].mean(axis=1) if trend_var else None
    sv = squeeze_var(fit.sigma2[ok], df_resid, covariate=covariate)
    modt = est / np.sqrt(v2) / np.sqrt(sv.var_post)
    if use_ranks:
        return modt
    return _zscore_t_hill(modt, min(df_resid + sv.df_prior, ok.sum() * df_resid))


def _estimated_vif(ef: ExpressionFit, ok: np.ndarray, M: sparse.csr_matrix, m: np.ndarray) -> np.ndarray:
    """VIF = m * ||mean over the set of standardised residuals||^2 / (n - p), for every set."""
    df_resid = float(ef.data.values.shape[1] - len(ef.fit.params))
    E = ef.residuals()[ok] / np.sqrt(np.maximum(ef.fit.sigma2[ok], 1e-8))[:, None]
    S = (M @ E) / m[:, None]
    return np.where(m > 1, m * np.sum(S * S, axis=1) / df_resid, 1.0)


def _parametric_test(M, stat, m, vif, df):
    """camera's two-sample t of the set's mean statistic with variance inflated by VIF: (down, up)."""
    G = stat.size
    m2 = G - m
    mean_stat, var_stat = stat.mean(), stat.var(ddof=1)
    delta = G / m2 * ((M @ stat) / m - mean_stat)
    var_pooled = ((G - 1) * var_stat - delta**2 * m * m2 / G) / (G - 2)
    t = delta / np.sqrt(var_pooled * (vif / m + 1 / m2))
    return t_cdf(t, df), t_sf(t, df)


def camera_from_fit(
    ef: ExpressionFit,
    contrast: str,
    gene_sets: Any,
    *,
    inter_gene_cor: float | None = 0.01,
    use_ranks: bool = False,
    allow_neg_cor: bool = False,
    min_size: int = 1,
    aliases: bool = True,
    trend_var: bool = False,
) -> pd.DataFrame:
    """CAMERA on an existing :class:`~skintrial.omics.expression.ExpressionFit` (see :func:`camera`).

    A fit of RNA-seq counts carries voom's precision weights: the genes' moderated t come from the
    weighted fit, as limma's ``camera(voom_object, ...)`` computes them (checked to 1e-10 against
    limma, ``tests/reference/voom``); there the inter-gene correlation must be fixed.

    Genes whose model could not be fitted (a constant gene, say) are left out of the universe.
    """
    sets = as_gene_sets(gene_sets)
    if np.isnan(ef.data.values).any():
        n_bad = int(np.isnan(ef.data.values).any(axis=1).sum())
        raise InputError(
            Problem(
                f"CAMERA needs complete data: {n_bad} gene(s) have missing values",
                fix="drop those genes (or impute them) before the gene-set test",
                file=ef.data.expr_file,
                rows_affected=n_bad,
            )
        )
    if ef.correlation is not None:
        raise InputError(
            Problem(
                "CAMERA with a random block (duplicateCorrelation) is not implemented (limma's camera has no block)",
                fix="run the gene-set test on a fit with the participant as a fixed term of the design",
            )
        )
    if ef.weights is not None and (inter_gene_cor is None or np.isnan(inter_gene_cor)):
        raise InputError(
            Problem(
                "CAMERA's estimated inter-gene correlation is not implemented with voom precision weights "
                "(RNA-seq counts)",
                fix="give a fixed inter-gene correlation (limma's default 0.01)",
            )
        )
    labels, L = ef.contrasts(contrast)
    ok = ef.fit.ok
    G = int(ok.sum())
    df_resid = float(ef.data.values.shape[1] - len(ef.fit.params))
    stat = _gene_statistic(ef, L[0], ok, use_ranks, trend_var)
    cor = None if inter_gene_cor is None or np.isnan(inter_gene_cor) else float(inter_gene_cor)
    fixed = cor is not None
    df_camera = (np.inf if use_ranks else G - 2.0) if fixed else min(df_resid, G - 2.0)

    new_pos = np.cumsum(ok) - 1  # position among the fitted genes
    index = {}
    for k, v in match_gene_sets(sets, ef.data.genes, aliases=aliases).items():
        v = new_pos[v[ok[v]]]
        if max(min_size, 1) <= len(v) < G:
            index[k] = v
    M = _membership(index, G)
    m = np.asarray(M.sum(axis=1)).ravel()
    if cor is not None:
        rho = np.full(m.shape, cor)
        vif = 1 + (m - 1) * rho
    else:
        vif = _estimated_vif(ef, ok, M, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(m > 1, (vif - 1) / (m - 1), np.nan)
    if use_ranks:
        r = np.nan_to_num(rho if allow_neg_cor else np.maximum(0, rho), nan=0.0)
        down, up = _rank_sum_with_correlation(M, stat, m, r, df_camera)
    else:
        down, up = _parametric_test(M, stat, m, vif if allow_neg_cor else np.maximum(1, vif), df_camera)
    p = 2 * np.minimum(down, up)
    return pd.DataFrame(
        {
            "set": list(index),
            "contrast": labels[0],
            "method": "camera_ranks" if use_ranks else "camera",
            "n_genes": m.astype(int),
            "correlation": rho,
            "correlation_source": "fixed" if fixed else "estimated",
            "direction": np.where(down < up, "down", "up"),
            "p": p,
            "p_adj": p_adjust(p, "bh") if len(p) else p,
        },
        columns=list(CAMERA_COLUMNS),
    )


def camera(
    expr: Any,
    samples: Any = None,
    *,
    design: str,
    contrast: str,
    gene_sets: Any = "ecm",
    inter_gene_cor: float | None = 0.01,
    use_ranks: bool = False,
    allow_neg_cor: bool = False,
    min_size: int = 1,
    aliases: bool = True,
    sample_column: str = "sample",
    trend_var: bool = False,
) -> pd.DataFrame:
    """Competitive gene-set test accounting for inter-gene correlation (limma's ``camera``).

    Parameters
    ----------
    expr, samples, design, contrast, sample_column
        As for :func:`skintrial.omics.expression.differential_expression` (one contrast).
    gene_sets : GeneSetCollection, dict, GMT path, or ``"ecm"`` (default: the shipped ECM sets)
    inter_gene_cor : float or None
        Fixed inter-gene correlation (limma's default 0.01). ``None`` estimates it for each set from
        the standardised residuals: ``VIF = m * mean_j(mean_{g in set} u_gj)^2``, ``rho = (VIF - 1)
        / (m - 1)``.
    use_ranks : bool
        Correlation-adjusted Wilcoxon rank-sum test on the moderated t (limma's ``use.ranks``)
        instead of the parametric two-sample t on Hill z-scores.
    allow_neg_cor : bool
        Allow a negative estimated correlation to shrink the variance (limma's ``allow.neg.cor``).
    min_size : int
        Sets with fewer genes found in the data are left out.
    aliases : bool
        Match previous HGNC symbols in the data to the sets' current symbols.
    trend_var : bool
        limma's ``trend.var``: the moderated t uses a prior variance that follows the genes' average
        expression (as ``trend`` in the DE analysis, ``eBayes(trend = TRUE)``). limma's camera has no
        ``robust`` option; its variance moderation is never robust.

    Returns
    -------
    DataFrame
        Columns :data:`CAMERA_COLUMNS`, sets in input order: ``n_genes`` found, ``correlation``
        (fixed or estimated, said by ``correlation_source``), ``direction`` (``up``/``down``),
        two-sided ``p`` and BH ``p_adj`` across sets (limma's FDR).

    Notes
    -----
    The parametric statistic for a set of m genes (G in all) is
    ``delta = G/(G-m) (mean_set z - mean_all z)``, ``t = delta / sqrt(s_p^2 (VIF/m + 1/(G-m)))`` on
    G-2 df (fixed correlation) or min(d, G-2) df (estimated). Agrees with R limma 3.54.1 on the
    Kuehne 2017 data to 1e-6 relative in p (``tests/omics/test_enrichment.py``).
    """
    ef = fit_expression(expr, samples, design=design, sample_column=sample_column)
    return camera_from_fit(
        ef,
        contrast,
        gene_sets,
        inter_gene_cor=inter_gene_cor,
        use_ranks=use_ranks,
        allow_neg_cor=allow_neg_cor,
        min_size=min_size,
        aliases=aliases,
        trend_var=trend_var,
    )
