"""The report's sections, each built from result tables into plain values for the template.

A section is a dict with ``id``, ``title`` and the fields its template block reads. Numbers are
formatted here (``_format``: each outcome to its own decimals); strings from input files stay raw and
are escaped by the template. Figures go through the report's :class:`~skintrial.report._figures.FigureSet`
(``ctx.figures``), which also keeps them for ``figures/``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from skintrial.report import _figures as figs
from skintrial.report._context import Context
from skintrial.report._design_common import _texts, group_contrast_table
from skintrial.report._format import (
    ci,
    count_of,
    dof,
    effect,
    eta_sq,
    fixed,
    mean_sd,
    name_of,
    percent,
    pval,
    status_text,
    table_section,
)
from skintrial.report._methods import MULTIPLICITY, _groups_words, methods_text

__all__ = ["build_sections", "summary", "flow_rows", "status_text"]


def flow_rows(ctx: Context) -> list[dict]:
    """Per arm: randomised, withdrawn (with reasons), completed and analysed (the primary ANCOVA's
    fewest over the primary outcomes)."""
    res = ctx.res
    flow = res.table("flow")
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
    return rows


def _flow(ctx: Context) -> dict:
    from skintrial.report._consort import consort_figure

    rows = flow_rows(ctx)
    consort = None
    screening = ctx.res.get("screening")  # the optional table of who was assessed for eligibility
    enrolment: dict[str, Any] = {}
    if screening is not None:
        ex = screening[screening["stage"] == "excluded"]
        enrolment = {
            "assessed": int(screening.loc[screening["stage"] == "assessed", "n"].sum()),
            "excluded": [(str(r), int(n)) for r, n in zip(ex["reason"], ex["n"], strict=True)],
        }
    if len(rows) >= 2:  # a randomised parallel design: the CONSORT diagram
        consort = ctx.figures.add(
            "flow-consort", consort_figure(rows, followup=ctx.res.followup_visit, **enrolment)
        )
    caption = (
        "CONSORT 2025 flow diagram, from eligibility assessment (the bundle's screening table)."
        if screening is not None
        else "CONSORT 2025 flow diagram, from randomisation: the bundle has no screening table of who was "
        "assessed for eligibility (docs/bundle.md)."
    )
    return {"id": "flow", "title": "Participant flow", "rows": rows, "consort": consort, "caption": caption}


def arm_sizes(ctx: Context) -> dict[str, int]:
    """Participants randomised per arm (the n of a table's column header)."""
    flow = ctx.res.table("flow")
    return {
        a: int(flow.loc[(flow["arm"] == a) & (flow["stage"] == "randomised"), "n"].sum())
        for a in ctx.res.study.arms
    }


def baseline_rows(ctx: Context) -> list[dict]:
    """Table 1's rows: a continuous variable is one row (mean ± SD); a categorical one a heading row
    ("Sex, n (%)") with one indented row per level. Variables named by their labels, with units."""
    b = ctx.res.table("baseline")
    arms = ctx.res.study.arms
    participants = ctx.res.study.participants
    rows: list[dict] = []
    for var, grp in b.groupby("variable", sort=False):
        var = str(var)
        categorical = bool((grp["level"].astype(str) != "").any())
        name = ctx.labelled(var) if var in ctx.labels else name_of(var)
        if categorical:
            rows.append({"variable": f"{name}, n (%)", "cells": [""] * len(arms), "heading": True})
            for level, g in grp.groupby("level", sort=False):
                cells = []
                for arm in arms:
                    r = g[g["arm"] == arm]
                    cells.append(
                        "–"
                        if r.empty
                        else f"{count_of(r['count'].iloc[0])} ({fixed(r['percent'].iloc[0], 1)}%)"
                    )
                rows.append({"variable": str(level), "cells": cells, "level": True})
            continue
        if var in ctx.decimals:
            d = ctx.d(var)
        elif var in participants.columns:
            from skintrial.report._format import outcome_decimals

            values = pd.to_numeric(participants[var], errors="coerce")
            d = outcome_decimals(pd.DataFrame({"outcome": var, "visit": "", "value": values})).get(var, 1)
        else:
            d = 1
        cells = []
        for arm in arms:
            r = grp[grp["arm"] == arm]
            cells.append("–" if r.empty else mean_sd(r["mean"].iloc[0], r["sd"].iloc[0], d))
        rows.append({"variable": f"{name}, mean ± SD", "cells": cells})
    return rows


def _baseline(ctx: Context) -> dict:
    sizes = arm_sizes(ctx)
    return {
        "id": "baseline",
        "title": "Baseline characteristics",
        "arms": [f"{a} (n = {sizes[a]})" for a in ctx.res.study.arms],
        "rows": baseline_rows(ctx),
    }


def model_words(ctx: Context) -> str:
    """'ANCOVA of the week16 value on the week0 value, arm and age' (the plan's covariates named)."""
    s = ctx.res.study.spec
    terms = [f"the {s.study.baseline_visit} value", "arm", *(name_of(c) for c in s.analysis.covariates)]
    return (
        f"ANCOVA of the {ctx.res.followup_visit} value on "
        + (", ".join(terms[:-1]) + " and " + terms[-1])
        + (" (with the arm × baseline interaction)" if s.analysis.interaction else "")
    )


def _contrast_cell(ctx: Context, c, alpha: float) -> dict:
    d = ctx.d(c["outcome"])
    return {
        "contrast": c["contrast"],
        "estimate": fixed(c["estimate"], d),
        "ci": ci(c["ci_low"], c["ci_high"], d),
        "p": pval(c["p"]),
        "p_adj": pval(c["p_adj"]),
        "g": effect(c["effect_size"]),
        "status": status_text(c["status"]),
        "family": c["family"],
        "significant": bool(c["p_adj"] < alpha),
    }


def _outcomes(ctx: Context) -> dict:
    """One block per outcome: a line per arm (mean ± SD at every visit) beside the ANCOVA contrasts.

    Each contrast sits on the line of its first-named arm (with a reference arm, the reference arm's
    line says so); a second contrast of the same arm (all pairs, three or more arms) gets a line of its
    own below. The block has as many lines as it needs."""
    res = ctx.res
    s = res.study.spec
    d = res.table("descriptives")
    anc = res.table("ancova")
    arms = res.study.arms
    visits = [v for v in s.study.visits if v in set(d["visit"])] or [
        s.study.baseline_visit,
        res.followup_visit,
    ]
    ref = s.study.reference_arm
    desc_all = d.set_index(["outcome", "arm", "visit"]).sort_index()
    by_outcome = {o: g for o, g in anc.groupby("outcome", sort=False)}
    blocks: list[dict[str, Any]] = []
    for o in [o for o in s.outcomes if o in by_outcome]:  # declared ones, no_data rows included
        dec = ctx.d(o)
        contrasts = {
            c["contrast"]: _contrast_cell(ctx, c, s.analysis.alpha) for _, c in by_outcome[o].iterrows()
        }
        arm_lines = []
        for arm in arms:
            cells = []
            for v in visits:
                key = (o, arm, v)
                if key in desc_all.index:
                    row = desc_all.loc[key]
                    cells.append(mean_sd(row["mean"], row["sd"], dec))
                else:
                    cells.append("–")
            arm_lines.append({"arm": arm, "cells": cells})
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
                "outcome": ctx.label(o),
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
        "method": MULTIPLICITY.get(s.analysis.multiplicity, s.analysis.multiplicity),
        "ci_level": s.analysis.ci_level,
        "model": model_words(ctx),
        "status": any(c["status"] for b in blocks for line in b["lines"] if (c := line["effect"])),
    }


