"""Report section for training logs: adherence, per-protocol sensitivity, dose–response."""

from __future__ import annotations

from skintrial.pipeline import TrialResults
from skintrial.report._figures import svg_data_uri
from skintrial.report._format import ci, num, pval

__all__ = ["build"]

DOSE_FIGURE_MEASURE = "adherence"


def _percent(x: float) -> str:
    """A fraction as a percentage with one decimal ('–' when missing: an arm without a plan)."""
    return "–" if x != x else f"{100 * x:.1f}%"


def _per_protocol_rows(res: TrialResults, labels: dict[str, str]) -> list[list[str]]:
    itt = res.table("ancova").set_index(["outcome", "contrast"])
    rows = []
    for r in res.table("ancova_per_protocol").itertuples():
        i = itt.loc[(r.outcome, r.contrast)]
        rows.append(
            [
                labels.get(r.outcome, r.outcome),
                r.contrast,
                f"{num(i.estimate)} ({ci(i.ci_low, i.ci_high)})",
                str(i.n),
                f"{num(r.estimate)} ({ci(r.ci_low, r.ci_high)})",
                str(r.n),
                pval(r.p_adj),
            ]
        )
    return rows


def build(res: TrialResults) -> list[dict]:
    """The training section, or nothing when the bundle had no training log."""
    summary = res.get("training_summary")
    if summary is None:
        return []
    from skintrial.report._fig_training import adherence_figure, dose_response_figure

    spec = res.study.spec
    labels = {k: (v.label or k) for k, v in spec.outcomes.items()}
    settings = res.settings("training")
    rule = settings["per_protocol_min_adherence"]
    arms = []
    for arm in [a for a in res.study.arms if a in set(summary["arm"])]:  # the study's arm order
        g = summary[summary["arm"] == arm]
        adh = g["adherence"].astype(float)
        arms.append(
            [arm, str(len(g)), _percent(adh.mean()), _percent(adh.min()), num(g["sessions_attended"].mean())]
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
            labels.get(r.outcome, r.outcome),
            r.dose_measure,
            str(r.arm),
            num(r.estimate),
            ci(r.ci_low, r.ci_high),
            pval(r.p),
            str(r.n),
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
                    label=labels.get(o, o),
                    unit=spec.outcomes[o].unit,
                    dose_label="adherence (fraction of planned sessions)",
                )
                figures.append({"caption": labels.get(o, o), "uri": svg_data_uri(fig)})
    return [
        {
            "id": "training",
            "title": "Training",
            "arms": arms,
            "adherence_uri": svg_data_uri(adherence_figure(summary, min_adherence=rule)),
            "rule": rule,
            "extra_rows": extra_rows,
            "sessions_per_week": settings["sessions_per_week"],
            "pp_rows": _per_protocol_rows(res, labels) if res.has("ancova_per_protocol") else [],
            "dose_rows": dose_rows,
            "dose_figures": figures,
        }
    ]
