"""Cutometer suction curves to skin elasticity parameters (Ue, Uv, Uf, Ur, Ua, R0-R9) with quality flags.

The Cutometer draws the skin into a probe opening under a constant vacuum for the *on* time, releases it
for the *off* time, and records how far the skin rises (deformation, mm) against time, for one or several
suction/relaxation cycles. Its vendor software reads a few points on this curve (the immediate elastic
rise Ue at 0.1 s, the final deformation Uf at the end of suction, the immediate retraction Ur and the
total recovery Ua after release) and ratios of them (R0-R9). skintrial computes the same quantities from
the raw curve, batched: all curves are stacked into one 2-D array and every point, ratio and quality
check is a vectorised operation over curves and cycles.

Every definition (formula, unit, source, and whether it is skintrial's own choice where the literature
we could read leaves it open) lives in one table, :data:`PARAMETERS`; the quality flags and thresholds in
:data:`QC_FLAGS` and :data:`QC_THRESHOLDS`. ``docs/cutometer.md`` explains them for a researcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skintrial.cluster import InProcess, as_runner, split
from skintrial.errors import InputError, Problem
from skintrial.instruments._batch import error_cell, files_per_task
from skintrial.instruments._cutometer_cycles import Cycles, find_cycles
from skintrial.instruments._cutometer_defs import (
    CYCLE_COLUMNS,
    INFORMATIONAL_FLAGS,
    OUTPUT_COLUMNS,
    PARAMETERS,
    PHASE_COLUMNS,
    POINTS,
    QC_FLAGS,
    QC_THRESHOLDS,
)
from skintrial.instruments._cutometer_points import cycle_points, largest_step, row_checks
from skintrial.instruments._cutometer_read import read_cutometer
from skintrial.instruments._cutometer_stack import UNORDERED, CurveLayout, merge_chunks, stack_curves

__all__ = [
    "read_cutometer",
    "cutometer_cycles",
    "cutometer_parameters",
    "cutometer_files",
    "PARAMETERS",
    "QC_FLAGS",
    "QC_THRESHOLDS",
    "OUTPUT_COLUMNS",
    "CYCLE_COLUMNS",
    "INFORMATIONAL_FLAGS",
]

_METHODS = ("read_time", "inflection")
_CHUNK_SAMPLES = 1_000_000  # ~8 MB per array: chunks stay in the 32-MB L3 cache (1M: 6-11 % less CPU than
# 500k with and without phase detection, 2M far worse with it; bench curves, 2026-12-07)
_CYCLE_R = tuple(n for n, d in PARAMETERS.items() if n not in POINTS and d.level == "cycle")
_CYCLE_FLAGS = ("too_few_samples", "no_plateau", "drift")


def _options(curves, on_s, off_s, read_time_s, method, qc_thresholds, onset_s=0.0) -> dict[str, float]:
    problems = []
    if curves is not None:
        for col in ("time_s", "deformation_mm"):
            if col not in curves.columns:
                problems.append(
                    Problem(
                        f"required column {col!r} missing",
                        column=col,
                        fix="read curves with read_cutometer(), or rename your columns",
                    )
                )
    if method not in _METHODS:
        problems.append(Problem(f"unknown method {method!r}", value=method, fix=f"use one of {_METHODS}"))
    if not (np.isfinite(read_time_s) and read_time_s > 0):
        problems.append(
            Problem(
                "read time must be a positive number of seconds",
                value=read_time_s,
                fix="the Cutometer convention is read_time_s=0.1",
            )
        )
    elif on_s is not None and not on_s > read_time_s:
        problems.append(
            Problem(
                "the suction (on) time must be longer than the read time",
                value=on_s,
                fix="give the suction duration in seconds, e.g. on_s=2",
            )
        )
    if off_s is not None and on_s is None:
        problems.append(Problem("off_s given without on_s", value=off_s, fix="give both on_s and off_s"))
    if not (np.isfinite(onset_s) and onset_s >= 0):
        problems.append(
            Problem(
                "the onset must be a number of seconds >= 0",
                value=onset_s,
                fix="give the time from the first sample to the start of suction, e.g. "
                "onset_s=1.0 (CLI: --onset 1.0); 0 when suction starts at the first sample",
            )
        )
    if off_s is not None and not off_s >= read_time_s:
        problems.append(
            Problem(
                "the relaxation (off) time must be at least the read time",
                value=off_s,
                fix="give the relaxation duration in seconds, e.g. off_s=2",
            )
        )
    th = dict(QC_THRESHOLDS)
    for key, value in (qc_thresholds or {}).items():
        if key not in th:
            problems.append(
                Problem(
                    f"unknown QC threshold {key!r}", value=key, fix=f"use one of {', '.join(QC_THRESHOLDS)}"
                )
            )
        else:
            th[key] = float(value)
    InputError.collect(problems)
    return th


def _analyse(curves: pd.DataFrame, on_s, off_s, read_time_s, method, th, onset_s=0.0):
    """Stack, find cycles, read points, run the checks.

    Everything that touches the samples (grid checks, pressure edges, steps, the points and the
    end-of-phase windows) runs per chunk of curves, while the chunk is in the CPU cache; only the rare
    candidates of the curve-level checks are looked up again afterwards.
    """
    layout = stack_curves(curves)
    parts, cycles, steps, pts = _chunk_passes(layout, on_s, off_s, read_time_s, method, th, onset_s)
    if any(np.any(s.error == UNORDERED) for _, s in parts):  # rows out of time order: sort, redo
        layout = stack_curves(curves, sort=True)
        parts, cycles, steps, pts = _chunk_passes(layout, on_s, off_s, read_time_s, method, th, onset_s)
    full = merge_chunks(layout, parts)
    cat = np.concatenate
    c = Cycles(
        *(
            cat([getattr(x, f) for x in cycles]) if cycles else np.zeros(0, dtype=dtype)
            for f, dtype in (
                ("row", np.intp),
                ("k", np.intp),
                ("t_on", float),
                ("t_off", float),
                ("t_end", float),
                ("incomplete", bool),
                ("error", object),
                ("inferred", bool),
                ("ambiguous", bool),
            )
        )
    )
    pts = {key: cat([p[key] for p in pts]) for key in pts[0]} if pts else {}
    if not pts:  # no curves at all: the per-cycle arrays are empty
        pts = cycle_points(full, c, read_time_s=read_time_s, method=method, thresholds=th)
    flags = row_checks(full, c, pts, cat(steps) if steps else np.zeros(0), th)
    return layout, c, pts, flags


def _chunk_passes(layout: CurveLayout, on_s, off_s, read_time_s, method, th, onset_s=0.0):
    """Per chunk of curves: grid checks, cycles, largest step, points and per-cycle checks."""
    g = len(layout)
    step = max(1, _CHUNK_SAMPLES // max(layout.y.shape[1], 1))
    parts, cycles, steps, pts = [], [], [], []
    for a in range(0, g, step):
        s = layout.chunk(a, min(a + step, g))
        c = find_cycles(s, on_s=on_s, off_s=off_s, read_time_s=read_time_s, onset_s=onset_s)
        steps.append(largest_step(s, c, th))
        pts.append(cycle_points(s, c, read_time_s=read_time_s, method=method, thresholds=th))
        parts.append((a, s))
        cycles.append(
            Cycles(c.row + a, c.k, c.t_on, c.t_off, c.t_end, c.incomplete, c.error, c.inferred, c.ambiguous)
        )
    return parts, cycles, steps, pts


def _cycle_values(pts) -> dict[str, np.ndarray]:
    vals = {p: pts[p] for p in POINTS}
    for name in _CYCLE_R:
        vals[name] = PARAMETERS[name].compute(pts)
    return vals


def _join_flags(flags: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    """Semicolon-joined flag names per row (strings built once per distinct combination)."""
    names = [name for name in QC_FLAGS if name in flags]
    code = np.zeros(size, dtype=np.int64)
    for bit, name in enumerate(names):
        code |= np.asarray(flags[name], dtype=np.int64) << bit
    if not size:
        return np.zeros(0, dtype=object)
    table = np.empty(int(code.max()) + 1, dtype=object)
    for u in np.flatnonzero(np.bincount(code)):  # once per combination that occurs
        table[u] = ";".join(nm for b, nm in enumerate(names) if u >> b & 1)
    return table[code]


def cutometer_cycles(
    curves: pd.DataFrame,
    *,
    on_s: float | None = None,
    off_s: float | None = None,
    read_time_s: float = 0.1,
    method: str = "read_time",
    qc_thresholds: Mapping[str, float] | None = None,
    onset_s: float = 0.0,
) -> pd.DataFrame:
    """One row per suction/relaxation cycle: phase times, points, cycle-level ratios and flags.

    Same options as :func:`cutometer_parameters`. ``t_read_on_s``/``t_read_off_s`` are the times after
    onset/release at which Ue/Ur were read (the read time, or the knee with ``method="inflection"``);
    ``peak_mm``/``trough_mm`` the end-of-suction/end-of-relaxation deformation above the cycle-1
    baseline; ``noise_mm`` the robust noise estimate; ``qc`` the cycle-level flags (too_few_samples,
    no_plateau, drift). Columns: :data:`CYCLE_COLUMNS`.

    Examples
    --------
    >>> from skintrial.plan import simulate_cutometer
    >>> curves, truth = simulate_cutometer(1, n_cycles=3, noise_mm=0.0, seed=1)
    >>> cutometer_cycles(curves)[["cycle", "t_on_s", "t_off_s"]].to_numpy().tolist()
    [[1.0, 0.0, 2.0], [2.0, 4.0, 6.0], [3.0, 8.0, 10.0]]
    """
    th = _options(curves, on_s, off_s, read_time_s, method, qc_thresholds, onset_s)
    stack, c, pts, _ = _analyse(curves, on_s, off_s, read_time_s, method, th, onset_s)
    vals = _cycle_values(pts)
    out = pd.DataFrame(
        {
            "file": stack.keys["file"].to_numpy()[c.row],
            "measurement_id": stack.keys["measurement_id"].to_numpy()[c.row],
            "cycle": c.k,
            "t_on_s": c.t_on,
            "t_off_s": c.t_off,
            "t_end_s": c.t_end,
            "t_read_on_s": pts.get("t_read_on", np.zeros(0)),
            "t_read_off_s": pts.get("t_read_off", np.zeros(0)),
            "baseline_mm": pts.get("baseline", np.zeros(0)),
            **vals,
            "peak_mm": pts.get("peak", np.zeros(0)),
            "trough_mm": pts.get("trough", np.zeros(0)),
            "noise_mm": pts.get("noise", np.zeros(0)),
            "qc": _join_flags({f: pts[f] for f in _CYCLE_FLAGS if f in pts}, c.row.size),
        }
    )
    return out[list(CYCLE_COLUMNS)]


def cutometer_parameters(
    curves: pd.DataFrame,
    *,
    on_s: float | None = None,
    off_s: float | None = None,
    read_time_s: float = 0.1,
    method: str = "read_time",
    drop_first_cycle: bool = False,
    qc_thresholds: Mapping[str, float] | None = None,
    onset_s: float = 0.0,
) -> pd.DataFrame:
    """Ue, Uv, Uf, Ur, Ua and R0-R9 of every measurement, with quality flags; batched over curves.

    Phases come from the pressure channel where a curve has one (a sample is under suction when
    ``|p|`` is at least half the curve's maximum), otherwise (no pressure values, or a pressure channel
    at 0 throughout) from the declared suction and relaxation durations ``on_s`` and ``off_s`` repeated
    from the declared onset, ``onset_s`` after the first sample (``off_s=None``: one cycle whose
    relaxation runs to the end of the record). Each complete cycle gets its points (formulas in
    :data:`PARAMETERS`): Ue read ``read_time_s`` after onset, Uf at release, Ur ``read_time_s`` after
    release, Ua at the end of relaxation. ``method="inflection"`` reads Ue and Ur instead at the knee of
    each curve, the point farthest from the chord of its phase (skintrial's stand-in for the per-curve
    inflection point of Ohshima et al. 2016, whose algorithm we could not read).

    Single-curve parameters are those of cycle 1; with ``drop_first_cycle=True`` they are the means of
    the per-cycle values over cycles 2..n (Abbas et al. 2021 found cycle 1 differs). R3, R4, R9 use the
    first and the last cycle of the record, whatever that option. A flagged curve keeps its numbers and
    its flags (``qc``, semicolon-separated names of :data:`QC_FLAGS`; empty when clean); a curve that
    cannot be measured at all gets NaN and ``qc = "error: ..."``.

    Checked against: curves simulated with known Ue/Uv/Ur/Ua (tests/instruments/test_cutometer.py) and
    a per-curve reference implementation (benchmarks/bench_cutometer.py).

    Parameters
    ----------
    curves : pandas.DataFrame
        Long table as from :func:`read_cutometer` (``time_s``, ``deformation_mm``; optional ``file``,
        ``measurement_id``, ``pressure_mbar``).
    on_s, off_s : float, optional
        Declared suction and relaxation durations (s), used for curves without pressure values (or
        whose pressure channel shows no suction).
    onset_s : float
        With declared durations: time (s) from the record's first sample to the start of the first
        suction, for records with a rest before it (default 0: suction starts at the first sample).
    read_time_s : float
        Time after onset/release at which Ue/Ur are read (Cutometer convention 0.1 s).
    method : {"read_time", "inflection"}
    drop_first_cycle : bool
        Average cycles 2..n instead of reporting cycle 1 (flag ``too_few_cycles`` when n = 1).
    qc_thresholds : dict, optional
        Overrides of :data:`QC_THRESHOLDS`.

    Returns
    -------
    pandas.DataFrame
        One row per measurement, columns :data:`OUTPUT_COLUMNS`.

    Examples
    --------
    >>> from skintrial.plan import simulate_cutometer
    >>> curves, truth = simulate_cutometer(2, ue=0.18, uv=0.09, ur=0.12, ua=0.2, noise_mm=0.0, seed=0)
    >>> res = cutometer_parameters(curves)
    >>> res[["ue", "uf", "r2", "r5", "r7"]].round(4).to_numpy().tolist()[0]
    [0.18, 0.27, 0.7407, 0.6667, 0.4444]
    >>> res["qc"].tolist()
    ['', '']
    """
    th = _options(curves, on_s, off_s, read_time_s, method, qc_thresholds, onset_s)
    stack, c, pts, flags = _analyse(curves, on_s, off_s, read_time_s, method, th, onset_s)
    return _aggregate(stack, c, pts, flags, drop_first_cycle, th)


def _aggregate(stack: CurveLayout, c: Cycles, pts, flags, drop_first: bool, th) -> pd.DataFrame:
    g = len(stack)
    n_cycles = np.bincount(c.row, minlength=g)
    vals = _cycle_values(pts)
    use = c.k >= 2 if drop_first else c.k == 1
    cnt = np.bincount(c.row[use], minlength=g)
    out: dict[str, np.ndarray] = {}
    if use.all() and c.row.size == g and np.array_equal(c.row, np.arange(g)):  # one cycle per curve
        out = dict(vals)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, v in vals.items():
                out[name] = np.bincount(c.row[use], weights=v[use], minlength=g) / np.where(cnt, cnt, np.nan)
    last = np.r_[c.row[1:] != c.row[:-1], True][: c.row.size]
    first = np.r_[True, c.row[1:] != c.row[:-1]][: c.row.size]
    per = {key: np.full(g, np.nan) for key in ("peak_last", "trough_last", "uf_first")}
    per["peak_last"][c.row[last]] = pts["peak"][last]
    per["trough_last"][c.row[last]] = pts["trough"][last]
    per["uf_first"][c.row[first]] = pts["uf"][first]
    span = c.t_end - c.t_on  # the envelopes as steps over each cycle (F2, F4)
    per["f2"] = np.where(n_cycles > 0, np.bincount(c.row, weights=pts["trough"] * span, minlength=g), np.nan)
    per["f4"] = np.where(n_cycles > 0, np.bincount(c.row, weights=pts["peak"] * span, minlength=g), np.nan)
    for name, d in PARAMETERS.items():
        if d.level == "measurement":
            out[name] = d.compute(per)
    for f in _CYCLE_FLAGS:
        flags[f] = np.bincount(c.row, weights=pts[f].astype(float), minlength=g) > 0
    ok = c.error == ""
    flags["phases_inferred"] = ok & c.inferred
    flags["phases_ambiguous"] = ok & c.ambiguous
    flags["no_complete_cycle"] = ok & (n_cycles == 0) & ~c.ambiguous
    flags["incomplete_cycle"] = ok & c.incomplete
    flags["too_few_cycles"] = ok & drop_first & (n_cycles == 1)
    flags["implausible"] = ok & (cnt > 0) & _implausible(out, th)
    qc = np.where(ok, _join_flags(flags, g), "error: " + c.error.astype(str))
    table = pd.DataFrame(
        np.column_stack([out[n] for n in PARAMETERS]) if g else np.zeros((0, len(PARAMETERS))),
        columns=list(PARAMETERS),
    )  # one float block: no consolidation copy
    table.insert(0, "file", stack.keys["file"].to_numpy())
    table.insert(1, "measurement_id", stack.keys["measurement_id"].to_numpy())
    table.insert(2, "n_cycles", n_cycles.astype(np.int64))
    for j, (name, value) in enumerate(_phase_times(stack, c, n_cycles).items()):
        table.insert(3 + j, name, value)
    table["qc"] = qc.astype(object)
    return table


def _phase_times(stack: CurveLayout, c: Cycles, n_cycles: np.ndarray) -> dict[str, np.ndarray]:
    """The phases used, as the options that reproduce them: ``onset_s`` (first onset after the record's
    first sample), ``on_s`` and ``off_s`` (mean suction and relaxation durations over the cycles)."""
    g = len(stack)
    first = np.r_[True, c.row[1:] != c.row[:-1]][: c.row.size]
    onset = np.full(g, np.nan)
    t0 = stack.t[c.row[first], 0] if c.row.size else np.zeros(0)
    onset[c.row[first]] = c.t_on[first] - t0
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.where(n_cycles > 0, n_cycles, np.nan)
        on = np.bincount(c.row, weights=c.t_off - c.t_on, minlength=g) / den
        off = np.bincount(c.row, weights=c.t_end - c.t_off, minlength=g) / den
    return {"onset_s": onset, "on_s": on, "off_s": off}


def _implausible(v: Mapping[str, np.ndarray], th) -> np.ndarray:
    uf = v["uf"]
    with np.errstate(invalid="ignore"):
        good = (
            (uf >= th["uf_min_mm"])
            & (uf <= th["uf_max_mm"])
            & (v["ue"] > 0)
            & (v["ue"] <= th["ue_max_fraction"] * uf)
            & (v["ur"] > 0)
            & (v["ur"] <= th["ue_max_fraction"] * uf)
            & (v["ua"] >= 0)
            & (v["ua"] <= th["ua_max_fraction"] * uf)
        )
        finite = np.all([np.isfinite(v[n]) for n in PARAMETERS], axis=0)
    return ~(good & finite)


def cutometer_files(
    paths: Iterable[str | Path],
    *,
    mapping: Mapping[str, object] | None = None,
    on_file: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
    client: Any = None,
    **options,
) -> pd.DataFrame:
    """Read and measure many curve files; one row per measurement, a bad file is a row, never a stop.

    Each file is read with :func:`read_cutometer` (``mapping`` as there); all curves that could be read
    are measured together by one batched :func:`cutometer_parameters` call (``options`` as there). A
    file that cannot be read (the reader raised :class:`~skintrial.errors.InputError`), that holds no
    measurement, or whose curves the analysis rejects as input, gets one row with NaN values and
    ``qc = "error: <message>"`` (on one line); every input file has at least one row, and rows keep
    the order of ``paths``. Any other exception is a defect of skintrial, not of a file: it is raised,
    never turned into an error row.
    ``on_file(path)`` is called after each file is read, and ``progress(k)`` with the number of
    files just read (progress bars).

    ``client``: a ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process.
    On a cluster the files are cut into chunks (:func:`~skintrial.instruments._batch.files_per_task`:
    about four per worker, at least 67 and at most 200 files) and each worker reads and measures its
    chunk with the same options (the files must be at the same paths on the workers: shared storage);
    ``progress`` is called once per finished chunk, ``on_file`` for every file once all chunks are
    in. The table is identical to the one this process gives: a file's rows never depend on the files
    measured with it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skintrial.plan import simulate_cutometer
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> curves, _ = simulate_cutometer(1, seed=3)
    >>> curves.drop(columns=["file", "measurement_id"]).to_csv(d / "a.csv", index=False)
    >>> _ = (d / "b.csv").write_text("time_s,height\\n0,1\\n")
    >>> res = cutometer_files([d / "a.csv", d / "b.csv"])
    >>> res["qc"].str.startswith("error:").tolist(), res["n_cycles"].tolist()
    ([False, True], [1, 0])
    """
    _options(
        None,
        options.get("on_s"),
        options.get("off_s"),
        options.get("read_time_s", 0.1),
        options.get("method", "read_time"),
        options.get("qc_thresholds"),
        options.get("onset_s", 0.0),
    )
    names = [str(p) for p in paths]
    runner = as_runner(client)
    if not isinstance(runner, InProcess) and names:
        chunk = files_per_task(len(names), runner.workers, file_s=CURVE_FILE_S)
        tables = runner.map(
            _curve_chunk,
            split(names, chunk),
            shared={"options": options, **({"mapping": mapping} if mapping is not None else {})},
            progress=progress,
            size=len,
            name="cutometer",
        )
        if on_file is not None:
            for path in names:
                on_file(path)
        return pd.concat(tables, ignore_index=True)
    frames, errors = [], {}
    for i, path in enumerate(names):
        try:
            df = read_cutometer(path, mapping=mapping)
        except InputError as exc:  # one bad file never stops the batch; a defect of ours does
            errors[i] = error_cell(exc)
        else:
            df["file"] = str(i)
            frames.append(df)
        if on_file is not None:
            on_file(path)
        if progress is not None:
            progress(1)
    measured = _measure_frames(frames, names, options, errors) if frames else []
    parts = [p for p in measured if len(p)]
    done = {i for p in parts for i in p["_i"]}
    for i in range(len(names)):  # a file that gave no row (and no error) still gets its row
        if i not in done and i not in errors:
            errors[i] = error_cell("no measurement found in the file")
    if errors:
        bad = pd.DataFrame(
            {
                "file": [names[i] for i in errors],
                "measurement_id": "",
                "n_cycles": 0,
                **{n: np.nan for n in (*PHASE_COLUMNS, *PARAMETERS)},
                "qc": list(errors.values()),
                "_i": list(errors),
            }
        )
        parts.append(bad)
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=float if c in PARAMETERS or c in PHASE_COLUMNS else object)
                for c in OUTPUT_COLUMNS
            }
        )
    out = pd.concat(parts, ignore_index=True).sort_values("_i", kind="stable")
    out["n_cycles"] = out["n_cycles"].astype(np.int64)
    return out[list(OUTPUT_COLUMNS)].reset_index(drop=True)


CURVE_FILE_S = 0.003
"""What one curve file (one 4-s curve at 100 Hz, CSV) costs to read and measure: 2.4-3.4 ms on the
2-core development machine, in this process; sets the smallest cluster chunk."""


def _curve_chunk(
    paths: list[str], *, options: dict, mapping: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """A cluster task: :func:`cutometer_files` on a chunk of files, on a worker."""
    return cutometer_files(paths, mapping=mapping, **options)


def _measure_frames(
    frames: list[pd.DataFrame], names: list[str], options: dict, errors: dict[int, str]
) -> list[pd.DataFrame]:
    """All read files in one batched call; should that fail on the input, file by file, so that only
    the file that fails gets an error row (in ``errors``). Any other exception is a defect and stops
    the batch."""
    try:
        res = cutometer_parameters(pd.concat(frames, ignore_index=True), **options)
    except InputError as exc:
        if len(frames) > 1:
            return [part for f in frames for part in _measure_frames([f], names, options, errors)]
        errors[int(frames[0]["file"].iloc[0])] = error_cell(exc)
        return []
    idx = res["file"].astype(int).to_numpy()
    res["file"] = np.asarray(names, dtype=object)[idx]
    res["_i"] = idx
    return [res]