def change_rows(ctx: Context) -> list[list[str]]:
    """Within-arm change from baseline to the follow-up visit: outcome, arm, n, mean change (SD), CI,
    percent change; each outcome to its decimals."""
    rows = []
    for r in ctx.res.table("change").itertuples():
        d = ctx.d(str(r.outcome))
        rows.append(
            [
                ctx.labelled(str(r.outcome)),
                str(r.arm),
                count_of(r.n),
                mean_sd(r.mean_change, r.sd_change, d),
                ci(r.ci_low, r.ci_high, d),
                percent(r.percent_change),
            ]
        )
    return rows


def _figures(ctx: Context) -> dict:
    res = ctx.res
    s = res.study.spec
    long = res.study.long()
    visits = s.study.visits
    shown = visits[visits.index(s.study.baseline_visit) : visits.index(res.followup_visit) + 1]
    n = res.study.participants["participant_id"].nunique()
    summary_form = n > figs.BEFORE_AFTER_MAX_PARTICIPANTS
    long = long[long["visit"].isin(shown)]
    groups = {str(o): d for o, d in long.groupby("outcome", sort=False, observed=True)}
    items = []
    for o in [o for o in res.study.outcomes if o in groups]:
        d = groups[o]
        dec = ctx.d(o)
        fig, spots = figs.before_after_figure(
            d,
            outcome=o,
            label=ctx.label(o),
            unit=s.outcomes[o].unit,
            arms=res.study.arms,
            visits=shown,
            summary=summary_form,
            ci_level=s.analysis.ci_level,
            value_text=lambda v, dec=dec: fixed(v, dec),
        )
        item = ctx.figures.add(f"before-after-{figs.slug(o)}", fig, hotspots=spots)
        items.append({**item, "outcome": ctx.label(o)})
    anc = res.table("ancova")
    fig, spots = figs.forest_figure(anc[anc["status"] == "ok"], labels=ctx.labels, alpha=s.analysis.alpha)
    forest = ctx.figures.add("outcomes-forest", fig, hotspots=spots)
    return {
        "id": "figures",
        "title": "Figures",
        "forest": forest,
        "panels": items,
        "ci_percent": f"{s.analysis.ci_level:.0%}",
        "summary_form": summary_form,
        "max_participants": figs.BEFORE_AFTER_MAX_PARTICIPANTS,
    }


