"""Simulated null trials with missing-at-random dropout for the type I error check of cLDA / MMRM.

Each trial: 2 arms × 40 participants, a baseline and 3 follow-up visits, an unstructured covariance
(SDs 1.0, 1.1, 1.2, 1.3; correlation 0.7^|lag| with 0.9 off the diagonal), visit means 0, 0.2, 0.4, 0.6
in both arms (no arm effect: every rejection is a type I error). Dropout is monotone and missing at
random: a participant still in the trial misses visit t and every later one with probability
logistic(-2.2 + y_{t-1}), which depends only on the value observed just before (about 40% gone by
the last visit). All trials share the participants and arms (one trial = one "outcome" of the batched
engine); each has its own values and dropout.

``python tests/reference/mmrm/type1_trials.py OUT.csv N`` writes the first N trials for
make_type1.R; the tests regenerate them from the same seed (numpy's PCG64 normal and uniform streams).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

SEED = 20261207
N_PER_ARM = 40
VISITS = ("v0", "v1", "v2", "v3")


def simulate(n_trials: int, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, T = 2 * N_PER_ARM, len(VISITS)
    sd = np.array([1.0, 1.1, 1.2, 1.3])
    lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    R = np.where(lag == 0, 1.0, 0.9 * 0.7**lag)
    L = np.linalg.cholesky(R * np.outer(sd, sd))
    y = rng.standard_normal((n_trials, n, T)) @ L.T + 0.2 * np.arange(T)
    u = rng.random((n_trials, n, T))
    keep = np.ones((n_trials, n, T), dtype=bool)
    for t in range(1, T):
        drop = u[:, :, t] < 1.0 / (1.0 + np.exp(2.2 - y[:, :, t - 1]))
        keep[:, :, t] = keep[:, :, t - 1] & ~drop
    arm = np.where(np.arange(n) < N_PER_ARM, "A", "B")
    g, i, t = np.nonzero(keep)
    return pd.DataFrame(
        {
            "participant_id": np.char.add("p", np.char.zfill(i.astype(str), 2)),
            "arm": arm[i],
            "visit": np.asarray(VISITS)[t],
            "outcome": np.char.add("trial", np.char.zfill(g.astype(str), 5)),
            "value": y[g, i, t],
        }
    )


if __name__ == "__main__":
    simulate(int(sys.argv[2])).to_csv(sys.argv[1], index=False)
