"""Physical ranges of outcome values: what ``validate`` calls impossible (an R2 of 7, a thickness of -1 mm).

An outcome's range is, in this order of precedence:

1. its declared ``min`` / ``max`` (either may be given alone; the other bound comes from 2 or 3);
2. the range of its **instrument output**, when ``instrument`` is one skintrial knows (``cutometer``,
   ``ultrasound``) and its ``parameter`` (default: the outcome's name, with or without a ``_mm``
   suffix) is one of that instrument's outputs. The range is stated in the output's own unit (mm, or a
   dimensionless ratio) and converted to the declared unit when that is another unit of the same
   kind (``um`` → ×1000, ``%`` → ×100);
3. the range of its **unit** (:data:`UNIT_RANGES`), written in any of the spellings of
   :data:`UNIT_ALIASES` (``millimetres``, ``µm``, ``percent``, ``ml/kg/min`` …);
4. none. A unit that skintrial does not recognise gets no check, and :func:`unit_notes` says so,
   so the user can declare ``min``/``max`` or correct the unit.

The tables are kept in step with :mod:`skintrial.instruments` (a test compares them with the
Cutometer definitions and the ultrasound outputs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from skintrial.errors import Problem

__all__ = [
    "UNIT_RANGES",
    "UNIT_ALIASES",
    "INSTRUMENT_RANGES",
    "OutcomeRange",
    "outcome_range",
    "physical_range",
    "canonical_unit",
    "unit_notes",
    "PIXEL_SPACING_MM",
    "pixel_spacing_problem",
]

PIXEL_SPACING_MM: tuple[float, float] = (0.001, 0.5)
"""Plausible pixel spacing of a skin-ultrasound B-mode image, mm per pixel: 20–100 MHz scanners resolve
tens of µm and images are sampled finer (typically 0.005–0.1 mm). Outside it the number was almost
certainly given in another unit (µm as mm: 20 instead of 0.020), and every thickness would be wrong."""


def pixel_spacing_problem(value: float) -> str | None:
    """Why a pixel spacing in mm cannot be right (not a positive number, or outside
    :data:`PIXEL_SPACING_MM`, with the likely unit slip named), or None when it is plausible."""
    if not (math.isfinite(value) and value > 0):
        return "pixel spacing must be a positive number of mm"
    lo, hi = PIXEL_SPACING_MM
    if lo <= value <= hi:
        return None
    slips = [
        f"{value:g} {unit} = {value * factor:g} mm"
        for unit, factor in (("µm", 1e-3), ("cm", 10.0), ("m", 1e3))
        if lo <= value * factor <= hi
    ]  # only the unit slips that give a plausible spacing are named
    guess = f"; given in another unit? {' or '.join(slips)}" if slips else ""
    return (
        f"a pixel spacing of {value:g} mm per pixel is implausible for skin ultrasound (expected "
        f"{lo:g}–{hi:g} mm){guess}"
    )


UNIT_RANGES: Mapping[str, tuple[float, float]] = {
    "ratio": (0.0, 1.0),
    "fraction": (0.0, 1.0),
    "%": (0.0, 100.0),
    "mm": (0.0, 100.0),
    "um": (0.0, 100_000.0),
    "cm": (0.0, 300.0),
    "kg": (0.0, 500.0),
    "g": (0.0, 500_000.0),
    "mL/kg/min": (0.0, 100.0),
    "L/min": (0.0, 10.0),
    "bpm": (0.0, 250.0),
    "years": (0.0, 130.0),
    "kg/m2": (5.0, 100.0),
}
"""Range by (canonical) unit. A ``ratio`` is bounded by 1 (the Cutometer ratios R2, R5, R7); declare
``max`` for a ratio that can exceed 1."""

_NO_RANGE = ("1", "a.u.")
"""Recognised units that carry no range of their own: dimensionless numbers and arbitrary units."""

_SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "ratio": ("ratio",),
    "fraction": ("fraction", "proportion"),
    "%": ("%", "percent", "per cent", "pct"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters"),
    "um": ("um", "micrometre", "micrometres", "micrometer", "micrometers", "micron", "microns"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters"),
    "kg": ("kg", "kgs", "kilogram", "kilograms"),
    "g": ("g", "gram", "grams"),
    "mL/kg/min": ("ml/kg/min", "ml/min/kg", "ml kg-1 min-1", "ml/(kg min)", "ml/(kg*min)"),
    "L/min": ("l/min", "l min-1", "litres/min", "liters/min"),
    "bpm": ("bpm", "beats/min", "beats per minute", "min-1", "1/min", "/min"),
    "years": ("years", "year", "yr", "yrs", "y"),
    "kg/m2": ("kg/m2", "kg m-2"),
    "1": ("1", "dimensionless", "unitless", "none", "-"),
    "a.u.": ("a.u.", "au", "a.u", "arbitrary unit", "arbitrary units"),
}

UNIT_ALIASES: Mapping[str, str] = {alias: unit for unit, aliases in _SPELLINGS.items() for alias in aliases}
"""Every accepted spelling (after :func:`_normalise`) → its canonical unit."""

# kind and factor of each unit relative to the instrument outputs' units (mm; a dimensionless 1)
_SCALE: Mapping[str, tuple[str, float]] = {
    "mm": ("length", 1.0),
    "um": ("length", 1000.0),
    "cm": ("length", 0.1),
    "1": ("dimensionless", 1.0),
    "ratio": ("dimensionless", 1.0),
    "fraction": ("dimensionless", 1.0),
    "a.u.": ("dimensionless", 1.0),
    "%": ("dimensionless", 100.0),
}

_INF = math.inf
INSTRUMENT_RANGES: Mapping[str, Mapping[str, tuple[float, float, str]]] = {
    # docs/cutometer.md: curve points and R0, R1, R3, R4, R8, R9 are distances in mm; R2, R5, R6, R7
    # are ratios. Amplitudes are >= 0 and a few mm at most (10 mm is beyond any suction probe);
    # R1, R4 (residual deformation) and R9 (fatigue: R3 - Uf) are differences and may be negative.
    # R2 = Ua/Uf, R5 = Ur/Ue and R7 = Ur/Uf are recoveries over deformations: 0-1. R6 = Uv/Ue is
    # creep over elastic deformation, not bounded by 1.
    # The area parameters (skintrial's own definitions, docs/cutometer.md) are deformations (at most
    # 10 mm) times phase durations (at most an hour: 3,600 s) in mm s; F0-F2 and F4 are areas above a
    # baseline a drifting curve may cross and F3 = F4 - F2 a difference, so both signs; Q0 = Uf x the
    # relaxation time is >= 0. Q1-Q3 are recovery areas over Q0: about 0-1, Q3 = Q1 - Q2 of either
    # sign; beyond +-10 the curve is broken, not the skin.
    "cutometer": {
        **{p: (0.0, 10.0, "mm") for p in ("ue", "uv", "uf", "ur", "ua", "r0", "r3", "r8")},
        **{p: (-10.0, 10.0, "mm") for p in ("r1", "r4", "r9")},
        **{p: (0.0, 1.0, "1") for p in ("r2", "r5", "r7")},
        "r6": (0.0, _INF, "1"),
        **{p: (-36_000.0, 36_000.0, "mm s") for p in ("f0", "f1", "f2", "f3", "f4")},
        "q0": (0.0, 36_000.0, "mm s"),
        **{p: (-10.0, 10.0, "1") for p in ("q1", "q2", "q3")},
    },
    # docs/ultrasound.md: the dermis is 0.2-10 mm thick anywhere on the body (facial 1-2 mm); pixel
    # fractions are 0-1; lep_ratio is a ratio of two fractions.
    "ultrasound": {
        "dermal_thickness_mm": (0.2, 10.0, "mm"),
        "dermal_thickness_iqr_mm": (0.0, 10.0, "mm"),
        "entry_echo_mm": (0.0, 5.0, "mm"),
        "sleb_thickness_mm": (0.0, 10.0, "mm"),
        **{
            p: (0.0, 1.0, "1")
            for p in ("lep_fraction", "mep_fraction", "hep_fraction", "lep_upper", "lep_lower")
        },
        "lep_ratio": (0.0, _INF, "1"),
    },
}
"""Range of each instrument output, in the output's own unit: ``(low, high, unit)``."""


