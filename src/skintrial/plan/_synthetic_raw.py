"""The raw layer of a synthetic study: instrument files whose analysis gives back the tidy values.

Per participant and visit attended, at the cheek:

- one Cutometer recording (CSV in the documented format of ``read_cutometer``: ``measurement_id,
  time_s, deformation_mm, pressure_mbar``), simulated by
  :func:`skintrial.plan._sim_cutometer.simulate_cutometer_from_parameters` with that visit's ``r2``,
  ``r5``, ``r7`` and a deformation size R0 = Uf drawn here (``raw.r0_*`` rows of the calibration table);
- one ultrasound scan (DICOM with its pixel spacing), simulated by
  :func:`skintrial.plan._sim_ultrasound.simulate_ultrasound` with that visit's ``dermal_thickness`` and
  ``lep_upper`` and a lower-dermis fraction drawn here (``raw.lep_lower_*``).

Files are listed in ``raw/manifest.csv`` (``participant_id, visit, site, instrument, file``; ``file``
relative to ``raw/``). Each instrument draws from its own generator (``raw.cutometer``,
``raw.ultrasound``; see :mod:`skintrial.plan.synthetic`), so adding an instrument changes no other file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

MANIFEST = "raw/manifest.csv"
MANIFEST_COLUMNS = ("participant_id", "visit", "site", "instrument", "file")
SITE = "cheek"
CURVE_COLUMNS = ("measurement_id", "time_s", "deformation_mm", "pressure_mbar")


def raw_layer(
    rng_for: Callable[[str], np.random.Generator],
    participants: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    visits: tuple[str, ...],
    numbers: Mapping[str, float],
    token: str,
) -> dict[str, bytes]:
    """All raw files of the study by bundle-relative path, the manifest included.

    ``rng_for(layer)`` gives a layer's generator; ``token`` (the study seed) makes the DICOM UIDs differ
    between studies while staying reproducible.
    """
    wide = measurements.pivot(index=["participant_id", "visit"], columns="outcome", values="value")
    order = pd.MultiIndex.from_product([participants["participant_id"], list(visits)])
    wide = wide.reindex(order).dropna(how="all")
    files: dict[str, bytes] = {}
    manifest = []
    for instrument, make in (("cutometer", _cutometer_files), ("ultrasound", _ultrasound_files)):
        made = make(
            rng_for(f"raw.{instrument}"), participants, wide, visits=visits, numbers=numbers, token=token
        )
        files.update({f"raw/{name}": content for name, content in made.items()})
        manifest += [
            (pid, visit, SITE, instrument, name) for (pid, visit), name in zip(wide.index, made, strict=True)
        ]
    table = pd.DataFrame(manifest, columns=list(MANIFEST_COLUMNS))
    position = {key: i for i, key in enumerate(wide.index)}
    table["_order"] = [position[key] for key in zip(table["participant_id"], table["visit"], strict=True)]
    table = table.sort_values(["_order", "instrument"], kind="stable").drop(columns="_order")
    files[MANIFEST] = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return files


def _per_visit(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    wide_index: pd.MultiIndex,
    *,
    visits: tuple[str, ...],
    mean: float,
    sd: float,
    rho: float,
    low: float,
    high: float,
    decimals: int,
) -> np.ndarray:
    """A participant trait with no training effect: baseline and follow-ups correlated ``rho``."""
    z = rng.standard_normal((len(participants), 2))
    z_follow = rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]
    values = np.clip(mean + sd * np.column_stack([z[:, 0]] + [z_follow] * (len(visits) - 1)), low, high)
    index = pd.MultiIndex.from_product([participants["participant_id"], list(visits)])
    return pd.Series(np.round(values, decimals).reshape(-1), index=index).reindex(wide_index).to_numpy()


def _trait(rng, participants, wide, visits, numbers, prefix, decimals) -> np.ndarray:
    return _per_visit(
        rng,
        participants,
        wide.index,
        visits=visits,
        decimals=decimals,
        **{q: numbers[f"{prefix}_{q}"] for q in ("mean", "sd", "rho")},
        low=numbers[f"{prefix}_min"],
        high=numbers[f"{prefix}_max"],
    )


def _cutometer_files(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    wide: pd.DataFrame,
    *,
    visits: tuple[str, ...],
    numbers: Mapping[str, float],
    token: str,
) -> dict[str, bytes]:
    """One curve file per visit; all curves simulated in one batched call."""
    from skintrial.plan._sim_cutometer import simulate_cutometer_from_parameters

    names = [f"cutometer/{pid}_{visit}_{SITE}.csv" for pid, visit in wide.index]
    ids = [f"{pid}_{visit}_{SITE}" for pid, visit in wide.index]
    targets = pd.DataFrame(
        {
            "measurement_id": ids,
            "r0": _trait(rng, participants, wide, visits, numbers, "raw.r0", 3),
            "r2": wide["r2"].to_numpy(),
            "r5": wide["r5"].to_numpy(),
            "r7": wide["r7"].to_numpy(),
        }
    )
    seed = int(rng.integers(0, 2**63 - 1))
    curves, _ = simulate_cutometer_from_parameters(
        targets,
        seed=seed,
        on_s=numbers["raw.cutometer_on_s"],
        off_s=numbers["raw.cutometer_off_s"],
        n_cycles=int(numbers["raw.cutometer_cycles"]),
        sampling_hz=numbers["raw.cutometer_hz"],
        noise_mm=numbers["raw.cutometer_noise_mm"],
        pressure_mbar=numbers["raw.cutometer_mbar"],
    )
    per_curve = len(curves) // len(ids)
    text = _curve_lines(curves)
    return {
        name: (
            "measurement_id,time_s,deformation_mm,pressure_mbar\n"
            + "".join(text[i * per_curve : (i + 1) * per_curve])
        ).encode("utf-8")
        for i, name in enumerate(names)
    }


def _curve_lines(curves: pd.DataFrame) -> list[str]:
    """Fixed-format CSV lines: time 0.01 s, deformation 0.1 µm, pressure 0.1 mbar."""
    ids = curves["measurement_id"].astype(str).to_numpy()
    t, d, p = (curves[c].to_numpy() for c in ("time_s", "deformation_mm", "pressure_mbar"))
    return [f"{i},{a:.2f},{b + 0.0:.4f},{c + 0.0:.1f}\n" for i, a, b, c in zip(ids, t, d, p, strict=True)]


def _ultrasound_files(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    wide: pd.DataFrame,
    *,
    visits: tuple[str, ...],
    numbers: Mapping[str, float],
    token: str,
) -> dict[str, bytes]:
    """One DICOM scan per visit; each scan's speckle from its own seed drawn in visit order."""
    lep_lower = _trait(rng, participants, wide, visits, numbers, "raw.lep_lower", 3)
    seeds = rng.integers(0, 2**63 - 1, size=len(wide))
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for (pid, visit), thick, lep_up, lep_lo, seed in zip(
            wide.index, wide["dermal_thickness"], wide["lep_upper"], lep_lower, seeds, strict=True
        ):
            name = f"ultrasound/{pid}_{visit}_{SITE}.dcm"
            files[name] = _scan_bytes(
                Path(tmp),
                thick,
                lep_up,
                lep_lo,
                int(seed),
                numbers=numbers,
                uid_seed=f"skintrial-synthetic/{token}/{name}",
            )
    return files


def _scan_bytes(
    tmp: Path,
    thickness: float,
    lep_upper: float,
    lep_lower: float,
    seed: int,
    *,
    numbers: Mapping[str, float],
    uid_seed: str,
) -> bytes:
    from skintrial.instruments import write_ultrasound_dicom
    from skintrial.plan._sim_ultrasound import simulate_ultrasound

    dy = numbers["raw.pixel_spacing_mm"]
    depth = numbers["raw.depth_margin_mm"] + 1.25 * thickness  # gel, entry echo, dermis and some fat
    rows = int(16 * np.ceil(depth / dy / 16))
    pixels, _ = simulate_ultrasound(
        dermal_thickness_mm=float(thickness),
        lep_upper=float(lep_upper),
        lep_lower=float(lep_lower),
        rows=rows,
        cols=int(numbers["raw.cols"]),
        spacing_mm=(dy, dy),
        seed=seed,
    )
    path = write_ultrasound_dicom(tmp / "scan.dcm", pixels, spacing_mm=(dy, dy), uid_seed=uid_seed)
    return path.read_bytes()
