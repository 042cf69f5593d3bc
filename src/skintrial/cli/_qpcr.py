"""CLI commands for qPCR: ``skintrial qpcr``, ``skintrial qpcr-curve``, ``skintrial qpcr-stability``.

Thin: parse options, call :mod:`skintrial.omics.qpcr`, write the CSV files (only after everything was
computed, all or none of them, never over an input: :func:`skintrial._io.write_files`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from skintrial.cli._app import app, err_console, guarded


class Method(StrEnum):
    ddct = "ddct"
    pfaffl = "pfaffl"


class Test(StrEnum):
    welch = "welch"
    student = "student"


class Pairing(StrEnum):
    sample = "sample"
    none = "none"


class Between(StrEnum):
    change = "change"
    ancova = "ancova"


class Undetermined(StrEnum):
    exclude = "exclude"
    cutoff = "cutoff"


class Rule(StrEnum):
    mean = "mean"
    median = "median"


def _read_table(path: Path, what: str):
    """The project's qPCR reader: unreadable, empty or ambiguous files are InputErrors naming the file (exit 2)."""
    from skintrial.omics.qpcr import read_qpcr_table

    return read_qpcr_table(path, what=what)


def _exclusions_path(out: Path, given: Path | None) -> Path:
    return given if given is not None else out.with_name(out.stem + ".exclusions.csv")


def _with_arms(ct_file: Path, participants: Path):
    """The Ct table with ``group`` = each participant's arm from ``--participants`` (group column optional)."""
    from skintrial.omics import check_columns
    from skintrial.omics.qpcr import groups_from_participants, read_qpcr_table
    from skintrial.study import read_table

    people = read_table(participants)
    people.attrs["file"] = str(participants)
    data = groups_from_participants(read_qpcr_table(ct_file), people)
    check_columns(data, file=str(ct_file))
    return data


def _cutoff(cutoff: float) -> float | None:
    """``--cutoff``: 0 is the documented "no cutoff"; anything else must be 10-60 cycles (exit 2 otherwise)."""
    from skintrial.omics import check_cutoff

    ct_cutoff = None if cutoff == 0 else cutoff
    check_cutoff(ct_cutoff, option="--cutoff")
    return ct_cutoff


def _outputs(out: Path, exclusions: Path | None, *extra: Path) -> dict[Path, str]:
    """Every file a qPCR command writes, by the option that names it."""
    excl = {_exclusions_path(out, exclusions): "--out" if exclusions is None else "--exclusions"}
    return {out: "--out", **dict.fromkeys(extra, "--out"), **excl}


def _refuse_inputs(outputs: dict[Path, str], *inputs: Path | None) -> list[Path]:
    """The command's input files (refused as outputs before any work, :func:`skintrial._io.refuse_inputs`)."""
    from skintrial._io import refuse_inputs

    given = [p for p in inputs if p is not None]
    refuse_inputs(outputs, given)
    return given


def _summary(excl) -> str:
    """The exclusions by reason and action, in words."""
    counts = excl.groupby(["reason", "action"]).size()
    return ", ".join(f"{n} {r} ({a})" for (r, a), n in counts.items()) or "none"


CUTOFF_HELP = "Ct above this counts as not detected: 10 to 60 cycles, or 0 for no cutoff."
EXCLUSIONS_HELP = "Where to write the exclusions table (default: OUT with .exclusions.csv)."


