"""``skintrial demo``, ``run`` and ``validate``: the whole study pipeline from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from skintrial.cli._app import CLUSTER, app, err_console, guarded, on_cluster, options_named, out_console
from skintrial.errors import InputError, Problem

_OUT = typer.Option("--out", "-o", help="Output folder (created if needed).")


def _print_notes(notes) -> None:
    """Non-fatal findings of validation, on stderr (they never change the exit code)."""
    for note in notes:
        err_console.print(Text("note: ", style="yellow") + Text(note.render()))


_PDF = typer.Option(
    "--pdf", help="Also write OUT/report.pdf (needs headless Chromium or WeasyPrint; exit 2 without)."
)


def _run_pipeline(
    study_dir: Path, out: Path, *, lock, pdf: bool = False, runner=None, quiet: bool = False
) -> Path:
    """Validate, analyse (its batches through ``runner``) and publish into ``out`` under its held
    ``lock``; ``quiet``: no notes, bars or spinners (a bundle run as one task of several)."""
    import contextlib

    from skintrial._io import OUTPUTS, atomic_output_dir, check_replaceable, is_run_output
    from skintrial.pipeline import analyse, input_paths, write_results
    from skintrial.report import require_pdf_engine, write_pdf, write_report
    from skintrial.study import load_study

    if pdf:
        require_pdf_engine()  # before any work: say what to install
    status = (lambda text: contextlib.nullcontext()) if quiet else err_console.status
    with status("validating the study bundle"):
        study = load_study(study_dir)
    if not quiet:
        _print_notes(study.notes)
    inputs = input_paths(study)
    check_replaceable(out, OUTPUTS, protect=inputs, owned=is_run_output)  # refuse early, delete nothing
    results = analyse(study, client=runner) if quiet else _analyse_with_bars(study, runner)
    with (
        atomic_output_dir(out, managed=OUTPUTS, protect=inputs, owned=is_run_output, lock=lock) as stage,
        status("writing results and report"),
    ):
        write_results(results, stage)
        write_report(results, stage / "report.html")
        if pdf:
            write_pdf(stage / "report.html", stage / "report.pdf")
    return out / "report.html"


def _analyse_with_bars(study, runner):
    """The analysis with a progress bar per batch (the raw files, …) on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from skintrial.pipeline import analyse

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bars:

        def progress(description: str, total: int):
            task = bars.add_task(description, total=total)
            return lambda k: bars.advance(task, k)

        return analyse(study, progress=progress, client=runner)


@app.command(rich_help_panel="Study")
@guarded
def demo(
    out: Annotated[Path, _OUT] = Path("demo-out"),
    design: Annotated[
        str, typer.Option(help="randomised (the 2023 trial), cross-sectional or single-arm (Crane 2015).")
    ] = "randomised",
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the synthetic study [default: 20230623; 20150422 for the 2015 designs]."),
    ] = None,
    n: Annotated[
        int | None, typer.Option(help="Participants [default: 61; cross-sectional 60; single-arm 10].")
    ] = None,
    control: Annotated[
        bool, typer.Option("--control/--no-control", help="Add a non-exercise control arm (randomised).")
    ] = False,
    expression: Annotated[
        bool | None,
        typer.Option(
            "--expression/--no-expression",
            help=(
                "Add a synthetic RNA-seq layer (the bundle's expression table: counts with known ECM "
                "truth) to the study; on by default for the randomised design, off for the others."
            ),
            show_default=False,
        ),
    ] = None,
    pdf: Annotated[bool, _PDF] = False,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Write the built-in synthetic study to OUT/study/ and run the whole pipeline into OUT/.

    An OUT/study/ that this command did not write, or that was changed since, is never replaced (exit 2).
    """
    from skintrial._io import demo_problems, output_lock, write_demo_study
    from skintrial.cluster import parse_cluster
    from skintrial.plan import demo_study
    from skintrial.report import require_pdf_engine

    if pdf:
        require_pdf_engine()  # before OUT/study is written
    parse_cluster(cluster)  # a misspelt --cluster before any work
    with output_lock(out, command="skintrial demo") as lock:  # one run into OUT at a time
        InputError.collect(demo_problems(out))  # before any work: OUT/study and OUT's outputs are demo's
        with options_named({"n": "--n", "seed": "--seed"}):
            synthetic = demo_study(design, seed=seed, n=n, control_arm=control)
        key = design.replace("_", "-").lower()
        if expression is None:  # the RNA-seq layer is part of the randomised demo; opt-in elsewhere
            expression = key == "randomised"
        elif expression and key == "cross-sectional":
            raise InputError(
                [
                    Problem(
                        "the RNA-seq layer is a change from baseline to follow-up; a cross-sectional "
                        "study has one visit",
                        column="--expression",
                        fix="leave --expression out, or use --design randomised or single-arm",
                    )
                ]
            )

        def write(folder: Path) -> None:
            synthetic.write(folder)
            if expression:  # the RNA-seq layer (skintrial.plan.add_expression_layer)
                from skintrial.plan import add_expression_layer

                add_expression_layer(folder, seed=0 if seed is None else seed)

        with on_cluster(cluster) as runner:  # reached before OUT/study is written
            study_dir = write_demo_study(write, Path(out), lock=lock)
            report = _run_pipeline(study_dir, Path(out), lock=lock, pdf=pdf, runner=runner)
    out_console.print(f"synthetic study: {study_dir}\nreport: {report}")


def run_bundle(paths: tuple[str, str], *, pdf: bool = False) -> tuple[str, str]:
    """One bundle of ``run A B C --out-root DIR``, on whichever process runs it (a cluster worker
    reads the bundle and writes its output folder on storage both share): ``(report path, "")``, or
    ``("", message)`` when the bundle is refused — one bad bundle never stops the others."""
    from skintrial._io import output_lock

    study, out = Path(paths[0]), Path(paths[1])
    try:
        with output_lock(out, command=f"skintrial run {study}") as lock:
            return str(_run_pipeline(study, out, lock=lock, pdf=pdf, quiet=True)), ""
    except InputError as exc:
        return "", str(exc)


def _outputs(studies: list[Path], out: Path | None, out_root: Path | None) -> list[Path]:
    """Each bundle's output folder: ``--out`` (one bundle) or ``--out-root``/<bundle folder name>."""
    if out is not None and out_root is not None:
        raise InputError(Problem("--out and --out-root were both given", column="--out-root", fix="give one"))
    if out_root is None:
        if len(studies) > 1:
            raise InputError(
                Problem(
                    f"{len(studies)} study bundles need an output folder each",
                    column="--out-root",
                    fix="add --out-root DIR: each bundle's results go to DIR/<bundle folder name>/",
                )
            )
        return [out or Path("skintrial-out")]
    names = [Path(s).resolve().name for s in studies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            Problem(
                f"bundles with the same folder name would share an output folder: {', '.join(twice)}",
                column="--out-root",
                fix="rename one of the bundle folders, or run them in separate calls with --out",
            )
        )
    return [out_root / n for n in names]


