"""Benchmark: cLDA / MMRM with Kenward–Roger df on FEV-sized problems (issue 14).

The problem: mmrm's FEV data as a cLDA (``tests/reference/mmrm/fev_long.csv``: 200 participants, the
baseline FEV1 plus 4 visits with a third of the values missing, 2 arms, race and sex as covariates),
unstructured covariance, REML, Kenward–Roger variance and df for the arm contrast at every visit and
the adjusted means (fit + df + contrasts). Times are CPU times (this process's, and R's user + system time): on a shared
machine wall time also measures the other users. Two sizes:

1. one outcome: the real FEV data, best of ``--repeat`` runs of :func:`skintrial.stats.clda` end to end
   (long table in, tables out);
2. ``--outcomes`` (default 1,000) outcomes of that shape in one call (the same participants and
   covariates, each outcome its own unstructured covariance and its own missing values).

The Python peer, in the same process: statsmodels ``MixedLM`` fitted outcome by outcome (REML, random
visit effects with an unstructured covariance, the same marginal covariance class; Python has no
MMRM with Kenward–Roger df, so the peer does less work than ours: no df, model-based SEs). It is timed
on ``--peer-outcomes`` outcomes and scaled by its median per-outcome time.

R ``mmrm`` is not a dependency and cannot run in CI; with ``--r`` (and ``Rscript`` with mmrm installed)
the script also times ``mmrm(..., method = "Kenward-Roger")`` + ``df_1d`` for the same contrasts
through ``Rscript``: on the real FEV data (median of 20 fits, after one warm-up) and on
``--r-outcomes`` of the simulated outcomes in a loop (scaled by the median), as CPU time. Its measured times are
recorded in docs/clda.md with the date.

Targets (issue 14): one outcome faster than R mmrm; 1,000 outcomes at least 100× faster than R mmrm
in a loop. The gate printed here is against the Python peer (100×); the R ratios are printed when
``--r`` is given.

Usage: .venv/bin/python benchmarks/bench_mmrm.py [--outcomes 1000] [--peer-outcomes 5] [--r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small matrices: no BLAS threads on either side

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FEV = ROOT / "tests" / "reference" / "mmrm" / "fev_long.csv"
VISITS = ["BL", "VIS1", "VIS2", "VIS3", "VIS4"]
SETTINGS = dict(
    baseline_visit="BL",
    visits=VISITS,
    reference_arm="PBO",
    covariates=["race", "sex"],
    df_method="kenward_roger",
)
TARGET = 100.0


def make_data(G: int, seed: int = 14) -> pd.DataFrame:
    """G outcomes with the FEV participants, arms and covariates: each its own unstructured covariance
    (random SDs and AR-like correlations), arm effects and missing values (a third of the follow-up
    values, more often after a low previous value: missing at random)."""
    fev = pd.read_csv(FEV)
    people = fev.drop_duplicates("participant_id")[["participant_id", "arm", "race", "sex"]].reset_index(
        drop=True
    )
    n, T = len(people), len(VISITS)
    rng = np.random.default_rng(seed)
    sd = rng.uniform(4.0, 12.0, (G, 1, T))
    rho = rng.uniform(0.3, 0.8, (G, 1, 1))
    R = rho[..., None] ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))[None, None]
    Lc = np.linalg.cholesky(R[:, 0])  # (G, T, T)
    e = np.einsum("gts,gns->gnt", Lc, rng.standard_normal((G, n, T))) * sd
    trt = (people["arm"] == "TRT").to_numpy()
    effect = rng.normal(0, 2.0, (G, 1, 1)) * trt[None, :, None] * (np.arange(T) > 0)
    y = 40 + 2 * np.arange(T) + e + effect
    keep = np.ones((G, n, T), bool)
    low = e[:, :, :-1] < 0
    keep[:, :, 1:] = rng.random((G, n, T - 1)) > np.where(low, 0.45, 0.2)
    g, i, t = np.nonzero(keep)
    return pd.DataFrame(
        {
            "participant_id": people["participant_id"].to_numpy()[i],
            "arm": people["arm"].to_numpy()[i],
            "race": people["race"].to_numpy()[i],
            "sex": people["sex"].to_numpy()[i],
            "visit": np.asarray(VISITS)[t],
            "outcome": np.char.add("o", np.char.zfill(g.astype(str), 4)),
            "value": y[g, i, t],
        }
    )


def time_ours(d: pd.DataFrame, repeat: int) -> tuple[pd.DataFrame, float, float]:
    """Contrasts, and the best and median CPU time (process time: on a shared machine wall time
    measures the other users too; R's times below are its user + system CPU time as well)."""
    from skintrial.stats import clda

    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        res = clda(d, **SETTINGS)
        times.append(time.process_time() - t0)
    return res.contrasts, float(np.min(times)), float(np.median(times))


def time_peer(d: pd.DataFrame, outcomes) -> tuple[pd.DataFrame, np.ndarray]:
    import statsmodels.formula.api as smf

    d = d[d["outcome"].isin(outcomes)].copy()
    names = []
    for v in VISITS[1:]:
        d[f"d_{v}"] = ((d["arm"] == "TRT") & (d["visit"] == v)).astype(float)
        names.append(f"d_{v}")
    formula = "value ~ 0 + C(visit) + " + " + ".join(names) + " + C(race) + C(sex)"
    rows, times = [], []
    for out, sub in d.groupby("outcome"):
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # boundary / convergence chatter of the peer
            fit = smf.mixedlm(formula, sub, groups="participant_id", re_formula="0 + C(visit)").fit(reml=True)
        times.append(time.process_time() - t0)
        for v in VISITS[1:]:
            rows.append((out, "TRT - PBO", v, fit.params[f"d_{v}"], fit.bse[f"d_{v}"], fit.converged))
    cols = ["outcome", "contrast", "visit", "estimate", "se", "converged"]
    return pd.DataFrame(rows, columns=cols), np.asarray(times)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(mmrm))
