"""High-frequency skin ultrasound (20–50 MHz B-mode): scans to dermal thickness, echogenicity and SLEB.

Public functions:

- :func:`read_ultrasound` — DICOM (with its calibration), PNG or TIFF → :class:`UltrasoundImage`;
- :func:`ultrasound_parameters` — one image → :class:`UltrasoundResult` (parameters, QC flags, layers);
- :func:`ultrasound_files` — a batch of files → a DataFrame with the columns :data:`ULTRASOUND_COLUMNS`;
- :func:`overlay_png` — the detected layers drawn on the scan, for a person to check;
- :func:`write_ultrasound_dicom` — pixels + spacing → an ultrasound DICOM file (phantoms, tests).

The method and every definition are in ``docs/ultrasound.md``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from skintrial.cluster import InProcess, as_runner, split
from skintrial.errors import InputError, Problem
from skintrial.instruments._batch import error_cell, files_per_task
from skintrial.instruments._ultrasound_detect import DetectionSettings
from skintrial.instruments._ultrasound_io import (
    SpacingArg,
    UltrasoundImage,
    read_ultrasound,
    write_ultrasound_dicom,
)
from skintrial.instruments._ultrasound_measure import (
    COLUMNS,
    NUMERIC,
    QC_FLAGS,
    Echogenicity,
    UltrasoundResult,
    combine_frames,
    measure_stack,
)
from skintrial.instruments._ultrasound_overlay import overlay_png

__all__ = [
    "ULTRASOUND_COLUMNS",
    "ULTRASOUND_QC_FLAGS",
    "DetectionSettings",
    "Echogenicity",
    "UltrasoundImage",
    "UltrasoundResult",
    "overlay_png",
    "overlay_paths",
    "overlay_problems",
    "read_ultrasound",
    "ultrasound_files",
    "ultrasound_parameters",
    "write_ultrasound_dicom",
]

ULTRASOUND_COLUMNS = COLUMNS
ULTRASOUND_QC_FLAGS = QC_FLAGS


def _echogenicity(upper_fraction: float, low_max: int, high_min: int) -> Echogenicity:
    problems = []
    if not 0.0 < upper_fraction < 1.0:
        problems.append(
            Problem(
                "upper_fraction must lie strictly between 0 and 1",
                column="upper_fraction",
                value=upper_fraction,
                fix="use 0.5 to split the dermis into halves",
            )
        )
    if not 0 <= low_max < high_min <= 255:
        problems.append(
            Problem(
                "echogenicity thresholds must satisfy 0 <= low_max < high_min <= 255",
                value=(low_max, high_min),
                fix="use the documented 30 and 201",
            )
        )
    InputError.collect(problems)
    return Echogenicity(low_max=int(low_max), high_min=int(high_min), upper_fraction=float(upper_fraction))


def _check_pixels(image: UltrasoundImage) -> np.ndarray:
    stack = image.frames()
    if stack.dtype != np.uint8 or stack.ndim != 3 or min(stack.shape[1:]) < 16:
        raise InputError(
            Problem(
                "a scan must be 8-bit grey levels of at least 16 × 16 pixels",
                file=image.source,
                value=f"{stack.dtype} {stack.shape}",
                fix="read the file with read_ultrasound",
            )
        )
    return stack


def ultrasound_parameters(
    image: UltrasoundImage,
    *,
    upper_fraction: float = 0.5,
    low_max: int = 30,
    high_min: int = 201,
    frame: int | None = None,
    settings: DetectionSettings | None = None,
) -> UltrasoundResult:
    """Dermal thickness, echogenicity and SLEB of one B-mode scan, with QC flags.

    The skin surface and the dermis/subcutis border are traced across the whole image as smooth
    paths (dynamic programming over laterally binned depth profiles); the entry echo's lower edge is
    the top of the dermis. Then:

    - ``dermal_thickness_mm``: median over columns of (border − top of dermis) × row spacing, and
      ``dermal_thickness_iqr_mm`` its interquartile range over columns;
    - ``entry_echo_mm``: thickness of the entry echo (surface to its lower edge), median over columns;
    - ``lep_fraction``, ``mep_fraction``, ``hep_fraction``: fractions of dermis pixels with grey
      levels 0–``low_max`` (30), between, and ``high_min``–255 (201–255);
    - ``lep_upper``, ``lep_lower``: LEP fraction in the upper ``upper_fraction`` of the local dermal
      thickness and in the rest; ``lep_ratio`` = upper / lower (Crisan et al. 2012's LEPs/LEPi);
    - ``sleb_thickness_mm``: the band below the entry echo in which most pixels are low-echogenic
      (median over columns; 0 when there is none).

    QC flags: ``entry_echo_not_found``, ``border_not_found`` (the affected values are NaN),
    ``low_contrast`` (1st–99th percentile grey-level range under 100), ``saturation`` (over 2% of the
    pixels below the surface at 255) and ``spacing_missing`` (millimetre values NaN, fractions kept).

    Parameters
    ----------
    image
        From :func:`read_ultrasound`, or built from an array with its spacing.
    upper_fraction
        Depth fraction of the dermis counted as upper dermis (0.5: halves).
    low_max, high_min
        Echogenicity thresholds on the 0–255 scale.
    frame
        For a cine loop, analyse only this frame; by default every frame is analysed and each
        parameter is the median over frames (a flag raised in any frame is kept).
    settings
        Detection tuning (:class:`DetectionSettings`); the defaults suit 20–50 MHz facial scans.

    Returns
    -------
    UltrasoundResult
        ``result.as_row()`` is the output row; ``result.layers`` the boundaries for the overlay.

    Notes
    -----
    Checked against simulated phantoms with known layers (``skintrial.plan.simulate_ultrasound``):
    thickness within 2%, echogenicity fractions within 0.02 of the truth (tests/instruments).

    Examples
    --------
    >>> from skintrial.plan import simulate_ultrasound
    >>> pixels, truth = simulate_ultrasound(dermal_thickness_mm=1.8, lep_upper=0.35, lep_lower=0.12,
    ...                                     sleb_thickness_mm=0.2, seed=3)
    >>> result = ultrasound_parameters(UltrasoundImage(pixels, spacing_mm=(0.0125, 0.0125)))
    >>> bool(abs(result["dermal_thickness_mm"] / truth["dermal_thickness_mm"] - 1) < 0.02)
    True
    >>> bool(abs(result["lep_upper"] - truth["lep_upper"]) < 0.02), result["qc"]
    (True, '')
    """
    e = _echogenicity(upper_fraction, low_max, high_min)
    stack = _check_pixels(image)
    if frame is not None:
        if not 0 <= frame < stack.shape[0]:
            raise InputError(
                Problem(
                    f"frame {frame} does not exist (the file has {stack.shape[0]})",
                    file=image.source,
                    value=frame,
                    fix="count frames from 0",
                )
            )
        stack = stack[frame : frame + 1]
    values, flags, layers = measure_stack(
        stack, spacing_mm=image.spacing_mm, echogenicity=e, settings=settings
    )
    if len(values) == 1:
        combined, qc, chosen = values[0], flags[0], 0
    else:
        combined, qc, chosen = combine_frames(values, flags)
    if frame is not None:
        image = replace(image, pixels=stack)
    return UltrasoundResult(
        file=image.source,
        values=combined,
        qc=qc,
        layers=layers,
        frame=chosen,
        spacing_mm=image.spacing_mm,
        echogenicity=e,
    )


def _error_row(path: str, exc: InputError) -> dict:
    return {"file": path, **dict.fromkeys(NUMERIC, np.nan), "qc": error_cell(exc)}


def _overlay_names(paths: list[str]) -> list[str]:
    """``<stem>.png`` for each file; repeated stems get ``_2``, ``_3``, … in input order."""
    seen: dict[str, int] = defaultdict(int)
    names = []
    for p in paths:
        stem = Path(p).stem
        seen[stem] += 1
        names.append(f"{stem}.png" if seen[stem] == 1 else f"{stem}_{seen[stem]}.png")
    return names


def overlay_paths(paths: Iterable[str | Path], overlay_dir: str | Path) -> list[Path]:
    """Where :func:`ultrasound_files` writes the overlay of each file: ``overlay_dir/<stem>.png``, a
    repeated stem getting ``_2``, ``_3``, … in input order.

    Examples
    --------
    >>> [p.as_posix() for p in overlay_paths(["a/s.dcm", "b/s.png", "t.tif"], "qc")]
    ['qc/s.png', 'qc/s_2.png', 'qc/t.png']
    """
    return [Path(overlay_dir) / name for name in _overlay_names([str(p) for p in paths])]


def overlay_problems(
    paths: Iterable[str | Path], overlay_dir: str | Path, *, option: str = "overlay_dir"
) -> list[Problem]:
    """A problem when an overlay would be written over one of the input files ``paths`` (the same
    path, or the same file on disk): ``overlay_dir`` is the scans' own folder, and an overlay would
    replace a scan. Empty when no overlay path is an input."""
    from skintrial._io import input_hits

    files = [Path(p) for p in paths]
    hits = input_hits(overlay_paths(files, overlay_dir), files)
    if not hits:
        return []
    shown = ", ".join(str(i) for _, i in hits[:3]) + (f" and {len(hits) - 3} more" if len(hits) > 3 else "")
    return [
        Problem(
            f"{len(hits)} overlay(s) would be written over the input scan(s) {shown}, replacing them",
            file=str(overlay_dir),
            column=option,
            fix=f"choose another {option}, a folder apart from the scans "
            f"(e.g. {option} {Path(overlay_dir).resolve().name or 'scans'}-overlays)",
        )
    ]


def ultrasound_files(
    paths: Iterable[str | Path],
    *,
    pixel_spacing_mm: SpacingArg = None,
    overlay_dir: str | Path | None = None,
    upper_fraction: float = 0.5,
    low_max: int = 30,
    high_min: int = 201,
    settings: DetectionSettings | None = None,
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
    client: Any = None,
):
    """Analyse many scans; one row per file with the columns :data:`ULTRASOUND_COLUMNS`.

    Single-frame scans of the same shape and spacing are analysed together, ``batch_size`` at a
    time, by the same array operations (the detection is vectorised over scans); a cine loop is
    analysed as its own stack of frames. A file that cannot be read or analysed (an
    :class:`~skintrial.errors.InputError`: missing, corrupt or truncated, too small, unusable) never
    stops the batch: its row has NaN values and ``qc`` = ``"error: <message>"``. An overlay that
    cannot be written (``OSError``, or a full disk) adds ``"error: overlay not written (...)"`` to the row's ``qc``
    and keeps its values. Any other exception is a defect of skintrial and is raised.

    Parameters
    ----------
    paths
        DICOM, PNG or TIFF files.
    pixel_spacing_mm
        Spacing for files that carry none: one number, a (row, col) pair, or a mapping from file
        name (or path) to either — a manifest. Calibrated DICOM files keep their own spacing.
    overlay_dir
        If given, an overlay PNG per scan is written there as ``<file stem>.png`` (repeated stems
        get ``_2``, ``_3``, … in input order: :func:`overlay_paths`). An overlay path that is one of
        the input files (``--overlay-dir`` the scans' own folder) raises :class:`InputError` before
        anything is read: an overlay never replaces a scan.
    upper_fraction, low_max, high_min, settings
        As in :func:`ultrasound_parameters`.
    batch_size
        Scans analysed at once (memory grows by about 10 MB per 512 × 1024 scan).
    progress
        Called with the number of files just finished (for a progress bar); on a cluster, once per
        finished chunk.
    client
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process. On a
        cluster the files are cut into chunks (:func:`~skintrial.instruments._batch.files_per_task`:
        up to 200 scans, about four per worker) and each worker reads, measures and draws the
        overlays of its chunk; the workers must see the scans and ``overlay_dir`` at the same paths
        (shared storage). The table is identical to the one this process gives.

    Returns
    -------
    pandas.DataFrame
        Rows in input order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from skintrial.plan import simulate_ultrasound
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for i, t in enumerate([1.4, 2.0]):
    ...     pixels, _ = simulate_ultrasound(dermal_thickness_mm=t, lep_upper=0.3, lep_lower=0.1, seed=i)
    ...     Image.fromarray(pixels).save(folder / f"scan{i}.png")
    >>> (folder / "broken.png").write_text("not an image")
    12
    >>> table = ultrasound_files(sorted(folder.glob("*.png")), pixel_spacing_mm=0.0125)
    >>> table["dermal_thickness_mm"].round(1).tolist()[1:]
    [1.4, 2.0]
    >>> table["qc"].str.startswith("error").tolist()
    [True, False, False]
    """
    import pandas as pd

    from skintrial._io import remove_stale_temps

    e = _echogenicity(upper_fraction, low_max, high_min)
    files = [str(p) for p in paths]
    overlays: list[str | None] = [None] * len(files)
    if overlay_dir is not None:
        InputError.collect(overlay_problems(files, overlay_dir))
        remove_stale_temps(Path(overlay_dir))  # of killed runs, once (overlay_png leaves it to the batch)
        overlays = [
            str(p) for p in overlay_paths(files, overlay_dir)
        ]  # named here: stems repeat across chunks
    runner = as_runner(client)
    if isinstance(runner, InProcess) or not files:
        rows = _measure_scans(files, overlays, pixel_spacing_mm, e, settings, batch_size, progress)
    else:
        chunk = files_per_task(len(files), runner.workers, file_s=SCAN_S, smallest=batch_size)
        shared = {"pixel_spacing_mm": pixel_spacing_mm, "echogenicity": e, "settings": settings}
        parts = runner.map(
            _scan_chunk,
            split(list(zip(files, overlays, strict=True)), chunk),
            shared={"per_batch": batch_size, **{k: v for k, v in shared.items() if v is not None}},
            progress=progress,
            size=len,
            name="ultrasound",
        )
        rows = [row for part in parts for row in part]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype({k: "float64" for k in NUMERIC})


SCAN_S = 0.010
"""What one 512 × 1024 scan costs to read and measure (about 10 ms on the 2-core development
machine, in this process): sets the smallest cluster chunk (:func:`~skintrial.instruments._batch.files_per_task`)."""


def _scan_chunk(
    chunk: list[tuple[str, str | None]],
    *,
    per_batch: int,
    echogenicity: Echogenicity,
    pixel_spacing_mm: SpacingArg = None,
    settings: DetectionSettings | None = None,
) -> list[dict]:
    """A cluster task: the rows of a chunk of ``(scan, overlay path or None)``, measured on a worker
    exactly as :func:`ultrasound_files` measures them in this process (overlays written by the
    worker to the path given, which must be on storage the workers share). ``per_batch`` is
    ``batch_size`` (a name ``Client.map`` keeps for itself)."""
    files = [path for path, _ in chunk]
    overlays = [overlay for _, overlay in chunk]
    return _measure_scans(files, overlays, pixel_spacing_mm, echogenicity, settings, per_batch, None)


def _measure_scans(
    files: list[str],
    overlays: list[str | None],
    pixel_spacing_mm: SpacingArg,
    e: Echogenicity,
    settings: DetectionSettings | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> list[dict]:
    """One row per file, in order: scans of one shape and spacing measured ``batch_size`` at a time
    (a scan's values never depend on the scans batched with it: tests/cluster/test_instruments_cluster.py)."""
    rows: dict[int, dict] = {}
    pending: dict[tuple, list[tuple[int, UltrasoundImage]]] = defaultdict(list)

    def finish(index: int, image: UltrasoundImage, result: UltrasoundResult) -> None:
        rows[index] = result.as_row()
        target = overlays[index]
        if target is not None:
            try:
                overlay_png(image, result, Path(target))
            except (
                OSError,
                InputError,
            ) as exc:  # a full disk is an InputError of the writer  # an overlay the disk does not take (full, read-only) never costs the row
                rows[index]["qc"] = ";".join(
                    filter(None, [rows[index]["qc"], error_cell(f"overlay not written ({exc})")])
                )
        if progress is not None:
            progress(1)

    def flush(key: tuple) -> None:
        batch = pending.pop(key, [])
        if batch:
            _analyse_batch(batch, e, settings, finish, rows, progress)

    for index, path in enumerate(files):
        try:
            image = read_ultrasound(path, pixel_spacing_mm=pixel_spacing_mm)
            _check_pixels(image)
        except InputError as exc:  # one bad file never stops the batch; a defect of ours does
            rows[index] = _error_row(path, exc)
            if progress is not None:
                progress(1)
            continue
        if image.n_frames > 1:
            _analyse_batch([(index, image)], e, settings, finish, rows, progress)
            continue
        key = (image.pixels.shape, image.spacing_mm)
        pending[key].append((index, image))
        if len(pending[key]) >= batch_size:
            flush(key)
    for key in list(pending):
        flush(key)
    return [rows[i] for i in range(len(files))]


def _analyse_batch(batch, e: Echogenicity, settings, finish, rows, progress) -> None:
    """Analyse images together; if that fails on the input, one by one so only the bad one gets an error
    row. Any other exception is a defect and stops the batch."""
    if len(batch) > 1:
        try:
            stack = np.stack([img.pixels for _, img in batch])
            values, flags, layers = measure_stack(
                stack, spacing_mm=batch[0][1].spacing_mm, echogenicity=e, settings=settings
            )
        except InputError:
            for item in batch:
                _analyse_batch([item], e, settings, finish, rows, progress)
            return
        for j, (index, image) in enumerate(batch):
            one = _take(layers, j)
            finish(
                index, image, UltrasoundResult(image.source, values[j], flags[j], one, 0, image.spacing_mm, e)
            )
        return
    index, image = batch[0]
    try:
        result = ultrasound_parameters(
            image, upper_fraction=e.upper_fraction, low_max=e.low_max, high_min=e.high_min, settings=settings
        )
    except InputError as exc:
        rows[index] = _error_row(image.source, exc)
        if progress is not None:
            progress(1)
        return
    finish(index, image, result)


def _take(layers, j: int):
    """The layers of scan ``j`` of a batch, as a one-scan :class:`Layers`."""
    from dataclasses import fields

    return type(layers)(**{f.name: getattr(layers, f.name)[j : j + 1] for f in fields(layers)})
