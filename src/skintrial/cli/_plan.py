"""``skintrial power``, ``plan`` and ``randomize``: planning the next study from the command line.

Thin: parse and check the options, call the workflow (:func:`skintrial.plan.plan_power`,
:func:`skintrial.plan.plan_study`, :func:`skintrial.plan.randomization_list`), render its results
(:mod:`skintrial.report`) and write them: files through :func:`skintrial._io.write_files`, the plan's
folder through :func:`skintrial._io.atomic_output_dir`, never over an input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skintrial.cli._app import (
    CLUSTER,
    app,
    err_console,
    guarded,
    on_cluster,
    options_named,
    out_console,
    output_width,
)
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


def _cluster_for(cluster: str | None, n_sims: int) -> str | None:
    """The cluster to start: only when trials are simulated (an analytic answer takes milliseconds,
    a cluster seconds), though a misspelt --cluster is refused either way."""
    from skintrial.cluster import parse_cluster

    parse_cluster(cluster)
    return cluster if n_sims > 0 else None


def _simulation_bar(bars):
    """A ``progress(done, total)`` for the planning workflows, drawn as one bar of simulated trials."""
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = bars.add_task(f"simulating {total} trials", total=total)
        bars.update(task, completed=done)

    return progress


def _show(table, columns: list[str]) -> None:
    """The table's columns on the terminal, whole: one header word a line, numbers never cut, a long
    label folded onto a second line rather than cut; 100 columns wide in a file or pipe (``output_width``)."""
    from pandas.api.types import is_numeric_dtype
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for c in columns:
        numeric = is_numeric_dtype(table[c])
        t.add_column(c.replace("_", "\n"), justify="right", no_wrap=numeric, overflow="fold")
    for row in table[columns].itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(t, width=output_width(out_console))


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
    method: Annotated[
        str, typer.Option(help="ancova, or clda: a longitudinal trial with dropout per visit.")
    ] = "ancova",
    retention: Annotated[
        str | None,
        typer.Option(help="clda: fraction still observed at each visit, baseline first, e.g. 1,0.9,0.8."),
    ] = None,
    retention_control: Annotated[
        str | None, typer.Option(help="clda: the control arm's retention, if not --retention.")
    ] = None,
    correlation: Annotated[
        str, typer.Option(help="clda: correlation across visits from --rho: ar1 or cs.")
    ] = "ar1",
    visit_sd: Annotated[
        str | None, typer.Option(help="clda: SD at each visit, baseline first (else --sd at all).")
    ] = None,
    ratio: Annotated[float, typer.Option(help="clda: treated per control (allocation).")] = 1.0,
    df_method: Annotated[
        str, typer.Option(help="clda --simulate: df of the analysis (as [analysis.clda]).")
    ] = "kenward_roger",
    covariance: Annotated[
        str, typer.Option(help="clda --simulate: covariance structure of the analysis.")
    ] = "us",
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Analytic power (with --n-per-arm) or sample size of an ANCOVA trial, with the G*Power inputs.

    --simulate runs the same analysis: every one of the --n-outcomes outcomes gets the same effects,
    SD and rho, and the multiplicity adjustment runs over all outcomes × contrasts, as in the analytic
    alpha per test.

    --method clda plans a longitudinal trial analysed by cLDA: the difference at the last visit, with
    the --retention per visit (monotone dropout) and --correlation across visits (Lu, Luo & Chen 2008,
    as R longpower::power.mmrm, with the baseline mean shared by the arms). --n-per-arm is then the
    control arm; --simulate analyses that many simulated trials with the study's cLDA.
    """
    from skintrial._io import write_files
    from skintrial.plan import plan_power
    from skintrial.report import bound_note, gpower_sentence, power_simulation_sentence

    _check_counts(
        simulate=(simulate, 0), seed=(seed, 0), n_per_arm=(n_per_arm, 2), n_outcomes=(n_outcomes, 1)
    )
    effects = _pairs(effect, "--effect")
    if method == "clda" or retention is not None:
        _clda_power(
            effects=effects,
            method=method,
            sd=sd,
            visit_sd=visit_sd,
            retention=retention,
            retention_control=retention_control,
            rho=rho,
            correlation=correlation,
            ratio=ratio,
            n_per_arm=n_per_arm,
            power=target,
            control_arm=control,
            alpha=alpha,
            ignored={
                "--n-outcomes": n_outcomes != 1,
                "--dropout": dropout != 0.0,
                "--outcome-corr": outcome_corr != 0.0,
            },
            n_sims=simulate,
            seed=seed,
            df_method=df_method,
            covariance=covariance,
            out=out,
            cluster=cluster,
        )
        return
    if method != "ancova":
        raise InputError(
            Problem(f"unknown method {method!r}", column="--method", value=method, fix="use ancova or clda")
        )
    with on_cluster(_cluster_for(cluster, simulate)) as runner, _progress() as bars:
        res = plan_power(
            effects=effects,
            sd=sd,
            rho=rho,
            n_per_arm=n_per_arm,
            power=target,
            control_arm=control,
            alpha=alpha,
            multiplicity=multiplicity,
            n_outcomes=n_outcomes,
            dropout=dropout,
            analysis=analysis,
            n_sims=simulate,
            outcome_corr=outcome_corr,
            seed=seed,
            progress=_simulation_bar(bars),
            client=runner,
        )
    table, sim = res.table, res.simulated
    _show(table, ["contrast", "effect", "n_enrolled_arm", "n_enrolled_total", "alpha_test", "power"])
    out_console.print(gpower_sentence(table))
    if bound := bound_note(table):
        out_console.print(bound)
    if sim is not None:
        out_console.print(power_simulation_sentence(res))
        _show(sim, ["outcome", "contrast", "power", "mcse", "power_unadjusted", "n_sims"])
    if out is not None:  # both files or neither
        sim_out = Path(out).with_name(f"{Path(out).stem}_simulated.csv")
        write_files({Path(out): table, **({sim_out: sim} if sim is not None else {})})
        out_console.print(f"written: {out}")


