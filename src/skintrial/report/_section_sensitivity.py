"""Report sections for issue 15's analyses: the Dunnett / Tukey family, the sensitivity analyses
(re-randomisation, rank ANCOVA, Wilcoxon–Mann–Whitney, Kruskal–Wallis) and the responder analysis.
Each is a plain table section, shown after the primary analysis and labelled as what it is: a
sensitivity analysis never replaces the pre-specified ANCOVA."""

from __future__ import annotations

from skintrial.report._context import Context
from skintrial.report._format import ci, count_of, dof, effect, fixed, name_of, pval, table_section

__all__ = ["build"]


def _status(status: object) -> str:
    return "" if status == "ok" else name_of(status)


def _many_arms(ctx: Context) -> dict | None:
    t = ctx.res.get("many_arms")
    if t is None or t.empty:
        return None
    family = str(t["family"].iloc[0])
    rows = [
        [
            ctx.labelled(r.outcome),
            r.contrast,
            fixed(r.estimate, ctx.decimals.get(r.outcome, 2)),
            ci(r.ci_low, r.ci_high, ctx.decimals.get(r.outcome, 2)),
            pval(r.p),
            pval(r.p_adj),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    level = float(t["ci_level"].iloc[0])
    return table_section(
        "many-arms",
        f"Many arms: {'Dunnett' if family == 'dunnett' else 'Tukey'} single-step adjustment",
        ["Outcome", "Contrast", "Difference", f"Simultaneous {level:.0%} CI", "p", "Adjusted p", "Status"],
        rows,
        text_columns=2,
        intro="The ANCOVA's arm contrasts of each outcome as one family "
        + ("(each arm against the reference arm)" if family == "dunnett" else "(every pair of arms)")
        + ": adjusted p-values and simultaneous intervals from the multivariate t distribution of the "
        "contrasts (Monte-Carlo error below 1e-4; seed in results/many_arms.csv).",
    )


def _rerandomisation(ctx: Context) -> dict | None:
    t = ctx.res.get("rerandomisation")
    if t is None or t.empty:
        return None
    rows = [
        [
            ctx.labelled(r.outcome),
            "arm (F)" if r.statistic == "f" else r.contrast,
            fixed(r.observed, 2),
            pval(r.p),
            fixed(r.mc_error, 4),
            count_of(r.n_rerandomisations),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "rerandomisation",
        "Sensitivity analysis: re-randomisation test",
        ["Outcome", "Test", "Observed |t| or F", "p", "Monte-Carlo SE", "Allocations", "Status"],
        rows,
        text_columns=2,
        intro=f"The ANCOVA's statistics against their distribution over re-drawn allocations "
        f"({t['scheme'].iloc[0]}; {t['enumeration'].iloc[0].replace('_', '-')}; seed {t['seed'].iloc[0]}). "
        "A sensitivity analysis: the pre-specified ANCOVA remains the primary analysis.",
    )


def _rank(ctx: Context) -> dict | None:
    q, w, k = ctx.res.get("rank_ancova"), ctx.res.get("wilcoxon"), ctx.res.get("kruskal_wallis")
    rows = []
    if q is not None:
        rows += [
            [
                ctx.labelled(r.outcome),
                "Quade rank ANCOVA",
                "",
                "",
                f"F({dof(r.num_df)}, {dof(r.den_df)}) = {fixed(r.f, 2)}",
                pval(r.p),
                _status(r.status),
            ]
            for r in q.itertuples()
        ]
    if k is not None:
        rows += [
            [
                ctx.labelled(r.outcome),
                "Kruskal–Wallis (change)",
                "",
                "",
                f"H({dof(r.df)}) = {fixed(r.statistic, 2)}",
                pval(r.p),
                _status(r.status),
            ]
            for r in k.itertuples()
        ]
    if w is not None:
        rows += [
            [
                ctx.labelled(r.outcome),
                f"Wilcoxon–Mann–Whitney {r.contrast} (change)",
                fixed(r.estimate, ctx.decimals.get(r.outcome, 2)),
                ci(r.ci_low, r.ci_high, ctx.decimals.get(r.outcome, 2)),
                f"W = {fixed(r.w, 1)}",
                pval(r.p),
                _status(r.status),
            ]
            for r in w.itertuples()
        ]
    if not rows:
        return None
    return table_section(
        "rank-sensitivity",
        "Sensitivity analysis: rank-based tests",
        ["Outcome", "Test", "Hodges–Lehmann shift", "CI", "Statistic", "p", "Status"],
        rows,
        text_columns=2,
        intro="Tests that do not assume normality, on the same complete cases as the ANCOVA. A sensitivity "
        "analysis: the pre-specified ANCOVA remains the primary analysis.",
    )


def _responders(ctx: Context) -> dict | None:
    t = ctx.res.get("responders")
    if t is None or t.empty:
        return None
    rows = [
        [
            ctx.labelled(r.outcome),
            r.rule,
            r.contrast,
            f"{name_of(r.measure)} ({'adjusted' if r.adjusted else 'unadjusted'})",
            f"{100 * r.risk_arm:.0f}% vs {100 * r.risk_reference:.0f}%" if r.risk_arm == r.risk_arm else "–",
            effect(r.estimate),
            f"{effect(r.ci_low)} to {effect(r.ci_high)}",
            pval(r.p),
            _status(r.status),
        ]
        for r in t.itertuples()
    ]
    return table_section(
        "responders",
        "Responders",
        ["Outcome", "Responder", "Contrast", "Measure", "Risks", "Estimate", "CI", "p", "Status"],
        rows,
        text_columns=4,
        intro="Risk difference and risk ratio adjusted for the baseline value and covariates by standardisation "
        "from a logistic model (g-computation, delta-method intervals), the odds ratio of that model, and the "
        "unadjusted risk difference and ratio.",
    )


def build(ctx: Context) -> list[dict | None]:
    """The sections, in reading order (None where the run has no such table)."""
    return [_many_arms(ctx), _rerandomisation(ctx), _rank(ctx), _responders(ctx)]