@app.command("qpcr", rich_help_panel="Molecular")
@guarded
def qpcr(
    ct_file: Annotated[
        Path,
        typer.Argument(
            help="Long Ct table (CSV or Excel): sample, group, gene, ct "
            "[, replicate, participant, visit, well]."
        ),
    ],
    reference_gene: Annotated[
        list[str],
        typer.Option("--reference-gene", "-r", help="Reference gene; repeat for several (geometric mean)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result CSV (one row per gene x comparison).")],
    control_group: Annotated[str | None, typer.Option(help="Calibrator group (two-group design).")] = None,
    pre: Annotated[
        str | None, typer.Option(help="Baseline visit: selects the paired pre/post design.")
    ] = None,
    post: Annotated[str | None, typer.Option(help="Follow-up visit of the paired design.")] = None,
    reference_arm: Annotated[
        str | None,
        typer.Option(help="Paired design: calibrator arm of between-arm contrasts (default: first arm)."),
    ] = None,
    between: Annotated[
        Between,
        typer.Option(
            help="Paired design, between arms: t test of the changes, or ANCOVA of post on pre delta Ct."
        ),
    ] = Between.change,
    method: Annotated[
        Method, typer.Option(help="ddct (Livak, E = 2) or pfaffl (efficiency-corrected).")
    ] = Method.ddct,
    efficiency_file: Annotated[
        Path | None,
        typer.Option(
            help="CSV: gene + efficiency (0.95 or 95), gene + "
            "amplification_factor, or a dilution series gene, amount, ct."
        ),
    ] = None,
    test: Annotated[
        Test,
        typer.Option(help="t test on delta Ct: welch (unequal variances) or student (pooled linear model)."),
    ] = Test.welch,
    ci_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    pairing: Annotated[
        Pairing,
        typer.Option(
            help="sample: target and reference paired per sample; none: separate tubes (pcr's separate_tube)."
        ),
    ] = Pairing.sample,
    cutoff: Annotated[float, typer.Option(help=CUTOFF_HELP)] = 35.0,
    undetermined: Annotated[
        Undetermined,
        typer.Option(help="exclude undetermined/late wells, or set them to the cutoff; listed either way."),
    ] = Undetermined.exclude,
    replicate_rule: Annotated[Rule, typer.Option(help="Technical replicates: mean or median.")] = Rule.mean,
    max_replicate_sd: Annotated[
        float, typer.Option(help="Flag replicates with SD above this (cycles).")
    ] = 0.5,
    exclusions: Annotated[Path | None, typer.Option(help=EXCLUSIONS_HELP)] = None,
    participants: Annotated[
        Path | None,
        typer.Option(
            help="Participants file (CSV/Excel: participant_id, arm, "
            "e.g. a bundle's participants.csv): each well's group is "
            "its participant's arm."
        ),
    ] = None,
) -> None:
    """Relative expression (delta-delta Ct or Pfaffl) with a t test on delta Ct, per gene and group."""
    from skintrial._io import write_files
    from skintrial.errors import InputError, Problem
    from skintrial.omics.qpcr import paired_relative_expression, read_ct, relative_expression

    outputs = _outputs(out, exclusions)
    inputs = _refuse_inputs(outputs, ct_file, efficiency_file, participants)
    ct_cutoff = _cutoff(cutoff)
    if not max_replicate_sd > 0:
        raise InputError(
            Problem(
                "--max-replicate-sd must be a positive number of cycles",
                value=max_replicate_sd,
                fix="e.g. --max-replicate-sd 0.5 (replicates above it are flagged and listed, not dropped)",
            )
        )
    if method is Method.pfaffl and efficiency_file is None:
        raise InputError(
            "--method pfaffl needs --efficiency-file",
            fix="give --efficiency-file FILE (gene, efficiency; gene, amplification_factor; or a "
            "dilution series gene, amount, ct), or use --method ddct",
        )
    data = read_ct(ct_file) if participants is None else _with_arms(ct_file, participants)
    eff = _read_table(efficiency_file, "efficiency table") if efficiency_file is not None else None
    common: dict[str, Any] = dict(
        reference_genes=list(reference_gene),
        method=method.value,
        efficiencies=eff,
        test=test.value,
        ci_level=ci_level,
        cutoff=ct_cutoff,
        undetermined=undetermined.value,
        replicate_rule=replicate_rule.value,
        max_replicate_sd=max_replicate_sd,
    )
    if (pre is None) != (post is None):
        raise InputError(
            "give both --pre and --post for the paired design", fix="e.g. --pre week0 --post week16"
        )
    if pre is not None and post is not None:
        res = paired_relative_expression(
            data, pre=pre, post=post, reference_arm=reference_arm, between=between.value, **common
        )
    elif control_group is None:
        raise InputError(
            "--control-group is required (or --pre/--post for the paired design)",
            fix="name the calibrator group, e.g. --control-group control",
        )
    else:
        res = relative_expression(data, control_group=control_group, pairing=pairing.value, **common)
    excl_path = _exclusions_path(out, exclusions)
    write_files({out: res.table, excl_path: res.exclusions}, inputs=inputs)
    err_console.print(
        f"qpcr: {res.table['gene'].nunique()} target gene(s), {len(res.table)} rows -> {out}; "
        f"exclusions: {_summary(res.exclusions)} -> {excl_path}"
    )


