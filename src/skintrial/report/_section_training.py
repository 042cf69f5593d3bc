"""Report section for training logs: adherence, per-protocol sensitivity, dose–response."""

from __future__ import annotations

from typing import cast

from skintrial.report._context import Context
from skintrial.report._figures import Hotspots, slug
from skintrial.report._format import ci, count_of, fixed, pval

__all__ = ["build"]

DOSE_FIGURE_MEASURE = "adherence"


def _percent(x: float) -> str:
    """A fraction as a percentage with one decimal ('–' when missing: an arm without a plan)."""
    return "–" if x != x else f"{100 * x:.1f}%"


def _per_protocol_rows(ctx: Context) -> list[list[str]]:
    res = ctx.res
    itt = res.table("ancova").set_index(["outcome", "contrast"])
    rows = []
    for r in res.table("ancova_per_protocol").itertuples():
        i = itt.loc[(r.outcome, r.contrast)]
        d = ctx.d(r.outcome)
        rows.append(
            [
                ctx.labelled(r.outcome),
                r.contrast,
                f"{fixed(i.estimate, d)} ({ci(i.ci_low, i.ci_high, d)})",
                count_of(i.n),
                f"{fixed(r.estimate, d)} ({ci(r.ci_low, r.ci_high, d)})",
                count_of(r.n),
                pval(r.p_adj),
            ]
        )
    return rows


def build(ctx: Context) -> list[dict]:
    """The training section, or nothing when the bundle had no training log."""
    res = ctx.res
    summary = res.get("training_summary")
    if summary is None:
        return []
    from skintrial.report._fig_training import adherence_figure, dose_response_figure

    spec = res.study.spec
    settings = res.settings("training")
    rule = cast("float | None", settings["per_protocol_min_adherence"])
    arms = []
    for arm in [a for a in res.study.arms if a in set(summary["arm"])]:  # the study's arm order
        g = summary[summary["arm"] == arm]
        adh = g["adherence"].astype(float)
        arms.append(
            [
                arm,
                str(len(g)),
                _percent(adh.mean()),
                _percent(adh.min()),
                fixed(g["sessions_attended"].mean(), 1),
            ]
        )
    extra = summary[(summary["sessions_beyond_plan"] > 0) | (summary["weeks_over_prescription"] > 0)]
    extra_rows = [
        [
            str(r.participant_id),
            str(r.arm),
            str(r.sessions_attended),
            str(r.sessions_planned),
            str(r.sessions_beyond_plan),
            str(r.weeks_over_prescription),
        ]
        for r in extra.itertuples()
    ]
    dose = res.table("dose_response")
    pooled = (
        dose[(dose["arm"] == "all") & (dose["dose_measure"] == DOSE_FIGURE_MEASURE)]
        if "all" in set(dose["arm"])
        else dose[dose["dose_measure"] == DOSE_FIGURE_MEASURE]
    )
    dose_rows = [
        [
            ctx.labelled(r.outcome),
            r.dose_measure,
            "all arms" if r.arm == "all" else str(r.arm),
            fixed(r.estimate, ctx.d(r.outcome) + 1),
            ci(r.ci_low, r.ci_high, ctx.d(r.outcome) + 1),
            pval(r.p),
            count_of(r.n),
        ]
        for r in pooled.itertuples()
    ]
    figures = []
    data = res.get("dose_data")
    if data is not None and len(data):
        for o in spec.analysis.primary:
            if ((data["outcome"] == o) & (data["dose_measure"] == DOSE_FIGURE_MEASURE)).any():
                fig = dose_response_figure(
                    data,
                    dose,
                    outcome=o,
                    dose_measure=DOSE_FIGURE_MEASURE,
                    label=ctx.label(o),
                    unit=spec.outcomes[o].unit,
                    dose_label="adherence (fraction of planned sessions)",
                )
                d = data[(data["outcome"] == o) & (data["dose_measure"] == DOSE_FIGURE_MEASURE)]
                dec = ctx.d(o)
                spots = Hotspots(
                    fig.axes[0],
                    d["dose"].to_numpy(dtype=float),
                    d["change"].to_numpy(dtype=float),
                    [
                        f"{p} ({a}): adherence {100 * x:.0f}%, change {fixed(y, dec)}"
                        for p, a, x, y in zip(
                            d["participant_id"], d["arm"], d["dose"], d["change"], strict=True
                        )
                    ],
                )
                item = ctx.figures.add(f"training-dose-response-{slug(o)}", fig, hotspots=[spots])
                figures.append({**item, "caption": ctx.label(o)})
    return [
        {
            "id": "training",
            "title": "Training",
            "arms": arms,
            "adherence": ctx.figures.add("training-adherence", adherence_figure(summary, min_adherence=rule)),
            "rule": rule,
            "extra_rows": extra_rows,
            "sessions_per_week": settings["sessions_per_week"],
            "pp_rows": _per_protocol_rows(ctx) if res.has("ancova_per_protocol") else [],
            "dose_rows": dose_rows,
            "dose_figures": figures,
        }
    ]
