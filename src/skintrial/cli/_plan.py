"""``skintrial power``, ``plan`` and ``randomize``: planning the next study from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from skintrial.cli._app import app, err_console, guarded, options_named, out_console
from skintrial.errors import InputError, Problem


def _pairs(values: list[str] | None, option: str) -> dict[str, float]:
    """``ARM=VALUE`` options as a mapping; a value without an arm, an unreadable or repeated arm is refused."""
    import math

    out: dict[str, float] = {}
    probs = []
    for v in values or []:
        name, eq, num = v.partition("=")
        name = name.strip()
        try:
            x = float(num)
        except ValueError:
            x = float("nan")
        if not eq or not name or not math.isfinite(x):
            probs.append(
                Problem(
                    f"cannot read {v!r}",
                    column=option,
                    fix=f"write {option} ARM=NUMBER, e.g. {option} AT=0.03 (one per arm)",
                )
            )
        elif name in out:
            probs.append(
                Problem(
                    f"arm {name!r} given more than once",
                    column=option,
                    value=v,
                    fix=f"give {option} once per arm",
                )
            )
        else:
            out[name] = x
    InputError.collect(probs)
    return out


def _check_counts(**options: tuple[int | None, int]) -> None:
    """Refuse integer options below their minimum: ``name=(value, minimum)``; None means not given."""
    probs = []
    for name, (value, low) in options.items():
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            probs.append(
                Problem(
                    f"must be at least {low}", column=flag, value=int(value), fix=f"give {flag} {low} or more"
                )
            )
    InputError.collect(probs)


def _effect_note(table, control: str) -> str:
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


def _gpower_note(row) -> str:
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


def _gpower_n(row) -> str:
    """G*Power's total sample size: a whole number to type; a fractional expected number analysed is explained."""
    import math

    n = float(row["gpower_total_n"])
    if abs(n - round(n)) < 1e-9:
        return str(round(n))
    typed = math.floor(n)
    return (
        f"{typed} (G*Power needs a whole number; {n:.2f} is the expected number analysed, enrolled × "
        f"(1 − dropout {row['dropout']:g}), and the G*Power power given here is at {n:.2f}: at {typed} it is "
        "slightly lower)"
    )


def _bound_note(table) -> str:
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


def _csv_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _simulate(design, n: int, *, control: str, n_sims: int, seed: int, **options):
    """simulate_power with a progress bar; ``options`` are its analysis keywords (families, method, …)."""
    from skintrial.plan.simulate import simulate_power

    with _progress() as bars:
        task = bars.add_task(f"simulating {n_sims} trials", total=n_sims)
        return simulate_power(
            design,
            n_per_arm=n,
            control_arm=control,
            n_sims=n_sims,
            seed=seed,
            progress=lambda done, total: bars.update(task, completed=done),
            **options,
        )


def _corr_words(outcome_corr: float, n_outcomes: int) -> str:
    if n_outcomes < 2:
        return "one outcome"
    return (
        f"{n_outcomes} outcomes, independent"
        if outcome_corr == 0
        else f"{n_outcomes} outcomes, correlation {outcome_corr:g} between them"
    )


def _show(table, columns: list[str]) -> None:
    from rich.table import Table

    t = Table(show_edge=False, pad_edge=False)
    for c in columns:
        t.add_column(c, justify="right")
    for row in table[columns].itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(t)