def _numbers(text: str | None, option: str) -> list[float] | None:
    """A comma-separated list of numbers, or None when the option was not given."""
    if text is None:
        return None
    try:
        return [float(t) for t in _csv_list(text)]
    except ValueError:
        raise InputError(
            Problem(f"cannot read {text!r}", column=option, fix=f"write {option} 1,0.9,0.8 (numbers, commas)")
        ) from None


def _clda_power(
    *, effects, method, visit_sd, retention, retention_control, ignored, out, cluster, **kw
) -> None:
    """``power --method clda``: the analytic table and, with --simulate, the simulated one."""
    from skintrial._io import write_files
    from skintrial.plan import plan_clda_power

    probs = []
    if method != "clda":
        probs.append(
            Problem(
                "--retention is for --method clda", column="--method", value=method, fix="add --method clda"
            )
        )
    if retention is None:
        probs.append(
            Problem(
                "--method clda needs the retention per visit",
                column="--retention",
                fix="e.g. --retention 1,0.9,0.8,0.7 (baseline first; the last visit is the primary one)",
            )
        )
    probs += [
        Problem(f"{o} is not used by --method clda", column=o, fix=f"leave {o} out (dropout: --retention)")
        for o, given in ignored.items()
        if given
    ]
    InputError.collect(probs)
    sds, sd = _numbers(visit_sd, "--visit-sd"), kw.pop("sd")
    with on_cluster(_cluster_for(cluster, kw["n_sims"])) as runner, _progress() as bars:
        res = plan_clda_power(
            effects=effects,
            sd=sd if sds is None else sds,
            retention=_numbers(retention, "--retention") or [],
            retention_control=_numbers(retention_control, "--retention-control"),
            n_sims=kw.pop("n_sims"),
            progress=_simulation_bar(bars),
            client=runner,
            **kw,
        )
    _show(
        res.table,
        ["contrast", "effect", "n_enrolled_arm", "n_enrolled_control", "n_analysed_last_visit", "power"],
    )
    if res.simulated is not None:
        _show(res.simulated, ["contrast", "power", "mcse", "analytic_power", "n_failed", "n_sims"])
    if out is not None:  # both files or neither
        sim_out = Path(out).with_name(f"{Path(out).stem}_simulated.csv")
        write_files({Path(out): res.table, **({sim_out: res.simulated} if res.simulated is not None else {})})
        out_console.print(f"written: {out}")


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
    retention: Annotated[
        str | None,
        typer.Option(
            help="cLDA plans: fraction still observed at each visit to --followup, baseline first (default: falling linearly to 1 - dropout)."
        ),
    ] = None,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Plan a controlled trial from a pilot bundle: CSV tables, a power-curve figure and plan.html.

    The analysis planned is the pilot's own \\[analysis] plan: its method, alpha and multiplicity
    (--alpha overrides the alpha; --multiplicity the analytic table's method only), with the primary
    outcome's family setting the number of hypotheses of the analytic alpha per test; --simulate runs
    that whole plan with the study's own multiplicity (every outcome of its families, effects, SDs and
    rho from the pilot) at the planned n per arm. When the study's first method is clda, --simulate
    runs its cLDA over the visits up to --followup with the pilot's SDs and correlations across them
    and the --retention per visit.
    """
    from skintrial._io import atomic_output_dir, write_files
    from skintrial.pipeline import input_paths
    from skintrial.plan import plan_study
    from skintrial.report import PLAN_GENERATOR, analysis_sentence, render_plan
    from skintrial.study import load_study

    _check_counts(simulate=(simulate, 0), seed=(seed, 0), n_max=(n_max, 2))
    effects = _pairs(effect, "--effect") or None
    with err_console.status("reading the pilot study"):
        st = load_study(study)
    named = {"followup_visit": "--followup", "multiplicity": "--multiplicity", "n_max": "--n-max"}
    with options_named(named), on_cluster(_cluster_for(cluster, simulate)) as runner, _progress() as bars:
        result = plan_study(
            st,
            primary=primary,
            arms=_csv_list(arms),
            control_arm=control,
            control_change=control_change,
            effects=effects,
            power=target,
            alpha=alpha,
            multiplicity=multiplicity,
            dropout=dropout,
            n_max=n_max,
            n_sims=simulate,
            outcome_corr=outcome_corr,
            seed=seed,
            followup_visit=followup,
            progress=_simulation_bar(bars),
            retention=_numbers(retention, "--retention"),
            client=runner,
        )
    page = render_plan(result)

    def owned(folder: Path) -> bool:  # an earlier plan's files, recognised by its page; never the user's
        try:
            with open(folder / "plan.html", "rb") as page_file:
                head = page_file.read(4096)
        except OSError:
            return False
        return f'name="generator" content="{PLAN_GENERATOR}"'.encode() in head

    with atomic_output_dir(
        Path(out),
        protect=input_paths(st),
        owned=owned,
        unowned="its plan.html was not written by skintrial plan (it may be your own file)",
    ) as stage:
        files = {stage / f"{name}.csv": t for name, t in result.tables.items()}
        files[stage / "power_curve.svg"] = page.svg
        files[stage / "power_curve.png"] = page.png
        files[stage / "plan.html"] = page.html
        write_files(files)
    _show(
        result.plan,
        ["scenario", "contrast", "effect", "effect_basis", "sd", "rho", "n_enrolled_arm", "power"],
    )
    out_console.print(
        f"Pilot change: {result.baseline_visit} to {result.followup_visit} (--followup names another visit).",
        markup=False,
    )
    out_console.print(analysis_sentence(result), markup=False)
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
    from skintrial._io import refuse_inputs, write_files
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
    balance = Path(out).with_name(f"{Path(out).stem}_balance.csv")
    inputs = [participants] if participants is not None else []
    refuse_inputs({Path(out): "--out", balance: "--out"}, inputs)  # before any work: never over an input
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
    write_files({Path(out): lst, balance: bal}, inputs=inputs)
    _show(bal[bal["factor"] != "stratum"], ["factor", "level", "arm", "n", "proportion", "difference"])
    out_console.print(f"written: {out} ({len(lst)} rows, seed {seed})")
