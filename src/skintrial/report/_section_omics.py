"""Report sections of the molecular layer: serum panel, mechanism view, fibroblast qPCR.

:func:`build` reads the tables of the ``omics`` stage (:func:`skintrial.omics.omics_stage`) from
the run's results and returns the sections that have data (none when the study has no molecular files).
Numbers become strings here (``_format``); names from input files stay raw and are escaped by the
autoescaping templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from skintrial.report._context import Context
from skintrial.report._datatable import data_table
from skintrial.report._figures import slug
from skintrial.report._format import ci, count_of, dof, effect, fixed, name_of, pval, table_section

__all__ = ["build", "methods_text"]


def _alpha(res) -> float:
    return float(res.study.spec.analysis.alpha)


def _counts(change: pd.DataFrame, alpha: float) -> list[list[str]]:
    rows = []
    for (panel, arm), g in change.groupby(["panel", "arm"], sort=False):
        sig = g["p_adj"].to_numpy(dtype=float) < alpha
        up = int((sig & (g["mean_change"].to_numpy(dtype=float) > 0)).sum())
        rows.append([str(arm), str(panel), str(len(g)), str(up), str(int(sig.sum()) - up)])
    return rows


def _serum(ctx: Context) -> dict | None:
    from skintrial.report._fig_omics import volcano_figure

    res = ctx.res
    anc = res.get("serum_ancova")
    if anc is None or anc.empty:
        return None
    alpha = _alpha(res)
    lod = cast(
        pd.DataFrame,
        res.get("serum_lod", pd.DataFrame(columns=["tested", "status", "n_below_lod", "method"])),
    )
    volcanoes = []
    for c in dict.fromkeys(anc["contrast"]):
        fig, spots = volcano_figure(anc, contrast=c, alpha=alpha)
        volcanoes.append({**ctx.figures.add(f"serum-volcano-{slug(c)}", fig, hotspots=spots), "contrast": c})
    ordered = anc.sort_values("p", kind="mergesort", na_position="last")
    rows = [
        [
            str(r.analyte),
            str(r.panel),
            str(r.contrast),
            fixed(r.ratio, 2),
            ci(r.ratio_low, r.ratio_high, 2),
            pval(r.p),
            pval(r.p_adj),
            count_of(r.n),
        ]
        for r in ordered.itertuples()
    ]
    keys = np.column_stack(
        [ordered[c].to_numpy(dtype=float) for c in ("ratio", "ratio_low", "p", "p_adj", "n")]
    ).tolist()
    table = data_table(
        "serum-panel",
        ["Analyte", "Panel", "Contrast", "Ratio", "CI", "p", "BH q", "n"],
        rows,
        keys=[[None, None, None, *k] for k in keys],
        text_columns=3,
        filters=[1, 2],
        what="analyte contrasts",
        order="smallest p first",
    )
    change = res.get("serum_change")
    pqn = res.get("serum_pqn")
    return {
        "id": "serum",
        "title": "Serum panel",
        "template": "serum",
        "volcanoes": volcanoes,
        "alpha": alpha,
        "n_analytes": len(lod),
        "n_tested": int(lod["tested"].sum()) if len(lod) else 0,
        "n_excluded_lod": int((lod["status"] == "too_many_below_lod").sum()) if len(lod) else 0,
        "n_with_below_lod": int((lod["n_below_lod"] > 0).sum()) if len(lod) else 0,
        "lod_method": _LOD_SHORT.get(str(lod["method"].iat[0]), str(lod["method"].iat[0]))
        if len(lod)
        else "",
        "pqn_panels": sorted(pqn["panel"].unique().tolist()) if pqn is not None and len(pqn) else [],
        "scale": str(anc["scale"].iat[0]),
        "ci_level": f"{float(anc['ci_level'].iat[0]):.0%}" if "ci_level" in anc.columns else "95%",
        "table": table,
        "count_headers": ["Arm", "Panel", "Analytes", "Up (q < α)", "Down (q < α)"],
        "count_rows": _counts(change, alpha) if change is not None else [],
    }


def _mechanism(ctx: Context) -> dict | None:
    from skintrial.report._fig_omics import mechanism_heatmap

    res = ctx.res
    grid, top = res.get("mechanism"), res.get("mechanism_top")
    if grid is None or grid.empty or top is None:
        return None
    method = str(top["method"].iat[0]) if len(top) else "spearman"
    adjusted = bool(top["arm_adjusted"].iat[0]) if len(top) else False
    alpha = _alpha(res)
    shown = grid[(grid["method"] == method) & (grid["arm_adjusted"] == adjusted)]
    shown = shown.sort_values("p", kind="mergesort", na_position="last")
    rows = [
        [
            str(r.factor),
            ctx.label(r.skin_outcome),
            effect(r.r),
            count_of(r.n),
            dof(r.df),
            pval(r.p),
            pval(r.p_adj),
        ]
        for r in shown.itertuples()
    ]
    keys = np.column_stack([shown[c].to_numpy(dtype=float) for c in ("r", "n", "df", "p", "p_adj")]).tolist()
    table = data_table(
        "mechanism",
        ["Factor", "Skin outcome", "r", "n", "df", "p", "BH q"],
        rows,
        keys=[[None, None, *k] for k in keys],
        text_columns=2,
        filters=[1],
        what="factor × outcome pairs",
        order="smallest p first",
    )
    n_sig = int((shown["p_adj"] < alpha).sum())
    fig, spots = mechanism_heatmap(grid, method=method, arm_adjusted=adjusted, labels=ctx.labels, alpha=alpha)
    return {
        "id": "mechanism",
        "title": "Mechanism: circulating factors vs skin",
        "template": "mechanism",
        "heatmap": ctx.figures.add("mechanism-heatmap", fig, hotspots=spots),
        "method": name_of(method),
        "adjusted": adjusted,
        "n_pairs": len(shown),
        "n_significant": n_sig,
        "alpha": alpha,
        "table": table,
    }


def _qpcr(ctx: Context) -> dict | None:
    res = ctx.res
    t = res.get("qpcr")
    if t is None or t.empty:
        return None
    between = (t["test"].astype(str) != "paired_t").to_numpy()  # a between-arm row: n of both arms
    rows = [
        [
            str(r.gene),
            str(r.group),
            str(r.contrast),
            f"{count_of(r.n)} vs {count_of(r.n_control)}" if b else count_of(r.n),
            fixed(r.delta_delta_ct, 2),
            fixed(r.fold_change, 2),
            ci(r.fc_low, r.fc_high, 2),
            pval(r.p),
            name_of(r.test),
        ]
        for r, b in zip(t.itertuples(), between, strict=True)
    ]
    excl = res.get("qpcr_exclusions")
    n_excl = 0 if excl is None else len(excl)
    level = float(t["ci_level"].iat[0]) if "ci_level" in t.columns else np.nan
    return table_section(
        "qpcr",
        "Fibroblast ECM gene expression (qPCR)",
        ["Gene", "Arm", "Comparison", "n", "ΔΔCt", "Fold change", f"{level:.0%} CI", "p", "Test"],
        rows,
        text_columns=3,
        intro="Dermal fibroblasts given each participant's serum from before and after training. Within each arm: "
        "the mean within-participant ΔΔCt (post − pre, each participant their own calibrator) with the "
        "paired t test; between arms: the difference of those changes (n: participants in each arm). "
        "Fold change = 2^(−ΔΔCt) (above 1: higher expression with post-training serum).",
        note=f"p-values are per gene, not adjusted for the {t['gene'].nunique()} genes tested: read them as "
        f"descriptive. Wells excluded (undetermined, above the cutoff, missing pairs): {n_excl}; listed in "
        f"results/qpcr_exclusions.csv. Method: docs/qpcr.md.",
    )


_LOD_SHORT = {
    "lod_sqrt2": "LOD/√2",
    "lod_half": "LOD/2",
    "lod": "the LOD",
    "censored_normal": "a censored-normal model",
    "missing": "treating them as missing",
}


_LOG = {"log2": "log2", "log10": "log10", "ln": "natural-log"}
_LOD = {
    "lod_sqrt2": "replaced by LOD/√2 (Hornung & Reed 1990)",
    "lod_half": "replaced by LOD/2 (Hornung & Reed 1990, for highly skewed data)",
    "lod": "replaced by the LOD",
    "censored_normal": "treated as left-censored: a censored-normal (Tobit) model with one mean per arm × visit "
    "and one SD per analyte was fitted by maximum likelihood and each censored value replaced "
    "by its conditional expectation",
    "missing": "left out (treated as missing)",
}
_P_ADJ = {"bh": "Benjamini–Hochberg", "by": "Benjamini–Yekutieli", "holm": "Holm", "bonferroni": "Bonferroni"}
_BETWEEN = {
    "welch_t": "Welch's unequal-variance t test of the changes",
    "student_t": "Student's t test of the changes (variance pooled over the arms)",
    "ancova": "ANCOVA of post-training ΔCt on pre-training ΔCt and arm",
}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _serum_methods(res) -> str:
    anc, lod = res.get("serum_ancova"), res.get("serum_lod")
    if anc is None or lod is None or anc.empty:
        return ""
    opts = cast("Mapping[str, Any]", res.settings("omics").get("serum", {}))
    scale = str(anc["scale"].iat[0])
    change = res.get("serum_change")
    follow = (
        str(change["followup_visit"].iat[0]) if change is not None and len(change) else res.followup_visit
    )
    base = res.study.spec.study.baseline_visit
    parts = []
    pqn = res.get("serum_pqn")
    if pqn is not None and len(pqn):
        panels = sorted(pqn["panel"].astype(str).unique())
        which = f"The {panels[0]} panel was" if len(panels) == 1 else f"The {_and(panels)} panels were"
        parts.append(
            f"{which} normalised by probabilistic quotient normalisation (PQN; "
            f"Dieterle et al. 2006{', after total-area normalisation' if opts['pqn_total_area'] else ''}"
            f", {opts['pqn_reference']} reference profile over all samples)."
        )
    methods = [m for m in dict.fromkeys(lod["method"].astype(str))]
    n_below = int((lod["n_below_lod"] > 0).sum())
    lod_text = "; ".join(_LOD.get(m, m) for m in methods)
    fallback = int((lod["status"] == "fallback_lod_sqrt2").sum())
    if fallback:
        lod_text += f" ({fallback} analyte(s) with too few detected values fell back to LOD/√2)"
    n_excl = int((lod["status"] == "too_many_below_lod").sum())
    parts.append(
        f"Serum values below the limit of detection (in {n_below} of {len(lod)} analytes) were {lod_text}; "
        f"analytes with more than {opts['max_below_lod']:.0%} of their values below the LOD were not tested "
        f"({n_excl})."
    )
    on = (
        f"{_LOG[scale]}-transformed"
        if scale in _LOG
        else "analysed on their reported scale (not transformed)"
    )
    method = _P_ADJ.get(str(anc["p_adj_method"].iat[0]), str(anc["p_adj_method"].iat[0]))
    cov = res.study.spec.analysis.covariates
    parts.append(
        f"Values were {on}; each of the {int(lod['tested'].sum())} tested analytes was analysed by ANCOVA "
        f"of its {follow} value on its {base} value and arm{', ' + ', '.join(cov) if cov else ''}, with "
        f"{method} adjustment across the analytes of each panel, separately for each contrast."
    )
    return " ".join(parts)


def _mechanism_methods(res) -> str:
    grid = res.get("mechanism")
    if grid is None or grid.empty:
        return ""
    names = {"spearman": "Spearman's ρ", "pearson": "Pearson's r"}
    methods = [names.get(m, m) for m in dict.fromkeys(grid["method"].astype(str))]
    adjusted = sorted(set(grid["arm_adjusted"].astype(bool)))
    adj = {
        (False,): "without adjustment",
        (True,): "adjusted for arm (partial correlation given arm)",
        (False, True): "both unadjusted and adjusted for arm (partial correlation given arm)",
    }[tuple(adjusted)]
    method = _P_ADJ.get(str(grid["p_adj_method"].iat[0]), str(grid["p_adj_method"].iat[0]))
    n_f, n_o = grid["factor"].nunique(), grid["skin_outcome"].nunique()
    return (
        f"Mechanism view: participants' changes in each tested factor were correlated with their changes in "
        f"each skin outcome ({n_f} factors × {n_o} outcomes) by {_and(methods)}, {adj}, complete cases per "
        f"pair; p-values were adjusted by {method} over the whole factor × outcome grid, separately for each "
        f"method and adjustment. These correlations are hypotheses, not evidence of mechanism."
    )


def _qpcr_methods(res) -> str:
    t = res.get("qpcr")
    opts = cast("Mapping[str, Any]", res.settings("omics").get("qpcr", {}))
    if t is None or t.empty or not opts:
        return ""
    refs = opts["reference_genes"]
    norm = (
        f"the reference gene {refs[0]}"
        if len(refs) == 1
        else f"the mean Ct of {_and(refs)} (the geometric mean of their relative quantities)"
    )
    cutoff = opts["cutoff"]
    late = (
        "undetermined wells were "
        if cutoff is None
        else f"undetermined wells and Ct above {cutoff:g} cycles were "
    )
    late += "excluded" if opts["undetermined"] == "exclude" else f"set to {cutoff:g} cycles"
    sd = opts["max_replicate_sd"]
    rep = f"technical replicates were combined by their {opts['replicate_rule']}" + (
        f" (replicate SD above {sd:g} cycles flagged)" if sd is not None else ""
    )
    methods = set(t["method"].astype(str))
    if "pfaffl" in methods:
        eff = opts["efficiencies"]
        given = "" if eff is None else " (" + ", ".join(f"{g} {e:g}" for g, e in eff.items()) + ")"
        quant = (
            f"efficiency-corrected ratios (Pfaffl 2001) with the amplification factors of study.toml{given}"
        )
    else:
        quant = "2^−ΔΔCt (Livak & Schmittgen 2001), assuming 100% amplification efficiency for every gene"
    tests = list(dict.fromkeys(t["test"].astype(str)))
    between = [_BETWEEN[x] for x in tests if x in _BETWEEN]
    text = (
        f"Fibroblast qPCR: {late}; {rep}; ΔCt was computed against {norm}, and relative expression as {quant}. "
        f"Within each arm the within-participant change in ΔCt ({opts['post']} − {opts['pre']}) was tested by a "
        f"paired t test"
    )
    text += f"; arms were compared by {_and(between)}." if between else "."
    return text


def methods_text(res) -> str:
    """Sentences for the methods paragraph on the molecular analyses that ran, from the settings used.

    Serum: PQN (when it ran), the below-LOD rule and the not-tested threshold, the log scale, ANCOVA per
    analyte with the multiplicity method; mechanism: correlation methods, arm adjustment, FDR over the
    grid; qPCR: reference genes, Ct cutoff and undetermined rule, replicate rule, efficiency method and
    tests. Empty when the study has no molecular data. Settings come from the result tables where they
    carry them (scale, LOD method, PQN panels, tests) and otherwise from the settings the ``omics`` stage
    recorded (``res.settings("omics")``: the ``serum`` and ``qpcr`` options the analysis ran with).
    """
    return " ".join(x for x in (_serum_methods(res), _mechanism_methods(res), _qpcr_methods(res)) if x)


def build(ctx: Context) -> list[dict]:
    """The molecular sections of the report, in reading order: serum panel, mechanism, qPCR.

    Parameters
    ----------
    ctx : Context
        The report's context: a run whose ``omics`` stage produced the molecular tables (none is fine).

    Returns
    -------
    list of dict
        Sections for ``report.html.j2`` (``template`` names ``section_serum.html.j2``,
        ``section_mechanism.html.j2``, or the shared table template); empty without molecular tables.
    """
    sections = [_serum(ctx), _mechanism(ctx), _qpcr(ctx)]
    return [s for s in sections if s is not None]