@app.command(rich_help_panel="Planning")
@guarded
def power(
    effect: Annotated[
        list[str], typer.Option("--effect", "-e", help="ARM=DIFFERENCE from control (repeat once per arm).")
    ],
    sd: Annotated[float, typer.Option(help="SD of the outcome.")],
    rho: Annotated[float, typer.Option(help="Baseline–follow-up correlation.")] = 0.5,
    n_per_arm: Annotated[
        int | None, typer.Option(help="Enrolled per arm (2 or more): compute power (else: sample size).")
    ] = None,
    target: Annotated[float, typer.Option("--power", help="Target power for the sample size.")] = 0.8,
    control: Annotated[str, typer.Option(help="Control arm name.")] = "CON",
    alpha: Annotated[float, typer.Option(help="Two-sided family-wise alpha.")] = 0.05,
    multiplicity: Annotated[
        str,
        typer.Option(
            help="holm, hochberg, bh, by, bonferroni, fixed_sequence or none (holm, hochberg, bh, by: the power shown is a lower bound; fixed_sequence: the first contrast as tested, later ones an upper bound)."
        ),
    ] = "holm",
    n_outcomes: Annotated[int, typer.Option(help="Primary outcomes in the family.")] = 1,
    dropout: Annotated[float, typer.Option(help="Expected fraction lost to follow-up.")] = 0.0,
    analysis: Annotated[str, typer.Option(help="ancova, change or followup.")] = "ancova",
    simulate: Annotated[
        int, typer.Option("--simulate", help="Also simulate this many trials of the analysis.")
    ] = 0,
    outcome_corr: Annotated[
        float, typer.Option(help="Correlation between the n outcomes in the simulation.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the table(s) as CSV here.")] = None,
) -> None:
    """Analytic power (with --n-per-arm) or sample size of an ANCOVA trial, with the G*Power inputs.

    --simulate runs the same analysis: every one of the --n-outcomes outcomes gets the same effects,
    SD and rho, and the multiplicity adjustment runs over all outcomes × contrasts, as in the analytic
    alpha per test.
    """
    from skintrial._io import atomic_output_dir, write_csv
    from skintrial.plan.power import ancova_power, ancova_sample_size
    from skintrial.plan.simulate import design_table

    _check_counts(
        simulate=(simulate, 0), seed=(seed, 0), n_per_arm=(n_per_arm, 2), n_outcomes=(n_outcomes, 1)
    )
    effects = _pairs(effect, "--effect")
    kw: dict[str, Any] = dict(
        effects=effects,
        sd=sd,
        rho=rho,
        control_arm=control,
        alpha=alpha,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        dropout=dropout,
        analysis=analysis,
    )
    if n_per_arm is not None:
        table = ancova_power(n_per_arm=n_per_arm, **kw)
    else:
        table = ancova_sample_size(power=target, **kw)
    sim = None
    if simulate > 0:
        n = n_per_arm or int(table["n_enrolled_arm"].max())
        names = [f"outcome_{j + 1}" for j in range(n_outcomes)] if n_outcomes > 1 else ["outcome"]
        design = design_table(
            effects={o: effects for o in names}, sd={o: sd for o in names}, rho={o: rho for o in names}
        )
        sim = _simulate(
            design,
            n,
            control=control,
            n_sims=simulate,
            seed=seed,
            families={"primary": names},
            method=analysis,
            alpha=alpha,
            multiplicity=multiplicity,
            dropout=dropout,
            outcome_corr=outcome_corr,
        ).hypotheses
    _show(table, ["contrast", "effect", "n_enrolled_arm", "n_enrolled_total", "alpha_test", "power"])
    g = table.iloc[0]
    out_console.print(
        f"G*Power 3.1: {g['gpower_test_family']} — {g['gpower_statistical_test']}; effect size f = "
        f"{g['gpower_effect_size_f']:.4f} (d = {g['gpower_effect_size_d']:.4f}), α = {g['gpower_alpha']:.4g}, "
        f"numerator df = 1, number of groups = {g['gpower_groups']}, number of covariates = "
        f"{g['gpower_covariates']}, total sample size = {_gpower_n(g)} → G*Power power "
        f"{g['gpower_power']:.4f} {_gpower_note(g)}."
    )
    if bound := _bound_note(table):
        out_console.print(bound)
    if sim is not None:
        out_console.print(
            f"Simulated ({simulate} trials): {analysis}, {multiplicity} over "
            f"{int(g['n_hypotheses'])} hypotheses ({_corr_words(outcome_corr, n_outcomes)})."
        )
        _show(sim, ["outcome", "contrast", "power", "mcse", "power_unadjusted", "n_sims"])
    if out is not None:
        with atomic_output_dir(Path(out).parent) as stage:
            write_csv(table, stage / Path(out).name)
            if sim is not None:
                write_csv(sim, stage / f"{Path(out).stem}_simulated.csv")
        out_console.print(f"written: {out}")