def _normalise(unit: str) -> str:
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u")  # micro sign and Greek mu
    u = u.replace("⁻¹", "-1").replace("⁻²", "-2").replace("²", "2").replace("^", "")
    u = re.sub(r"\s*/\s*", "/", u)
    u = re.sub(r"\s*[·*]\s*", " ", u)
    return re.sub(r"\s+", " ", u)


def canonical_unit(unit: str) -> str | None:
    """The canonical spelling of a unit skintrial recognises, else None.

    >>> canonical_unit("Millimetres"), canonical_unit("µm"), canonical_unit("mL·kg⁻¹·min⁻¹"), canonical_unit("furlong")
    ('mm', 'um', 'mL/kg/min', None)
    """
    u = _normalise(unit)
    return UNIT_ALIASES.get(u) or UNIT_ALIASES.get(u.replace(" ", ""))


@dataclass(frozen=True)
class OutcomeRange:
    """An outcome's allowed values and where that range comes from (said in messages)."""

    low: float
    high: float
    basis: str
    """Where the range comes from, in words: ``"declared min/max"``, ``"the cutometer output 'r2' is a
    ratio, 0-1"``, ``"the range of unit 'mm'"``, or ``""`` (no range)."""

    @property
    def checked(self) -> bool:
        return self.low > -_INF or self.high < _INF