@app.command(rich_help_panel="Study")
@guarded
def run(
    study: Annotated[
        list[Path],
        typer.Argument(help="Study bundle folder(s) (study.toml, participants, measurements)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (created if needed) [default: skintrial-out]."),
    ] = None,
    out_root: Annotated[
        Path | None,
        typer.Option(
            "--out-root",
            help="For several bundles: each bundle's output goes to OUT_ROOT/<its folder name>/.",
        ),
    ] = None,
    pdf: Annotated[bool, _PDF] = False,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Validate a study bundle and run its pre-specified analysis into OUT/: results/, report.html,
    report.docx (manuscript tables), figures/ (SVG, PDF, PNG), provenance.json; with --pdf, report.pdf.

    Several bundles (``run A B C --out-root DIR``) run one after the other, or one task each on a
    cluster; a bundle that is refused is listed and the others still run (exit 2 if any was refused).
    """
    from skintrial._io import output_lock

    outs = _outputs(study, out, out_root)
    if len(study) == 1:
        with (
            output_lock(outs[0], command=f"skintrial run {study[0]}") as lock,  # one run into OUT at a time
            on_cluster(cluster) as runner,
        ):
            report = _run_pipeline(study[0], outs[0], lock=lock, pdf=pdf, runner=runner)
        out_console.print(f"report: {report}")
        return
    _run_several(study, outs, pdf=pdf, cluster=cluster)


def _run_several(studies: list[Path], outs: list[Path], *, pdf: bool, cluster: str | None) -> None:
    """``run A B C --out-root DIR``: one task per bundle; each bundle's report or refusal is listed."""
    import functools

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if pdf:
        from skintrial.report import require_pdf_engine

        require_pdf_engine()
    items = [(str(s), str(o)) for s, o in zip(studies, outs, strict=True)]
    with (
        on_cluster(cluster) as runner,
        Progress(
            TextColumn("bundles"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True
        ) as bars,
    ):
        task = bars.add_task("bundles", total=len(items))
        done = runner.map(
            functools.partial(run_bundle, pdf=pdf),
            items,
            progress=lambda k: bars.advance(task, k),
            name="run",
        )
    refused = []
    for study, (report, error) in zip(studies, done, strict=True):
        if error:
            refused.append(Problem(f"bundle not run: {error}", file=str(study)))
        else:
            out_console.print(f"{study}: report: {report}")
    InputError.collect(refused)


@app.command(rich_help_panel="Study")
@guarded
def validate(
    study: Annotated[Path, typer.Argument(help="Study bundle folder.")],
) -> None:
    """Check a study bundle only: exit 0 when valid, 2 with every problem listed when not.

    The bundle's tables are checked in one pass; then every further file that ``run`` reads (raw
    instrument files, training log, serum panel, qPCR) is read and analysed in memory, so a bundle
    that validates is one that ``run`` accepts. Nothing is written.
    """
    from skintrial.pipeline import analyse
    from skintrial.study import load_study, validate_study

    found = validate_study(study, notes=True)
    _print_notes([p for p in found if p.kind == "note"])
    InputError.collect(p for p in found if p.kind != "note")
    with err_console.status("reading every file the analysis uses"):
        results = analyse(load_study(study))
    out_console.print(f"{study}: valid")
    files = results.tables.get("instrument_files")
    if files is not None and (files["qc"].fillna("") != "").any():
        bad = files[files["qc"].fillna("") != ""]
        err_console.print(f"note: {len(bad)} raw file(s) will not be used (run lists them in the results):")
        for r in bad.itertuples():
            err_console.print(Text(f"  {r.file}: {r.qc}"))