def _study_analysis(
    spec_analysis: dict, primary: str, *, alpha: float | None, multiplicity: str | None, simulate: bool
) -> tuple[dict, str, list[str]]:
    """The pilot's own ``[analysis]`` plan (families, method, alpha, multiplicity, gatekeeping).

    ``--alpha`` overrides the plan's alpha everywhere; ``--multiplicity`` only the analytic table: the
    simulation always runs the study's own method. ``--primary`` joins the primary family if the plan
    does not test it. Returns (simulation options, analytic multiplicity, notes).
    """
    from skintrial.plan.power import MULTIPLICITY
    from skintrial.plan.simulate import analysis_options

    a = dict(spec_analysis)
    if alpha is not None:
        a["alpha"] = alpha
    notes = []
    try:
        opts = analysis_options(a)
    except InputError:
        if simulate:
            raise
        opts = analysis_options({**a, "methods": ["ancova"]})
        notes.append(f"the study's methods {a.get('methods')} have no power formula; planned for ANCOVA")
    analytic = opts["multiplicity"] if multiplicity is None else multiplicity
    if analytic not in MULTIPLICITY:
        given = multiplicity is not None
        raise InputError(
            Problem(
                f"multiplicity {analytic!r} has no analytic power formula",
                file=None if given else "study.toml",
                column="--multiplicity" if given else "[analysis] multiplicity",
                value=analytic,
                fix=f"use one of {', '.join(MULTIPLICITY)}"
                + (
                    ""
                    if given
                    else " with --multiplicity for the analytic table (--simulate runs the study's own)"
                ),
            )
        )
    fams = opts["families"]
    if not any(primary in v for v in fams.values()):
        fams["primary"] = [primary, *fams["primary"]]
        notes.append(
            f"{primary} is not in the study's [analysis] families; it was added to the primary family"
        )
    return opts, analytic, notes


def _followup_visit(spec_study, followup: str | None) -> str:
    """``--followup``, checked against study.toml's visits; by default the last declared visit after the baseline."""
    later = [v for v in spec_study.visits if v != spec_study.baseline_visit]
    if followup is None:
        return later[-1]
    if followup not in later:
        raise InputError(
            Problem(
                f"{followup!r} is not a follow-up visit of the pilot",
                column="--followup",
                value=followup,
                fix=f"use one of {later} (study.toml [study] visits, not the "
                f"baseline {spec_study.baseline_visit!r})",
            )
        )
    return followup


def _plan_simulation(
    est, table, opts: dict, kw: dict, extra: list[str], *, n_sims: int, seed: int, outcome_corr: float
):
    """Simulate the study's analysis plan (every outcome of its families) at the pilot scenario's n per arm."""
    import numpy as np

    from skintrial.plan.pilot import pilot_design

    o = est.outcomes
    usable = set(o.loc[np.isfinite(o["sd"]) & np.isfinite(o["rho"]), "outcome"])
    dropped = sorted({x for v in opts["families"].values() for x in v} - usable)
    if dropped:
        extra.append(f"not simulated (no pilot SD or rho): {', '.join(dropped)}")
    fams = {f: [x for x in v if x in usable] for f, v in opts["families"].items()}
    fams = {f: v for f, v in fams.items() if v}
    design = pilot_design(
        est,
        outcomes=[x for v in fams.values() for x in v],
        primary=kw["primary"],
        arms=kw["arms"],
        control_arm=kw["control_arm"],
        control_change=kw["control_change"],
        effects=kw["effects"],
    )
    n = int(table.loc[table["scenario"] == "pilot", "n_enrolled_arm"].max())
    return _simulate(
        design,
        n,
        control=kw["control_arm"],
        n_sims=n_sims,
        seed=seed,
        dropout=kw["dropout"],
        outcome_corr=outcome_corr,
        **{**opts, "families": fams},
    ).hypotheses


def _simulation_note(opts: dict, outcome_corr: float, covariates: list[str]) -> str:
    fams = "; ".join(f"{f}: {', '.join(v)}" for f, v in opts["families"].items())
    corr = "independent" if outcome_corr == 0 else f"correlated {outcome_corr:g}"
    left_out = (
        f" The study's [analysis] covariates ({', '.join(covariates)}) are left out of the simulated "
        "analysis, which adjusts for the baseline only."
        if covariates
        else ""
    )
    return (
        f" Simulated at the pilot scenario's n per arm: the study's own {opts['method']} with "
        f"{opts['multiplicity']} at alpha {opts['alpha']:g} within each family, every outcome of the families "
        f"({fams}), effects, SD and rho from the pilot, outcomes {corr}, gatekeeping "
        f"{'on' if opts['gatekeeping'] else 'off'}.{left_out}"
    )


