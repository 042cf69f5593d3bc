"""The report of a single-arm pre/post study (issue 11): the participant flow from enrolment (or the
screening table), the change from baseline (paired t, Wilcoxon, d_z), the paired figures, each with the
caveat that a change without a control includes time and regression to the mean."""

from __future__ import annotations

import pandas as pd

from skintrial.report import _figures as figs
from skintrial.report._context import Context
from skintrial.report._design_common import NO_CONTROL, _characteristics, _status
from skintrial.report._format import (
    ci,
    count_of,
    effect,
    fixed,
    percent,
    pval,
    table_section,
)

__all__ = ["single_arm_sections", "flow_figure"]


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


def single_arm_sections(ctx: Context, *, figures: bool = True) -> list[dict | None]:
    """The flow (with ``figures``), baseline characteristics, the change table and the paired figures;
    the cLDA section is the shared :func:`skintrial.report._section_design.clda_section`."""
    return [
        _single_arm_flow(ctx) if figures else None,
        _characteristics(
            ctx, "Baseline characteristics", "Mean ± SD, or n (%), of every participant enrolled."
        ),
        _paired_change(ctx),
        _paired_figures(ctx) if figures else None,
    ]
