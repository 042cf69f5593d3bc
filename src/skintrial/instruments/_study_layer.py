"""A bundle's raw instrument files → measurements, before any statistics.

Which outcomes come from raw files: every declared outcome whose ``instrument`` is ``cutometer`` or
``ultrasound`` and that has files of that instrument in the manifest (at the outcome's ``site``
when both name one). Its value is the instrument output named by the outcome's ``parameter``
(default: the outcome's own name). Several files for the same participant, visit and outcome are
replicates, combined by the outcome's ``replicate_rule``.

Files that fail to read or carry a QC flag are not used: each is listed in the exclusions with its
error or flags. Where ``measurements.csv`` also holds values for a raw-derived outcome, the values
computed from the raw files are used, and the two are compared in the ``instrument_agreement``
table so that the replacement is visible.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.study import Study
from skintrial.study._summaries import EXCLUSION_COLUMNS

__all__ = ["RawMeasurements", "raw_outcomes", "measure_raw"]

_CUTOMETER_OUTPUTS = ("ue", "uv", "uf", "ur", "ua", *[f"r{i}" for i in range(10)])
_ULTRASOUND_OUTPUTS = ("dermal_thickness_mm", "dermal_thickness_iqr_mm", "entry_echo_mm", "lep_fraction",
                       "mep_fraction", "hep_fraction", "lep_upper", "lep_lower", "lep_ratio", "sleb_thickness_mm")
OUTPUTS = {"cutometer": _CUTOMETER_OUTPUTS, "ultrasound": _ULTRASOUND_OUTPUTS}


@dataclass(frozen=True)
class RawMeasurements:
    """What the raw files gave: replicate-level values, one row per file, exclusions, overlays."""

    measurements: pd.DataFrame  # participant_id, visit, outcome, value, file
    files: pd.DataFrame  # manifest columns + instrument outputs + qc
    exclusions: pd.DataFrame  # EXCLUSION_COLUMNS, one row per file × outcome it would have given
    agreement: pd.DataFrame  # outcome, n, mean_difference, max_abs_difference (raw − table)
    outcomes: list[str]
    overlays: dict[str, bytes] = field(default_factory=dict)


def raw_outcomes(study: Study) -> dict[str, tuple[str, str]]:
    """Outcome → (instrument, parameter) for every outcome computed from the bundle's raw files."""
    if study.manifest is None:
        return {}
    have = set(study.manifest["instrument"])
    out, problems = {}, []
    for name, spec in study.spec.outcomes.items():
        if spec.instrument not in OUTPUTS or spec.instrument not in have:
            continue
        param = spec.parameter or name
        if param not in OUTPUTS[spec.instrument]:
            problems.append(Problem(
                f"outcome '{name}' takes parameter '{param}', which the {spec.instrument} does not produce",
                file=str(study.root / "study.toml"), column=f"outcomes.{name}.parameter",
                fix=f"set parameter to one of {list(OUTPUTS[spec.instrument])}"))
            continue
        out[name] = (spec.instrument, param)
    InputError.collect(problems)
    return out


def _run_instrument(instrument: str, paths: list[str], study: Study, overlay_dir: Path,
                    progress: Callable[[int], None] | None) -> pd.DataFrame:
    raw = study.spec.raw
    if instrument == "cutometer":
        from skintrial.instruments.cutometer import cutometer_files

        opts = {k: v for k, v in (("on_s", raw.cutometer_on_s), ("off_s", raw.cutometer_off_s)) if v is not None}
        # a long file may hold several measurements: each becomes a replicate row
        return cutometer_files(paths, on_file=(lambda _: progress(1)) if progress else None, **opts)
    from skintrial.instruments.ultrasound import ultrasound_files

    return ultrasound_files(paths, pixel_spacing_mm=raw.pixel_spacing_mm, overlay_dir=overlay_dir,
                            progress=progress)


def _agreement(study: Study, derived: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    keys = ["participant_id", "visit", "outcome"]
    table = study.measurements[study.measurements["outcome"].isin(outcomes)]
    mean_raw = derived.groupby(keys, as_index=False)["value"].mean()
    both = mean_raw.merge(table[[*keys, "value"]], on=keys, suffixes=("_raw", "_table"))
    diff = both.assign(d=both["value_raw"] - both["value_table"]).groupby("outcome")["d"]
    return pd.DataFrame({"n": diff.size(), "mean_difference": diff.mean(),
                         "max_abs_difference": diff.apply(lambda d: float(np.abs(d).max()))}).reset_index()


def measure_raw(study: Study, *, progress: Callable[[int], None] | None = None) -> RawMeasurements:
    """Measure every raw file of a bundle and turn the results into measurements.

    Parameters
    ----------
    study : Study
        A loaded bundle with a ``[raw]`` manifest.
    progress : callable, optional
        Called with the number of files just finished (for a progress bar).
    """
    mapping = raw_outcomes(study)
    man = study.manifest
    if not mapping or man is None:
        empty = pd.DataFrame(columns=["participant_id", "visit", "outcome", "value", "file"])
        return RawMeasurements(empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [])
    arms = study.participants.set_index("participant_id")["arm"]
    frames, values, excl, overlays = [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for instrument in sorted({i for i, _ in mapping.values()}):
            rows = man[man["instrument"] == instrument].reset_index(drop=True)
            res = _run_instrument(instrument, rows["path"].tolist(), study, Path(tmp), progress)
            res = rows[["participant_id", "visit", "site", "instrument", "file", "path"]].merge(
                res.rename(columns={"file": "path"}), on="path", how="left", validate="one_to_many")
            res = res.drop(columns=["path"])
            frames.append(res)
            outs = [o for o, (i, _) in mapping.items() if i == instrument]
            bad = res["qc"].fillna("") != ""
            for r in res[bad].itertuples():
                excl += [("instruments", o, r.participant_id, arms.get(r.participant_id), r.visit,
                          f"{instrument} file {r.file}: {r.qc}") for o in outs]
            for o in outs:
                site = study.spec.outcomes[o].site
                use = ~bad & (res["site"].isna() | (site is None) | (res["site"] == site))
                values.append(pd.DataFrame({"participant_id": res.loc[use, "participant_id"],
                                            "visit": res.loc[use, "visit"], "outcome": o,
                                            "value": res.loc[use, mapping[o][1]].astype(float),
                                            "file": res.loc[use, "file"]}))
        for png in sorted(Path(tmp).glob("*.png")):
            overlays[f"overlays/{png.name}"] = png.read_bytes()
    derived = pd.concat(values, ignore_index=True)
    outcomes = list(mapping)
    return RawMeasurements(
        measurements=derived,
        files=pd.concat(frames, ignore_index=True),
        exclusions=pd.DataFrame(excl, columns=list(EXCLUSION_COLUMNS)),
        agreement=_agreement(study, derived, outcomes),
        outcomes=outcomes,
        overlays=overlays,
    )