def _plan_keywords(
    opts: dict,
    analytic: str,
    extra: list[str],
    *,
    primary: str,
    arms: list[str],
    control_arm: str,
    **given: Any,
) -> tuple[list[str], dict[str, Any]]:
    """(primary's family, keywords of plan_trial / power_curve); a note when that family is gated."""
    fam_name, family = next((f, v) for f, v in opts["families"].items() if primary in v)
    if opts["gatekeeping"] and fam_name != next(iter(opts["families"])):
        extra.append(
            f"{primary} is in the gated {fam_name} family: it is tested only when every hypothesis of the "
            "earlier families is rejected, which the analytic power leaves out (it is at most what is shown); "
            "--simulate includes the gate"
        )
    n_contrasts = len([a for a in arms if a != control_arm])
    return family, dict(
        primary=primary,
        arms=arms,
        control_arm=control_arm,
        alpha=opts["alpha"],
        multiplicity=analytic,
        n_outcomes=len(family),
        analysis=opts["method"],
        sequence_position=family.index(primary) * n_contrasts,
        **given,
    )


def _plan_notes(
    pilot: str,
    table,
    opts: dict,
    analysis_words: str,
    extra: list[str],
    *,
    control: str,
    outcome_corr: float,
    covariates: list[str],
    simulated: bool,
) -> str:
    """The notes paragraph of plan.html: where the effects came from, the analysis, bounds, caveats."""
    if covariates:
        extra = [
            *extra,
            f"the study's [analysis] covariates ({', '.join(covariates)}) are not in the analytic "
            "power, which adjusts for the baseline only: a prognostic covariate would lower the residual "
            "variance (more power), a useless one costs a degree of freedom",
        ]
    return (
        f"{pilot} {_effect_note(table, control)} {analysis_words}"
        f"{_simulation_note(opts, outcome_corr, covariates) if simulated else ''} 'conservative' uses "
        "the upper confidence limit of the SD and the lower of rho. "
        + (_bound_note(table) or "Power per contrast at the tested alpha per contrast (alpha_test).")
        + "".join(f" Note: {e}." for e in extra)
    )


def _analysis_words(
    opts: dict,
    analytic: str,
    family: list[str],
    table,
    primary: str,
    *,
    alpha_given: bool,
    multiplicity_given: bool,
) -> str:
    """One sentence: the analysis planned, and which options overrode the study's plan."""
    overriding = ", --alpha overriding" if alpha_given else ""
    method = (
        f"{analytic} (--multiplicity, analytic table only; --simulate runs the study's own "
        f"{opts['multiplicity']})"
        if multiplicity_given
        else analytic
    )
    return (
        f"Analysis (the study's [analysis] plan{overriding}): {opts['method']}, {method} at alpha "
        f"{opts['alpha']:g} over {len(family)} outcome(s) x {len(table['arm'].unique())} contrast(s) in "
        f"{primary}'s family."
    )


