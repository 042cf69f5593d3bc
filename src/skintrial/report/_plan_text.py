"""Planning results in words and on a page: the notes of ``plan.html`` and the lines ``skintrial power``
prints, from the data of :func:`skintrial.plan.plan_study` and :func:`skintrial.plan.plan_power`.

The sentences name the command's options (``--simulate``, ``--effect``): they are written for the
command-line user, who reads them in the terminal and in ``plan.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from skintrial.plan import PlanNote, PowerPlan, TrialPlan

__all__ = [
    "PlanPage",
    "render_plan",
    "plan_notes",
    "plan_note_text",
    "analysis_sentence",
    "effect_note",
    "bound_note",
    "gpower_sentence",
    "power_simulation_sentence",
]


def effect_note(table: pd.DataFrame, control: str) -> str:
    """One sentence per effect basis used in a plan table: where the planned effects came from."""
    rows = table[table["scenario"] == table["scenario"].iloc[0]]
    says = []
    for basis, g in rows.groupby("effect_basis", sort=False):
        arms = ", ".join(g["arm"])
        if basis == "given":
            says.append(f"effects of {arms} as given (--effect)")
        elif basis == "pilot_control":
            says.append(
                f"effects of {arms}: pilot mean change minus the pilot's own {control} mean change "
                f"({g['control_change'].iloc[0]:.4g})"
            )
        else:
            says.append(
                f"effects of {arms}: pilot mean change minus an assumed {control} change of "
                f"{g['control_change'].iloc[0]:.4g} (--control-change; the pilot has no {control} arm)"
            )
    return "Planned " + "; ".join(says) + "."


def _gpower_note(row: pd.Series) -> str:
    """What G*Power's number means for this row's analysis (in parentheses)."""
    if row["analysis"] == "ancova":
        return (
            "(G*Power treats the baseline covariate as fixed; the table's power averages over random "
            "baselines, so it is slightly lower)"
        )
    if row["analysis"] == "change":
        return (
            f"(ANOVA on the change scores, SD sd·sqrt(2(1 − rho)) = {row['sigma_e']:.4g}, no covariate: "
            "G*Power's power is the table's)"
        )
    return f"(ANOVA on the follow-up values alone, SD {row['sigma_e']:.4g}, no covariate: G*Power's power is the table's)"


def _gpower_n(row: pd.Series) -> str:
    """G*Power's total sample size: a whole number to type; a fractional expected number analysed is explained."""
    n = float(row["gpower_total_n"])
    if abs(n - round(n)) < 1e-9:
        return str(round(n))
    typed = math.floor(n)
    return (
        f"{typed} (G*Power needs a whole number; {n:.2f} is the expected number analysed, enrolled × "
        f"(1 − dropout {row['dropout']:g}), and the G*Power power given here is at {n:.2f}: at {typed} it is "
        "slightly lower)"
    )


def gpower_sentence(table: pd.DataFrame) -> str:
    """How to get the table's first row in G*Power 3.1: test, effect size, alpha, groups, covariates, n."""
    g = table.iloc[0]
    return (
        f"G*Power 3.1: {g['gpower_test_family']} — {g['gpower_statistical_test']}; effect size f = "
        f"{g['gpower_effect_size_f']:.4f} (d = {g['gpower_effect_size_d']:.4f}), α = {g['gpower_alpha']:.4g}, "
        f"numerator df = 1, number of groups = {g['gpower_groups']}, number of covariates = "
        f"{g['gpower_covariates']}, total sample size = {_gpower_n(g)} → G*Power power "
        f"{g['gpower_power']:.4f} {_gpower_note(g)}."
    )


def bound_note(table: pd.DataFrame) -> str:
    """A sentence when the analytic power is a bound rather than the power as tested; else empty."""
    bounds = set(table["power_bound"])
    if bounds == {"as_tested"}:
        return ""
    row = table.iloc[0]
    method, m, a_test = row["multiplicity"], int(row["n_hypotheses"]), row["alpha_test"]
    if "upper_bound" in bounds:  # fixed_sequence
        later = ", ".join(table.loc[table["power_bound"] == "upper_bound", "contrast"].unique())
        return (
            f"{method}: each hypothesis is tested at alpha = {a_test:.4g} in the order of the family, and only "
            f"while every earlier one is rejected; the power shown for {later} is an upper bound (its power at "
            "alpha alone). --simulate gives the power of the sequence."
        )
    level = (
        f"BY's smallest threshold alpha/(m·H_m) = {a_test:.4g}, H_m = 1 + 1/2 + … + 1/m"
        if method == "by"
        else f"the Bonferroni level alpha/m = {a_test:.4g}"
    )
    return (
        f"{method}: the power shown is a lower bound — each contrast is powered at {level} (m = {m}); "
        f"{method} rejects at least as often. --simulate gives the power of the procedure itself."
    )


def _correlation_words(outcome_corr: float, n_outcomes: int) -> str:
    if n_outcomes < 2:
        return "one outcome"
    return (
        f"{n_outcomes} outcomes, independent"
        if outcome_corr == 0
        else f"{n_outcomes} outcomes, correlation {outcome_corr:g} between them"
    )


def power_simulation_sentence(result: PowerPlan) -> str:
    """What ``skintrial power --simulate`` simulated, in one sentence."""
    m = int(result.table["n_hypotheses"].iloc[0])
    return (
        f"Simulated ({result.n_sims} trials): {result.analysis}, {result.multiplicity} over "
        f"{m} hypotheses ({_correlation_words(result.outcome_corr, result.n_outcomes)})."
    )


