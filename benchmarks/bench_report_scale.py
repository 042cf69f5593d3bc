"""The report scales with outcomes, not participants: `skintrial run` on 2,000 participants takes at most
3x the time of the same study with 60 participants (issue 13), and report.html stays under 5 MB.

Both bundles come from :func:`skintrial.plan.synthetic_study` (tidy layer only: no raw files, serum,
qPCR or training log, so the comparison is the trial analysis and its report) widened to 30 outcomes
(the 9 synthetic outcomes and 21 noisy copies of them, each declared in study.toml as a secondary
outcome) and 3 visits (a week-8 visit between baseline and week 16). Each is run with the real command
line, ``skintrial run STUDY --out OUT`` in a fresh subprocess (interpreter start, validation, analysis,
results, report.html, report.docx and figures/ included), best of ``REPEAT`` runs.

    .venv/bin/python benchmarks/bench_report_scale.py            # exits 1 if a target is missed
    .venv/bin/python benchmarks/bench_report_scale.py --big 600  # a smaller "large" study, quicker
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BIN = Path(sys.executable).parent
SMALL, BIG, OUTCOMES, REPEAT = 60, 2000, 30, 1
RATIO_TARGET, SIZE_TARGET_MB = 3.0, 5.0


def make_bundle(root: Path, *, n: int, n_outcomes: int = OUTCOMES, seed: int = 7) -> Path:
    """A synthetic bundle of ``n`` participants, ``n_outcomes`` outcomes and visits week0/week8/week16."""
    from skintrial.plan import synthetic_study

    syn = synthetic_study(seed=seed, n=n, raw=False, omics=False, training=False)
    root = syn.write(root)
    toml = (root / "study.toml").read_text()
    m = pd.read_csv(root / "measurements.csv")
    base = list(dict.fromkeys(m["outcome"]))
    rng = np.random.default_rng(seed)
    extra, blocks = [], []
    for k in range(n_outcomes - len(base)):
        src = base[k % len(base)]
        name = f"{src}_site{k // len(base) + 2}"
        block = re.search(rf"^\[outcomes\.{src}\]\n(.*?)(?=^\[|\Z)", toml, flags=re.M | re.S)
        assert block is not None, src
        unit = re.search(r'^unit = "([^"]*)"', block.group(1), flags=re.M)
        label = re.search(r'^label = "([^"]*)"', block.group(1), flags=re.M)
        blocks.append(
            f'[outcomes.{name}]\nlabel = "{label.group(1) if label else src} (site {k // len(base) + 2})"\n'
            f'unit = "{unit.group(1) if unit else ""}"\n\n'
        )
        d = m[m["outcome"] == src].copy()
        d["outcome"] = name
        v = d["value"].to_numpy(dtype=float)  # the source's values plus noise, kept inside its range
        d["value"] = np.clip(v + rng.normal(0.0, 0.1 * np.nanstd(v), len(v)), np.nanmin(v), np.nanmax(v))
        extra.append(d)
    m = pd.concat([m, *extra], ignore_index=True)
    wide = m.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value").reset_index()
    done = wide.dropna(subset=["week0", "week16"])
    mid = done[["participant_id", "outcome"]].assign(
        visit="week8",
        value=(
            0.5 * (done["week0"] + done["week16"])
            + rng.normal(0.0, 0.25, len(done))
            * (done["week16"] - done["week0"]).abs().groupby(done["outcome"]).transform("mean")
        ).to_numpy(),
    )
    lo, hi = (mid["outcome"].map(m.groupby("outcome")["value"].agg(f)) for f in ("min", "max"))
    mid["value"] = mid["value"].clip(lo, hi)
    m = pd.concat([m, mid], ignore_index=True)
    m["value"] = m["value"].round(3)
    m.to_csv(root / "measurements.csv", index=False)
    secondary = re.search(r"^secondary = (\[.*\])$", toml, flags=re.M)
    assert secondary is not None
    names = [*json.loads(secondary.group(1)), *(b.split("]")[0].removeprefix("[outcomes.") for b in blocks)]
    toml = toml.replace('visits = ["week0", "week16"]', 'visits = ["week0", "week8", "week16"]')
    toml = re.sub(r"^secondary = \[.*\]$", f"secondary = {json.dumps(names)}", toml, flags=re.M)
    toml = toml.replace("[analysis]", "".join(blocks) + "[analysis]", 1)
    (root / "study.toml").write_text(toml)
    return root


def run_once(study: Path, out: Path) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(BIN / "skintrial"), "run", str(study), "--out", str(out)], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"skintrial run failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=SMALL)
    ap.add_argument("--big", type=int, default=BIG)
    ap.add_argument("--outcomes", type=int, default=OUTCOMES)
    ap.add_argument("--repeat", type=int, default=REPEAT)
    args = ap.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.big):
            study = make_bundle(Path(tmp) / f"study{n}", n=n, n_outcomes=args.outcomes)
            times = [run_once(study, Path(tmp) / f"out{n}-{i}") for i in range(args.repeat)]
            out = Path(tmp) / f"out{n}-0"
            figures = sorted((out / "figures").glob("*")) if (out / "figures").is_dir() else []
            rows[n] = (
                min(times),
                (out / "report.html").stat().st_size / 1e6,
                (out / "report.docx").stat().st_size / 1e6
                if (out / "report.docx").exists()
                else float("nan"),
                sum(f.stat().st_size for f in figures) / 1e6,
                len(figures),
            )
    print(f"skintrial run, {args.outcomes} outcomes x 3 visits (best of {args.repeat}):")
    for n, (t, html, docx, figs, k) in rows.items():
        print(
            f"  {n:5d} participants: {t:6.1f} s   report.html {html:5.2f} MB   report.docx {docx:5.2f} MB"
            f"   figures/ {k} files, {figs:5.1f} MB"
        )
    ratio = rows[args.big][0] / rows[args.small][0]
    size = rows[args.big][1]
    print(f"time ratio {args.big}/{args.small} participants: {ratio:.2f}x (target <= {RATIO_TARGET:g}x)")
    print(f"report.html at {args.big} participants: {size:.2f} MB (target < {SIZE_TARGET_MB:g} MB)")
    ok = ratio <= RATIO_TARGET and size < SIZE_TARGET_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