@app.command(rich_help_panel="Planning")
@guarded
def plan(
    study: Annotated[Path, typer.Argument(help="Pilot study bundle folder.")],
    primary: Annotated[str, typer.Option(help="Primary outcome of the new trial.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if needed).")] = Path(
        "plan-out"
    ),
    arms: Annotated[str, typer.Option(help="Arms of the new trial, comma-separated.")] = "CON,AT,RT",
    control: Annotated[str, typer.Option(help="Control arm.")] = "CON",
    control_change: Annotated[
        float,
        typer.Option(
            help="Assumed mean change in the control arm, used only when the pilot has no control arm."
        ),
    ] = 0.0,
    effect: Annotated[
        list[str] | None, typer.Option("--effect", "-e", help="ARM=DIFFERENCE overriding the pilot.")
    ] = None,
    target: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    alpha: Annotated[
        float | None,
        typer.Option(help="Two-sided family-wise alpha (default: the study's \\[analysis] alpha)."),
    ] = None,
    multiplicity: Annotated[
        str | None,
        typer.Option(
            help="Analytic table only: holm, hochberg, bh, by, bonferroni, fixed_sequence or none (default: the study's \\[analysis] multiplicity, which --simulate always runs)."
        ),
    ] = None,
    dropout: Annotated[float, typer.Option(help="Expected fraction lost to follow-up.")] = 0.1,
    n_max: Annotated[int, typer.Option(help="Largest n per arm on the power curve.")] = 150,
    simulate: Annotated[
        int,
        typer.Option(
            "--simulate", help="Simulate this many trials of the study's \\[analysis] plan at the planned n."
        ),
    ] = 0,
    outcome_corr: Annotated[
        float, typer.Option(help="Correlation between outcomes in the simulation.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    followup: Annotated[
        str | None,
        typer.Option(
            help="Pilot visit compared with the baseline (default: the last of study.toml's \\[study] visits)."
        ),
    ] = None,
) -> None:
    """Plan a controlled trial from a pilot bundle: CSV tables, a power-curve figure and plan.html.

    The analysis planned is the pilot's own \\[analysis] plan: its method, alpha and multiplicity
    (--alpha overrides the alpha; --multiplicity the analytic table's method only), with the primary
    outcome's family setting the number of hypotheses of the analytic alpha per test; --simulate runs
    that whole plan with the study's own multiplicity (every outcome of its families, effects, SDs and
    rho from the pilot) at the planned n per arm.
    """
    import numpy as np

    from skintrial._io import atomic_output_dir, write_csv
    from skintrial.plan.pilot import pilot_estimates, plan_trial, power_curve
    from skintrial.report._fig_planning import planning_page, power_curve_figure
    from skintrial.report._figures import figure_bytes
    from skintrial.study import load_study

    _check_counts(simulate=(simulate, 0), seed=(seed, 0), n_max=(n_max, 2))
    effects = _pairs(effect, "--effect") or None
    with err_console.status("reading the pilot study"):
        st = load_study(study)
    opts, analytic, extra = _study_analysis(
        st.spec.analysis.model_dump(), primary, alpha=alpha, multiplicity=multiplicity, simulate=simulate > 0
    )
    base = st.spec.study.baseline_visit
    est = pilot_estimates(
        st.long(), baseline_visit=base, followup_visit=_followup_visit(st.spec.study, followup)
    )
    family, kw = _plan_keywords(
        opts,
        analytic,
        extra,
        primary=primary,
        arms=_csv_list(arms),
        control_arm=control,
        control_change=control_change,
        effects=effects,
        dropout=dropout,
    )
    table = plan_trial(est, power=target, **kw)
    top = max(n_max, int(1.15 * table["n_enrolled_arm"].max()))
    step = max(1, top // 60)
    grid = np.unique(np.r_[np.arange(step, top + 1, step), table["n_enrolled_arm"].astype(int)])
    curve = power_curve(est, n_per_arm=grid.tolist(), **kw)
    sim = None
    if simulate > 0:
        sim = _plan_simulation(
            est, table, opts, kw, extra, n_sims=simulate, seed=seed, outcome_corr=outcome_corr
        )
    fig = power_curve_figure(curve, target_power=target, plan=table, title=f"{primary}: power by n per arm")
    images = {fmt: figure_bytes(fig, fmt) for fmt in ("svg", "png")}
    analysis_words = _analysis_words(
        opts,
        analytic,
        family,
        table,
        primary,
        alpha_given=alpha is not None,
        multiplicity_given=multiplicity is not None,
    )
    notes = _plan_notes(
        f"Pilot: {study} ({st.spec.study.name}), change from {base} to {est.followup_visit}.",
        table,
        opts,
        analysis_words,
        extra,
        control=control,
        outcome_corr=outcome_corr,
        covariates=list(st.spec.analysis.covariates),
        simulated=sim is not None,
    )
    html = planning_page(
        title=f"Planning a controlled trial: {primary}",
        plan=table,
        curve_svg=images["svg"],
        estimates=est.outcomes,
        changes=est.changes,
        simulation=sim,
        notes=notes,
    )
    with atomic_output_dir(Path(out)) as stage:
        write_csv(table, stage / "plan.csv")
        write_csv(curve, stage / "power_curve.csv")
        write_csv(est.outcomes, stage / "pilot_outcomes.csv")
        write_csv(est.changes, stage / "pilot_changes.csv")
        if sim is not None:
            write_csv(sim, stage / "simulated_power.csv")
        (stage / "power_curve.svg").write_bytes(images["svg"])
        (stage / "power_curve.png").write_bytes(images["png"])
        (stage / "plan.html").write_text(html, encoding="utf-8")
    _show(table, ["scenario", "contrast", "effect", "effect_basis", "sd", "rho", "n_enrolled_arm", "power"])
    out_console.print(
        f"Pilot change: {base} to {est.followup_visit} (--followup names another visit).", markup=False
    )
    out_console.print(analysis_words, markup=False)
    out_console.print(f"written: {Path(out) / 'plan.html'}")


@app.command(rich_help_panel="Planning")
@guarded
def randomize(
    arms: Annotated[str, typer.Option(help="Arms, comma-separated.")],
    seed: Annotated[int, typer.Option(help="Seed (recorded in the list).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The allocation list (CSV).")] = Path(
        "randomization.csv"
    ),
    participants: Annotated[
        Path | None, typer.Option(help="participants.csv to allocate, in enrolment order.")
    ] = None,
    strata: Annotated[
        str, typer.Option(help="Stratification columns of participants.csv, comma-separated.")
    ] = "",
    level: Annotated[
        list[str] | None, typer.Option("--level", help="Declared stratum FACTOR=LEVEL1,LEVEL2 (repeat).")
    ] = None,
    n_per_stratum: Annotated[
        int | None,
        typer.Option(
            help="Least number of slots per declared stratum: whole blocks are drawn until at least this many, so a stratum may get up to (largest block size - 1) more."
        ),
    ] = None,
    ratios: Annotated[
        str,
        typer.Option(help="Allocation ratios in the order of --arms, e.g. 1:2:2 or 1,2,2 (default: equal)."),
    ] = "",
    block_sizes: Annotated[str, typer.Option(help="Candidate block sizes, comma-separated.")] = "",
) -> None:
    """A stratified permuted-block allocation list (and OUT_balance.csv, its balance report)."""
    from skintrial._io import atomic_output_dir, write_csv
    from skintrial.plan.randomize import balance_report, randomization_list
    from skintrial.study import read_table

    try:
        r = [int(x) for x in _csv_list(ratios.replace(":", ","))] or None
        b = [int(x) for x in _csv_list(block_sizes)] or None
    except ValueError:
        raise InputError(
            Problem(
                "ratios and block sizes must be whole numbers",
                column="--ratios/--block-sizes",
                fix="e.g. --ratios 1:2:2 --block-sizes 5,10",
            )
        ) from None
    levels = {}
    for spec in level or []:
        f, _, lv = spec.partition("=")
        if not f or not lv:
            raise InputError(
                Problem(f"cannot read {spec!r}", column="--level", fix="write --level age_group=41-49,50-59")
            )
        levels[f.strip()] = _csv_list(lv)
    p = None
    if participants is not None:
        p = read_table(participants).drop(columns="_row")
    named = {
        "arms": "--arms",
        "block_sizes": "--block-sizes",
        "n_per_stratum": "--n-per-stratum",
        "ratios": "--ratios",
        "seed": "--seed",
    }
    with options_named(named):
        lst = randomization_list(
            p,
            arms=_csv_list(arms),
            seed=seed,
            ratios=r,
            block_sizes=b,
            strata=_csv_list(strata),
            strata_levels=levels or None,
            n_per_stratum=n_per_stratum,
            file=Path(participants).name if participants is not None else "participants.csv",
        )
        bal = balance_report(lst, p, factors=_csv_list(strata), ratios=r, arms=_csv_list(arms))
    with atomic_output_dir(Path(out).parent) as stage:
        write_csv(lst, stage / Path(out).name)
        write_csv(bal, stage / f"{Path(out).stem}_balance.csv")
    _show(bal[bal["factor"] != "stratum"], ["factor", "level", "arm", "n", "proportion", "difference"])
    out_console.print(f"written: {out} ({len(lst)} rows, seed {seed})")