def _methods(ctx: Context) -> dict:
    return {
        "id": "methods",
        "title": "Methods",
        "text": methods_text(ctx.res),
        "inputs": ctx.res.provenance.get("inputs", {}),
    }


def _mixed(ctx: Context) -> dict | None:
    t = ctx.res.get("mixed_anova")
    if t is None:
        return None
    corrected = bool(t["gg_eps"].notna().any())  # more than two visits: sphericity corrections apply
    headers = ["Outcome", "Term", "Visits", "n", "df", "F", "p", "Generalized η²"]
    if corrected:
        headers += ["ε (GG)", "p (GG)", "ε (HF)", "p (HF)"]
    headers.append("Status")
    rows = []
    capped = False
    for r in t.itertuples():
        row = [
            ctx.labelled(r.outcome),
            name_of(r.term),
            str(r.n_visits),
            count_of(r.n),
            f"{dof(r.num_df)}, {dof(r.den_df)}",
            fixed(r.f, 2),
            pval(r.p),
            eta_sq(r.ges),
        ]
        if corrected:
            hf = r.hf_eps
            if hf == hf and hf > 1:
                capped = True
                hf_text = f"1.00* ({effect(hf)})"
            else:
                hf_text = effect(hf)
            row += [effect(r.gg_eps), pval(r.p_gg), hf_text, pval(r.p_hf)]
        rows.append(row + [status_text(r.status)])
    sphericity = (
        " With more than two visits the visit and arm × visit terms assume sphericity; the "
        "Greenhouse–Geisser and Huynh–Feldt corrections (ε and corrected p) are given beside them, and "
        "the Greenhouse–Geisser p is the one to read when ε is well below 1."
        if corrected
        else ""
    )
    note = (
        "* The Huynh–Feldt estimate of ε can exceed 1 (shown in brackets); it is capped at 1 for the "
        "corrected p, which is then the uncorrected p."
        if capped
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
        "arm × visit interaction answers the same question as the ANCOVA with less power." + sphericity,
        note=note,
    )


def _cross_sectional(ctx: Context) -> dict | None:
    t = ctx.res.get("cross_sectional")
    if t is None:
        return None
    spec, a = ctx.res.study.spec, ctx.res.study.spec.analysis
    headers, rows = group_contrast_table(ctx, t, a.ci_level)
    group, visit = (
        (t["group_column"].iloc[0], t["visit"].iloc[0]) if len(t) else ("arm", spec.study.baseline_visit)
    )
    covariates = _texts(ctx.res.settings("cross_sectional").get("covariates"))
    adjusted = f", adjusted for {', '.join(name_of(c) for c in covariates)}" if covariates else ""
    caveat = (
        " The arms were randomised, so at the baseline visit their differences are chance imbalances: "
        "the table describes them and is not a test of the intervention."
        if group == "arm" and visit == spec.study.baseline_visit
        else " The groups were not randomised: an adjusted difference is an association, not an effect."
    )
    return table_section(
        "cross-sectional",
        f"Cross-sectional comparison at {visit}",
        headers,
        rows,
        text_columns=2,
        intro=f"{_groups_words(group).capitalize()} compared at {visit} on each outcome by a linear model of the "
        f"value on group{adjusted}; adjusted differences with t-intervals, "
        f"{MULTIPLICITY.get(a.multiplicity, a.multiplicity)} adjustment within the primary and secondary "
        f"families.{caveat}",
        note="Hedges' g: the adjusted difference over the pooled SD of the outcome in the two groups, "
        "times J = 1 − 3/(4(n1+n2)−9).",
    )


def build_sections(ctx: Context) -> list[dict]:
    """Every section of the report, in reading order (sections without data are left out). A design
    that is not randomised has its own analysis sections (:mod:`skintrial.report._section_design`)."""
    from skintrial.report import (
        _section_design,
        _section_expression,
        _section_instruments,
        _section_omics,
        _section_sensitivity,
        _section_training,
    )

    own = _section_design.build(ctx)
    design: list[dict | None] = list(own) if own is not None else []
    if own is None:  # a randomised trial
        design = [
            _flow(ctx),
            _baseline(ctx),
            _outcomes(ctx),
            _section_design.adjusted_means_section(ctx),
            _section_design.change_section(ctx),
            _figures(ctx),
            _section_design.clda_section(ctx),
            _mixed(ctx),
            _cross_sectional(ctx),
            *_section_sensitivity.build(ctx),
        ]
    sections = [
        *design,
        *_section_instruments.build(ctx),
        *_section_training.build(ctx),
        *_section_omics.build(ctx),
        *_section_expression.build(ctx),
        _methods(ctx),
        _section_design.exclusions_section(ctx),
    ]
    return [s for s in sections if s is not None]


def summary(ctx: Context) -> dict:
    from skintrial.report._section_design import header

    res = ctx.res
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
        **header(ctx),  # the design, who was enrolled, and the design's caveat
    }
