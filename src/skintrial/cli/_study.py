"""``skintrial demo``, ``run`` and ``validate``: the whole study pipeline from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from skintrial.cli._app import app, err_console, guarded, options_named, out_console

_OUT = typer.Option("--out", "-o", help="Output folder (created if needed).")


def _print_notes(notes) -> None:
    """Non-fatal findings of validation, on stderr (they never change the exit code)."""
    for note in notes:
        err_console.print(Text("note: ", style="yellow") + Text(note.render()))


_PDF = typer.Option(
    "--pdf", help="Also write OUT/report.pdf (needs headless Chromium or WeasyPrint; exit 2 without)."
)


def _run_pipeline(study_dir: Path, out: Path, *, lock, pdf: bool = False) -> Path:
    """Validate, analyse and publish into ``out`` under its held ``lock``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from skintrial._io import OUTPUTS, atomic_output_dir, check_replaceable, is_run_output
    from skintrial.pipeline import analyse, input_paths, write_results
    from skintrial.report import require_pdf_engine, write_pdf, write_report
    from skintrial.study import load_study

    if pdf:
        require_pdf_engine()  # before any work: say what to install
    with err_console.status("validating the study bundle"):
        study = load_study(study_dir)
    _print_notes(study.notes)
    inputs = input_paths(study)
    check_replaceable(out, OUTPUTS, protect=inputs, owned=is_run_output)  # refuse early, delete nothing
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

        results = analyse(study, progress=progress)
    with (
        atomic_output_dir(out, managed=OUTPUTS, protect=inputs, owned=is_run_output, lock=lock) as stage,
        err_console.status("writing results and report"),
    ):
        write_results(results, stage)
        write_report(results, stage / "report.html")
        if pdf:
            write_pdf(stage / "report.html", stage / "report.pdf")
    return out / "report.html"


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
        bool,
        typer.Option(
            "--expression/--no-expression",
            help="Add a synthetic RNA-seq layer ([expression], counts with known ECM truth) to the study.",
        ),
    ] = False,
    pdf: Annotated[bool, _PDF] = False,
) -> None:
    """Write the built-in synthetic study to OUT/study/ and run the whole pipeline into OUT/.

    An OUT/study/ that this command did not write, or that was changed since, is never replaced (exit 2).
    """
    from skintrial._io import demo_problems, output_lock, write_demo_study
    from skintrial.errors import InputError
    from skintrial.plan import demo_study
    from skintrial.report import require_pdf_engine

    if pdf:
        require_pdf_engine()  # before OUT/study is written
    with output_lock(out, command="skintrial demo") as lock:  # one run into OUT at a time
        InputError.collect(demo_problems(out))  # before any work: OUT/study and OUT's outputs are demo's
        with options_named({"n": "--n", "seed": "--seed"}):
            synthetic = demo_study(design, seed=seed, n=n, control_arm=control)

        def write(folder: Path) -> None:
            synthetic.write(folder)
            if expression:  # the opt-in RNA-seq layer (skintrial.plan.add_expression_layer)
                from skintrial.plan import add_expression_layer

                add_expression_layer(folder, seed=0 if seed is None else seed)

        study_dir = write_demo_study(write, Path(out), lock=lock)
        report = _run_pipeline(study_dir, Path(out), lock=lock, pdf=pdf)
    out_console.print(f"synthetic study: {study_dir}\nreport: {report}")


@app.command(rich_help_panel="Study")
@guarded
def run(
    study: Annotated[
        Path, typer.Argument(help="Study bundle folder (study.toml, participants, measurements).")
    ],
    out: Annotated[Path, _OUT] = Path("skintrial-out"),
    pdf: Annotated[bool, _PDF] = False,
) -> None:
    """Validate a study bundle and run its pre-specified analysis into OUT/: results/, report.html,
    report.docx (manuscript tables), figures/ (SVG, PDF, PNG), provenance.json; with --pdf, report.pdf."""
    from skintrial._io import output_lock

    with output_lock(out, command=f"skintrial run {study}") as lock:  # one run into OUT at a time
        report = _run_pipeline(study, out, lock=lock, pdf=pdf)
    out_console.print(f"report: {report}")


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
    from skintrial.errors import InputError
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
