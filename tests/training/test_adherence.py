"""Per-participant dose: exact values on a hand-made log; per-protocol rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.training import (
    PER_PROTOCOL_COLUMNS,
    SUMMARY_COLUMNS,
    per_protocol_set,
    training_summary,
    validate_training,
)

P = pd.DataFrame(
    {
        "participant_id": ["R", "A", "B", "C"],
        "arm": ["RT", "AT", "AT", "CON"],
        "age": [50, 40, 60, 55],
        "status": ["completed", "completed", "withdrawn", "completed"],
    }
)


def _log():
    rows = [
        # R: 1RM tests week 0 (leg 40, arm 10) and week 4 (leg 50); 3 sessions over weeks 1-4
        ("R", 0, None, "test", "leg", None, None, None, None, None, None, "one_rm", 40.0),
        ("R", 0, None, "test", "arm", None, None, None, None, None, None, "one_rm", 10.0),
        ("R", 4, None, "test", "leg", None, None, None, None, None, None, "one_rm", 50.0),
        ("R", 1, 1, "resistance", "leg", 3, 10, 20.0, None, None, None, None, None),
        ("R", 1, 1, "resistance", "arm", 3, 10, 5.0, None, None, None, None, None),
        ("R", 1, 2, "resistance", "leg", 3, 10, 22.0, None, None, None, None, None),
        ("R", 4, 1, "resistance", "leg", 3, 8, 30.0, None, None, None, None, None),
        ("R", 4, 1, "resistance", "arm", 3, 10, 6.0, None, None, None, None, None),
        # A: VO2peak test with HRpeak 180 at week 0 and 33.0 at week 4; two 30-min sessions
        ("A", 0, None, "test", "bike", None, None, None, None, None, 180.0, "vo2peak", 30.0),
        ("A", 4, None, "test", "bike", None, None, None, None, None, 182.0, "vo2peak", 33.0),
        ("A", 1, 1, "aerobic", "bike", None, None, None, 30.0, 117.0, 130.0, None, None),
        ("A", 2, 2, "aerobic", "bike", None, None, None, 25.0, 126.0, 140.0, None, None),
        # B: no test: %HRmax from age (208 - 0.7*60 = 166); one session then withdrew
        ("B", 1, 1, "aerobic", "bike", None, None, None, 30.0, 108.0, 120.0, None, None),
    ]
    cols = [
        "participant_id",
        "week",
        "session",
        "modality",
        "exercise",
        "sets",
        "reps",
        "load_kg",
        "duration_min",
        "hr_mean",
        "hr_peak",
        "test",
        "test_value",
    ]
    return validate_training(pd.DataFrame(rows, columns=cols))


@pytest.fixture(scope="module")
def summary():
    return training_summary(_log(), P, sessions_per_week=2, weeks=4).set_index("participant_id")


def test_schema(summary):
    assert list(summary.reset_index().columns) == list(SUMMARY_COLUMNS)


def test_attendance_and_adherence(summary):
    assert summary["sessions_planned"].tolist() == [8, 8, 8, 0]
    assert summary["sessions_attended"].tolist() == [3, 2, 1, 0]
    assert_allclose(summary["adherence"].to_numpy(float), [3 / 8, 2 / 8, 1 / 8, np.nan], equal_nan=True)
    assert summary.loc["B", "status"] == "withdrawn"


def test_volume_load(summary):
    vol = 30 * 20 + 30 * 5 + 30 * 22 + 24 * 30 + 30 * 6
    assert_allclose(summary.loc["R", "volume_load_kg"], vol, rtol=1e-12)
    assert_allclose(summary.loc["R", "volume_load_per_session_kg"], vol / 3, rtol=1e-12)
    assert_allclose(summary.loc["A", "aerobic_minutes"], 55.0)
    assert summary.loc["A", "volume_load_kg"] == 0.0


def test_relative_intensity(summary):
    # weeks 1: leg 20/40, arm 5/10, leg 22/40; week 4: leg 30/50 (the week-4 test), arm 6/10
    pct = 100 * np.array([20 / 40, 5 / 10, 22 / 40, 30 / 50, 6 / 10])
    assert_allclose(summary.loc["R", "mean_relative_intensity"], pct.mean(), rtol=1e-12)
    assert summary.loc["R", "relative_intensity_measure"] == "pct_1rm"
    assert_allclose(
        summary.loc["A", "mean_relative_intensity"], 100 * np.mean([117 / 180, 126 / 180]), rtol=1e-12
    )
    assert summary.loc["A", "relative_intensity_measure"] == "pct_hrpeak"
    assert_allclose(summary.loc["B", "mean_relative_intensity"], 100 * 108 / (208 - 0.7 * 60), rtol=1e-12)
    assert summary.loc["B", "relative_intensity_measure"] == "pct_hrmax_age_predicted"


def test_progression(summary):
    leg = 100 * (30 / 21 - 1)  # week-1 mean load 21 -> week-4 30
    arm = 100 * (6 / 5 - 1)
    assert_allclose(summary.loc["R", "load_progression_pct"], (leg + arm) / 2, rtol=1e-12)
    assert_allclose(summary.loc["R", "strength_change_pct"], 25.0, rtol=1e-12)  # leg only has two tests
    assert_allclose(summary.loc["R", "strength_baseline_kg"], 50.0)
    assert_allclose(summary.loc["A", "vo2peak_change_pct"], 10.0, rtol=1e-12)


def test_per_protocol_rule_boundary_and_reasons(summary):
    s = summary.reset_index()
    s.loc[s["participant_id"] == "A", "adherence"] = 0.8
    pp = per_protocol_set(s, min_adherence=0.8).set_index("participant_id")
    assert list(pp.reset_index().columns) == list(PER_PROTOCOL_COLUMNS)
    assert pp["per_protocol"].to_dict() == {"R": False, "A": True, "B": False, "C": True}
    assert pp.loc["B", "reason"] == "withdrawn"
    assert pp.loc["C", "reason"] == "no training prescribed"
    with pytest.raises(InputError):
        per_protocol_set(s, min_adherence=80)


def test_explicit_training_arms():
    s = training_summary(_log(), P, weeks=4, training_arms=["RT", "AT", "CON"])
    assert s.set_index("participant_id").loc["C", "sessions_planned"] == 8
    assert s.set_index("participant_id").loc["C", "adherence"] == 0.0


def test_sessions_beyond_the_plan_are_kept_and_adherence_is_capped():
    """3 sessions a week where 2 are planned: real training (volume counts), adherence capped at 1, extras
    reported; a make-up session after a missed week counts toward adherence."""
    rows = [("X", w, s, "resistance", "leg", 3, 10, 20.0) for w in (1, 2) for s in (1, 2, 3)]
    rows += [("Y", 2, s, "resistance", "leg", 3, 10, 20.0) for s in (1, 2, 3)]  # week 1 missed, one make-up
    log = validate_training(
        pd.DataFrame(
            rows,
            columns=["participant_id", "week", "session", "modality", "exercise", "sets", "reps", "load_kg"],
        )
    )
    people = pd.DataFrame({"participant_id": ["X", "Y"], "arm": ["RT", "RT"]})
    s = training_summary(log, people, sessions_per_week=2, weeks=2).set_index("participant_id")
    assert s["sessions_attended"].tolist() == [6, 3]
    assert_allclose(s["adherence"], [1.0, 0.75], rtol=1e-12)
    assert s["sessions_beyond_plan"].tolist() == [2, 0]
    assert s["weeks_over_prescription"].tolist() == [2, 1]
    assert_allclose(s.loc["X", "volume_load_kg"], 6 * 3 * 10 * 20.0, rtol=1e-12)
    assert (per_protocol_set(s.reset_index(), min_adherence=0.8)["adherence"] <= 1).all()
