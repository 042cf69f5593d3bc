"""The report follows the study's design (issue 11): the title block, the participant flow and the
analysis sections of a randomised trial, a cross-sectional comparison or a single-arm pre/post study.

* **Randomised**: the CONSORT flow (``_sections._flow``), then, from here, the within-arm change at every
  follow-up visit (description), the adjusted means per arm, and cLDA at every post-baseline visit (the
  last one primary).
* **Cross-sectional** (:func:`build`): participants by group instead of CONSORT, characteristics by
  group, the group comparison, the two-way ANOVA group × by, the simple effects, an interaction figure,
  and the sentence that an observational comparison shows associations, not effects of exercise.
* **Single-arm** (:func:`build`): the participant flow from enrolment, characteristics, the change
  from baseline (paired t, Wilcoxon, d_z), the paired figure, cLDA with one arm, and the caveat that a
  change without a control includes time and regression to the mean.

The words "randomised"/"randomized" never appear in a report of a design that is not randomised
(``tests/report/test_report_designs.py``). Exclusions are shown one row per participant and reason
(:func:`exclusions_section`) for every design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report import _figures as figs
from skintrial.report._context import Context
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
    table_section,
)

__all__ = [
    "DESIGN_TITLES",
    "OBSERVATIONAL",
    "NO_CONTROL",
    "header",
    "build",
    "change_section",
    "adjusted_means_section",
    "clda_section",
    "exclusions_section",
    "design_methods",
]

DESIGN_TITLES = {
    "randomised": "Randomised parallel-group trial",
    "cross_sectional": "Cross-sectional comparison (observational study)",
    "single_arm": "Single-arm pre/post study (no control group)",
}
"""How the title block names each design."""

OBSERVATIONAL = (
    "This is an observational comparison: the participants were not assigned to their groups, so the "
    "differences between groups show associations, not effects of exercise; people who differ in activity "
    "may differ in other ways (diet, sun exposure, health) that explain them."
)
NO_CONTROL = (
    "There is no control group: a change from baseline includes the passing of time (season, ageing), "
    "learning the measurement and regression to the mean as well as any effect of the training, so it is "
    "not an estimate of the training's effect."
)


def _design(ctx: Context) -> str:
    return ctx.res.study.spec.study.design


def _status(status: object) -> str:
    return "" if status == "ok" else name_of(status)


def _groups(ctx: Context) -> list[str]:
    """The description's groups: the arms, or a cross-sectional study's groups (reference first)."""
    arms = ctx.res.settings("description").get("arms")
    return [str(a) for a in arms] if isinstance(arms, list) else list(ctx.res.study.arms)


def _texts(value: object) -> list[str]:
    """A list setting of a stage as text (empty when the stage recorded none)."""
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _group_column(ctx: Context) -> str:
    return str(ctx.res.settings("cross_sectional").get("group", "arm"))


# --------------------------------------------------------------------------------------- title block


def header(ctx: Context) -> dict:
    """The title block's design line: the design's name, who was enrolled, and the design's caveat."""
    res = ctx.res
    design = _design(ctx)
    p = res.study.participants
    n, done = len(p), int((p["status"] == "completed").sum())
    groups = _groups(ctx)
    out: dict = {"design": DESIGN_TITLES[design], "caveat": ""}
    if design == "randomised":
        out["enrolment"] = f"{n} randomised, {done} completed"
        out["groups_label"] = "arms"
    elif design == "cross_sectional":
        flow = res.table("flow")
        sizes = flow[flow["stage"] == "enrolled"].set_index("arm")["n"]
        out["enrolment"] = f"{n} participants, each measured once"
        out["groups_label"] = f"groups ({_group_column(ctx)})"
        out["arms"] = [{"arm": g, "label": f"n = {int(sizes.get(g, 0))}"} for g in groups]
        out["caveat"] = "associations, not effects"
    else:
        out["enrolment"] = f"{n} enrolled, {done} completed"
        out["groups_label"] = "arm"
        out["caveat"] = "change includes time and regression to the mean"
    return out


# ------------------------------------------------------------------------------------------ helpers


