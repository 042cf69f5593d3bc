"""CLI command ``skintrial cutometer``: raw suction curves to a parameter table.

Thin: parse options, call :func:`skintrial.instruments.cutometer_files`, write the CSV (atomically, by
:func:`skintrial._io.write_files`, never over one of the input curves). The batch rule, shared with
``skintrial ultrasound``: a file that cannot be read or measured gets a row with ``error: ...`` in
``qc`` and the batch goes on; only when *no* file gives a usable row (or an option is wrong) does the
command stop with exit code 2, writing nothing and naming every file with its error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skintrial.cli._app import CLUSTER, app, err_console, guarded, on_cluster


def _parse_columns(specs: list[str] | None) -> dict[str, object]:
    """``KEY=SOURCE[:UNIT]`` options -> a read_cutometer mapping (the same keys as a bundle's
    ``[raw.cutometer_columns]``)."""
    from skintrial.errors import InputError, Problem
    from skintrial.instruments import COLUMN_KEYS, column_mapping

    pairs: dict[str, object] = {}
    problems = []
    for spec in specs or []:
        key, sep, source = spec.partition("=")
        key = key.strip()
        if not sep or not source or key not in COLUMN_KEYS:
            problems.append(
                Problem(
                    "--column takes CANONICAL=SOURCE[:UNIT]",
                    value=spec,
                    fix="CANONICAL is time_s, deformation_mm, pressure_mbar or measurement_id "
                    "(or a reader option: sep, decimal, skiprows, sheet_name), "
                    "e.g. --column 'deformation_mm=Deformation [um]:um'",
                )
            )
            continue
        pairs[key] = source
    InputError.collect(problems)
    return column_mapping(pairs)


# Fixes for the analysis errors a curve can get after it was read (read errors carry their own).
_FIXES = {
    "fewer than 2 samples": "export the whole curve (a Cutometer record holds hundreds of samples); in a long "
    "file give each curve its own measurement_id",
    "missing (NaN) deformation_mm values": "fill in every deformation value, or cut the curve before the gap",
    "time_s repeats": "sort the rows by time and give each curve its own measurement_id",
    "time_s holds a value that is not a finite number": "give every sample its time in seconds (no inf, no "
    "empty cells)",
}


def _error_problems(table) -> list:
    from skintrial.instruments import error_problems

    return error_problems(table, _FIXES)


@app.command("cutometer", rich_help_panel="Instruments")
@guarded
def cutometer(
    files: Annotated[list[Path], typer.Argument(help="Raw curve files (CSV or XLSX).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parameter CSV, one row per measurement.")],
    on: Annotated[
        float | None,
        typer.Option(
            "--on",
            help="Suction (on) time in s, for curves without a pressure channel. Without --on/--off "
            "and without a pressure channel the phases are found in the deformation (qc phases_inferred).",
        ),
    ] = None,
    off: Annotated[
        float | None,
        typer.Option(
            "--off",
            help="Relaxation (off) time in s (with --on but no --off: one cycle to the end of the record).",
        ),
    ] = None,
    onset: Annotated[
        float,
        typer.Option(
            "--onset", help="With --on/--off: time in s from the first sample to the start of suction."
        ),
    ] = 0.0,
    read_time: Annotated[float, typer.Option(help="Ue/Ur read time after onset/release, s.")] = 0.1,
    method: Annotated[
        str, typer.Option(help="read_time (Cutometer convention) or inflection (per-curve knee).")
    ] = "read_time",
    drop_first_cycle: Annotated[
        bool, typer.Option("--drop-first-cycle", help="Average cycles 2..n instead of reporting cycle 1.")
    ] = False,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="Vendor column mapping CANONICAL=SOURCE[:UNIT], repeatable (units: mm, um, s, ms, mbar, kPa...).",
        ),
    ] = None,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Ue, Uv, Uf, Ur, Ua, R0-R9, F0-F4 and Q0-Q3 per measurement, with quality flags.

    Columns: file, measurement_id, n_cycles, onset_s, on_s, off_s (the phases used: from the pressure
    channel, from --on/--off/--onset, or, with neither, found in the deformation and flagged
    phases_inferred), ue, uv, uf, ur, ua, r0 ... r9, f0 ... f4, q0 ... q3 (areas), qc
    (semicolon-separated flags; empty when clean; 'error: ...' for a file that could not be read).
    When no file can be read: exit 2, nothing written. With --cluster the files are measured on a Dask cluster, in chunks
    (the same table). Definitions: docs/cutometer.md.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from skintrial._io import refuse_inputs, write_files
    from skintrial.errors import InputError
    from skintrial.instruments import INFORMATIONAL_FLAGS
    from skintrial.instruments.cutometer import cutometer_files

    refuse_inputs({out: "--out"}, files)  # before any work: the output never replaces an input curve
    mapping = _parse_columns(column)
    columns = (TextColumn("cutometer"), BarColumn(), MofNCompleteColumn())
    with on_cluster(cluster) as runner, Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("files", total=len(files))
        table = cutometer_files(
            files,
            mapping=mapping,
            progress=lambda k: bar.advance(task, k),
            client=runner,
            on_s=on,
            off_s=off,
            onset_s=onset,
            read_time_s=read_time,
            method=method,
            drop_first_cycle=drop_first_cycle,
        )
    errors = table["qc"].str.startswith("error")
    if errors.all():
        raise InputError(_error_problems(table))
    write_files({out: table}, inputs=files)
    flags = table["qc"].str.split(";").map(lambda fl: {f for f in fl if f} - set(INFORMATIONAL_FLAGS))
    flagged = int((flags.map(bool) & ~errors).sum())  # informational flags (phases_inferred) do not count
    err_console.print(
        f"{len(table)} measurements -> {out} ({flagged} flagged, {int(errors.sum())} unreadable)"
    )
    for problem in _error_problems(table.loc[errors]):
        err_console.print(f"  error: {problem.render()}", markup=False)
