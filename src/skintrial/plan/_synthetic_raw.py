"""The raw layer of a synthetic study: instrument files whose analysis gives back the tidy values.

One ultrasound scan (cheek, DICOM with its pixel spacing) per participant and visit attended, made by
:func:`skintrial.plan._sim_ultrasound.simulate_ultrasound` from that visit's ``dermal_thickness`` and
``lep_upper``; the lower-dermis fraction the phantom also needs is drawn here (the ``raw.lep_lower_*``
rows of the calibration table). Cutometer curves are added the same way once a curve simulator is
importable (``_sim_cutometer.simulate_cutometer``). Files are listed in ``raw/manifest.csv``
(``participant_id, visit, site, instrument, file``; ``file`` relative to ``raw/``).

The layer draws from its own generator (see :mod:`skintrial.plan.synthetic`): adding it changes no
other file. Each scan's speckle comes from a seed drawn in manifest order, so the same study seed gives
byte-identical scans.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

MANIFEST = "raw/manifest.csv"
MANIFEST_COLUMNS = ("participant_id", "visit", "site", "instrument", "file")
SITE = "cheek"


def raw_layer(rng: np.random.Generator, participants: pd.DataFrame, measurements: pd.DataFrame, *,
              visits: tuple[str, ...], numbers: Mapping[str, float], token: str) -> dict[str, bytes]:
    """All raw files of the study by bundle-relative path, the manifest included.

    ``token`` (the study seed) makes the DICOM UIDs differ between studies while staying reproducible.
    """
    wide = measurements.pivot(index=["participant_id", "visit"], columns="outcome", values="value")
    order = pd.MultiIndex.from_product([participants["participant_id"], list(visits)])
    wide = wide.reindex(order).dropna(subset=["dermal_thickness", "lep_upper"])
    lep_lower = _lep_lower(rng, participants, visits=visits, numbers=numbers).reindex(wide.index)
    seeds = rng.integers(0, 2**63 - 1, size=len(wide))
    files: dict[str, bytes] = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (pid, visit), thick, lep_up, lep_lo, seed in zip(
                wide.index, wide["dermal_thickness"], wide["lep_upper"], lep_lower, seeds, strict=True):
            name = f"ultrasound/{pid}_{visit}_{SITE}.dcm"
            files[f"raw/{name}"] = _scan_bytes(Path(tmp), thick, lep_up, lep_lo, int(seed),
                                               numbers=numbers, uid_seed=f"skintrial-synthetic/{token}/{name}")
            rows.append((pid, visit, SITE, "ultrasound", name))
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    files[MANIFEST] = manifest.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return files


def _lep_lower(rng: np.random.Generator, participants: pd.DataFrame, *, visits: tuple[str, ...],
               numbers: Mapping[str, float]) -> pd.Series:
    """Lower-dermis low-echogenic fraction: no training effect, correlated between visits."""
    mean, sd, rho = (numbers[f"raw.lep_lower_{q}"] for q in ("mean", "sd", "rho"))
    z = rng.standard_normal((len(participants), 2))
    z_follow = rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]
    values = np.clip(mean + sd * np.column_stack([z[:, 0]] + [z_follow] * (len(visits) - 1)),
                     numbers["raw.lep_lower_min"], numbers["raw.lep_lower_max"])
    index = pd.MultiIndex.from_product([participants["participant_id"], list(visits)])
    return pd.Series(np.round(values, 3).reshape(-1), index=index)


def _scan_bytes(tmp: Path, thickness: float, lep_upper: float, lep_lower: float, seed: int, *,
                numbers: Mapping[str, float], uid_seed: str) -> bytes:
    from skintrial.instruments._ultrasound_io import write_ultrasound_dicom
    from skintrial.plan._sim_ultrasound import simulate_ultrasound

    dy = numbers["raw.pixel_spacing_mm"]
    depth = numbers["raw.depth_margin_mm"] + 1.25 * thickness  # gel, entry echo, dermis and some fat
    rows = int(16 * np.ceil(depth / dy / 16))
    pixels, _ = simulate_ultrasound(dermal_thickness_mm=float(thickness), lep_upper=float(lep_upper),
                                    lep_lower=float(lep_lower), rows=rows, cols=int(numbers["raw.cols"]),
                                    spacing_mm=(dy, dy), seed=seed)
    path = write_ultrasound_dicom(tmp / "scan.dcm", pixels, spacing_mm=(dy, dy), uid_seed=uid_seed)
    return path.read_bytes()
