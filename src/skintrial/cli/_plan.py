"""``skintrial power``, ``plan`` and ``randomize``: planning the next study from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from skintrial.cli._app import app, err_console, guarded, out_console
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
            probs.append(Problem(f"cannot read {v!r}", column=option,
                                 fix=f"write {option} ARM=NUMBER, e.g. {option} AT=0.03 (one per arm)"))
        elif name in out:
            probs.append(Problem(f"arm {name!r} given more than once", column=option, value=v,
                                 fix=f"give {option} once per arm"))
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
            probs.append(Problem(f"must be at least {low}", column=flag, value=int(value),
                                 fix=f"give {flag} {low} or more"))
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
            says.append(f"effects of {arms}: pilot mean change minus the pilot's own {control} mean change "
                        f"({g['control_change'].iloc[0]:.4g})")
        else:
            says.append(f"effects of {arms}: pilot mean change minus an assumed {control} change of "
                        f"{g['control_change'].iloc[0]:.4g} (--control-change; the pilot has no {control} arm)")
    return "Planned " + "; ".join(says) + "."


def _gpower_note(row) -> str:
    """What G*Power's number means for this row's analysis (in parentheses)."""
    if row["analysis"] == "ancova":
        return ("(G*Power treats the baseline covariate as fixed; the table's power averages over random "
                "baselines, so it is slightly lower)")
    if row["analysis"] == "change":
        return (f"(ANOVA on the change scores, SD sd·sqrt(2(1 − rho)) = {row['sigma_e']:.4g}, no covariate: "
                "G*Power's power is the table's)")
    return f"(ANOVA on the follow-up values alone, SD {row['sigma_e']:.4g}, no covariate: G*Power's power is the table's)"


def _bound_note(row) -> str:
    """A sentence when the analytic power is only a lower bound (Holm, Hochberg, BH); else empty."""
    if row["power_bound"] != "lower_bound":
        return ""
    return (f"{row['multiplicity']}: the power shown is a lower bound — each contrast is powered at the Bonferroni "
            f"level alpha/m = {row['alpha_test']:.4g} (m = {int(row['n_hypotheses'])}); {row['multiplicity']} "
            "rejects at least as often. --simulate gives the power of the procedure itself.")


def _csv_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _simulate(design, n: int, *, control: str, n_sims: int, seed: int, **options):
    """simulate_power with a progress bar; ``options`` are its analysis keywords (families, method, …)."""
    from skintrial.plan.simulate import simulate_power

    with _progress() as bars:
        task = bars.add_task(f"simulating {n_sims} trials", total=n_sims)
        return simulate_power(design, n_per_arm=n, control_arm=control, n_sims=n_sims, seed=seed,
                              progress=lambda done, total: bars.update(task, completed=done), **options)


def _corr_words(outcome_corr: float, n_outcomes: int) -> str:
    if n_outcomes < 2:
        return "one outcome"
    return (f"{n_outcomes} outcomes, independent" if outcome_corr == 0 else
            f"{n_outcomes} outcomes, correlation {outcome_corr:g} between them")


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
    effect: Annotated[list[str], typer.Option("--effect", "-e", help="ARM=DIFFERENCE from control (repeat once per arm).")],
    sd: Annotated[float, typer.Option(help="SD of the outcome.")],
    rho: Annotated[float, typer.Option(help="Baseline–follow-up correlation.")] = 0.5,
    n_per_arm: Annotated[int | None, typer.Option(help="Enrolled per arm (2 or more): compute power (else: sample size).")] = None,
    target: Annotated[float, typer.Option("--power", help="Target power for the sample size.")] = 0.8,
    control: Annotated[str, typer.Option(help="Control arm name.")] = "CON",
    alpha: Annotated[float, typer.Option(help="Two-sided family-wise alpha.")] = 0.05,
    multiplicity: Annotated[str, typer.Option(help="holm, hochberg, bh, bonferroni or none (the first three: power is a Bonferroni-level lower bound).")] = "holm",
    n_outcomes: Annotated[int, typer.Option(help="Primary outcomes in the family.")] = 1,
    dropout: Annotated[float, typer.Option(help="Expected fraction lost to follow-up.")] = 0.0,
    analysis: Annotated[str, typer.Option(help="ancova, change or followup.")] = "ancova",
    simulate: Annotated[int, typer.Option("--simulate", help="Also simulate this many trials of the analysis.")] = 0,
    outcome_corr: Annotated[float, typer.Option(help="Correlation between the n outcomes in the simulation.")] = 0.0,
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

    _check_counts(simulate=(simulate, 0), seed=(seed, 0), n_per_arm=(n_per_arm, 2), n_outcomes=(n_outcomes, 1))
    effects = _pairs(effect, "--effect")
    kw: dict[str, Any] = dict(effects=effects, sd=sd, rho=rho, control_arm=control, alpha=alpha, multiplicity=multiplicity,
              n_outcomes=n_outcomes, dropout=dropout, analysis=analysis)
    if n_per_arm is not None:
        table = ancova_power(n_per_arm=n_per_arm, **kw)
    else:
        table = ancova_sample_size(power=target, **kw)
    sim = None
    if simulate > 0:
        n = n_per_arm or int(table["n_enrolled_arm"].max())
        names = [f"outcome_{j + 1}" for j in range(n_outcomes)] if n_outcomes > 1 else ["outcome"]
        design = design_table(effects={o: effects for o in names}, sd={o: sd for o in names},
                              rho={o: rho for o in names})
        sim = _simulate(design, n, control=control, n_sims=simulate, seed=seed, families={"primary": names},
                        method=analysis, alpha=alpha, multiplicity=multiplicity, dropout=dropout,
                        outcome_corr=outcome_corr).hypotheses
    _show(table, ["contrast", "effect", "n_enrolled_arm", "n_enrolled_total", "alpha_test", "power"])
    g = table.iloc[0]
    out_console.print(
        f"G*Power 3.1: {g['gpower_test_family']} — {g['gpower_statistical_test']}; effect size f = "
        f"{g['gpower_effect_size_f']:.4f} (d = {g['gpower_effect_size_d']:.4f}), α = {g['gpower_alpha']:.4g}, "
        f"numerator df = 1, number of groups = {g['gpower_groups']}, number of covariates = "
        f"{g['gpower_covariates']}, total sample size = {g['gpower_total_n']:.1f} → G*Power power "
        f"{g['gpower_power']:.4f} {_gpower_note(g)}.")
    if bound := _bound_note(g):
        out_console.print(bound)
    if sim is not None:
        out_console.print(f"Simulated ({simulate} trials): {analysis}, {multiplicity} over "
                          f"{int(g['n_hypotheses'])} hypotheses ({_corr_words(outcome_corr, n_outcomes)}).")
        _show(sim, ["outcome", "contrast", "power", "mcse", "power_unadjusted", "n_sims"])
    if out is not None:
        with atomic_output_dir(Path(out).parent) as stage:
            write_csv(table, stage / Path(out).name)
            if sim is not None:
                write_csv(sim, stage / f"{Path(out).stem}_simulated.csv")
        out_console.print(f"written: {out}")


def _study_analysis(spec_analysis: dict, primary: str, *, alpha: float | None, multiplicity: str | None,
                    simulate: bool) -> tuple[dict, list[str]]:
    """The pilot's own ``[analysis]`` plan (families, method, alpha, multiplicity, gatekeeping), options overriding.

    ``--primary`` joins the primary family if the plan does not test it. Returns (options, notes).
    """
    from skintrial.plan.simulate import analysis_options

    a = dict(spec_analysis)
    if alpha is not None:
        a["alpha"] = alpha
    if multiplicity is not None:
        a["multiplicity"] = multiplicity
    notes = []
    try:
        opts = analysis_options(a)
    except InputError:
        if simulate:
            raise
        opts = analysis_options({**a, "methods": ["ancova"]})
        notes.append(f"the study's methods {a.get('methods')} have no power formula; planned for ANCOVA")
    from skintrial.plan.power import MULTIPLICITY

    if opts["multiplicity"] not in MULTIPLICITY:
        raise InputError(Problem(
            f"the analysis plan's multiplicity {opts['multiplicity']!r} has no analytic power formula",
            file="study.toml", column="[analysis] multiplicity", value=opts["multiplicity"],
            fix=f"pass --multiplicity ({', '.join(MULTIPLICITY)}) for this plan; it then applies to --simulate too"))
    fams = opts["families"]
    if not any(primary in v for v in fams.values()):
        fams["primary"] = [primary, *fams["primary"]]
        notes.append(f"{primary} is not in the study's [analysis] families; it was added to the primary family")
    return opts, notes


def _followup_visit(spec_study, followup: str | None) -> str:
    """``--followup``, checked against study.toml's visits; by default the last declared visit after the baseline."""
    later = [v for v in spec_study.visits if v != spec_study.baseline_visit]
    if followup is None:
        return later[-1]
    if followup not in later:
        raise InputError(Problem(f"{followup!r} is not a follow-up visit of the pilot", column="--followup",
                                 value=followup, fix=f"use one of {later} (study.toml [study] visits, not the "
                                                     f"baseline {spec_study.baseline_visit!r})"))
    return followup


