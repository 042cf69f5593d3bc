"""training.csv: reading, typing, date-to-week, and every problem reported in one pass."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan._sim_training import simulate_training
from skintrial.training import TRAINING_COLUMNS, read_training, validate_training

PARTICIPANTS = pd.DataFrame(
    {"participant_id": ["P1", "P2", "P3"], "arm": ["AT", "RT", "CON"], "age": [45, 52, 58]}
)


def test_csv_round_trip(tmp_path):
    log = simulate_training(PARTICIPANTS, seed=4)
    path = tmp_path / "training.csv"
    log.to_csv(path, index=False)
    back = read_training(path, participants=PARTICIPANTS)
    assert list(back.columns[:-1]) == list(TRAINING_COLUMNS)
    assert back["_row"].tolist() == list(range(2, len(log) + 2))
    for c in (
        "week",
        "session",
        "sets",
        "reps",
        "load_kg",
        "duration_min",
        "hr_mean",
        "hr_peak",
        "test_value",
    ):
        assert_allclose(back[c].to_numpy(float), log[c].to_numpy(float), equal_nan=True)
    assert back["exercise"].tolist() == log["exercise"].tolist()


def test_weeks_and_sessions_from_dates():
    log = pd.DataFrame(
        {
            "participant_id": ["A"] * 5,
            "date": ["2023-01-06", "2023-01-09", "2023-01-12", "2023-01-16", "2023-01-31"],
            "modality": ["test", "aerobic", "aerobic", "aerobic", "aerobic"],
            "exercise": ["cycle_ergometer"] * 5,
            "duration_min": [None, 30, 30, 30, 25],
            "test": ["vo2peak", None, None, None, None],
            "test_value": [25.0, None, None, None, None],
        }
    )
    out = validate_training(log)
    assert out["week"].tolist() == [0, 1, 1, 2, 4]
    assert out["session"].tolist()[1:] == [1, 2, 1, 1]


def test_all_problems_in_one_pass_with_rows_and_columns(tmp_path):
    text = (
        "participant_id,week,session,modality,exercise,sets,reps,load_kg,duration_min,hr_mean,hr_peak\n"
        "P1,1,1,aerobic,cycle,,,,30,150,140\n"  # row 2: mean HR above peak
        "P2,1,1,resistance,leg_curl,3,10,heavy,,,\n"  # row 3: load not a number
        "P2,1,1,resistance,leg_curl,3,10,20,,,\n"  # row 4: same exercise twice (with row 3)
        "P9,1,1,resistance,rowing,3,10,20,,,\n"  # row 5: unknown participant
        "P2,x,1,swimming,pool,,,,,,\n"  # row 6: week not a number, unknown modality
        "P1,2,1,aerobic,cycle,,,,,,\n"  # row 7: duration missing
    )
    path = tmp_path / "training.csv"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_training(path, participants=PARTICIPANTS)
    found = {(p.row, p.column) for p in exc.value.problems}
    expected = {
        (2, "hr_mean"),
        (3, "load_kg"),
        (3, "exercise"),
        (5, "participant_id"),
        (6, "week"),
        (6, "modality"),
        (7, "duration_min"),
    }
    assert expected <= found
    assert all(p.file == "training.csv" and p.fix for p in exc.value.problems)
    assert "row 3" in str(exc.value) and "heavy" in str(exc.value)


def test_missing_header_columns():
    with pytest.raises(InputError, match="week or date"):
        validate_training(pd.DataFrame({"participant_id": ["A"], "modality": ["aerobic"], "exercise": ["x"]}))


def test_separate_tests_file(tmp_path):
    log = simulate_training(PARTICIPANTS, seed=2)
    (log[log["modality"] != "test"]).to_csv(tmp_path / "training.csv", index=False)
    tests = log[log["modality"] == "test"].drop(columns="modality")
    tests.to_csv(tmp_path / "tests.csv", index=False)
    both = read_training(tmp_path / "training.csv", tests=tmp_path / "tests.csv")
    assert (both["modality"] == "test").sum() == len(tests)
    assert len(both) == len(log)


def test_bad_test_rows():
    log = pd.DataFrame(
        {
            "participant_id": ["A", "A"],
            "week": [0, 1],
            "session": [None, 1],
            "modality": ["test", "aerobic"],
            "exercise": ["bike", "bike"],
            "duration_min": [None, 30],
            "test": ["vo2max", "one_rm"],
            "test_value": [None, 30],
        }
    )
    with pytest.raises(InputError) as exc:
        validate_training(log)
    cols = sorted(p.column for p in exc.value.problems)
    assert cols == ["test", "test", "test_value"]


def test_messages_show_plain_values_not_numpy_reprs():
    log = pd.DataFrame(
        {
            "participant_id": ["P1"],
            "week": [1],
            "session": [1],
            "modality": ["aerobic"],
            "exercise": ["cycle"],
            "duration_min": [30],
            "hr_mean": [250.0],
            "hr_peak": [2.5],
        }
    )
    with pytest.raises(InputError) as e:
        validate_training(log)
    text = str(e.value)
    assert "np." not in text and "(value: 250.0)" in text and "(value: 2.5)" in text


def test_documented_ranges_are_the_ranges_checked():
    from pathlib import Path

    from skintrial.training._logs import _RANGES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text(encoding="utf-8")
    words = {
        "week": "week",
        "session": "session",
        "sets": "sets",
        "reps": "reps",
        "load_kg": "load",
        "duration_min": "duration",
        "hr_mean": "mean heart rate",
        "hr_peak": "peak heart rate",
    }
    for col, word in words.items():
        lo, hi = _RANGES[col]
        assert f"{word} {lo}–{hi}" in doc, (col, lo, hi)
