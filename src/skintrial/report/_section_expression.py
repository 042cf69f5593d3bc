"""The report's expression section: differential expression and gene sets of ``[expression]``.

Reads the ``omics`` stage's ``expression_de`` and ``expression_genesets`` tables and its
``settings["expression"]`` (design, contrasts, counts, d0) by registered name; returns no section
when the study has no expression layer. Numbers become strings here; gene and set names stay raw and
are escaped by the autoescaping template.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report._context import Context
from skintrial.report._datatable import data_table
from skintrial.report._figures import slug
from skintrial.report._format import count_of, fixed, pval

__all__ = ["build", "methods_sentence"]

TOP_GENES = 300
"""Gene × contrast rows shown in the report's table (smallest p); all are in results/expression_de.csv."""


def methods_sentence(settings: dict) -> str:
    """One paragraph on how the expression layer was analysed, from the settings it ran with."""
    if not settings:
        return ""
    counts = bool(settings.get("counts"))
    scale = (
        "RNA-seq counts were normalised by TMM (edgeR's calcNormFactors), transformed to log2 counts per "
        "million with voom precision weights, and fitted by weighted least squares"
        if counts
        else "Log-scale expression values were fitted by least squares"
    )
    sets = str(settings.get("genesets", "none"))
    set_words = (
        ""
        if sets.lower() == "none"
        else " Gene sets ("
        + ("the shipped ECM/matrisome collection" if sets.lower() in ("ecm", "matrisome") else sets)
        + f") were tested on every contrast with CAMERA (inter-gene correlation {settings.get('inter_gene_cor', 0.01):g})."
    )
    dropped = settings.get("not_estimable") or []
    return (
        f"{scale} to the design {settings.get('design')} ({settings.get('n_genes')} genes, "
        f"{settings.get('n_samples')} samples"
        + (f"; not estimable and dropped: {', '.join(dropped)}" if dropped else "")
        + ")"
        + (
            f", participants as a random block (consensus within-participant correlation "
            f"{settings['correlation']:.2f}, limma's duplicateCorrelation; generalised least squares)"
            if settings.get("correlation") is not None
            else ""
        )
        + "; residual variances were shrunk by limma's empirical Bayes"
        + (" with a trend in average expression" if settings.get("trend") else "")
        + (" with robust hyperparameters" if settings.get("robust") else "")
        + f" (prior df {settings.get('df_prior', float('nan')):.3g}), giving moderated t statistics; "
        "Benjamini–Hochberg across genes within each contrast." + set_words
    )


def _counts(de: pd.DataFrame, alpha: float) -> list[list[str]]:
    rows = []
    for c, g in de.groupby("contrast", sort=False):
        q = g["p_adj"].to_numpy(dtype=float)
        fc = g["log_fc"].to_numpy(dtype=float)
        sig = q < alpha
        rows.append(
            [
                str(c),
                count_of(int(np.isfinite(q).sum())),
                count_of(int((sig & (fc > 0)).sum())),
                count_of(int((sig & (fc < 0)).sum())),
            ]
        )
    return rows


def _genes_table(de: pd.DataFrame) -> dict:
    shown = de[np.isfinite(de["p"].astype(float))].sort_values("p", kind="mergesort").head(TOP_GENES)
    rows = [
        [
            str(r.gene),
            str(r.contrast),
            fixed(r.log_fc, 2),
            fixed(r.ave_expr, 2),
            fixed(r.t, 2),
            pval(r.p),
            pval(r.p_adj),
        ]
        for r in shown.itertuples()
    ]
    keys = np.column_stack(
        [shown[c].to_numpy(dtype=float) for c in ("log_fc", "ave_expr", "t", "p", "p_adj")]
    )
    return data_table(
        "expression-genes",
        ["Gene", "Contrast", "log2 FC", "Average", "t", "p", "BH q"],
        rows,
        keys=[[None, None, *k] for k in keys.tolist()],
        text_columns=2,
        filters=[1],
        what="gene × contrast rows",
        order="smallest p first",
    )


def _sets_rows(sets: pd.DataFrame) -> list[list[str]]:
    ordered = sets.sort_values(["contrast", "p"], kind="mergesort")
    return [
        [str(r.set), str(r.contrast), count_of(r.n_genes), str(r.direction), pval(r.p), pval(r.p_adj)]
        for r in ordered.itertuples()
    ]


def build(ctx: Context) -> list[dict]:
    """The expression section (one), or none when the run has no ``expression_de`` table."""
    from skintrial.report._fig_expression import ecm_heatmap, expression_volcano

    res = ctx.res
    if not res.has("expression_de"):
        return []
    de = res.table("expression_de")
    if de.empty:
        return []
    alpha = float(res.study.spec.analysis.alpha)
    contrasts = list(dict.fromkeys(de["contrast"].astype(str)))
    volcanoes = []
    for c in contrasts:
        fig, spots = expression_volcano(de, contrast=c, alpha=alpha)
        volcanoes.append(
            {**ctx.figures.add(f"expression-volcano-{slug(c)}", fig, hotspots=spots), "contrast": c}
        )
    ecm = res.get("expression_ecm")
    heatmap = None
    if ecm is not None and len(ecm):
        fig, spots = ecm_heatmap(ecm, contrasts=contrasts, alpha=alpha)
        heatmap = ctx.figures.add("expression-ecm-heatmap", fig, hotspots=spots)
    sets = res.get("expression_genesets")
    raw = res.settings("omics").get("expression", {})
    settings: dict = dict(raw) if isinstance(raw, dict) else {}
    return [
        {
            "id": "expression",
            "title": "Gene expression",
            "template": "expression",
            "methods": methods_sentence(settings),
            "counts": bool(settings.get("counts")),
            "alpha": alpha,
            "volcanoes": volcanoes,
            "heatmap": heatmap,
            "count_headers": ["Contrast", "Genes", "Up (q < α)", "Down (q < α)"],
            "count_rows": _counts(de, alpha),
            "set_headers": ["Gene set", "Contrast", "Genes", "Direction", "p", "BH q"],
            "set_rows": _sets_rows(sets) if sets is not None and len(sets) else [],
            "genes": _genes_table(de),
            "top_genes": TOP_GENES,
        }
    ]
