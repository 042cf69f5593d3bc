"""The report of a cross-sectional study (issue 11): participants by group instead of CONSORT, the
group comparison, the two-way ANOVA group × by, the simple effects and the interaction figures, each with
the sentence that an observational comparison shows associations, not effects of exercise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report import _figures as figs
from skintrial.report._context import Context
from skintrial.report._design_common import (
    OBSERVATIONAL,
    _characteristics,
    _group_column,
    _groups,
    _outcome_order,
    _status,
    _texts,
    group_contrast_table,
)
from skintrial.report._format import (
    ci,
    count_of,
    dof,
    eta_sq,
    fixed,
    name_of,
    pval,
    table_section,
)

__all__ = ["cross_sectional_sections", "interaction_figure"]


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
    headers, rows = group_contrast_table(ctx, t, a.ci_level)
    adjusted = f", adjusted for {', '.join(name_of(c) for c in cov)}" if cov else ""
    return table_section(
        "group-comparison",
        f"Group comparison at {t['visit'].iloc[0] if len(t) else ''}",
        headers,
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


def cross_sectional_sections(ctx: Context, *, figures: bool = True) -> list[dict | None]:
    """Participants by group, characteristics by group, the comparison, the two-way ANOVA, the simple
    effects and (with ``figures``) the interaction figures."""
    return [
        _participants_by_group(ctx),
        _characteristics(
            ctx,
            "Characteristics by group",
            "Mean ± SD, or n (%). No significance tests of characteristics: the table describes who is in "
            "each group.",
        ),
        _comparison(ctx),
        _two_way(ctx),
        _simple_effects(ctx),
        _interaction_figures(ctx) if figures else None,
    ]
