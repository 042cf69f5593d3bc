"""Benchmark: the 15,801-gene moderated fit, skintrial vs R limma (lmFit + eBayes + topTable).

Data: Kuehne 2017 skin-aging microarray (../shared/data/kuehne2017_skin_aging), 15,801 genes x 48
arrays, design ``~ condition + slide`` (8 coefficients), contrast old - young.

Both sides start from the matrix already in memory and produce the full per-gene table (log-fold
change, moderated t, p, BH-adjusted p, B). R is timed inside R with ``system.time`` around
``lmFit`` + ``eBayes`` + ``topTable``; Python with ``time.perf_counter`` around ``fit_expression`` +
``differential_expression_from_fit``. The two alternate for ROUNDS rounds of REPEATS fits each (one
Rscript per round), so a busy shared machine slows both alike; the medians over all fits are compared.
Both run single-threaded linear algebra: this R links the reference BLAS (one thread; the script
prints R's BLAS library), and skintrial's numpy/OpenBLAS is limited to one thread with threadpoolctl
for the timed fits. (On a shared two-core machine a multi-threaded OpenBLAS contending with other
processes was 3-4x slower than one thread for these thin 48 x 8 products.)
Separately, the wall time of a whole ``Rscript`` process (start-up, reading the CSV, fitting, table)
is compared with skintrial's whole path in Python (reading the CSV, fitting, table).

Target: skintrial's in-memory fit no slower than R's (ratio R / ours >= 1). Exit 1 if missed.
Run: ``.venv/bin/python benchmarks/bench_limma.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "kuehne2017_skin_aging"
ROUNDS = 5  # R and skintrial alternate, so both see the same (shared-machine) load
REPEATS = 5  # timed fits per round and side

R_SCRIPT = r"""
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
d <- args[1]; reps <- as.integer(args[2])
expr <- read.csv(gzfile(file.path(d, "expression_log2.csv.gz")), check.names = FALSE)
s <- read.csv(file.path(d, "samples.csv"), colClasses = c(slide = "character"))
y <- as.matrix(expr[, s$sample]); rownames(y) <- expr$probe
design <- model.matrix(~ factor(s$condition, levels = c("young", "old")) + factor(s$slide))
run <- function() {
  fit <- eBayes(lmFit(y, design))
  topTable(fit, coef = 2, number = Inf, sort.by = "none")
}
invisible(run())
el <- vapply(seq_len(reps), function(i) system.time(run())[["elapsed"]], 0)
cat("R_FIT", sprintf("%.6f", el), "\n")
cat(sprintf("LIMMA %s\n", as.character(packageVersion("limma"))))
cat(sprintf("BLAS %s\n", basename(extSoftVersion()[["BLAS"]])))
"""

R_WALL_SCRIPT = r"""
suppressPackageStartupMessages(library(limma))
d <- commandArgs(trailingOnly = TRUE)[1]
expr <- read.csv(gzfile(file.path(d, "expression_log2.csv.gz")), check.names = FALSE)
s <- read.csv(file.path(d, "samples.csv"), colClasses = c(slide = "character"))
y <- as.matrix(expr[, s$sample]); rownames(y) <- expr$probe
design <- model.matrix(~ factor(s$condition, levels = c("young", "old")) + factor(s$slide))
tt <- topTable(eBayes(lmFit(y, design)), coef = 2, number = Inf, sort.by = "none")
"""


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scipy's test deps and sklearn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def _ours_round(data) -> list[float]:
    from skintrial.omics.expression import differential_expression_from_fit, fit_expression

    times = []
    with _one_blas_thread():
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            ef = fit_expression(data, design="~ condition + slide")
            de = differential_expression_from_fit(ef, "condition: old - young")
            times.append(time.perf_counter() - t0)
    assert len(de) == 15801
    return times


def _ours_whole() -> float:
    from skintrial.omics.expression import differential_expression

    t0 = time.perf_counter()
    differential_expression(
        DATA / "expression_log2.csv.gz",
        DATA / "samples.csv",
        design="~ condition + slide",
        contrast="condition: old - young",
    )
    return time.perf_counter() - t0


def _r_round(rscript: str, script: Path) -> tuple[list[float], str]:
    res = subprocess.run(
        [rscript, str(script), str(DATA), str(REPEATS)], capture_output=True, text=True, check=True
    )
    lines = res.stdout.strip().splitlines()
    times = [float(x) for line in lines if line.startswith("R_FIT ") for x in line.split()[1:]]
    limma = next(line.split()[1] for line in lines if line.startswith("LIMMA"))
    blas = next((line.split()[1] for line in lines if line.startswith("BLAS")), "?")
    return times, f"{limma} (BLAS {blas})"


def main() -> int:
    if not (DATA / "expression_log2.csv.gz").exists():
        print(f"data not found at {DATA}: cannot run")
        return 1
    from skintrial.omics.expression import load_expression

    data = load_expression(DATA / "expression_log2.csv.gz", DATA / "samples.csv")
    _ours_round(data)  # warm-up (imports, first-call costs)
    rscript = shutil.which("Rscript")
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        fit_r = Path(tmp) / "fit.R"
        fit_r.write_text(R_SCRIPT)
        wall_r = Path(tmp) / "wall.R"
        wall_r.write_text(R_WALL_SCRIPT)
        limma = ""
        r_wall = ours_whole = float("nan")
        for _ in range(ROUNDS):
            if rscript is not None:
                t, limma = _r_round(rscript, fit_r)
                theirs += t
            ours += _ours_round(data)
        ours_whole = _ours_whole()
        if rscript is not None:
            t0 = time.perf_counter()
            subprocess.run([rscript, str(wall_r), str(DATA)], capture_output=True, text=True, check=True)
            r_wall = time.perf_counter() - t0
    n = len(ours)
    print(
        f"skintrial fit_expression + differential_expression_from_fit (in memory): "
        f"median {np.median(ours) * 1e3:.1f} ms, min {np.min(ours) * 1e3:.1f} ms over {n}"
    )
    print(f"skintrial whole path (read CSV + fit + table): {ours_whole:.2f} s")
    if rscript is None:
        print("Rscript not found: R limma not timed (target cannot be checked here)")
        return 0
    print(
        f"R limma {limma} lmFit + eBayes + topTable (system.time in R): "
        f"median {np.median(theirs) * 1e3:.1f} ms, min {np.min(theirs) * 1e3:.1f} ms over {len(theirs)}"
    )
    print(f"R whole Rscript process (start-up + read CSV + fit + table): {r_wall:.2f} s")
    ratio = float(np.median(theirs) / np.median(ours))
    print(
        f"ratio R / skintrial, median in-memory fit: {ratio:.2f}x (target >= 1.00: no slower than R); "
        f"min: {np.min(theirs) / np.min(ours):.2f}x"
    )
    print(f"ratio whole path, Rscript / skintrial: {r_wall / ours_whole:.2f}x")
    return 0 if ratio >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
