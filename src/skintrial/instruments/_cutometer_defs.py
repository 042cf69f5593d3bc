"""The one table of Cutometer definitions: curve points, R-parameters, QC flags and their thresholds.

Everything skintrial computes from a suction curve is defined here and only here. The computing code
reads the formulas from :data:`PARAMETERS` (each entry carries the function that evaluates it) and the
thresholds from :data:`QC_THRESHOLDS`; ``docs/cutometer.md`` quotes the ``formula`` strings verbatim (a
test checks that it does).

Notation, per suction/relaxation cycle ``k`` (times in s, deformation ``d(t)`` in mm):

- ``t_on``: suction onset, ``t_off``: release (end of suction), ``t_end``: end of relaxation (the next
  onset, or the last sample of the record);
- ``t_r``: the read time (0.1 s by default), or the per-cycle knee time with ``method="inflection"``;
- ``b = d(t_on)``: the cycle's baseline; ``b1``: the baseline of cycle 1 (the skin's resting position).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = [
    "ParameterDefinition",
    "PARAMETERS",
    "POINTS",
    "OUTPUT_COLUMNS",
    "PHASE_COLUMNS",
    "CYCLE_COLUMNS",
    "QC_FLAGS",
    "INFORMATIONAL_FLAGS",
    "QC_THRESHOLDS",
    "UNITS",
]

Arrays = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ParameterDefinition:
    """One Cutometer parameter: its formula, unit, meaning, where it comes from, how it is computed.

    ``level`` is ``"cycle"`` (computed per cycle, then taken from cycle 1 or averaged over cycles 2..n)
    or ``"measurement"`` (uses the first and the last cycle of the record). ``ours`` marks definitions
    that instruments.md lists as unconfirmed, where skintrial made its own documented choice.
    """

    name: str
    unit: str
    formula: str
    meaning: str
    source: str
    level: str
    ours: bool
    compute: Callable[[Arrays], np.ndarray]


def _ratio(num: str, den: str) -> Callable[[Arrays], np.ndarray]:
    def f(p: Arrays) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return p[num] / p[den]

    return f


def _d(name, unit, formula, meaning, source, compute, *, level="cycle", ours=False):
    return ParameterDefinition(name, unit, formula, meaning, source, level, ours, compute)


_POINT_DEFS = (
    _d(
        "ue",
        "mm",
        "Ue = d(t_on + t_r) - b",
        "immediate (elastic) deformation",
        "instruments.md 1.3 [C]; read time 0.1 s (Ohshima 2016)",
        lambda p: p["ue"],
    ),
    _d(
        "uv",
        "mm",
        "Uv = Uf - Ue",
        "delayed (viscoelastic) deformation, creep after Ue",
        "instruments.md 1.3 [C]",
        lambda p: p["uv"],
    ),
    _d(
        "uf",
        "mm",
        "Uf = d(t_off) - b",
        "final deformation at the end of suction",
        "instruments.md 1.3 [C] (Uf = Ue + Uv)",
        lambda p: p["uf"],
    ),
    _d(
        "ur",
        "mm",
        "Ur = d(t_off) - d(t_off + t_r)",
        "immediate retraction after release",
        "instruments.md 1.3 [P]: read time after release by symmetry with Ue (skintrial's choice)",
        lambda p: p["ur"],
        ours=True,
    ),
    _d(
        "ua",
        "mm",
        "Ua = d(t_off) - d(t_end)",
        "total recovery at the end of relaxation",
        "instruments.md 1.3 [C]",
        lambda p: p["ua"],
    ),
)

_R_DEFS = (
    _d(
        "r0",
        "mm",
        "R0 = Uf",
        "first maximum amplitude; firmness (lower = firmer)",
        "instruments.md 1.4 [C]",
        lambda p: p["uf"],
    ),
    _d(
        "r1",
        "mm",
        "R1 = Uf - Ua",
        "first minimum amplitude: residual deformation after relaxation",
        "instruments.md 1.4 [C] description; the identity is [P]",
        lambda p: p["uf"] - p["ua"],
    ),
    _d("r2", "1", "R2 = Ua / Uf", "gross elasticity", "instruments.md 1.4 [C]", _ratio("ua", "uf")),
    _d(
        "r3",
        "mm",
        "R3 = d(t_off of the last cycle) - b1",
        "last maximum amplitude (repeated suction)",
        "instruments.md 1.4 [C] wording; measured from the cycle-1 baseline (skintrial's choice)",
        lambda p: p["peak_last"],
        level="measurement",
        ours=True,
    ),
    _d(
        "r4",
        "mm",
        "R4 = d(t_end of the last cycle) - b1",
        "last minimum amplitude (repeated suction)",
        "instruments.md 1.4 [P] UNCONFIRMED wording: skintrial's definition",
        lambda p: p["trough_last"],
        level="measurement",
        ours=True,
    ),
    _d("r5", "1", "R5 = Ur / Ue", "net elasticity", "instruments.md 1.4 [C]", _ratio("ur", "ue")),
    _d(
        "r6",
        "1",
        "R6 = Uv / Ue",
        "viscoelastic-to-elastic ratio",
        "instruments.md 1.4 [C]",
        _ratio("uv", "ue"),
    ),
    _d("r7", "1", "R7 = Ur / Uf", "biological elasticity", "instruments.md 1.4 [C]", _ratio("ur", "uf")),
    _d(
        "r8",
        "mm",
        "R8 = Ua",
        "total recovery after the curve",
        "instruments.md 1.4 [P]: consistent with R8/R0 = Ua/Uf (skintrial's choice)",
        lambda p: p["ua"],
        ours=True,
    ),
    _d(
        "r9",
        "mm",
        "R9 = R3 - Uf(cycle 1)",
        "tiring (fatigue) effect over repeated cycles",
        "instruments.md 1.4 [P] UNCONFIRMED formula: skintrial's definition",
        lambda p: p["peak_last"] - p["uf_first"],
        level="measurement",
        ours=True,
    ),
)

_AREA = "skintrial's own definition; the vendor's formula is not public (instruments.md 1.5)"

_AREA_DEFS = (
    _d(
        "f0",
        "mm s",
        "F0 = integral of (d - b) over the suction phase",
        "area under the suction curve: how far and how fast the skin yields",
        _AREA,
        lambda p: p["f0"],
        ours=True,
    ),
    _d(
        "f1",
        "mm s",
        "F1 = integral of (d - b) over the relaxation phase",
        "area under the relaxation curve: deformation left while the skin recovers",
        _AREA,
        lambda p: p["f1"],
        ours=True,
    ),
    _d(
        "f2",
        "mm s",
        "F2 = sum over cycles of (d(t_end) - b1) (t_end - t_on)",
        "area under the lower envelope (the troughs) of repeated suction: residual deformation building up",
        _AREA + "; adults higher, as R4 (Dobrev 2005)",
        lambda p: p["f2"],
        level="measurement",
        ours=True,
    ),
    _d(
        "f3",
        "mm s",
        "F3 = F4 - F2",
        "area between the upper and lower envelopes of repeated suction: recovery kept over the cycles",
        _AREA + "; the multiple-suction area that falls with age (Ohshima 2013, Dobrev 2005)",
        lambda p: p["f4"] - p["f2"],
        level="measurement",
        ours=True,
    ),
    _d(
        "f4",
        "mm s",
        "F4 = sum over cycles of (d(t_off) - b1) (t_end - t_on)",
        "area under the upper envelope (the peaks) of repeated suction",
        _AREA + "; 'total area under the upper curve' (Chen et al. 2024)",
        lambda p: p["f4"],
        level="measurement",
        ours=True,
    ),
    _d(
        "q0",
        "mm s",
        "Q0 = Uf (t_end - t_off)",
        "maximum recovery area: the skin back at rest the instant the suction stops",
        _AREA + "; 'maximum recovery area' wording",
        lambda p: p["q0"],
        ours=True,
    ),
    _d(
        "q1",
        "1",
        "Q1 = integral of (d(t_off) - d) over the relaxation / Q0",
        "total (elastic + viscous) recovery area as a fraction of Q0",
        _AREA + "; area-based recovery (Ohshima 2016)",
        lambda p: p["q1"],
        ours=True,
    ),
    _d(
        "q2",
        "1",
        "Q2 = (integral of (d(t_off) - d) over [t_off, t_off + t_r] + Ur (t_end - t_off - t_r)) / Q0",
        "elastic recovery area: the recovery up to the read time, then Ur held, as a fraction of Q0",
        _AREA,
        lambda p: p["q2"],
        ours=True,
    ),
    _d(
        "q3",
        "1",
        "Q3 = Q1 - Q2",
        "viscous recovery area: the recovery beyond Ur after the read time, as a fraction of Q0",
        _AREA,
        lambda p: p["q1"] - p["q2"],
        ours=True,
    ),
)

#: Every parameter by output column name, in output order (points, R0..R9, F0..F4, Q0..Q3).
PARAMETERS: Mapping[str, ParameterDefinition] = MappingProxyType(
    {d.name: d for d in (*_POINT_DEFS, *_R_DEFS, *_AREA_DEFS)}
)
#: The curve points (per cycle).
POINTS: tuple[str, ...] = tuple(d.name for d in _POINT_DEFS)

#: Columns of :func:`skintrial.instruments.cutometer_parameters`, exactly and in this order.
#: The phases a measurement was analysed with, as the options that reproduce them (s): the first onset
#: after the record's first sample, the mean suction and the mean relaxation duration over its cycles.
PHASE_COLUMNS: tuple[str, ...] = ("onset_s", "on_s", "off_s")

OUTPUT_COLUMNS: tuple[str, ...] = ("file", "measurement_id", "n_cycles", *PHASE_COLUMNS, *PARAMETERS, "qc")

#: Columns of :func:`skintrial.instruments.cutometer_cycles` (one row per cycle).
CYCLE_COLUMNS: tuple[str, ...] = (
    "file",
    "measurement_id",
    "cycle",
    "t_on_s",
    "t_off_s",
    "t_end_s",
    "t_read_on_s",
    "t_read_off_s",
    "baseline_mm",
    *POINTS,
    *(n for n, d in PARAMETERS.items() if n not in POINTS and d.level == "cycle"),
    "peak_mm",
    "trough_mm",
    "noise_mm",
    "qc",
)

#: Quality flags, in the order they are written into ``qc`` (semicolon-separated).
QC_FLAGS: Mapping[str, str] = MappingProxyType(
    {
        "phases_inferred": "no pressure channel and no declared times: the onsets and releases were found "
        "in the deformation (cutometer_cycles gives their times); informational, the curve is used",
        "phases_ambiguous": "no pressure channel and no declared times, and the deformation shows no "
        "clear onset/release sequence (no onset, or two alike rises or drops in a row): no cycle is used",
        "no_complete_cycle": "no suction phase with a release and a relaxation longer than the read time",
        "incomplete_cycle": "a cycle was cut off or too short (suction without release or not longer than "
        "the read time plus one sample, relaxation shorter than the read time); it is not used",
        "too_few_cycles": "drop_first_cycle was asked for but there is only one cycle",
        "too_few_samples": "a phase holds fewer than min_phase_samples samples, or the sampling interval "
        "exceeds half the read time",
        "no_plateau": "the deformation still rises at the end of suction",
        "drift": "the deformation still moves at the end of relaxation",
        "negative_deformation": "the (5-sample smoothed) curve falls below the resting position",
        "clipped": "a run of samples sits exactly at the curve's maximum (sensor range)",
        "probe_slip": "a step between two consecutive samples outside the skin's fast responses",
        "implausible": "a point or ratio outside the plausibility bounds",
    }
)

#: Flags that inform but do not mark a curve as unusable (a study bundle keeps such curves).
INFORMATIONAL_FLAGS: tuple[str, ...] = ("phases_inferred",)

#: Thresholds of the quality flags (see docs/cutometer.md). Override per call with ``qc_thresholds=``.
QC_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "plateau_window": 0.25,  # last fraction of the suction phase fitted by a line
        "plateau_slope": 0.10,  # no_plateau: slope > 0.10 * Uf per second (and > 4 SE)
        "drift_window": 0.25,  # last fraction of the relaxation phase fitted by a line
        "drift_slope": 0.15,  # drift: |slope| > 0.15 * Uf per second (and > 4 SE)
        "negative_fraction": 0.05,  # negative: smoothed d < b1 - max(5 noise, 0.05 * Uf)
        "negative_noise": 5.0,
        "clip_min_samples": 5,  # clipped: run at the maximum >= max(5 samples, 0.1 s)
        "clip_min_s": 0.1,
        "slip_fraction": 0.05,  # probe_slip: |d[i+1] - d[i]| > max(10 * sqrt(2) noise, 0.05 * Uf)
        "slip_noise": 10.0,
        "slip_guard_s": 0.15,  # ... ignoring max(0.15 s, 3 samples) after each onset and release
        "min_phase_samples": 10,
        "uf_min_mm": 0.01,  # implausible: Uf outside [0.01, 4] mm,
        "uf_max_mm": 4.0,
        "ue_max_fraction": 1.05,  # Ue or Ur outside (0, 1.05 Uf], Ua outside [0, 1.2 Uf]
        "ua_max_fraction": 1.2,
    }
)

#: Unit conversion factors to skintrial's units (mm, s, mbar), by the spellings accepted in a mapping.
UNITS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "deformation_mm": MappingProxyType(
            {"mm": 1.0, "um": 1e-3, "µm": 1e-3, "μm": 1e-3, "micron": 1e-3, "cm": 10.0, "m": 1e3}
        ),
        "time_s": MappingProxyType({"s": 1.0, "ms": 1e-3, "min": 60.0}),
        "pressure_mbar": MappingProxyType(
            {"mbar": 1.0, "hpa": 1.0, "kpa": 10.0, "pa": 0.01, "mmhg": 1.333224, "bar": 1000.0}
        ),
    }
)