def analysis_sentence(plan: TrialPlan) -> str:
    """One sentence: the analysis planned, and which options overrode the study's plan."""
    a = plan.analysis
    overriding = ", --alpha overriding" if a.alpha_given else ""
    method = (
        f"{a.analytic_multiplicity} (--multiplicity, analytic table only; --simulate runs the study's own "
        f"{a.multiplicity})"
        if a.multiplicity_given
        else a.analytic_multiplicity
    )
    return (
        f"Analysis (the study's [analysis] plan{overriding}): {a.method}, {method} at alpha "
        f"{a.alpha:g} over {len(a.family)} outcome(s) x {len(plan.plan['arm'].unique())} contrast(s) in "
        f"{plan.primary}'s family."
    )


def plan_note_text(note: PlanNote) -> str:
    """One :class:`~skintrial.plan.PlanNote` in words (without the closing full stop)."""
    things = ", ".join(note.outcomes)
    if note.kind == "methods_without_formula":
        return f"the study's methods {list(note.methods)} have no power formula; planned for ANCOVA"
    if note.kind == "primary_added_to_family":
        return f"{things} is not in the study's [analysis] families; it was added to the primary family"
    if note.kind == "gated_family":
        return (
            f"{things} is in the gated {note.family} family: it is tested only when every hypothesis of the "
            "earlier families is rejected, which the analytic power leaves out (it is at most what is shown); "
            "--simulate includes the gate"
        )
    if note.kind == "not_simulated":
        return f"not simulated (no pilot SD or rho): {things}"
    return (
        f"the study's [analysis] covariates ({things}) are not in the analytic power, which adjusts for the "
        "baseline only: a prognostic covariate would lower the residual variance (more power), a useless one "
        "costs a degree of freedom"
    )


def _simulation_sentence(plan: TrialPlan) -> str:
    a = plan.analysis
    fams = "; ".join(f"{f}: {', '.join(v)}" for f, v in a.families.items())
    corr = "independent" if plan.outcome_corr == 0 else f"correlated {plan.outcome_corr:g}"
    left_out = (
        f" The study's [analysis] covariates ({', '.join(a.covariates)}) are left out of the simulated "
        "analysis, which adjusts for the baseline only."
        if a.covariates
        else ""
    )
    if a.simulated_method == "clda":
        return (
            f" Simulated at the pilot scenario's n per arm: the study's own cLDA ({a.clda_df_method} df, "
            f"{a.clda_covariance} covariance) over the visits from {plan.baseline_visit} to "
            f"{plan.followup_visit}, with {a.multiplicity} at alpha {a.alpha:g} within each family, every "
            f"outcome of the families ({fams}), effects at {plan.followup_visit} and the SDs and "
            "correlations across visits from the pilot, monotone dropout at random per visit, outcomes "
            f"independent, gatekeeping {'on' if a.gatekeeping else 'off'}.{left_out}"
        )
    return (
        f" Simulated at the pilot scenario's n per arm: the study's own {a.method} with "
        f"{a.multiplicity} at alpha {a.alpha:g} within each family, every outcome of the families "
        f"({fams}), effects, SD and rho from the pilot, outcomes {corr}, gatekeeping "
        f"{'on' if a.gatekeeping else 'off'}.{left_out}"
    )


def plan_notes(plan: TrialPlan) -> str:
    """The notes paragraph of plan.html: where the effects came from, the analysis, bounds, caveats."""
    pilot = (
        f"Pilot: {plan.study_dir} ({plan.study_name}), change from {plan.baseline_visit} to "
        f"{plan.followup_visit}."
    )
    table = plan.plan
    return (
        f"{pilot} {effect_note(table, plan.control_arm)} {analysis_sentence(plan)}"
        f"{_simulation_sentence(plan) if plan.simulated is not None else ''} 'conservative' uses "
        "the upper confidence limit of the SD and the lower of rho. "
        + (bound_note(table) or "Power per contrast at the tested alpha per contrast (alpha_test).")
        + "".join(f" Note: {plan_note_text(n)}." for n in plan.notes)
    )


@dataclass(frozen=True)
class PlanPage:
    """A plan drawn: ``plan.html`` (self-contained) and the power-curve figure as SVG and PNG."""

    html: str
    svg: bytes
    png: bytes


def render_plan(plan: TrialPlan) -> PlanPage:
    """The power-curve figure and the page of a :class:`~skintrial.plan.TrialPlan`."""
    from skintrial.report._fig_planning import planning_page, power_curve_figure
    from skintrial.report._figures import figure_bytes

    fig = power_curve_figure(
        plan.tables["power_curve"],
        target_power=plan.target_power,
        plan=plan.plan,
        title=f"{plan.primary}: power by n per arm",
    )
    svg, png = figure_bytes(fig, "svg"), figure_bytes(fig, "png")
    html = planning_page(
        title=f"Planning a controlled trial: {plan.primary}",
        plan=plan.plan,
        curve_svg=svg,
        estimates=plan.tables["pilot_outcomes"],
        changes=plan.tables["pilot_changes"],
        simulation=plan.simulated,
        notes=plan_notes(plan),
    )
    return PlanPage(html=html, svg=svg, png=png)
