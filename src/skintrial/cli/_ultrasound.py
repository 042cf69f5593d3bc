"""CLI command ``skintrial ultrasound``: B-mode skin scans to a parameter table (and overlays).

Thin: parse options, call :func:`skintrial.instruments.ultrasound.ultrasound_files`, write the CSV
(atomically, :func:`skintrial._io.write_files`). Neither the CSV nor an overlay is ever written over
an input: ``--overlay-dir`` the scans' own folder, or ``--out`` one of the inputs, is refused (exit 2)
before any scan is read. The batch rule is
the Cutometer command's: a file that cannot be read or analysed gets a row with ``error: ...`` in
``qc`` and the batch goes on; only when *no* file gives a usable row (or an option is wrong) does the
command stop with exit code 2, writing nothing and naming every file with its error.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from skintrial.cli._app import CLUSTER, app, err_console, guarded, on_cluster


def _parse_spacing(text: str | None):
    from skintrial.errors import InputError, Problem

    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 2) or any(not v > 0 for v in values):
        raise InputError(
            Problem(
                "--pixel-spacing-mm takes one positive number or 'ROW,COL' in mm",
                value=text,
                fix="e.g. --pixel-spacing-mm 0.0125",
            )
        )
    from skintrial.study import pixel_spacing_problem

    why = next((w for w in map(pixel_spacing_problem, values) if w is not None), None)
    if why is not None:
        raise InputError(
            Problem(why, column="--pixel-spacing-mm", value=text, fix="give the spacing in mm per pixel")
        )
    return values[0] if len(values) == 1 else values


def _check_overlay_dir(folder: Path) -> None:
    """Create the overlay folder and prove it takes a file, before any scan is analysed.

    An overlay that cannot be written is a problem with the option, not with a scan: refusing it up
    front (exit 2) keeps it from turning every row of a finished batch into an error row.
    """
    import tempfile

    from skintrial.errors import InputError, Problem

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".skintrial-probe-"):
            pass
    except OSError as exc:
        raise InputError(
            Problem(
                f"--overlay-dir cannot be written to ({exc.strerror or exc})",
                file=str(folder),
                fix="give a folder you may write to, or leave --overlay-dir out",
            )
        ) from None


@app.command("ultrasound", rich_help_panel="Instruments")
@guarded
def ultrasound(
    files: Annotated[list[Path], typer.Argument(help="B-mode scans: DICOM, PNG or TIFF.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parameter CSV, one row per file.")],
    pixel_spacing_mm: Annotated[
        str | None, typer.Option(help="Spacing (mm) for files without calibration: one number, or 'ROW,COL'.")
    ] = None,
    spacing_manifest: Annotated[
        Path | None,
        typer.Option(help="CSV with file, pixel_spacing_mm [, pixel_spacing_col_mm] per file name."),
    ] = None,
    overlay_dir: Annotated[
        Path | None, typer.Option(help="Write an overlay PNG per scan here (<file stem>.png).")
    ] = None,
    upper_fraction: Annotated[
        float, typer.Option(help="Depth fraction of the dermis counted as upper dermis.")
    ] = 0.5,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Dermal thickness, echogenicity (LEP/MEP/HEP, upper vs lower dermis) and SLEB per scan.

    One CSV row per file (columns in docs/ultrasound.md); qc holds the flags, or 'error: ...' for a
    file that cannot be read, and the rest of the batch goes on. When no file can be read: exit 2,
    nothing written. With --cluster the scans are measured (and the overlays drawn) on a Dask
    cluster, in chunks (the same table; the workers must see the scans and --overlay-dir).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from skintrial._io import input_problems, write_files
    from skintrial.errors import InputError, QualityWarning
    from skintrial.instruments import error_problems, spacing_per_file, unmatched_spacing_keys
    from skintrial.instruments.ultrasound import overlay_problems, ultrasound_files
    from skintrial.study import read_spacing_manifest

    inputs = [*files, *([spacing_manifest] if spacing_manifest is not None else [])]
    problems = input_problems({out: "--out"}, inputs)  # before any work: no output replaces an input
    if overlay_dir is not None:
        problems += overlay_problems(files, overlay_dir, option="--overlay-dir")
    InputError.collect(problems)
    spacing = _parse_spacing(pixel_spacing_mm)
    if overlay_dir is not None:
        _check_overlay_dir(overlay_dir)
    if spacing_manifest is not None:
        manifest = read_spacing_manifest(spacing_manifest)
        unmatched = unmatched_spacing_keys(files, manifest)
        if unmatched:
            warnings.warn(
                f"{len(unmatched)} row(s) of {spacing_manifest} name no input file (names compare "
                f"exactly, case included): {', '.join(unmatched[:5])}{' …' if len(unmatched) > 5 else ''}",
                QualityWarning,
                stacklevel=1,
            )
        # the manifest names files; --pixel-spacing-mm (if given) covers the others
        spacing = manifest if spacing is None else spacing_per_file(files, manifest, spacing)
    columns = (TextColumn("ultrasound"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with on_cluster(cluster) as runner, Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("scans", total=len(files))
        table = ultrasound_files(
            files,
            pixel_spacing_mm=spacing,
            overlay_dir=overlay_dir,
            upper_fraction=upper_fraction,
            progress=lambda k: bar.advance(task, k),
            client=runner,
        )
    # an overlay that failed mid-batch (disk full) leaves its row's values: counted apart from unreadable scans
    no_overlay = table["qc"].str.contains("overlay not written", regex=False)
    unreadable = table["qc"].str.startswith("error") & ~no_overlay
    if unreadable.all():  # nothing usable: nothing written, every file named
        raise InputError(error_problems(table, noun="files"))
    write_files({out: table}, inputs=inputs)
    flagged = int(((table["qc"] != "") & ~unreadable).sum())
    tail = f", {int(no_overlay.sum())} overlays not written" if no_overlay.any() else ""
    err_console.print(
        f"{len(table)} scans -> {out} ({flagged} flagged, {int(unreadable.sum())} unreadable{tail})"
    )
    for problem in error_problems(table.loc[unreadable], noun="files"):
        err_console.print(f"  error: {problem.render()}", markup=False)
