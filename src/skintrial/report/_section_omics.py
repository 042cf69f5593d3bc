"""Report sections of the molecular layer: serum panel, mechanism view, fibroblast qPCR.

:func:`build` reads the tables of :func:`skintrial.omics._study_layer.analyse_omics` from
``res.tables`` and returns the sections that have data (none when the study has no molecular files).
Numbers become strings here (``_format``); names from input files stay raw and are escaped by the
autoescaping templates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report._format import ci, num, pval

__all__ = ["build"]


def _alpha(res) -> float:
    return float(res.study.spec.analysis.alpha)


def _labels(res) -> dict[str, str]:
    return {k: (v.label or k) for k, v in res.study.spec.outcomes.items()}


def _counts(change: pd.DataFrame, alpha: float) -> list[list[str]]:
    rows = []
    for (panel, arm), g in change.groupby(["panel", "arm"], sort=False):
        sig = g["p_adj"].to_numpy(dtype=float) < alpha
        up = int((sig & (g["mean_change"].to_numpy(dtype=float) > 0)).sum())
        rows.append([str(arm), str(panel), str(len(g)), str(up), str(int(sig.sum()) - up)])
    return rows


def _serum(res) -> dict | None:
    from skintrial.report._fig_omics import volcano_figure

    anc = res.tables.get("serum_ancova")
    if anc is None or anc.empty:
        return None
    alpha = _alpha(res)
    lod = res.tables.get("serum_lod", pd.DataFrame(columns=["tested", "status", "n_below_lod", "method"]))
    volcanoes = [{"contrast": c, "uri": volcano_figure(anc, contrast=c, alpha=alpha)}
                 for c in dict.fromkeys(anc["contrast"])]
    top = anc.sort_values("p", kind="mergesort").head(20)
    rows = [[r.analyte, r.panel, r.contrast, num(r.ratio), ci(r.ratio_low, r.ratio_high), pval(r.p), pval(r.p_adj),
             str(r.n)] for r in top.itertuples()]
    change = res.tables.get("serum_change")
    pqn = res.tables.get("serum_pqn")
    return {
        "id": "serum", "title": "Serum panel", "template": "serum", "volcanoes": volcanoes, "alpha": alpha,
        "n_analytes": len(lod), "n_tested": int(lod["tested"].sum()) if len(lod) else 0,
        "n_excluded_lod": int((lod["status"] == "too_many_below_lod").sum()) if len(lod) else 0,
        "n_with_below_lod": int((lod["n_below_lod"] > 0).sum()) if len(lod) else 0,
        "lod_method": str(lod["method"].iat[0]) if len(lod) else "",
        "pqn_panels": sorted(pqn["panel"].unique().tolist()) if pqn is not None and len(pqn) else [],
        "scale": str(anc["scale"].iat[0]),
        "top_headers": ["Analyte", "Panel", "Contrast", "Ratio", "CI", "p", "BH q", "n"], "top_rows": rows,
        "count_headers": ["Arm", "Panel", "Analytes", "Up (q < α)", "Down (q < α)"],
        "count_rows": _counts(change, alpha) if change is not None else [],
    }


def _mechanism(res) -> dict | None:
    from skintrial.report._fig_omics import mechanism_heatmap

    grid, top = res.tables.get("mechanism"), res.tables.get("mechanism_top")
    if grid is None or grid.empty or top is None:
        return None
    labels = _labels(res)
    method = str(top["method"].iat[0]) if len(top) else "spearman"
    adjusted = bool(top["arm_adjusted"].iat[0]) if len(top) else False
    alpha = _alpha(res)
    rows = [[r.factor, labels.get(r.skin_outcome, r.skin_outcome), num(r.r, 2), str(r.n), f"{r.df:g}", pval(r.p),
             pval(r.p_adj)] for r in top.itertuples()]
    n_pairs = int(((grid["method"] == method) & (grid["arm_adjusted"] == adjusted)).sum())
    n_sig = int(((grid["method"] == method) & (grid["arm_adjusted"] == adjusted) & (grid["p_adj"] < alpha)).sum())
    return {
        "id": "mechanism", "title": "Mechanism: circulating factors vs skin", "template": "mechanism",
        "heatmap": mechanism_heatmap(grid, method=method, arm_adjusted=adjusted, labels=labels, alpha=alpha),
        "method": method, "adjusted": adjusted, "n_pairs": n_pairs, "n_significant": n_sig, "alpha": alpha,
        "headers": ["Factor", "Skin outcome", "r", "n", "df", "p", "BH q"], "rows": rows,
    }


def _qpcr(res) -> dict | None:
    from skintrial.report._sections import table_section

    t = res.tables.get("qpcr")
    if t is None or t.empty:
        return None
    rows = [[r.gene, r.group, r.contrast, str(r.n), num(r.delta_delta_ct), num(r.fold_change),
             ci(r.fc_low, r.fc_high), pval(r.p), r.test] for r in t.itertuples()]
    excl = res.tables.get("qpcr_exclusions")
    n_excl = 0 if excl is None else len(excl)
    level = t["ci_level"].iat[0] if "ci_level" in t.columns else np.nan
    return table_section(
        "qpcr", "Fibroblast ECM gene expression (qPCR)",
        ["Gene", "Arm", "Comparison", "n", "ΔΔCt", "Fold change", "CI", "p", "Test"], rows, text_columns=3,
        intro="Dermal fibroblasts given each participant's serum from before and after training. Within each arm: "
              "the mean within-participant ΔΔCt (post − pre, each participant their own calibrator) with the "
              "paired t test; between arms: the difference of those changes. Fold change = 2^(−ΔΔCt) (above 1: "
              "higher expression with post-training serum).",
        note=f"{num(100 * level, 3)}% confidence intervals. Wells excluded (undetermined, above the cutoff, "
             f"missing pairs): {n_excl}; listed in results/qpcr_exclusions.csv. Method: docs/qpcr.md.")


def build(res) -> list[dict]:
    """The molecular sections of the report, in reading order: serum panel, mechanism, qPCR.

    Parameters
    ----------
    res : skintrial.pipeline.TrialResults
        With the tables of :func:`skintrial.omics._study_layer.analyse_omics` merged into ``res.tables``.

    Returns
    -------
    list of dict
        Sections for ``report.html.j2`` (``template`` names ``section_serum.html.j2``,
        ``section_mechanism.html.j2``, or the shared table template); empty without molecular tables.
    """
    sections = [_serum(res), _mechanism(res), _qpcr(res)]
    return [s for s in sections if s is not None]