def _characteristic_rows(ctx: Context, groups: list[str]) -> list[list[str]]:
    """Baseline characteristics by group: mean ± SD, or n (%) per level (no significance tests)."""
    b = ctx.res.table("baseline")
    rows: list[list[str]] = []
    for var, grp in b.groupby("variable", sort=False):
        var = str(var)
        name = ctx.labelled(var) if var in ctx.labels else name_of(var)
        if (grp["level"].astype(str) != "").any():
            rows.append([f"{name}, n (%)", *[""] * len(groups)])
            for level, g in grp.groupby("level", sort=False):
                cells = []
                for arm in groups:
                    r = g[g["arm"] == arm]
                    cells.append(
                        "–"
                        if r.empty
                        else f"{count_of(r['count'].iloc[0])} ({fixed(r['percent'].iloc[0], 1)}%)"
                    )
                rows.append([f"  {level}", *cells])
            continue
        d = ctx.d(var) if var in ctx.decimals else 1
        cells = [
            "–" if (r := grp[grp["arm"] == arm]).empty else mean_sd(r["mean"].iloc[0], r["sd"].iloc[0], d)
            for arm in groups
        ]
        rows.append([f"{name}, mean ± SD", *cells])
    return rows


def _characteristics(ctx: Context, title: str, note: str) -> dict:
    groups = _groups(ctx)
    flow = ctx.res.table("flow")
    first = flow[flow["stage"].isin(["enrolled", "randomised"])].set_index("arm")["n"]
    headers = ["Characteristic", *(f"{g} (n = {int(first.get(g, 0))})" for g in groups)]
    return table_section("characteristics", title, headers, _characteristic_rows(ctx, groups), note=note)


def _outcome_order(ctx: Context, outcomes) -> list[str]:
    present = set(outcomes)
    return [o for o in ctx.res.study.spec.outcomes if o in present]


# --------------------------------------------------------------------------------- cross-sectional


def _participants_by_group(ctx: Context) -> dict:
    res = ctx.res
    groups = _groups(ctx)
    cs = res.settings("cross_sectional")
    group, by = _group_column(ctx), cs.get("by")
    p = res.study.participants
    col = p[group].map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    levels = _texts(cs.get("by_levels"))
    headers = ["Group", "Participants"] + [f"{by} {lv}" for lv in levels]
    m = res.study.measurements
    visit = str(cs.get("visit", res.study.spec.study.baseline_visit))
    measured = set(m.loc[m["visit"] == visit, "participant_id"])
    headers.append(f"Measured at {visit}")
    rows = []
    for g in groups:
        sub = p[col == g]
        row = [g, count_of(len(sub))]
        row += [count_of(int((sub[by].astype(str) == lv).sum())) for lv in levels] if by else []
        row.append(count_of(int(sub["participant_id"].isin(measured).sum())))
        rows.append(row)
    return table_section(
        "flow",
        "Participants by group",
        headers,
        rows,
        intro=f"Participants of each group of '{group}'"
        + (f" and level of '{by}'" if by else "")
        + f", measured once ({visit}). "
        + OBSERVATIONAL,
        sortable=False,
    )