class _Declared(Protocol):
    """What this module reads of an outcome's declaration (:class:`~skintrial.study.OutcomeSpec`, which
    imports this module, hence a protocol rather than the class)."""

    @property
    def unit(self) -> str: ...
    @property
    def instrument(self) -> str | None: ...
    @property
    def parameter(self) -> str | None: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...


def _instrument_range(name: str | None, spec: _Declared) -> tuple[float, float, str] | None:
    table = INSTRUMENT_RANGES.get((spec.instrument or "").strip().lower())
    if table is None:
        return None
    param = (spec.parameter or name or "").strip().lower()
    key = param if param in table else f"{param}_mm" if f"{param}_mm" in table else None
    if key is None:
        return None
    low, high, native = table[key]
    unit = canonical_unit(spec.unit)
    if unit is None or unit not in _SCALE or _SCALE[unit][0] != _SCALE[native][0]:
        return None  # another kind of unit: unit_notes says so; the unit's own range applies
    factor = _SCALE[unit][1] / _SCALE[native][1]
    span = f"{low:g} to {high:g}" if high < _INF else f"at least {low:g}"
    kind = f"a ratio, {span}" if native == "1" else f"{span} mm"
    return low * factor, high * factor, f"the {spec.instrument} output '{key}' is {kind}"


def outcome_range(spec: _Declared, name: str | None = None) -> OutcomeRange:
    """The allowed range of one declared outcome (``spec`` an :class:`~skintrial.study.OutcomeSpec`).

    ``name`` is the outcome's name in ``study.toml`` (the default ``parameter``).

    >>> from skintrial.study import OutcomeSpec
    >>> outcome_range(OutcomeSpec(unit="a.u.", instrument="cutometer"), "r2")
    OutcomeRange(low=0.0, high=1.0, basis="the cutometer output 'r2' is a ratio, 0 to 1")
    >>> outcome_range(OutcomeSpec(unit="µm", instrument="ultrasound"), "dermal_thickness")
    OutcomeRange(low=200.0, high=10000.0, basis="the ultrasound output 'dermal_thickness_mm' is 0.2 to 10 mm")
    """
    found = _instrument_range(name, spec)
    if found is not None:
        low, high, basis = found
    else:
        unit = canonical_unit(spec.unit)
        low, high = UNIT_RANGES.get(unit, (-_INF, _INF)) if unit else (-_INF, _INF)
        basis = f"the range of unit '{unit}'" if unit in UNIT_RANGES else ""
    if spec.min is not None and spec.max is not None:
        basis = "declared min/max in study.toml"
    elif spec.min is not None or spec.max is not None:
        basis = (f"{basis}, and " if basis else "") + (
            "declared min" if spec.min is not None else "declared max"
        )
    low = spec.min if spec.min is not None else low
    high = spec.max if spec.max is not None else high
    return OutcomeRange(low, high, basis)


def physical_range(spec: _Declared, name: str | None = None) -> tuple[float, float]:
    """``(low, high)`` of :func:`outcome_range` (``-inf, inf`` when nothing bounds the outcome)."""
    r = outcome_range(spec, name)
    return r.low, r.high


def unit_notes(outcomes: Mapping[str, _Declared], file: str) -> list[Problem]:
    """Non-fatal notes (``kind="note"``) on units that leave an outcome without a range check."""
    notes = []
    for name, spec in outcomes.items():
        if spec.min is not None and spec.max is not None:
            continue
        unit = canonical_unit(spec.unit)
        if unit is None and _instrument_range(name, spec) is None:
            notes.append(
                Problem(
                    f"outcome '{name}': unit '{spec.unit}' is not one skintrial knows a physical range for, so its "
                    "values are not range-checked",
                    file=file,
                    column=f"outcomes.{name}.unit",
                    kind="note",
                    fix=f"declare min and max for it, or write the unit as one of {sorted(UNIT_RANGES)} "
                    "(spellings such as 'millimetres', 'µm', 'percent' are recognised; docs/bundle.md)",
                )
            )
        elif (
            (spec.instrument or "").strip().lower() in INSTRUMENT_RANGES
            and unit is not None
            and _instrument_range(name, spec) is None
            and _param_known(name, spec)
        ):
            notes.append(
                Problem(
                    f"outcome '{name}': unit '{spec.unit}' is not the kind of unit the {spec.instrument} output "
                    f"'{spec.parameter or name}' has, so the instrument's range is not applied",
                    file=file,
                    column=f"outcomes.{name}.unit",
                    kind="note",
                    fix="correct the unit (Cutometer distances are in mm, ratios dimensionless; docs/cutometer.md), "
                    "or declare min and max",
                )
            )
    return notes


def _param_known(name: str, spec: _Declared) -> bool:
    table = INSTRUMENT_RANGES[(spec.instrument or "").strip().lower()]
    param = (spec.parameter or name).strip().lower()
    return param in table or f"{param}_mm" in table
