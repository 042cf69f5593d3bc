"""Accuracy of the Cutometer phases found in the deformation (issue 17), on the simulator.

3-cycle curves starting after 0.5 s at rest, elastic time constant 15-60 ms, Ue 0.12-0.25 mm, Ur and Ua
varied, fatigue 5 %, no pressure channel; with the simulator's noise (SD 0.002 mm) and without. Per
sampling rate: the share of onsets and releases found within one sample of the truth, the share found
exactly, and the share of curves whose points and R0-R9 equal those computed from the declared times
(``on_s=2, off_s=2, onset_s=0.5``) to 1e-9. The table in docs/cutometer.md (section 3) is this output.

Usage: python benchmarks/cutometer_phase_accuracy.py [--n 300]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from skintrial.instruments import PARAMETERS, cutometer_cycles, cutometer_parameters
from skintrial.plan import simulate_cutometer

ALL = [name for name in PARAMETERS if name[0] in "ur"]  # points and R0-R9
REST = 0.5
RATES = (20, 50, 100, 200, 500, 1000, 2000)


def measure(rate: int, n: int, noise: float) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(rate)
    curves, _ = simulate_cutometer(
        n,
        n_cycles=3,
        sampling_hz=rate,
        rest_s=REST,
        tau_elastic_s=rng.uniform(0.015, 0.06, n),
        ue=rng.uniform(0.12, 0.25, n),
        ur=0.12 * rng.uniform(0.7, 1.0, n),
        ua=0.18 * rng.uniform(0.8, 1.0, n),
        fatigue=0.05,
        noise_mm=noise,
        pressure_mbar=None,
        seed=rate,
    )
    cyc = cutometer_cycles(curves)
    k = cyc["cycle"].to_numpy() - 1
    on = np.abs(cyc["t_on_s"].to_numpy() - (REST + 4.0 * k)) * rate
    off = np.abs(cyc["t_off_s"].to_numpy() - (REST + 2.0 + 4.0 * k)) * rate
    found = cutometer_parameters(curves)[ALL].to_numpy()
    declared = cutometer_parameters(curves, on_s=2.0, off_s=2.0, onset_s=REST)[ALL].to_numpy()
    same = np.isclose(found, declared, rtol=0.0, atol=1e-9).all(axis=1)
    exact = np.mean((on < 1e-6) & (off < 1e-6)) if len(cyc) == 3 * n else np.nan
    return np.mean(on <= 1 + 1e-6), np.mean(off <= 1 + 1e-6), exact, same.mean()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args(argv)
    print(
        "| noise SD (mm) | rate (Hz) | onsets within one sample | releases within one sample "
        "| cycles found exactly | curves whose R0-R9 equal the declared-time values (1e-9) |"
    )
    print("|---|---|---|---|---|---|")
    for noise in (0.002, 0.0):
        for rate in RATES:
            a, b, c, d = measure(rate, args.n, noise)
            print(
                f"| {noise:g} | {rate} | {100 * a:.1f} % | {100 * b:.1f} % | {100 * c:.1f} % | {100 * d:.1f} % |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
