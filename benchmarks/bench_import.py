"""Validating a bundle of 1,000,000 measurements vs pandas.read_csv reading the same file (issue 12).

Claim: validating a study bundle whose measurements file holds 1,000,000 values takes at most 5× the
time ``pandas.read_csv`` takes to read that same file, for each form the file can take:

* **long** — ``measurements.csv``, one row per measurement, comma-separated;
* **european** — the same table as Excel saves it in a decimal-comma locale: semicolons, ``0,722``;
* **wide** — one row per participant, one column per outcome × visit (``r2_week0`` …), declared in
  ``[measurements] layout = "wide"``.

Both sides run in this process, best of ``REPEAT``: ``pandas.read_csv(path)`` with its defaults (for
the European file with ``sep=";", decimal=","``, so pandas is told what skintrial detects), and
``skintrial.study.validate_study(bundle)``: reading the participants and measurements tables as text,
detecting the separator and decimal mark, reshaping the wide sheet, and every check of the tables
(ids, visits, outcomes, numbers, ranges, duplicates, withdrawals, baselines), with the messages it
would print. ``skintrial validate`` goes on to run the analysis in memory; that time is printed as
well, for the long form, but is not part of the ratio (it is the analysis, not the reading).

    .venv/bin/python benchmarks/bench_import.py            # exits 1 if a ratio misses the target
    .venv/bin/python benchmarks/bench_import.py --rows 200000   # a quicker look
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS, REPEAT, TARGET = 1_000_000, 3, 5.0
OUTCOMES = {  # name: (unit, typical value, decimals)
    "r2": ("ratio", 0.72, 3),
    "r5": ("ratio", 0.84, 3),
    "r7": ("ratio", 0.49, 3),
    "dermal_thickness": ("mm", 2.06, 2),
    "lep_upper": ("fraction", 0.5, 3),
    "body_mass": ("kg", 62.0, 1),
    "lean_mass": ("kg", 38.0, 1),
    "vo2peak": ("mL/kg/min", 24.0, 1),
    "chest_press_1rm": ("kg", 30.0, 1),
}
VISITS = ("week0", "week16")


def _study_toml(extra: str = "") -> str:
    outcomes = "\n".join(f'[outcomes.{o}]\nunit = "{u}"\n' for o, (u, _, _) in OUTCOMES.items())
    return (
        '[study]\nname = "1M measurements"\narms = ["AT", "RT"]\nreference_arm = "AT"\n'
        f'visits = {list(VISITS)!r}\nbaseline_visit = "week0"\n\n{outcomes}\n'
        f'[analysis]\nprimary = ["r2"]\nmethods = ["ancova"]\n{extra}'
    ).replace("'", '"')


def make_bundles(root: Path, rows: int, seed: int = 1) -> dict[str, Path]:
    """Three bundles with the same ``rows`` measurements: long, European and wide."""
    rng = np.random.default_rng(seed)
    per = len(OUTCOMES) * len(VISITS)
    n = rows // per
    pids = np.array([f"P{i:06d}" for i in range(n)], dtype=object)
    participants = pd.DataFrame({"participant_id": pids, "arm": np.where(np.arange(n) % 2, "AT", "RT")})
    participants["age"] = rng.integers(40, 60, n)
    names = list(OUTCOMES)
    typical = np.array([OUTCOMES[o][1] for o in names])
    decimals = np.array([OUTCOMES[o][2] for o in names])
    values = typical[None, None, :] * rng.uniform(0.85, 1.15, (n, len(VISITS), len(names)))
    text = np.empty(values.shape, dtype=object)
    for k, d in enumerate(decimals):
        text[:, :, k] = np.char.mod(f"%.{d}f", values[:, :, k])
    long = pd.DataFrame(
        {
            "participant_id": np.repeat(pids, per),
            "visit": np.tile(np.repeat(np.array(VISITS, dtype=object), len(names)), n),
            "outcome": np.tile(np.array(names, dtype=object), n * len(VISITS)),
            "value": text.reshape(-1),
        }
    )
    out = {}
    for form in ("long", "european", "wide"):
        b = root / form
        b.mkdir(parents=True)
        out[form] = b
    for b in out.values():
        participants.to_csv(b / "participants.csv", index=False)
    (out["long"] / "study.toml").write_text(_study_toml())
    long.to_csv(out["long"] / "measurements.csv", index=False)
    (out["european"] / "study.toml").write_text(_study_toml())
    long.assign(value=long["value"].str.replace(".", ",", regex=False)).to_csv(
        out["european"] / "measurements.csv", index=False, sep=";"
    )
    participants.to_csv(out["european"] / "participants.csv", index=False, sep=";")
    (out["wide"] / "study.toml").write_text(_study_toml('\n[measurements]\nlayout = "wide"\n'))
    wide = pd.DataFrame({"participant_id": pids})
    for j, v in enumerate(VISITS):
        for k, o in enumerate(names):
            wide[f"{o}_{v}"] = text[:, j, k]
    wide.to_csv(out["wide"] / "measurements.csv", index=False)
    return out


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()

    from skintrial.pipeline import analyse
    from skintrial.study import load_study, validate_study

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        bundles = make_bundles(Path(tmp), args.rows)
        print(f"{args.rows:,} measurements per bundle; best of {args.repeat}")
        for form, bundle in bundles.items():
            path = bundle / "measurements.csv"
            options = {"sep": ";", "decimal": ","} if form == "european" else {}
            problems = validate_study(bundle)
            assert problems == [], [p.render() for p in problems[:5]]
            t_pandas = _best(lambda p=path, o=options: pd.read_csv(p, **o), args.repeat)
            t_ours = _best(lambda b=bundle: validate_study(b), args.repeat)
            ratio = t_ours / t_pandas
            ok &= ratio <= TARGET
            size = path.stat().st_size / 1e6
            print(
                f"{form:>9}: pandas.read_csv {t_pandas:6.2f} s, validate {t_ours:6.2f} s  ->  {ratio:4.1f}x "
                f"(target <= {TARGET:g}x; file {size:.0f} MB)"
            )
        t0 = time.perf_counter()
        analyse(load_study(bundles["long"]))
        whole = time.perf_counter() - t0
        print(
            f"     long: load + the whole analysis (what `skintrial validate` runs after the checks): {whole:.1f} s"
        )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
