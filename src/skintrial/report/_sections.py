"""The report's sections, each built from result tables into plain values for the template.

A section is a dict with ``id``, ``title`` and the fields its template block reads. Numbers are
formatted here (``_format``); strings from input files stay raw and are escaped by the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from skintrial.pipeline import TrialResults
from skintrial.report import _figures as figs
from skintrial.report._format import ci, dof, mean_sd, num, pval, table_section

__all__ = ["build_sections"]


def _labels(res: TrialResults) -> dict[str, str]:
    return {k: (v.label or k) for k, v in res.study.spec.outcomes.items()}


def _flow(res: TrialResults) -> dict:
    flow = res.table("flow")
    anc = res.table("ancova")
    rows = []
    for arm in res.study.arms:
        f = flow[flow["arm"] == arm]
        withdrawn = f[f["stage"] == "withdrawn"]
        rows.append(
            {
                "arm": arm,
                "label": res.study.spec.study.arm_labels.get(arm, ""),
                "randomised": int(f.loc[f["stage"] == "randomised", "n"].sum()),
                "withdrawn": int(withdrawn["n"].sum()),
                "reasons": [
                    f"{r}{f' (after {v})' if v else ''}: {n}"
                    for r, v, n in zip(
                        withdrawn["reason"], withdrawn["withdrawal_visit"], withdrawn["n"], strict=True
                    )
                ],
                "completed": int(f.loc[f["stage"] == "completed", "n"].sum()),
            }
        )
    primary = res.study.spec.analysis.primary
    em = res.table("emmeans")
    analysed = em[em["outcome"].isin(primary)].groupby("arm")["n"].min().to_dict()
    for r in rows:
        r["analysed"] = int(analysed.get(r["arm"], 0))
    return {"id": "flow", "title": "Participant flow", "rows": rows, "anc_n": len(anc)}


def _baseline(res: TrialResults) -> dict:
    b = res.table("baseline")
    labels = _labels(res)
    arms = res.study.arms
    rows = []
    for (var, level), grp in b.groupby(["variable", "level"], sort=False):
        cells = []
        for arm in arms:
            r = grp[grp["arm"] == arm]
            if r.empty:
                cells.append("–")
            elif level:
                cells.append(f"{int(r['count'].iloc[0])} ({num(r['percent'].iloc[0], 3)}%)")
            else:
                cells.append(mean_sd(r["mean"].iloc[0], r["sd"].iloc[0]))
        name = labels.get(var, var)
        rows.append({"variable": f"{name}: {level}" if level else name, "cells": cells})
    return {"id": "baseline", "title": "Baseline characteristics", "arms": arms, "rows": rows}


def _outcomes(res: TrialResults) -> dict:
    """One block per outcome: a line per arm (mean ± SD at every visit) beside the ANCOVA contrasts.

    Each contrast sits on the line of its first-named arm (with a reference arm, the reference arm's
    line says so); a second contrast of the same arm (all pairs, three or more arms) gets a line of its
    own below. The block has as many lines as it needs."""
    s = res.study.spec
    d = res.table("descriptives")
    anc = res.table("ancova")
    labels = _labels(res)
    arms = res.study.arms
    visits = [v for v in s.study.visits if v in set(d["visit"])] or [
        s.study.baseline_visit,
        res.followup_visit,
    ]
    ref = s.study.reference_arm
    blocks = []
    for o in [o for o in s.outcomes if o in set(anc["outcome"])]:  # declared ones, no_data rows included
        desc = d[d["outcome"] == o].set_index(["arm", "visit"])
        contrasts = {}
        for _, c in anc[anc["outcome"] == o].iterrows():
            contrasts[c["contrast"]] = {
                "contrast": c["contrast"],
                "estimate": num(c["estimate"]),
                "ci": ci(c["ci_low"], c["ci_high"]),
                "p": pval(c["p"]),
                "p_adj": pval(c["p_adj"]),
                "g": num(c["effect_size"], 2),
                "status": "" if c["status"] == "ok" else c["status"],
                "family": c["family"],
                "significant": bool(c["p_adj"] < s.analysis.alpha),
            }
        arm_lines = [
            {
                "arm": arm,
                "cells": [
                    mean_sd(desc.at[(arm, v), "mean"], desc.at[(arm, v), "sd"])
                    if (arm, v) in desc.index
                    else "–"
                    for v in visits
                ],
            }
            for arm in arms
        ]
        # each contrast "A - B" sits on the line of its first-named arm A (so "RT - CON" on RT's line, and
        # with all pairs every later arm carries its differences from the earlier ones); extra lines if needed
        effect_lines: list = [None] * len(arms)
        spill = []
        for label, c in contrasts.items():
            first = label.split(" - ")[0]
            k = arms.index(first) if first in arms else -1
            if k >= 0 and effect_lines[k] is None:
                effect_lines[k] = c
            else:
                spill.append(c)
        effect_lines += spill
        n = max(len(arm_lines), len(effect_lines))
        lines = [
            {
                "arm": arm_lines[k] if k < len(arm_lines) else None,
                "effect": effect_lines[k] if k < len(effect_lines) else None,
                "reference": ref is not None and k < len(arms) and arms[k] == ref,
            }
            for k in range(n)
        ]
        blocks.append(
            {
                "outcome": labels[o],
                "unit": s.outcomes[o].unit,
                "lines": lines,
                "primary": o in s.analysis.primary,
            }
        )
    return {
        "id": "outcomes",
        "title": "Outcomes",
        "visits": visits,
        "rows": blocks,
        "method": s.analysis.multiplicity,
        "ci_level": s.analysis.ci_level,
        "followup": res.followup_visit,
        "baseline": s.study.baseline_visit,
    }


def _figures(res: TrialResults) -> dict:
    s = res.study.spec
    long = res.study.long()
    labels = _labels(res)
    visits = s.study.visits
    shown = visits[visits.index(s.study.baseline_visit) : visits.index(res.followup_visit) + 1]
    items = [
        {
            "outcome": labels[o],
            "uri": figs.before_after_figure(
                long, outcome=o, label=labels[o], unit=s.outcomes[o].unit, arms=res.study.arms, visits=shown
            ),
        }
        for o in res.study.outcomes
    ]
    anc = res.table("ancova")
    forest = figs.forest_figure(anc[anc["status"] == "ok"], labels=labels, alpha=s.analysis.alpha)
    return {
        "id": "figures",
        "title": "Figures",
        "forest": forest,
        "panels": items,
        "ci_percent": f"{s.analysis.ci_level:.0%}",
    }


def _exclusions(res: TrialResults) -> dict:
    e = res.table("exclusions")
    labels = _labels(res)
    rows = [
        {
            "analysis": r.analysis,
            "outcome": labels.get(r.outcome, r.outcome),
            "participant": r.participant_id,
            "arm": r.arm,
            "visit": r.visit,
            "reason": r.reason,
        }
        for r in e.itertuples()
    ]
    return {"id": "exclusions", "title": "Excluded records", "rows": rows}


def _methods(res: TrialResults) -> dict:
    s = res.study.spec
    prov = res.provenance
    a = s.analysis
    ref = (
        f"each arm was compared with {s.study.reference_arm}"
        if s.study.reference_arm
        else "all pairs of arms were compared"
    )
    terms = [f"its {s.study.baseline_visit} value", "arm", *a.covariates]
    regressors = ", ".join(terms[:-1]) + " and " + terms[-1]
    fam = "; secondary outcomes formed a second family" + (
        " gated by the primary family (serial gatekeeping)" if a.gatekeeping else ""
    )
    text = (
        f"The primary analysis was an analysis of covariance (ANCOVA) of each outcome at {res.followup_visit} on "
        f"{regressors}, in participants with both values (complete cases; "
        f"exclusions are listed below); {ref}. Adjusted differences are reported with {a.ci_level:.0%} "
        f"t-intervals and adjusted means at the mean baseline. Multiplicity was controlled with the "
        f"{a.multiplicity} method across the primary outcomes ({', '.join(a.primary)}){fam}. "
        f"Effect sizes are Hedges' g: the adjusted difference over the pooled baseline SD of the two arms, "
        f"times J = 1 − 3/(4(n1+n2)−9). Within-arm changes are descriptive only."
    )
    software = (
        f" Analysis by skintrial {prov.get('skintrial_version')} (Python {prov.get('python')}, numpy "
        f"{prov['packages'].get('numpy')}, scipy {prov['packages'].get('scipy')}, pandas "
        f"{prov['packages'].get('pandas')}); study seed {prov.get('seed')}; run {prov.get('created_utc')}."
    )
    text += _instrument_methods(res) + _training_methods(res)
    if res.has("clda"):
        text += (
            " As a sensitivity analysis for missing follow-up, a constrained longitudinal data analysis "
            "(cLDA, REML, unstructured covariance) used every participant's available values."
        )
    if res.has("mixed_anova"):
        text += (
            " For comparison with published reports, a two-way mixed ANOVA (arm × visit, Type III, "
            "generalized η²) is given as the replication analysis; it is not the treatment test."
        )
        if res.table("mixed_anova")["gg_eps"].notna().any():
            text += (
                " Its within-participant terms are reported with Greenhouse–Geisser and Huynh–Feldt "
                "sphericity corrections."
            )
    if res.has("cross_sectional") and len(res.table("cross_sectional")):
        t = res.table("cross_sectional")
        text += (
            f" A cross-sectional comparison of {_groups_words(t['group_column'].iloc[0])} at "
            f"{t['visit'].iloc[0]} (linear model of each outcome on group and covariates, same engine and "
            "multiplicity families) is given as a secondary, descriptive analysis."
        )
    from skintrial.report._section_omics import methods_text

    omics = methods_text(res)
    if omics:
        text += " " + omics
    text += software
    return {"id": "methods", "title": "Methods", "text": text, "inputs": prov.get("inputs", {})}


def _instrument_methods(res: TrialResults) -> str:
    """Sentences on raw instrument files, from the [raw] settings the run used; empty without raw files."""
    files = res.get("instrument_files")
    if files is None or files.empty:
        return ""
    raw = cast("Mapping[str, Any]", res.settings("instruments").get("cutometer", {}))
    found = set(files["instrument"])
    text = ""
    if "cutometer" in found and raw:
        on_s, off_s = raw.get("on_s"), raw.get("off_s")
        declared = (
            f"the declared suction/relaxation times of {on_s:g}/{off_s:g} s"
            if on_s is not None and off_s is not None
            else f"a suction time of {on_s:g} s"
            if on_s is not None
            else None
        )
        timing = "the pressure channel" + (
            f", or for a curve without one, from {declared}" if declared else ""
        )
        point = (
            f"read {raw['read_time_s']:g} s after the start of suction and relaxation"
            if raw.get("method") == "read_time"
            else "at each curve's inflection point"
        )
        cycles = (
            "the first cycle dropped and the rest averaged"
            if raw.get("drop_first_cycle")
            else "the first cycle's points"
        )
        text += (
            f" Cutometer parameters (Ue, Uv, Uf, Ur, Ua, R0–R9) were computed by skintrial from the raw "
            f"suction curves: phases from {timing}, immediate deformations {point}, {cycles}."
        )
    if "ultrasound" in found:
        text += (
            " Dermal thickness and echogenicity were measured by skintrial on the B-mode scans (entry echo "
            "and dermis/subcutis border traced across the image by dynamic programming; thickness the "
            "median over columns; low-echogenic pixels 0–30 on the 0–255 scale)."
        )
    return text + (
        " Files with a quality flag were not used and are listed with the exclusions; their "
        "outcome values came from measurements.csv where it had them."
    )


def _training_methods(res: TrialResults) -> str:
    """Sentences on the training log and the per-protocol set; empty without a training log."""
    summary = res.get("training_summary")
    if summary is None:
        return ""
    plan = res.settings("training")
    per_week, weeks = cast(int, plan["sessions_per_week"]), cast(int, plan["weeks"])
    text = (
        f" Adherence was the sessions attended over the {per_week * weeks} planned ({per_week} a week for "
        f"{weeks} weeks), capped at 100%; dose–response was the ANCOVA with the training dose added."
    )
    rule = cast("float | None", plan["per_protocol_min_adherence"])
    if rule is not None and res.has("ancova_per_protocol"):
        text += (
            f" A per-protocol sensitivity analysis repeated the primary ANCOVA in participants with adherence "
            f"of at least {rule:.0%}."
        )
    return text


def _clda(res: TrialResults) -> dict | None:
    t = res.get("clda")
    if t is None:
        return None
    labels = _labels(res)
    rows = [
        [
            labels.get(r.outcome, r.outcome),
            r.contrast,
            num(r.estimate),
            ci(r.ci_low, r.ci_high),
            pval(r.p),
            pval(r.p_adj),
            str(r.n),
            "" if r.status == "ok" else r.status,
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "clda",
        "Sensitivity analysis: cLDA",
        ["Outcome", "Contrast", "Difference", "CI", "p", "Adjusted p", "n", "Status"],
        rows,
        text_columns=2,
        intro="Constrained longitudinal data analysis (REML, unstructured covariance, arms share the baseline "
        "mean): every randomised participant contributes, including those without follow-up.",
        note="Degrees of freedom: residual df of the stacked model (observations − parameters), as nlme::gls.",
    )


def _mixed(res: TrialResults) -> dict | None:
    t = res.get("mixed_anova")
    if t is None:
        return None
    labels = _labels(res)
    corrected = bool(t["gg_eps"].notna().any())  # more than two visits: sphericity corrections apply
    headers = ["Outcome", "Term", "Visits", "n", "df", "F", "p", "Generalized η²"]
    if corrected:
        headers += ["ε (GG)", "p (GG)", "ε (HF)", "p (HF)"]
    headers.append("Status")
    rows = []
    for r in t.itertuples():
        row = [
            labels.get(r.outcome, r.outcome),
            r.term,
            str(r.n_visits),
            str(r.n),
            f"{dof(r.num_df)}, {dof(r.den_df)}",
            num(r.f),
            pval(r.p),
            num(r.ges, 2),
        ]
        if corrected:
            row += [num(r.gg_eps), pval(r.p_gg), num(r.hf_eps), pval(r.p_hf)]
        rows.append(row + ["" if r.status == "ok" else r.status])
    sphericity = (
        " With more than two visits the visit and arm:visit terms assume sphericity; the "
        "Greenhouse–Geisser and Huynh–Feldt corrections (ε and corrected p) are given beside them, and "
        "the Greenhouse–Geisser p is the one to read when ε is well below 1."
        if corrected
        else ""
    )
    return table_section(
        "mixed-anova",
        "Replication analysis: two-way mixed ANOVA",
        headers,
        rows,
        text_columns=2,
        intro="Arm × visit mixed ANOVA (Type III) as published exercise studies report it, for comparison with "
        "the literature. Each outcome is analysed on the visits at which it was measured (Visits), in the "
        "participants with a value at every one of them (n). It is not the treatment test: the "
        "arm:visit interaction answers the same question as the ANCOVA with less power." + sphericity,
    )


def _groups_words(group: str) -> str:
    """'the arms', or the groups of a participants.csv column, for a sentence."""
    return "the arms" if group == "arm" else f"the groups of '{group}'"


def _cross_sectional(res: TrialResults) -> dict | None:
    t = res.get("cross_sectional")
    if t is None:
        return None
    spec, a = res.study.spec, res.study.spec.analysis
    labels = _labels(res)
    rows = [
        [
            labels.get(r.outcome, r.outcome),
            r.contrast,
            num(r.estimate),
            ci(r.ci_low, r.ci_high),
            pval(r.p),
            pval(r.p_adj),
            num(r.effect_size, 2),
            str(r.n),
            "" if r.status == "ok" else r.status,
        ]
        for r in t.itertuples()
    ]
    group, visit = (
        (t["group_column"].iloc[0], t["visit"].iloc[0]) if len(t) else ("arm", spec.study.baseline_visit)
    )
    cs = a.cross_sectional
    covariates = a.covariates if cs is None or cs.covariates is None else cs.covariates
    adjusted = f", adjusted for {', '.join(covariates)}" if covariates else ""
    caveat = (
        " The arms were randomised, so at the baseline visit their differences are chance imbalances: "
        "the table describes them and is not a test of the intervention."
        if group == "arm" and visit == spec.study.baseline_visit
        else " The groups were not randomised: an adjusted difference is an association, not an effect."
    )
    return table_section(
        "cross-sectional",
        f"Cross-sectional comparison at {visit}",
        [
            "Outcome",
            "Contrast",
            "Difference",
            f"{a.ci_level:.0%} CI",
            "p",
            "Adjusted p",
            "Hedges' g",
            "n",
            "Status",
        ],
        rows,
        text_columns=2,
        intro=f"{_groups_words(group).capitalize()} compared at {visit} on each outcome by a linear model of the "
        f"value on group{adjusted}; adjusted differences with t-intervals, {a.multiplicity} adjustment within the "
        f"primary and secondary families.{caveat}",
        note="Hedges' g: the adjusted difference over the pooled SD of the outcome in the two groups, "
        "times J = 1 − 3/(4(n1+n2)−9).",
    )


def build_sections(res: TrialResults) -> list[dict]:
    """Every section of the report, in reading order (sections without data are left out)."""
    from skintrial.report import _section_instruments, _section_omics, _section_training

    sections = [
        _flow(res),
        _baseline(res),
        _outcomes(res),
        _figures(res),
        _clda(res),
        _mixed(res),
        _cross_sectional(res),
        *_section_instruments.build(res),
        *_section_training.build(res),
        *_section_omics.build(res),
        _methods(res),
        _exclusions(res),
    ]
    return [s for s in sections if s is not None]


def summary(res: TrialResults) -> dict:
    s = res.study.spec.study
    p = res.study.participants
    return {
        "name": s.name,
        "description": s.description,
        "arms": [{"arm": a, "label": s.arm_labels.get(a, "")} for a in s.arms],
        "visits": s.visits,
        "n": len(p),
        "n_completed": int((p["status"] == "completed").sum()),
        "outcomes": len(res.study.outcomes),
        "created": res.provenance.get("created_utc", ""),
    }
