"""Synthetic training logs (skintrial.plan._sim_training): protocol, attendance, withdrawals, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from skintrial.plan._sim_training import RT_MACHINES, simulate_training
from skintrial.training import TRAINING_COLUMNS, training_summary, validate_training


def _participants(n=60):
    rng = np.random.default_rng(0)
    arm = np.array(["CON", "AT", "RT"])[np.arange(n) % 3]
    status = np.where(np.arange(n) % 10 == 9, "withdrawn", "completed")
    return pd.DataFrame(
        {
            "participant_id": [f"S{i:03d}" for i in range(n)],
            "arm": arm,
            "age": rng.integers(41, 60, n),
            "status": status,
            "withdrawal_visit": np.where(status == "withdrawn", "week0", None),
        }
    )


def test_deterministic_valid_and_schema():
    p = _participants()
    a, b = simulate_training(p, seed=7), simulate_training(p, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_training(p, seed=8))
    assert list(a.columns) == list(TRAINING_COLUMNS)
    validate_training(a, participants=p)  # raises if anything is invalid


def test_protocols():
    p = _participants()
    log = simulate_training(p, seed=1)
    arm = log["participant_id"].map(p.set_index("participant_id")["arm"])
    assert set(log.loc[arm == "CON", "modality"]) == {"test"}
    assert set(log.loc[arm == "AT", "modality"]) == {"aerobic", "test"}
    rt = log[log["modality"] == "resistance"]
    assert set(rt["exercise"]) == set(RT_MACHINES)
    assert (rt.groupby(["participant_id", "week", "session"]).size() == 6).all()
    assert (rt["sets"] == 3).all() and (rt["reps"] == 10).mean() > 0.85
    at = log[log["modality"] == "aerobic"]
    assert (at["duration_min"] == 30).mean() > 0.9
    tests = log[log["modality"] == "test"]
    hrpk = tests[(tests["test"] == "vo2peak") & (tests["week"] == 0)].set_index("participant_id")["hr_peak"]
    rel = at["hr_mean"] / at["participant_id"].map(hrpk)
    assert rel.between(0.6, 0.75).mean() > 0.95  # 65-70 % of HRpeak, with measurement noise


def test_attendance_progression_and_withdrawals():
    p = _participants(90)
    log = simulate_training(p, seed=2)
    s = training_summary(validate_training(log), p).set_index("participant_id")
    trained = s[s["sessions_planned"] > 0]
    assert (trained["sessions_planned"] == 32).all()
    assert_allclose(trained.loc[trained["status"] == "completed", "adherence"].mean(), 0.88, atol=0.04)
    wd = trained[trained["status"] == "withdrawn"]
    assert (wd["last_week_trained"] < 16).all()
    final = log[(log["modality"] == "test") & (log["week"] == 16)]["participant_id"]
    assert not set(final) & set(p.loc[p["status"] == "withdrawn", "participant_id"])
    rt = s[(s["arm"] == "RT") & (s["status"] == "completed")]
    assert (rt["load_progression_pct"] > 0).all()
    assert rt["strength_change_pct"].mean() > s[s["arm"] == "AT"]["strength_change_pct"].mean()
    assert (
        s[s["arm"] == "AT"]["vo2peak_change_pct"].mean() > s[s["arm"] == "CON"]["vo2peak_change_pct"].mean()
    )


def test_custom_schedule_and_protocols():
    p = pd.DataFrame({"participant_id": ["a", "b"], "arm": ["cycling", "weights"]})
    log = simulate_training(
        p, seed=3, weeks=8, sessions_per_week=3, protocols={"cycling": "aerobic", "weights": "resistance"}
    )
    train = log[log["modality"] != "test"]
    assert train["week"].max() <= 8 and train["session"].max() <= 3
    assert set(train["modality"]) == {"aerobic", "resistance"}


def test_attendance_is_what_the_log_records():
    """simulate_attendance() gives, before the log is made, the sessions the log will hold (the dose the synthetic
    study's skin outcomes respond to)."""
    from skintrial.plan._sim_training import simulate_attendance

    p = _participants(45)
    s = training_summary(validate_training(simulate_training(p, seed=4)), p).set_index("participant_id")
    a = simulate_attendance(p, seed=4).set_index("participant_id")
    assert (a["sessions_attended"] == s["sessions_attended"]).all()
    assert_allclose(
        a["adherence"].to_numpy(float), s["adherence"].to_numpy(float), rtol=1e-12, equal_nan=True
    )


def test_importing_the_simulator_reads_no_calibration():
    """STYLE 8: no work at import. The attendance Beta comes from the calibration table when a log is made."""
    import subprocess
    import sys

    code = (
        "import importlib\n"
        "import skintrial.plan._calibration as c\n"
        "import skintrial.plan._sim_training as t\n"
        "def refuse():\n    raise RuntimeError('calibration read at import')\n"
        "c.values = refuse\n"
        "importlib.reload(t)\n"
    )  # the module's code runs again, with the table unreadable
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    from skintrial.plan._calibration import values
    from skintrial.plan._sim_training import attendance_beta

    assert attendance_beta() == (values()["training.attendance_a"], values()["training.attendance_b"])
