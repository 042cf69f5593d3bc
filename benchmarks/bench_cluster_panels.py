"""Benchmark: a serum panel's ``panel_analysis`` in this process vs ``--cluster local:2`` (issue 16:
the omics outcome axis in chunks, the panel part).

Data: the synthetic study's serum file (1,480 analytes in three panels: cytokines with values below
their LOD, hormones, metabolites with a per-sample dilution), 56 participants (``--n``), no dropout,
two visits; PQN on the metabolites, LOD/√2 substitution, log2, ANCOVA with reference arm AT. The file
is read once (not timed).

Timed, ``--repeat`` times each (median and range printed): ``panel_analysis(data, ...)`` end to end in
this process (numpy / BLAS threads as this process has them: printed), and the same call with
``client=runner`` on a LocalCluster of 2 worker processes (1 thread each) started once, not timed,
and warmed by one untimed run. On the cluster the tested analytes go in chunks of 500
(``ANALYTES_PER_TASK``); the preparation (PQN, LOD, log), the layout and BH stay in this process.

Every cluster table is checked against the in-process one (the ANCOVA's floating-point columns to
1e-12 relative, everything else exactly); exit 1 when one differs. No speed target: at this size the
per-analyte models are a small part of the work, so the cluster is expected to be slower.

Run: .venv/bin/python benchmarks/bench_cluster_panels.py [--n 56] [--repeat 5] [--chunk 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

LAST_BITS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "t",
    "p",
    "p_adj",
    "effect_size",
    "ratio",
    "ratio_low",
    "ratio_high",
)


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    return ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()) or "none loaded"


def load(n: int) -> pd.DataFrame:
    from skintrial.omics.panels import read_panel
    from skintrial.plan import synthetic_study

    root = synthetic_study(seed=7, n=n, dropout=False, training=False).write(Path(tempfile.mkdtemp()) / "b")
    panel = read_panel(root / "serum.csv")
    people = pd.read_csv(root / "participants.csv").astype({"participant_id": str})
    return panel.merge(people[["participant_id", "arm"]], on="participant_id")


def same(ours, ref) -> bool:
    try:
        rest = [c for c in ref.ancova.columns if c not in LAST_BITS]
        pd.testing.assert_frame_equal(ours.ancova[rest], ref.ancova[rest], check_exact=True)
        for col in LAST_BITS:
            np.testing.assert_allclose(ours.ancova[col], ref.ancova[col], rtol=1e-12, atol=1e-14, err_msg=col)
        for name in ("change", "lod", "values", "pqn"):
            pd.testing.assert_frame_equal(getattr(ours, name), getattr(ref, name), check_exact=True)
    except AssertionError as exc:
        print(f"DIFFERENT: {exc}")
        return False
    return True


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def show(label: str, times: list[float]) -> None:
    print(f"{label:>12}: median {statistics.median(times):.3f} s (range {min(times):.3f}-{max(times):.3f})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=56)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=None, help="analytes per task (default: ANALYTES_PER_TASK)")
    args = ap.parse_args()

    import skintrial.stats._ancova_chunks as chunks
    from skintrial.cluster import connect
    from skintrial.omics.panels import panel_analysis

    if args.chunk:
        chunks.ANALYTES_PER_TASK = args.chunk

    data = load(args.n)
    kw = dict(baseline_visit="week0", reference_arm="AT", pqn=["metabolites"])
    print(
        f"{data['analyte'].nunique()} analytes x {data['participant_id'].nunique()} participants, "
        f"{chunks.ANALYTES_PER_TASK} analytes a task; in-process BLAS threads: {blas_threads()}"
    )
    here, ref = timed(lambda: panel_analysis(data, **kw), args.repeat)
    with connect("local:2") as runner:
        panel_analysis(data, client=runner, **kw)  # warm the workers (imports)
        there, ours = timed(lambda: panel_analysis(data, client=runner, **kw), args.repeat)
    show("in-process", here)
    show("local:2", there)
    print(f"ratio in-process / local:2 = {statistics.median(here) / statistics.median(there):.2f}")
    return 0 if same(ours, ref) else 1


if __name__ == "__main__":
    sys.exit(main())