@app.command("qpcr-curve", rich_help_panel="Molecular")
@guarded
def qpcr_curve(
    dilution_file: Annotated[Path, typer.Argument(help="Dilution series (CSV or Excel): gene, amount, ct.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Standard-curve CSV (one row per gene).")],
    linear_range: Annotated[str, typer.Option(help="'all', 'auto', or LOW:HIGH amounts to keep.")] = "all",
    min_r_squared: Annotated[
        float,
        typer.Option(
            help="Target R-squared for --linear-range auto; curves below it get status low_r_squared."
        ),
    ] = 0.98,
    cutoff: Annotated[float, typer.Option(help=CUTOFF_HELP)] = 35.0,
    exclusions: Annotated[Path | None, typer.Option(help=EXCLUSIONS_HELP)] = None,
) -> None:
    """Standard curves: slope, efficiency E = 10^(-1/slope) - 1, R-squared, the linear range and a status."""
    from skintrial._io import write_files
    from skintrial.errors import InputError
    from skintrial.omics.qpcr import standard_curve

    inputs = _refuse_inputs(_outputs(out, exclusions), dilution_file)
    ct_cutoff = _cutoff(cutoff)
    data = _read_table(dilution_file, "dilution series")
    rng: tuple[float, float] | str | None
    if linear_range == "all":
        rng = None
    elif linear_range == "auto":
        rng = "auto"
    else:
        try:
            lo, hi = (float(v) for v in linear_range.split(":"))
        except ValueError:
            raise InputError(
                f"--linear-range must be all, auto or LOW:HIGH, not {linear_range!r}",
                fix="e.g. --linear-range 0.001:1",
            ) from None
        rng = (lo, hi)
    curve = standard_curve(data, linear_range=rng, min_r_squared=min_r_squared, cutoff=ct_cutoff)
    excl_path = _exclusions_path(out, exclusions)
    write_files({out: curve.table, excl_path: curve.exclusions}, inputs=inputs)
    status = ", ".join(f"{n} {st}" for st, n in curve.table["status"].value_counts(sort=False).items())
    err_console.print(
        f"qpcr-curve: {len(curve.table)} gene(s) ({status}) -> {out}; wells not used: "
        f"{_summary(curve.exclusions)} -> {excl_path}"
    )


@app.command("qpcr-stability", rich_help_panel="Molecular")
@guarded
def qpcr_stability(
    ct_file: Annotated[Path, typer.Argument(help="Long Ct table with the candidate reference genes.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Stability CSV (one row per candidate gene).")],
    gene: Annotated[
        list[str] | None,
        typer.Option("--gene", "-g", help="Candidate gene (repeat); default: every gene in the file."),
    ] = None,
    cutoff: Annotated[float, typer.Option(help=CUTOFF_HELP)] = 35.0,
    exclusions: Annotated[Path | None, typer.Option(help=EXCLUSIONS_HELP)] = None,
) -> None:
    """Reference-gene stability: geNorm M (stepwise) and NormFinder, one table; wells and samples not used listed."""
    from skintrial._io import write_files
    from skintrial.omics.qpcr import read_ct, reference_gene_stability

    pairwise = out.with_name(out.stem + ".pairwise_variation.csv")
    inputs = _refuse_inputs(_outputs(out, exclusions, pairwise), ct_file)
    ct_cutoff = _cutoff(cutoff)
    data = read_ct(ct_file)
    res = reference_gene_stability(data, genes=list(gene) if gene else None, cutoff=ct_cutoff)
    excl_path = _exclusions_path(out, exclusions)
    tables = {out: res.table, pairwise: res.genorm.pairwise_variation, excl_path: res.exclusions}
    write_files(tables, inputs=inputs)
    n_all = data["sample"].nunique()
    err_console.print(
        f"qpcr-stability: {len(res.table)} candidate gene(s), {res.n_samples} of {n_all} samples "
        f"complete -> {out}; not used: {_summary(res.exclusions)} -> {excl_path}"
    )
