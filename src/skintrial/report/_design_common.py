"""What the design-specific report sections share: the designs' names and caveats, the groups a run
described, and the characteristics table by group (:mod:`skintrial.report._section_design`)."""

from __future__ import annotations

from skintrial.report._context import Context
from skintrial.report._format import (
    ci,
    count_of,
    effect,
    fixed,
    mean_sd,
    name_of,
    pval,
    status_text,
    table_section,
)

_status = status_text  # the design sections' short name for it

__all__ = ["DESIGN_TITLES", "OBSERVATIONAL", "NO_CONTROL", "header"]

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


def group_contrast_table(ctx: Context, table, ci_level: float) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a table of group (or arm) contrasts at one visit (``cross_sectional.csv``):
    outcome, contrast, difference and CI in the outcome's decimals, p, adjusted p, Hedges' g, n, status."""
    headers = ["Outcome", "Contrast", "Difference", f"{ci_level:.0%} CI", "p", "Adjusted p", "Hedges' g"]
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
            status_text(r.status),
        ]
        for r in table.itertuples()
    ]
    return [*headers, "n", "Status"], rows
