"""CLI command ``skintrial ultrasound``: B-mode skin scans to a parameter table (and overlays).

Thin: parse options, call :func:`skintrial.instruments.ultrasound.ultrasound_files`, write the CSV
(to a temporary file renamed into place, so a failed run leaves nothing half-written).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from skintrial.cli._app import app, err_console, guarded


def _parse_spacing(text: str | None):
    from skintrial.errors import InputError, Problem

    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 2) or any(not v > 0 for v in values):
        raise InputError(Problem("--pixel-spacing-mm takes one positive number or 'ROW,COL' in mm",
                                 value=text, fix="e.g. --pixel-spacing-mm 0.0125"))
    return values[0] if len(values) == 1 else values


def _read_manifest(path: Path) -> dict:
    """``file, pixel_spacing_mm[, pixel_spacing_col_mm]`` → {file: spacing}."""
    import pandas as pd

    from skintrial.errors import InputError, Problem

    if not path.is_file():
        raise InputError(Problem("spacing manifest not found", file=str(path), fix="check the path"))
    table = pd.read_csv(path)
    missing = [c for c in ("file", "pixel_spacing_mm") if c not in table.columns]
    if missing:
        raise InputError(Problem(f"missing column(s) {', '.join(missing)}", file=str(path), row=1,
                                 fix="give columns file, pixel_spacing_mm [, pixel_spacing_col_mm]"))
    col = table["pixel_spacing_col_mm"] if "pixel_spacing_col_mm" in table else table["pixel_spacing_mm"]
    spacing = {}
    for i, (name, dy, dx) in enumerate(zip(table["file"], table["pixel_spacing_mm"], col, strict=True)):
        if not (dy > 0 and dx > 0):
            raise InputError(Problem("pixel spacing must be a positive number of mm", file=str(path),
                                     row=i + 2, column="pixel_spacing_mm", value=dy, fix="e.g. 0.0125"))
        spacing[str(name)] = (float(dy), float(dx))
    return spacing


@app.command("ultrasound")
@guarded
def ultrasound(
    files: Annotated[list[Path], typer.Argument(help="B-mode scans: DICOM, PNG or TIFF.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parameter CSV, one row per file.")],
    pixel_spacing_mm: Annotated[str | None, typer.Option(
        help="Spacing (mm) for files without calibration: one number, or 'ROW,COL'.")] = None,
    spacing_manifest: Annotated[Path | None, typer.Option(
        help="CSV with file, pixel_spacing_mm [, pixel_spacing_col_mm] per file name.")] = None,
    overlay_dir: Annotated[Path | None, typer.Option(
        help="Write an overlay PNG per scan here (<file stem>.png).")] = None,
    upper_fraction: Annotated[float, typer.Option(
        help="Depth fraction of the dermis counted as upper dermis.")] = 0.5,
) -> None:
    """Dermal thickness, echogenicity (LEP/MEP/HEP, upper vs lower dermis) and SLEB per scan.

    One CSV row per file (columns in docs/ultrasound.md); qc holds the flags, or 'error: ...' for a
    file that cannot be read, and the rest of the batch goes on.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from skintrial.instruments.ultrasound import ultrasound_files

    spacing = _parse_spacing(pixel_spacing_mm)
    if spacing_manifest is not None:
        manifest = _read_manifest(spacing_manifest)
        if spacing is not None:  # the manifest names files; the option covers the others
            manifest = {str(f): manifest.get(str(f), manifest.get(f.name, spacing)) for f in files}
        spacing = manifest
    columns = (TextColumn("ultrasound"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("scans", total=len(files))
        table = ultrasound_files(files, pixel_spacing_mm=spacing, overlay_dir=overlay_dir,
                                 upper_fraction=upper_fraction,
                                 progress=lambda k: bar.advance(task, k))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    table.to_csv(tmp, index=False)
    os.replace(tmp, out)
    errors = int(table["qc"].str.startswith("error").sum())
    flagged = int((table["qc"] != "").sum()) - errors
    err_console.print(f"{len(table)} scans -> {out} ({flagged} flagged, {errors} unreadable)")