def _comparison(ctx: Context) -> dict | None:
    t = ctx.res.get("cross_sectional")
    if t is None:
        return None
    a = ctx.res.study.spec.analysis
    cov = _texts(ctx.res.settings("cross_sectional").get("covariates"))
    rows = [
        [
            ctx.labelled(r.outcome),
            r.contrast,
            fixed(r.estimate, ctx.d(r.outcome)),
            ci(r.ci_low, r.ci_high, ctx.d(r.outcome)),
            pval(r.p),
            pval(r.p_adj),
            effect(r.effect_size),
            count_of(r.n),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    adjusted = f", adjusted for {', '.join(name_of(c) for c in cov)}" if cov else ""
    return table_section(
        "group-comparison",
        f"Group comparison at {t['visit'].iloc[0] if len(t) else ''}",
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
        intro=f"Adjusted difference between groups (linear model of each outcome on group{adjusted}), with "
        f"t-intervals; p adjusted within the primary and the secondary outcomes. {OBSERVATIONAL}",
        note="Hedges' g: the adjusted difference over the pooled SD of the outcome in the two groups, times "
        "J = 1 − 3/(4(n1+n2)−9).",
    )


def _two_way(ctx: Context) -> dict | None:
    t = ctx.res.get("two_way_anova")
    if t is None:
        return None
    cs = ctx.res.settings("cross_sectional")
    rows = [
        [
            ctx.labelled(r.outcome),
            name_of(r.term).replace(":", " × "),
            str(r.type),
            f"{dof(r.num_df)}, {dof(r.den_df)}",
            fixed(r.f, 2),
            pval(r.p),
            eta_sq(r.partial_eta_sq),
            count_of(r.n),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "two-way-anova",
        f"Two-way ANOVA: {cs.get('group')} × {cs.get('by')}",
        ["Outcome", "Term", "SS type", "df", "F", "p", "Partial η²", "n", "Status"],
        rows,
        text_columns=3,
        intro=f"Each outcome on {cs.get('group')}, {cs.get('by')} and their interaction"
        + (
            f", adjusted for {', '.join(name_of(c) for c in _texts(cs.get('covariates')))}"
            if cs.get("covariates")
            else ""
        )
        + ". Type III (sum-to-zero coding: each main effect averaged over the other factor's levels) and Type "
        "II (each main effect without the interaction); the interaction asks whether the group difference "
        "depends on the level of the second factor. Partial η² = F·df1/(F·df1 + df2).",
    )


def _simple_effects(ctx: Context) -> dict | None:
    t = ctx.res.get("simple_effects")
    if t is None:
        return None
    a = ctx.res.study.spec.analysis
    by = ctx.res.settings("cross_sectional").get("by")
    rows = [
        [
            ctx.labelled(r.outcome),
            str(r.by_level),
            r.contrast,
            fixed(r.estimate, ctx.d(r.outcome)),
            ci(r.ci_low, r.ci_high, ctx.d(r.outcome)),
            pval(r.p),
            pval(r.p_adj),
            count_of(r.n),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "simple-effects",
        f"Group differences within each level of {by}",
        [
            "Outcome",
            str(by),
            "Contrast",
            "Difference",
            f"{a.ci_level:.0%} CI",
            "p",
            "Adjusted p",
            "n",
            "Status",
        ],
        rows,
        text_columns=3,
        intro="Simple effects from the two-way model: the adjusted difference between groups at each level, "
        "with its t-interval on the model's error; p adjusted within the primary and the secondary outcomes.",
    )


def interaction_figure(
    means: pd.DataFrame, *, label: str, unit: str, levels: list[str], groups: list[str], by: str
):
    """Group means with their CIs at each level of ``by``, one line per group (the interaction plot)."""
    plt = figs._pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    offsets = np.linspace(-0.08, 0.08, max(len(groups), 1))
    spots = []
    for k, g in enumerate(groups):
        d = means[means["group"] == g].set_index("by_level").reindex(levels)
        x = np.arange(len(levels)) + offsets[k]
        y = d["emmean"].to_numpy(float)
        err = np.vstack([y - d["ci_low"].to_numpy(float), d["ci_high"].to_numpy(float) - y])
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, lw=1.2, label=g)
        spots.append(
            figs.Hotspots(ax, x, y, [f"{g}, {by} {lv}: {v:.3g}" for lv, v in zip(levels, y, strict=True)])
        )
    ax.set_xticks(np.arange(len(levels)), levels)
    ax.set_xlabel(by)
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    ax.legend(frameon=False, fontsize=8)
    return fig, spots


def _interaction_figures(ctx: Context) -> dict | None:
    t = ctx.res.get("two_way_means")
    if t is None or t.empty:
        return None
    cs = ctx.res.settings("cross_sectional")
    levels = _texts(cs.get("by_levels")) or sorted(t["by_level"].astype(str).unique())
    groups = _texts(cs.get("groups")) or sorted(t["group"].astype(str).unique())
    panels = []
    for o in _outcome_order(ctx, t["outcome"].unique()):
        d = t[t["outcome"] == o]
        fig, spots = interaction_figure(
            d,
            label=ctx.label(o),
            unit=ctx.res.study.spec.outcomes[o].unit,
            levels=levels,
            groups=groups,
            by=str(cs.get("by")),
        )
        item = ctx.figures.add(f"interaction-{figs.slug(o)}", fig, hotspots=spots)
        panels.append(
            {
                **item,
                "caption": f"{ctx.label(o)}: adjusted mean of each group with its "
                f"{ctx.res.study.spec.analysis.ci_level:.0%} CI at each level of {cs.get('by')}.",
            }
        )
    return {
        "id": "interaction",
        "title": "Interaction figures",
        "template": "design_figures",
        "intro": "Lines that are not parallel show a group difference that depends on the level: the "
        "interaction of the two-way ANOVA. " + OBSERVATIONAL,
        "panels": panels,
    }


# -------------------------------------------------------------------------------------- single-arm


def flow_figure(
    *,
    enrolled: int,
    withdrawn: int,
    reasons: list[str],
    completed: int,
    analysed: int,
    screening: pd.DataFrame | None,
    followup: str,
    arm: str,
):
    """The participant flow of a single-arm study, from eligibility (when the screening table is given)
    or from enrolment: enrolled → withdrawn (reasons) → completed → analysed."""
    import textwrap

    plt = figs._pyplot()
    boxes = []
    if screening is not None:
        assessed = int(screening.loc[screening["stage"] == "assessed", "n"].sum())
        ex = screening[screening["stage"] == "excluded"]
        boxes.append(f"Assessed for eligibility (n = {assessed})")
        boxes.append(
            f"Excluded (n = {int(ex['n'].sum())})"
            + "".join(f"\n• {r}: {n}" for r, n in zip(ex["reason"], ex["n"], strict=True))
        )
    boxes.append(f"Enrolled, {arm} (n = {enrolled})")
    boxes.append(f"Withdrawn before {followup} (n = {withdrawn})" + "".join(f"\n• {w}" for w in reasons))
    boxes.append(f"Completed {followup} (n = {completed})")
    boxes.append(f"Analysed: change from baseline (n = {analysed}); cLDA keeps every participant's values")
    fig, ax = plt.subplots(figsize=(4.6, 1.15 * len(boxes) + 0.4))
    ax.set_axis_off()
    height = 1.15 * len(boxes) + 0.4
    ax.set_xlim(0, 4.6)
    ax.set_ylim(0, height)
    ys = [height - 0.7 - 1.15 * i for i in range(len(boxes))]
    style = {"boxstyle": "square,pad=0.45", "facecolor": "white", "edgecolor": "#333333", "linewidth": 0.8}
    for i, (y, text) in enumerate(zip(ys, boxes, strict=True)):
        wrapped = "\n".join(textwrap.fill(line, 46) for line in text.split("\n"))
        ax.text(2.3, y, wrapped, ha="center", va="center", fontsize=7.5, bbox=style)
        if i:
            ax.annotate(
                "",
                (2.3, y + 0.38),
                (2.3, ys[i - 1] - 0.38),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.8},
            )
    return fig


def _single_arm_flow(ctx: Context) -> dict:
    res = ctx.res
    flow = res.table("flow")
    arm = res.study.arms[0]
    f = flow[flow["arm"] == arm]
    wd = f[f["stage"] == "withdrawn"]
    reasons = [
        f"{r}{f' (after {v})' if v else ''}: {n}"
        for r, v, n in zip(wd["reason"], wd["withdrawal_visit"], wd["n"], strict=True)
    ]
    pc = res.get("paired_change")
    primary = res.study.spec.analysis.primary
    last = res.study.spec.study.visits[-1]
    analysed = 0
    if pc is not None and len(pc):
        sub = pc[(pc["visit"] == last) & pc["outcome"].isin(primary)]
        analysed = int(sub["n"].min()) if len(sub) else int(pc["n"].min())
    enrolled = int(f.loc[f["stage"] == "enrolled", "n"].sum())
    completed = int(f.loc[f["stage"] == "completed", "n"].sum())
    label = res.study.spec.study.arm_labels.get(arm, "")
    fig = flow_figure(
        enrolled=enrolled,
        withdrawn=int(wd["n"].sum()),
        reasons=reasons,
        completed=completed,
        analysed=analysed,
        screening=res.get("screening"),
        followup=last,
        arm=f"{arm}{f': {label}' if label else ''}",
    )
    item = ctx.figures.add("flow-single-arm", fig)
    start = (
        "eligibility assessment (the screening table)"
        if res.has("screening")
        else ("enrolment (the bundle has no screening table of who was assessed for eligibility)")
    )
    return {
        "id": "flow",
        "title": "Participant flow",
        "template": "design_figures",
        "intro": f"From {start} to the analysis: {enrolled} enrolled, {int(wd['n'].sum())} withdrawn, "
        f"{completed} completed; the change from baseline is analysed in the {analysed} with both values "
        f"(fewest over the primary outcomes). {NO_CONTROL}",
        "panels": [{**item, "caption": "Participant flow of the single-arm study."}],
    }


def _paired_change(ctx: Context) -> dict | None:
    t = ctx.res.get("paired_change")
    if t is None:
        return None
    a = ctx.res.study.spec.analysis
    rows = [
        [
            ctx.labelled(r.outcome),
            str(r.visit),
            count_of(r.n),
            fixed(r.estimate, ctx.d(r.outcome)),
            ci(r.ci_low, r.ci_high, ctx.d(r.outcome)),
            percent(r.percent_change),
            pval(r.p),
            pval(r.p_adj),
            effect(r.effect_size),
            pval(r.wilcoxon_p),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "change",
        f"Change from {t['baseline_visit'].iloc[0] if len(t) else ''}",
        [
            "Outcome",
            "Visit",
            "n",
            "Mean change",
            f"{a.ci_level:.0%} CI",
            "Change (%)",
            "p (paired t)",
            "Adjusted p",
            "d_z",
            "p (Wilcoxon)",
            "Status",
        ],
        rows,
        text_columns=2,
        intro="Mean change from baseline in the participants with both values, with its t-interval and the "
        "paired t test; p adjusted over every outcome and visit within the primary and the secondary "
        "outcomes; the Wilcoxon signed-rank test as a sensitivity analysis. " + NO_CONTROL,
        note="d_z = mean change / SD of the change (Cohen 1988): the standardised change, not comparable "
        "with a between-group effect size. Change (%): the mean change over the baseline mean.",
    )


def _paired_figures(ctx: Context) -> dict | None:
    res = ctx.res
    s = res.study.spec
    long = res.study.long()
    groups = {str(o): d for o, d in long.groupby("outcome", sort=False, observed=True)}
    panels = []
    for o in [o for o in res.study.outcomes if o in groups]:
        dec = ctx.d(o)
        fig, spots = figs.before_after_figure(
            groups[o],
            outcome=o,
            label=ctx.label(o),
            unit=s.outcomes[o].unit,
            arms=res.study.arms,
            visits=list(s.study.visits),
            ci_level=s.analysis.ci_level,
            value_text=lambda v, dec=dec: fixed(v, dec),
        )
        item = ctx.figures.add(f"paired-{figs.slug(o)}", fig, hotspots=spots)
        panels.append(
            {
                **item,
                "caption": f"{ctx.label(o)}: each participant's values across the visits "
                "(lines) and the mean ± SD at each visit; × marks a participant without follow-up.",
            }
        )
    if not panels:
        return None
    return {
        "id": "figures",
        "title": "Paired figures",
        "template": "design_figures",
        "intro": NO_CONTROL,
        "panels": panels,
    }


# ------------------------------------------------------------------------------------ shared tables


def change_section(ctx: Context) -> dict | None:
    """Within-arm change from baseline at every follow-up visit (a description in a randomised trial)."""
    t = ctx.res.get("change")
    if t is None or t.empty:
        return None
    level = float(t["ci_level"].iloc[0])
    several = t["visit"].nunique() > 1
    rows = []
    for r in t.itertuples():
        d = ctx.d(str(r.outcome))
        rows.append(
            [
                ctx.labelled(str(r.outcome)),
                str(r.arm),
                *([str(r.visit)] if several else []),
                count_of(r.n),
                mean_sd(r.mean_change, r.sd_change, d),
                ci(r.ci_low, r.ci_high, d),
                percent(r.percent_change),
            ]
        )
    visits = ", ".join(dict.fromkeys(t["visit"].astype(str)))
    return table_section(
        "change",
        f"Within-arm change from {t['baseline_visit'].iloc[0]} to {visits}",
        [
            "Outcome",
            "Arm",
            *(["Visit"] if several else []),
            "n",
            "Mean change ± SD",
            f"{level:.0%} CI",
            "Change (%)",
        ],
        rows,
        text_columns=3 if several else 2,
        intro="Change within each arm in the participants with both values (a description: the between-arm "
        "comparison is the ANCOVA). Change (%): the mean change over the arm's baseline mean.",
    )


def adjusted_means_section(ctx: Context) -> dict | None:
    """The ANCOVA's adjusted mean of every arm at the follow-up visit (emmeans), with its CI."""
    t = ctx.res.get("emmeans")
    if t is None or t.empty:
        return None
    level = float(t["ci_level"].dropna().iloc[0]) if t["ci_level"].notna().any() else 0.95
    rows = [
        [
            ctx.labelled(str(r.outcome)),
            str(r.arm),
            count_of(r.n),
            fixed(r.emmean, ctx.d(str(r.outcome))),
            ci(r.ci_low, r.ci_high, ctx.d(str(r.outcome))),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "adjusted-means",
        f"Adjusted means at {ctx.res.followup_visit}",
        ["Outcome", "Arm", "n", "Adjusted mean", f"{level:.0%} CI", "Status"],
        rows,
        text_columns=2,
        intro="Each arm's mean at the follow-up visit from the ANCOVA, at the mean baseline (and covariate "
        "means): the differences between these are the contrasts above.",
    )


def clda_section(ctx: Context) -> dict | None:
    """cLDA contrasts at every post-baseline visit, the primary (last) visit marked."""
    t = ctx.res.get("clda")
    if t is None:
        return None
    level = float(t["ci_level"].iloc[0]) if len(t) else 0.95
    one_arm = len(ctx.res.study.arms) == 1
    rows = [
        [
            ctx.labelled(r.outcome),
            r.contrast,
            f"{r.visit}{' (primary)' if r.primary_visit else ''}",
            fixed(r.estimate, ctx.d(r.outcome)),
            ci(r.ci_low, r.ci_high, ctx.d(r.outcome)),
            pval(r.p),
            pval(r.p_adj),
            count_of(r.n),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    what = (
        "the change from baseline at each visit, from every participant's available values"
        if one_arm
        else "the arms share the baseline mean; every participant contributes, including those without follow-up"
    )
    return table_section(
        "clda",
        "cLDA at every visit" if one_arm else "Sensitivity analysis: cLDA at every visit",
        ["Outcome", "Contrast", "Visit", "Difference", f"{level:.0%} CI", "p", "Adjusted p", "n", "Status"],
        rows,
        text_columns=3,
        intro=f"Constrained longitudinal data analysis (REML, unstructured covariance): {what}. The last visit "
        "is the primary one; p adjusted within each visit.",
    )


def exclusions_section(ctx: Context) -> dict:
    """Every exclusion, one row per participant and reason with the analyses and outcomes it affects;
    the record-by-record list stays in ``results/exclusions.csv``.

    A withdrawn participant's rows (``no week16 value (withdrawn: …)`` in the ANCOVA and the mixed ANOVA,
    ``withdrawn`` in the per-protocol set) are one reason: the withdrawal."""
    e = ctx.res.table("exclusions")
    n_outcomes = len(ctx.res.study.outcomes)
    rows: list[list[str]] = []
    if len(e):
        p = ctx.res.study.participants.set_index("participant_id")
        e = e.fillna({"outcome": "", "visit": "", "arm": "", "reason": ""}).astype(
            {"outcome": str, "visit": str, "reason": str, "participant_id": str}
        )
        status = e["participant_id"].map(p["status"]).fillna("")
        why = p["withdrawal_reason"].reindex(e["participant_id"]).fillna("reason not given").to_numpy()
        last = p["withdrawal_visit"].reindex(e["participant_id"]).fillna("").to_numpy()
        withdrawn = (status == "withdrawn").to_numpy() & e["reason"].str.contains("withdrawn").to_numpy()
        cause = np.where(
            withdrawn,
            [f"withdrawn after {v}: {w}" if v else f"withdrawn: {w}" for v, w in zip(last, why, strict=True)],
            e["reason"].to_numpy(),
        )
        e = e.assign(cause=cause)
        for (pid, reason), g in e.groupby(["participant_id", "cause"], sort=False):
            analyses = ", ".join(name_of(a) for a in dict.fromkeys(g["analysis"]))
            outs = [o for o in dict.fromkeys(g["outcome"]) if o]
            what = (
                f"all {n_outcomes} outcomes"
                if len(outs) > 1 and len(outs) == n_outcomes
                else "; ".join(
                    ctx.label(o) + (f" ({v})" if v else "")
                    for o, v in dict.fromkeys(zip(g["outcome"], g["visit"], strict=True))
                    if o
                )
            ) or "—"
            rows.append([str(pid), str(g["arm"].iloc[0]), str(reason), analyses, what])
    return {
        **table_section(
            "exclusions",
            "Excluded records",
            ["Participant", "Arm", "Reason", "Analyses", "Outcomes"],
            rows,
            text_columns=5,
            intro="One row per participant and reason, with the analyses and outcomes it affects."
            if rows
            else "No record was excluded from any analysis.",
            note=f"{len(e)} records excluded in all; each is listed, one per analysis and outcome, in "
            "results/exclusions.csv."
            if rows
            else "",
        ),
        "n_records": len(e),
    }


# ------------------------------------------------------------------------------------------ build


def build(ctx: Context, *, figures: bool = True) -> list[dict] | None:
    """The analysis sections of a design that is not randomised (None for a randomised trial, whose
    sections are ``_sections``' own); ``figures=False`` leaves the figure sections out (their figures
    are already in ``ctx.figures`` for report.docx)."""
    design = _design(ctx)
    if design == "cross_sectional":
        sections = [
            _participants_by_group(ctx),
            _characteristics(
                ctx,
                "Characteristics by group",
                "Mean ± SD, or n (%). No significance tests of "
                "characteristics: the table describes who is in each group.",
            ),
            _comparison(ctx),
            _two_way(ctx),
            _simple_effects(ctx),
            _interaction_figures(ctx) if figures else None,
        ]
    elif design == "single_arm":
        sections = [
            _single_arm_flow(ctx) if figures else None,
            _characteristics(
                ctx, "Baseline characteristics", "Mean ± SD, or n (%), of every participant enrolled."
            ),
            _paired_change(ctx),
            _paired_figures(ctx) if figures else None,
            clda_section(ctx),
        ]
    else:
        return None
    return [s for s in sections if s is not None]


def design_methods(res, multiplicity: str) -> str:
    """The methods paragraph's first sentences for a design that is not randomised ('' for a trial)."""
    s = res.study.spec
    a = s.analysis
    primary = "; ".join((s.outcomes[o].label or o) for o in a.primary)
    family = (
        f"p-values were adjusted with the {multiplicity} method within the primary outcomes ({primary}) and "
        "within the secondary outcomes"
        if a.multiplicity != "none"
        else "p-values were not adjusted for multiplicity"
    )
    if s.study.design == "cross_sectional":
        cs = res.settings("cross_sectional")
        cov = cs.get("covariates") or []
        adjusted = f" adjusted for {', '.join(name_of(c) for c in cov)}" if cov else ""
        text = (
            f"In this cross-sectional study each participant was measured once ({cs.get('visit')}). The groups of "
            f"'{cs.get('group')}' were compared on each outcome by a linear model of the value on group{adjusted}, "
            f"with adjusted differences, their {a.ci_level:.0%} t-intervals and Hedges' g"
        )
        if cs.get("by"):
            text += (
                f"; a two-way ANOVA {cs.get('group')} × {cs.get('by')} (Type II and Type III sums of squares, "
                "partial η²) tested whether the group difference depends on the level of "
                f"'{cs.get('by')}', and the group differences within each level (simple effects) are reported "
                "from the same model"
            )
        return text + f"; {family}. The comparison is observational: differences are associations."
    if s.study.design == "single_arm":
        visits = ", ".join(res.settings("paired_change").get("followup_visits") or [s.study.visits[-1]])
        return (
            f"In this single-arm study without a control group, the change of each outcome from "
            f"{s.study.baseline_visit} to {visits} was estimated in the participants with both values: mean "
            f"change with its {a.ci_level:.0%} t-interval and the paired t test, the Wilcoxon signed-rank test "
            f"as a sensitivity analysis, and d_z (mean change over the SD of the change) as the effect size; "
            f"{family}. No between-arm test was made. A change without a control includes time and regression "
            "to the mean."
        )
    return ""
