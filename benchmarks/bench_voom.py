"""Benchmark: RNA-seq counts, skintrial (TMM + voom + weighted fit + moderation) vs R edgeR/limma.

Data: a seeded negative-binomial table, 20,000 genes × 100 samples (50 participants, pre and post,
two arms), written to a temporary CSV. Two designs:

* ``~ arm + visit`` (3 coefficients);
* ``~ participant + arm * visit`` (the paired arm × visit design: 52 estimable coefficients).

Both sides start from the counts in memory: R times ``calcNormFactors`` + ``voom`` + ``lmFit`` +
``eBayes`` inside R (``proc.time``), Python times ``differential_expression(..., counts=True)``
(``time.perf_counter``), one BLAS thread each (threadpoolctl). One round each (these fits take
seconds). Prints the times and the ratio R / ours (target ≥ 1). Exit 1 if a ratio is below 1.
Run: ``.venv/bin/python benchmarks/bench_voom.py``.
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
from threadpoolctl import threadpool_limits

from skintrial.omics.expression import differential_expression

G, N = 20_000, 100
DESIGNS = {
    "~ arm + visit": ("visit: pre - post", "~ arm + visit"),
    "~ participant + arm * visit": (
        "visit: pre - post | arm: RT - AT",
        "~ participant + arm * visit",
    ),
}
R_SCRIPT = """
suppressPackageStartupMessages({library(limma); library(edgeR)})
y <- as.matrix(read.csv("%(counts)s", row.names = 1, check.names = FALSE))
s <- read.csv("%(samples)s")
for (f in c("~ arm + visit", "~ participant + arm * visit")) {
  d <- model.matrix(as.formula(f), data = s); d <- d[, colnames(d) != "armRT", drop = FALSE]
  t0 <- proc.time()[["elapsed"]]
  v <- voom(calcNormFactors(DGEList(y)), d); fit <- eBayes(lmFit(v, d))
  cat(f, "\\t", proc.time()[["elapsed"]] - t0, "\\n", sep = "")
}
"""


def _data(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, Path, Path]:
    rng = np.random.default_rng(2024)
    s = pd.DataFrame(
        {
            "sample": [f"s{i:03d}" for i in range(N)],
            "participant": [f"p{i // 2:02d}" for i in range(N)],
            "visit": ["pre", "post"] * (N // 2),
        }
    )
    s["arm"] = np.where(s["participant"].str[1:].astype(int) < N // 4, "AT", "RT")
    mu = np.exp(rng.normal(4, 2, G))[:, None] * rng.uniform(0.5, 2, N)[None, :]
    counts = pd.DataFrame(
        rng.negative_binomial(5, 5 / (5 + mu)), columns=s["sample"], index=[f"g{i:05d}" for i in range(G)]
    )
    counts.index.name = "gene"
    cpath, spath = folder / "counts.csv", folder / "samples.csv"
    counts.to_csv(cpath)
    s.to_csv(spath, index=False)
    return counts, s, cpath, spath


def main() -> int:
    if shutil.which("Rscript") is None:
        print("Rscript not found")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        counts, samples, cpath, spath = _data(Path(tmp))
        ours = {}
        with threadpool_limits(1):
            for name, (contrast, formula) in DESIGNS.items():
                t0 = time.perf_counter()
                differential_expression(counts, samples, design=formula, contrast=contrast, counts=True)
                ours[name] = time.perf_counter() - t0
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT % {"counts": cpath, "samples": spath})
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True).stdout
    theirs = dict(line.split("\t") for line in out.strip().splitlines())
    ok = True
    for name in DESIGNS:
        r = float(theirs[name])
        ratio = r / ours[name]
        ok &= ratio >= 1
        print(f"{name:32s} R {r:7.2f} s   skintrial {ours[name]:7.2f} s   R / ours {ratio:5.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