args <- commandArgs(TRUE)
d_all <- read.csv(args[1], stringsAsFactors = FALSE)
visits <- c("BL", "VIS1", "VIS2", "VIS3", "VIS4")
prep <- function(d) {
  d$visitf <- factor(d$visit, levels = visits); d$participant_id <- factor(d$participant_id)
  for (k in 2:5) d[[paste0("d_", k)]] <- as.numeric(d$arm == "TRT" & d$visitf == visits[k])
  d
}
f <- value ~ 0 + visitf + d_2 + d_3 + d_4 + d_5 + race + sex + us(visitf | participant_id)
one <- function(d) {  # fit + Kenward-Roger df and SE of the arm contrast at every visit
  fit <- mmrm(f, data = d, method = "Kenward-Roger")
  b <- names(coef(fit))
  lapply(paste0("d_", 2:5), function(nm) { L <- setNames(numeric(length(b)), b); L[nm] <- 1; df_1d(fit, L) })
}
fev <- prep(read.csv(args[2], stringsAsFactors = FALSE))
invisible(one(fev))
t_one <- replicate(20, sum(system.time(one(fev))[c("user.self", "sys.self")]))
t_loop <- sapply(split(d_all, d_all$outcome), function(d) sum(system.time(one(prep(d)))[c("user.self", "sys.self")]))
cat(median(t_one), min(t_one), median(t_loop), length(t_loop), "\n")
"""


def time_r(d: pd.DataFrame, outcomes) -> tuple[float, float, float, int] | None:
    """R mmrm's times through Rscript: (median and min of the real FEV fit, median per simulated
    outcome, number of outcomes), or None when R or mmrm is not available."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sim.csv"
        d[d["outcome"].isin(outcomes)].to_csv(data, index=False)
        script = Path(tmp) / "time.R"
        script.write_text(R_SCRIPT)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        run = subprocess.run(
            ["Rscript", str(script), str(data), str(FEV)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    try:
        a, b, c, k = run.stdout.split()
    except ValueError:
        print(f"R mmrm not timed: {run.stderr.strip().splitlines()[-1:] or run.returncode}", file=sys.stderr)
        return None
    return float(a), float(b), float(c), int(k)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outcomes", type=int, default=1000)
    ap.add_argument("--peer-outcomes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--r", action="store_true", help="also time R mmrm through Rscript (not in CI)")
    ap.add_argument("--r-outcomes", type=int, default=20)
    args = ap.parse_args()

    fev = pd.read_csv(FEV)
    _, one_best, one_median = time_ours(fev, args.repeat)
    d = make_data(args.outcomes)
    ours, t_best, t_median = time_ours(d, 3)
    outcomes = sorted(d["outcome"].unique())
    peer, times = time_peer(d, outcomes[: args.peer_outcomes])
    t_peer = float(np.median(times)) * args.outcomes
    m = peer.merge(ours, on=["outcome", "contrast", "visit"], suffixes=("_peer", ""))
    z = (np.abs(m["estimate_peer"] - m["estimate"]) / m["se"])[m["converged"].astype(bool)]
    ratio = t_peer / t_best

    print(
        "cLDA / MMRM, FEV shape: 200 participants x (baseline + 4 visits), 2 arms, race + sex, unstructured,"
    )
    print("Kenward-Roger variance and df for the arm contrast at every visit and the adjusted means")
    print(
        f"one outcome (real FEV data), skintrial.stats.clda:  best {one_best * 1e3:6.1f} ms   median {one_median * 1e3:6.1f} ms"
    )
    print(
        f"{args.outcomes} outcomes in one call:                  best {t_best:6.3f} s    median {t_median:6.3f} s"
        f"   ({t_best / args.outcomes * 1e3:.2f} ms per outcome; status ok {(ours['status'] == 'ok').mean():.1%})"
    )
    print(
        f"peer statsmodels MixedLM, one by one (no KR df):    {np.median(times):6.2f} s per outcome "
        f"(median of {len(times)}) -> {t_peer:8.1f} s for {args.outcomes} (scaled)"
    )
    print(
        f"  its estimates vs ours where it converged: max |diff| / se = {z.max() if len(z) else float('nan'):.1e}"
    )
    print(
        f"ratio peer / ours: {ratio:,.0f}x   (target >= {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'})"
    )
    ok = ratio >= TARGET
    if args.r:
        r = time_r(d, outcomes[: args.r_outcomes])
        if r is not None:
            r_med, r_min, r_loop, k = r
            print(
                f"R mmrm (Rscript), real FEV one outcome: median {r_med * 1e3:6.1f} ms, min {r_min * 1e3:6.1f} ms"
                f" -> ours faster by {r_med / one_median:.1f}x (medians), {r_min / one_best:.1f}x (best)"
            )
            print(
                f"R mmrm in a loop: {r_loop * 1e3:.1f} ms per outcome (median of {k}) -> "
                f"{r_loop * args.outcomes:.1f} s for {args.outcomes}: ratio {r_loop * args.outcomes / t_best:,.0f}x"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
