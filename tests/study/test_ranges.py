"""Physical ranges: instrument outputs kept in step with the instruments, unit spellings, precedence."""

from __future__ import annotations

import math

import pytest

from skintrial.instruments._cutometer_defs import PARAMETERS
from skintrial.instruments._study_layer import OUTPUTS
from skintrial.study import OutcomeSpec
from skintrial.study._ranges import INSTRUMENT_RANGES, UNIT_RANGES, canonical_unit, outcome_range


def test_every_instrument_output_has_a_range_in_its_own_unit():
    assert set(INSTRUMENT_RANGES["cutometer"]) == set(OUTPUTS["cutometer"]) == set(PARAMETERS)
    assert set(INSTRUMENT_RANGES["ultrasound"]) == set(OUTPUTS["ultrasound"])
    for name, (_, _, unit) in INSTRUMENT_RANGES["cutometer"].items():
        assert unit == PARAMETERS[name].unit, name  # distances in mm, ratios dimensionless
    for name, (lo, hi, unit) in INSTRUMENT_RANGES["ultrasound"].items():
        assert unit == ("mm" if name.endswith("_mm") else "1") and lo < hi, name


@pytest.mark.parametrize(
    "spelling, unit",
    [
        ("millimetres", "mm"),
        ("Millimeter", "mm"),
        ("µm", "um"),
        ("μm", "um"),
        ("microns", "um"),
        ("percent", "%"),
        ("ratio", "ratio"),
        ("a.u.", "a.u."),
        ("AU", "a.u."),
        ("KG", "kg"),
        ("mL/kg/min", "mL/kg/min"),
        ("ml·kg⁻¹·min⁻¹", "mL/kg/min"),
        ("kg/m²", "kg/m2"),
        ("beats/min", "bpm"),
    ],
)
def test_common_unit_spellings_are_recognised(spelling, unit):
    assert canonical_unit(spelling) == unit


def test_precedence_declared_then_instrument_then_unit():
    r6 = outcome_range(OutcomeSpec(unit="ratio", instrument="cutometer"), "r6")
    assert (r6.low, r6.high) == (0.0, math.inf)  # Uv/Ue is not bounded by 1, whatever the unit says
    assert (
        outcome_range(OutcomeSpec(unit="mm", instrument="cutometer", parameter="r0"), "firmness").high == 10
    )
    assert outcome_range(OutcomeSpec(unit="%", instrument="cutometer"), "r2").high == 100
    assert outcome_range(OutcomeSpec(unit="kg", instrument="scale"), "body_mass").high == UNIT_RANGES["kg"][1]
    declared = outcome_range(OutcomeSpec(unit="ratio", instrument="cutometer", max=2.0), "r2")
    assert (declared.low, declared.high) == (0.0, 2.0) and "declared max" in declared.basis
    assert not outcome_range(OutcomeSpec(unit="g/m2/h"), "tewl").checked


@pytest.mark.parametrize(
    "value, named, not_named",
    [
        (20.0, "20 µm = 0.02 mm", "cm"),
        (2e-05, "2e-05 m = 0.02 mm", "µm"),
        (0.6, None, "another unit"),
    ],
)
def test_implausible_pixel_spacing_names_only_slips_that_fit(value, named, not_named):
    from skintrial.study._ranges import pixel_spacing_problem

    why = pixel_spacing_problem(value)
    assert why is not None and "implausible" in why and not_named not in why
    assert named is None or named in why
    assert pixel_spacing_problem(0.0125) is None
