"""Benchmark: 2,000 B-mode scans of 512 × 1024, ``ultrasound_files`` in this process vs ``--cluster local:2``.

Claim (issue 16): on this 2-core machine ``--cluster local:2`` is at least 1.6× faster than in-process,
and the table is identical.

Scans: the recipe of bench_ultrasound.py — 25 phantoms from ``simulate_ultrasound`` (thickness
0.9–2.5 mm, varied echogenicity and SLEB), each written 80 times (lateral shifts and mirror images) as
DICOM with its calibration (half) and PNG with the spacing given (half); written once, not timed
(``--scans DIR`` keeps them in DIR for re-runs).

Timed, in one process:

* in-process: ``ultrasound_files(paths)`` (numpy / BLAS threads as this process has them: printed);
* cluster start-up: ``connect("local:2")`` until both worker processes are ready (1 thread each,
  OMP/OPENBLAS threads 1);
* cluster run: ``ultrasound_files(paths, client=runner)`` on the fresh workers (their first task
  imports skintrial: included), chunks from ``files_per_task``;
* end-to-end: start-up + run, what ``skintrial ultrasound ... --cluster local:2`` adds up to;
* CPU seconds per scan in this process and summed over the workers (``Client.run(time.process_time)``
  before and after): what the ratio would be on idle cores, whatever else the machine runs.

Then the per-task overhead (``runner.map(abs, range(1000))`` on the same cluster, per task) and the
per-file cost (in-process time / scans) are printed: the two figures the chunk size is chosen from.
The target is checked on the run (a cluster already started, the way a scheduler serves many
commands); the end-to-end ratio is printed beside it.

Run: .venv/bin/python benchmarks/bench_cluster_ultrasound.py [--scans DIR] [--overlays]
(exit 1 when the target is missed or the tables differ)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_SCANS = 2_000
N_BASE = 25
WORKERS = 2
TARGET = 1.6
SPACING = (0.0125, 0.0125)


def make_scans(folder: Path) -> list[Path]:
    """The scans, written once into ``folder`` (reused when they are there already)."""
    from PIL import Image

    from skintrial.instruments.ultrasound import write_ultrasound_dicom
    from skintrial.plan import simulate_ultrasound

    per_base = N_SCANS // N_BASE
    names = [
        folder / f"s{b:02d}_{k:02d}.{'png' if k % 2 else 'dcm'}"
        for b in range(N_BASE)
        for k in range(per_base)
    ]
    if all(p.is_file() for p in names):
        return names
    rng = np.random.default_rng(7)
    for b in range(N_BASE):
        upper = rng.uniform(0.1, 0.45)
        pixels, _ = simulate_ultrasound(
            dermal_thickness_mm=rng.uniform(0.9, 2.5),
            lep_upper=upper,
            lep_lower=rng.uniform(0.03, upper),
            sleb_thickness_mm=float(rng.choice([0.0, 0.1, 0.2])),
            seed=b,
        )
        for k in range(per_base):
            variant = np.roll(pixels, 37 * k, axis=1)
            if k % 2:
                variant = variant[:, ::-1]
            variant = np.ascontiguousarray(variant)
            path = names[b * per_base + k]
            if k % 2 == 0:
                write_ultrasound_dicom(path, variant, spacing_mm=SPACING)
            else:
                Image.fromarray(variant).save(path, compress_level=1)
    return names


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = threadpool_info()
    return ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in pools) or "none loaded"


def run(folder: Path, overlays: bool) -> int:
    import pandas as pd

    from skintrial.cluster import connect
    from skintrial.instruments._batch import files_per_task
    from skintrial.instruments.ultrasound import SCAN_S, ultrasound_files

    t0 = time.perf_counter()
    paths = make_scans(folder)
    print(
        f"{len(paths)} scans of 512 x 1024 (half DICOM, half PNG) ready in {time.perf_counter() - t0:.1f} s (not timed)"
    )
    here = folder / "overlays_here" if overlays else None
    there = folder / "overlays_cluster" if overlays else None

    t0, c0 = time.perf_counter(), time.process_time()
    want = ultrasound_files(paths, pixel_spacing_mm=SPACING, overlay_dir=here)
    in_process_s, in_process_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"in-process BLAS/OpenMP threads: {blas_threads()}")

    # connect() starts the workers without Dask's MALLOC_TRIM_THRESHOLD_=65536 (which fixes glibc's
    # mmap threshold at 128 kB: every large numpy temporary mmapped and freed again, ~60 % more CPU a
    # scan; skintrial.cluster._runner.WORKER_ENVIRON): printed as the workers see it
    t0 = time.perf_counter()
    with connect(f"local:{WORKERS}") as runner:
        start_s = time.perf_counter() - t0
        trim = set(runner.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values())
        print(f"workers' MALLOC_TRIM_THRESHOLD_: {', '.join(map(str, trim))}")
        cpu0 = runner.client.run(time.process_time)
        t0 = time.perf_counter()
        got = ultrasound_files(paths, pixel_spacing_mm=SPACING, overlay_dir=there, client=runner)
        cluster_s = time.perf_counter() - t0
        cpu1 = runner.client.run(time.process_time)
        workers_cpu = sum(cpu1.values()) - sum(cpu0.values())
        n_tasks = 1000
        t0 = time.perf_counter()
        runner.map(abs, range(n_tasks))
        overhead_s = (time.perf_counter() - t0) / n_tasks
        workers = runner.workers

    pd.testing.assert_frame_equal(got, want, check_exact=True)
    same_png = True
    if here is not None and there is not None:
        same_png = all((there / p.name).read_bytes() == p.read_bytes() for p in here.glob("*.png"))
    chunk = files_per_task(len(paths), workers, file_s=SCAN_S, smallest=16)
    per_file = in_process_s / len(paths)
    run_ratio = in_process_s / cluster_s
    e2e_ratio = in_process_s / (start_s + cluster_s)
    print(
        f"in-process: {in_process_s:.2f} s = {per_file * 1e3:.1f} ms per scan{' (with overlays)' if overlays else ''}"
    )
    print(
        f"cluster local:{WORKERS}: start-up {start_s:.2f} s; run {cluster_s:.2f} s "
        f"({-(-len(paths) // chunk)} tasks of <= {chunk} scans); end-to-end {start_s + cluster_s:.2f} s"
    )
    print(
        f"per-task overhead: {overhead_s * 1e3:.2f} ms (runner.map of abs over {n_tasks} items, {workers} workers); "
        f"per-file cost: {per_file * 1e3:.1f} ms in-process; overhead / task of {chunk} scans: "
        f"{100 * overhead_s / (chunk * per_file):.2f} %"
    )
    print(
        f"CPU per scan (immune to other load): in-process {in_process_cpu / len(paths) * 1e3:.1f} ms (all threads), "
        f"workers {workers_cpu / len(paths) * 1e3:.1f} ms (summed over workers, imports included)"
    )
    print(
        f"tables identical: yes{'; overlays identical: ' + ('yes' if same_png else 'NO') if overlays else ''}"
    )
    print(
        f"ratio in-process / cluster run: {run_ratio:.2f}x (target >= {TARGET}x); "
        f"end-to-end with start-up: {e2e_ratio:.2f}x"
    )
    ok = run_ratio >= TARGET and same_png
    print("PASS" if ok else "FAIL: target missed" if same_png else "FAIL: overlays differ")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=Path, help="keep the scans in this folder (reused by later runs)")
    ap.add_argument(
        "--overlays", action="store_true", help="write an overlay per scan, both ways, and compare"
    )
    args = ap.parse_args()
    if args.scans is not None:
        args.scans.mkdir(parents=True, exist_ok=True)
        return run(args.scans, args.overlays)
    with tempfile.TemporaryDirectory() as tmp:
        return run(Path(tmp), args.overlays)


if __name__ == "__main__":
    sys.exit(main())