def _plan_simulation(est, table, opts: dict, kw: dict, extra: list[str], *, n_sims: int, seed: int,
                     outcome_corr: float):
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
    design = pilot_design(est, outcomes=[x for v in fams.values() for x in v], primary=kw["primary"], arms=kw["arms"],
                          control_arm=kw["control_arm"], control_change=kw["control_change"], effects=kw["effects"])
    n = int(table.loc[table["scenario"] == "pilot", "n_enrolled_arm"].max())
    return _simulate(design, n, control=kw["control_arm"], n_sims=n_sims, seed=seed, dropout=kw["dropout"],
                     outcome_corr=outcome_corr, **{**opts, "families": fams}).hypotheses


def _simulation_note(opts: dict, outcome_corr: float) -> str:
    fams = "; ".join(f"{f}: {', '.join(v)}" for f, v in opts["families"].items())
    corr = "independent" if outcome_corr == 0 else f"correlated {outcome_corr:g}"
    return (f" Simulated at the pilot scenario's n per arm: every outcome of the families ({fams}), effects, SD "
            f"and rho from the pilot, outcomes {corr}, gatekeeping {'on' if opts['gatekeeping'] else 'off'}.")


def _curve_images(fig) -> dict[str, bytes]:
    """The figure as SVG (no date, reproducible) and PNG bytes; the figure is closed."""
    import io

    import matplotlib.pyplot as plt

    images = {}
    for fmt in ("svg", "png"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
        images[fmt] = buf.getvalue()
    plt.close(fig)
    return images


@app.command(rich_help_panel="Planning")
@guarded
def plan(
    study: Annotated[Path, typer.Argument(help="Pilot study bundle folder.")],
    primary: Annotated[str, typer.Option(help="Primary outcome of the new trial.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if needed).")] = Path("plan-out"),
    arms: Annotated[str, typer.Option(help="Arms of the new trial, comma-separated.")] = "CON,AT,RT",
    control: Annotated[str, typer.Option(help="Control arm.")] = "CON",
    control_change: Annotated[float, typer.Option(help="Assumed mean change in the control arm, used only when the pilot has no control arm.")] = 0.0,
    effect: Annotated[list[str] | None, typer.Option("--effect", "-e", help="ARM=DIFFERENCE overriding the pilot.")] = None,
    target: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    alpha: Annotated[float | None, typer.Option(help="Two-sided family-wise alpha (default: the study's [analysis] alpha).")] = None,
    multiplicity: Annotated[str | None, typer.Option(help="holm, hochberg, bh, bonferroni or none (default: the study's [analysis] multiplicity).")] = None,
    dropout: Annotated[float, typer.Option(help="Expected fraction lost to follow-up.")] = 0.1,
    n_max: Annotated[int, typer.Option(help="Largest n per arm on the power curve.")] = 150,
    simulate: Annotated[int, typer.Option("--simulate", help="Simulate this many trials of the study's [analysis] plan at the planned n.")] = 0,
    outcome_corr: Annotated[float, typer.Option(help="Correlation between outcomes in the simulation.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    followup: Annotated[str | None, typer.Option(help="Pilot visit compared with the baseline (default: the last of study.toml's [study] visits).")] = None,
) -> None:
    """Plan a controlled trial from a pilot bundle: CSV tables, a power-curve figure and plan.html.

    The analysis planned is the pilot's own [analysis] plan: its method, alpha and multiplicity
    (unless --alpha / --multiplicity are given), with the primary outcome's family setting the number
    of hypotheses of the analytic alpha per test; --simulate runs that whole plan (every outcome of
    its families, effects, SDs and rho from the pilot) at the planned n per arm.
    """
    import numpy as np

    from skintrial._io import atomic_output_dir, write_csv
    from skintrial.plan.pilot import pilot_estimates, plan_trial, power_curve
    from skintrial.report._fig_planning import planning_page, power_curve_figure
    from skintrial.study import load_study

    _check_counts(simulate=(simulate, 0), seed=(seed, 0), n_max=(n_max, 2))
    effects = _pairs(effect, "--effect") or None
    with err_console.status("reading the pilot study"):
        st = load_study(study)
    opts, extra = _study_analysis(st.spec.analysis.model_dump(), primary, alpha=alpha, multiplicity=multiplicity,
                                  simulate=simulate > 0)
    base = st.spec.study.baseline_visit
    est = pilot_estimates(st.long(), baseline_visit=base, followup_visit=_followup_visit(st.spec.study, followup))
    family = next(v for v in opts["families"].values() if primary in v)
    kw: dict[str, Any] = dict(primary=primary, arms=_csv_list(arms), control_arm=control, control_change=control_change,
              effects=effects, alpha=opts["alpha"], multiplicity=opts["multiplicity"],
              dropout=dropout, n_outcomes=len(family), analysis=opts["method"])
    table = plan_trial(est, power=target, **kw)
    top = max(n_max, int(1.15 * table["n_enrolled_arm"].max()))
    step = max(1, top // 60)
    grid = np.unique(np.r_[np.arange(step, top + 1, step), table["n_enrolled_arm"].astype(int)])
    curve = power_curve(est, n_per_arm=grid.tolist(), **kw)
    sim = None
    if simulate > 0:
        sim = _plan_simulation(est, table, opts, kw, extra, n_sims=simulate, seed=seed, outcome_corr=outcome_corr)
    images = _curve_images(power_curve_figure(curve, target_power=target, plan=table,
                                              title=f"{primary}: power by n per arm"))
    overriding = "" if alpha is None and multiplicity is None else ", options overriding"
    analysis_words = (f"Analysis (the study's [analysis] plan{overriding}): {opts['method']}, {opts['multiplicity']} "
                      f"at alpha {opts['alpha']:g} over {len(family)} outcome(s) x {len(table['arm'].unique())} "
                      f"contrast(s) in {primary}'s family.")
    notes = (f"Pilot: {study} ({st.spec.study.name}), change from {base} to {est.followup_visit}. {_effect_note(table, control)} {analysis_words}"
             f"{_simulation_note(opts, outcome_corr) if sim is not None else ''} 'conservative' uses the upper "
             "confidence limit of the SD and the lower of rho. "
             + (_bound_note(table.iloc[0]) or "Power per contrast at the tested alpha per contrast (alpha_test).")
             + "".join(f" Note: {e}." for e in extra))
    html = planning_page(title=f"Planning a controlled trial: {primary}", plan=table, curve_svg=images["svg"],
                         estimates=est.outcomes, changes=est.changes, simulation=sim, notes=notes)
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
    out_console.print(f"Pilot change: {base} to {est.followup_visit} (--followup names another visit).", markup=False)
    out_console.print(analysis_words, markup=False)
    out_console.print(f"written: {Path(out) / 'plan.html'}")


@app.command(rich_help_panel="Planning")
@guarded
def randomize(
    arms: Annotated[str, typer.Option(help="Arms, comma-separated.")],
    seed: Annotated[int, typer.Option(help="Seed (recorded in the list).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The allocation list (CSV).")] = Path("randomization.csv"),
    participants: Annotated[Path | None, typer.Option(help="participants.csv to allocate, in enrolment order.")] = None,
    strata: Annotated[str, typer.Option(help="Stratification columns of participants.csv, comma-separated.")] = "",
    level: Annotated[list[str] | None, typer.Option("--level", help="Declared stratum FACTOR=LEVEL1,LEVEL2 (repeat).")] = None,
    n_per_stratum: Annotated[int | None, typer.Option(help="Least number of slots per declared stratum: whole blocks are drawn until at least this many, so a stratum may get up to (largest block size - 1) more.")] = None,
    ratios: Annotated[str, typer.Option(help="Allocation ratios, comma-separated (default 1:1:…).")] = "",
    block_sizes: Annotated[str, typer.Option(help="Candidate block sizes, comma-separated.")] = "",
) -> None:
    """A stratified permuted-block allocation list (and OUT_balance.csv, its balance report)."""
    from skintrial._io import atomic_output_dir, write_csv
    from skintrial.plan.randomize import balance_report, randomization_list
    from skintrial.study import read_table

    try:
        r = [int(x) for x in _csv_list(ratios)] or None
        b = [int(x) for x in _csv_list(block_sizes)] or None
    except ValueError:
        raise InputError(Problem("ratios and block sizes must be whole numbers", column="--ratios/--block-sizes",
                                 fix="e.g. --ratios 1,1,1 --block-sizes 3,6")) from None
    levels = {}
    for spec in level or []:
        f, _, lv = spec.partition("=")
        if not f or not lv:
            raise InputError(Problem(f"cannot read {spec!r}", column="--level", fix="write --level age_group=41-49,50-59"))
        levels[f.strip()] = _csv_list(lv)
    p = None
    if participants is not None:
        p = read_table(participants).drop(columns="_row")
    lst = randomization_list(p, arms=_csv_list(arms), seed=seed, ratios=r, block_sizes=b, strata=_csv_list(strata),
                             strata_levels=levels or None, n_per_stratum=n_per_stratum,
                             file=Path(participants).name if participants is not None else "participants.csv")
    bal = balance_report(lst, p, factors=_csv_list(strata))
    with atomic_output_dir(Path(out).parent) as stage:
        write_csv(lst, stage / Path(out).name)
        write_csv(bal, stage / f"{Path(out).stem}_balance.csv")
    _show(bal[bal["factor"] != "stratum"], ["factor", "level", "arm", "n", "proportion", "difference"])
    out_console.print(f"written: {out} ({len(lst)} rows, seed {seed})")
