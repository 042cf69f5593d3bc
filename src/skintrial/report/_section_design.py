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

The cross-sectional and single-arm sections are built in :mod:`skintrial.report._section_cross_sectional`
and :mod:`skintrial.report._section_single_arm`, on what :mod:`skintrial.report._design_common` shares.
The words "randomised"/"randomized" never appear in a report of a design that is not randomised
(``tests/report/test_report_designs.py``). Exclusions are shown one row per participant and reason
(:func:`exclusions_section`) for every design.
"""

from __future__ import annotations

import numpy as np

from skintrial.report._context import Context
from skintrial.report._design_common import (
    DESIGN_TITLES,
    NO_CONTROL,
    OBSERVATIONAL,
    _design,
    _status,
    header,
)
from skintrial.report._format import (
    ci,
    count_of,
    fixed,
    mean_sd,
    name_of,
    percent,
    pval,
    table_section,
)
from skintrial.report._section_cross_sectional import cross_sectional_sections
from skintrial.report._section_single_arm import single_arm_sections

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
    from skintrial.report._clda_text import clda_choices

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
        intro=f"Constrained longitudinal data analysis ({clda_choices(ctx.res)}): {what}. The last visit "
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
        sections = cross_sectional_sections(ctx, figures=figures)
    elif design == "single_arm":
        sections = [*single_arm_sections(ctx, figures=figures), clda_section(ctx)]
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
