"""Peak memory of an ANCOVA on 20,000 outcomes × 200 participants (issue 3: under 2 GiB).

The long table (8 million rows: participant, arm, visit, outcome as categoricals — how Parquet and a
typed CSV read deliver them — and a float value) is built in this process, then ``ancova`` runs on it
with 10% of follow-up values missing. Reported: the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the whole run: data included), the RSS before the
call, and the time. There is no peer here: the claim is an absolute bound.

    .venv/bin/python benchmarks/bench_memory.py          # exits 1 if the peak is 2 GiB or more
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd

K, N, LIMIT_GIB = 20_000, 200, 2.0


def rss_gib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**30


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def make_data(seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.arange(N) % 3
    base = rng.normal(50, 10, (N, K))
    post = 5 + 0.8 * base + (arm == 2)[:, None] * 2.0 + rng.normal(0, 4, (N, K))
    post[rng.random((N, K)) < 0.1] = np.nan
    pid = pd.Categorical.from_codes(np.repeat(np.arange(N), K), [f"p{i:03d}" for i in range(N)])
    out = pd.Categorical.from_codes(np.tile(np.arange(K), N), [f"g{k:05d}" for k in range(K)])
    arms = pd.Categorical.from_codes(np.repeat(arm, K), ["CON", "AT", "RT"])
    frames = [
        pd.DataFrame(
            {
                "participant_id": pid,
                "arm": arms,
                "outcome": out,
                "visit": pd.Categorical.from_codes(np.zeros(N * K, int), [v]),
                "value": vals.ravel(),
            }
        )
        for v, vals in (("week0", base), ("week16", post))
    ]
    data = pd.concat(frames, ignore_index=True)
    data["visit"] = data["visit"].astype("category")
    return data


def main() -> int:
    from skintrial.stats import ancova

    data = make_data()
    before = rss_gib()
    t0 = time.perf_counter()
    res = ancova(data, baseline_visit="week0", followup_visit="week16", reference_arm="CON")
    elapsed = time.perf_counter() - t0
    peak = peak_gib()
    ok_fits = int((res.fit.status == "ok").sum())
    print(f"ANCOVA, {K} outcomes x {N} participants x 3 arms, 10% follow-up missing ({len(data):,} rows)")
    print(f"  RSS before the call: {before:.2f} GiB   time: {elapsed:.1f} s   outcomes fitted: {ok_fits}")
    print(f"  process peak RSS:    {peak:.2f} GiB   limit: < {LIMIT_GIB:.1f} GiB")
    ok = peak < LIMIT_GIB and ok_fits == K
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
