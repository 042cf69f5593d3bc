"""Benchmark: CAMERA on 1,000 gene sets x 15,801 genes, rank-based (and parametric) — target < 5 s.

Data: Kuehne 2017 skin-aging microarray (../shared/data/kuehne2017_skin_aging), ``~ condition + slide``,
contrast old - young. 1,000 random gene sets (sizes 10-500, seed 2017) drawn from the arrayed genes.

skintrial is timed (``time.perf_counter``) from the in-memory matrix: the model fit
(``fit_expression``) plus ``camera_from_fit`` for all sets at once, with ``use_ranks=True`` (the
target) and also the parametric and estimated-correlation versions. The peer, R limma ``camera``, is
run on the same sets in the same run through ``Rscript`` and timed inside R with ``system.time``
(its rank-based time includes ``ids2indices``, its parametric time does not);
the p-values of the two are compared (largest relative difference printed).

skintrial's timed calls run with one BLAS thread (threadpoolctl), like this R's reference BLAS.

Target: the rank-based test under 5 s. Exit 1 if missed.
Run: ``.venv/bin/python benchmarks/bench_camera.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "kuehne2017_skin_aging"
N_SETS = 1000
TARGET_S = 5.0

R_SCRIPT = r"""
suppressPackageStartupMessages(library(limma))
a <- commandArgs(trailingOnly = TRUE)
d <- a[1]; gmt <- a[2]; out <- a[3]
expr <- read.csv(gzfile(file.path(d, "expression_log2.csv.gz")), check.names = FALSE)
s <- read.csv(file.path(d, "samples.csv"), colClasses = c(slide = "character"))
y <- as.matrix(expr[, s$sample]); rownames(y) <- expr$probe
design <- model.matrix(~ factor(s$condition, levels = c("young", "old")) + factor(s$slide))
parts <- strsplit(readLines(gmt), "\t")
sets <- lapply(parts, function(p) p[-(1:2)]); names(sets) <- vapply(parts, `[`, "", 1)
el <- system.time({
  idx <- ids2indices(sets, rownames(y))
  res <- camera(y, idx, design, contrast = 2, use.ranks = TRUE, sort = FALSE)
})[["elapsed"]]
el2 <- system.time(res2 <- camera(y, idx, design, contrast = 2, sort = FALSE))[["elapsed"]]
write.csv(data.frame(set = rownames(res), p_ranks = res$PValue, p = res2$PValue), out, row.names = FALSE)
cat(sprintf("R_RANKS %.4f\nR_PARAM %.4f\nLIMMA %s\n", el, el2, as.character(packageVersion("limma"))))
"""


def _sets(genes: tuple[str, ...]) -> dict[str, list[str]]:
    rng = np.random.default_rng(2017)
    sizes = rng.integers(10, 501, N_SETS)
    return {f"SET{i:04d}": list(rng.choice(genes, size=k, replace=False)) for i, k in enumerate(sizes)}


def main() -> int:
    if not (DATA / "expression_log2.csv.gz").exists():
        print(f"data not found at {DATA}: cannot run")
        return 1
    from threadpoolctl import threadpool_limits

    from skintrial.omics.enrichment import camera_from_fit
    from skintrial.omics.expression import fit_expression, load_expression

    data = load_expression(DATA / "expression_log2.csv.gz", DATA / "samples.csv")
    sets = _sets(data.genes)
    timings = {}
    results = {}
    for label, kw in [
        ("ranks", {"use_ranks": True}),
        ("parametric", {}),
        ("ranks, estimated correlation", {"use_ranks": True, "inter_gene_cor": None}),
    ]:
        with threadpool_limits(1):
            t0 = time.perf_counter()
            ef = fit_expression(data, design="~ condition + slide")
            results[label] = camera_from_fit(ef, "condition: old - young", sets, aliases=False, **kw)
            timings[label] = time.perf_counter() - t0
        print(
            f"skintrial camera ({label}), fit + {N_SETS} sets x {len(data.genes)} genes: {timings[label]:.3f} s"
        )

    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found: R limma camera not timed")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            gmt, script, out = Path(tmp) / "sets.gmt", Path(tmp) / "cam.R", Path(tmp) / "r.csv"
            gmt.write_text("".join("\t".join([k, "random", *v]) + "\n" for k, v in sets.items()))
            script.write_text(R_SCRIPT)
            res = subprocess.run(
                [rscript, str(script), str(DATA), str(gmt), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            vals = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
            r = pd.read_csv(out).set_index("set").loc[results["ranks"]["set"]]
        r_ranks, r_param = float(vals["R_RANKS"]), float(vals["R_PARAM"])
        print(
            f"R limma {vals['LIMMA'].strip()} camera(use.ranks=TRUE) (system.time in R): {r_ranks:.3f} s; "
            f"parametric: {r_param:.3f} s"
        )
        print(
            f"ratio R / skintrial: ranks {r_ranks / timings['ranks']:.2f}x, "
            f"parametric {r_param / timings['parametric']:.2f}x"
        )
        rel = np.max(
            np.abs(results["ranks"]["p"].to_numpy() - r["p_ranks"].to_numpy()) / r["p_ranks"].to_numpy()
        )
        relp = np.max(np.abs(results["parametric"]["p"].to_numpy() - r["p"].to_numpy()) / r["p"].to_numpy())
        print(f"largest relative p difference vs R: ranks {rel:.1e}, parametric {relp:.1e}")
    ok = timings["ranks"] < TARGET_S
    print(
        f"target: rank-based test under {TARGET_S:.0f} s -> {timings['ranks']:.3f} s: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
