"""The Cutometer curve simulator: the noise-free curve passes through the requested points (checked on the
raw samples, independently of the extraction code), phases, artefacts, targets given as R-parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skintrial.errors import InputError
from skintrial.plan import simulate_cutometer, simulate_cutometer_from_parameters


def _curve(curves, i=0):
    ids = curves["measurement_id"].cat.categories
    one = curves[curves["measurement_id"] == ids[i]]
    return one["time_s"].to_numpy(), one["deformation_mm"].to_numpy(), one["pressure_mbar"].to_numpy()


def _at(t, y, when):
    return y[np.argmin(np.abs(t - when))]


def test_noise_free_curve_has_the_requested_points_on_its_samples():
    ue, uv, ur, ua = 0.17, 0.11, 0.13, 0.21
    curves, truth = simulate_cutometer(1, ue=ue, uv=uv, ur=ur, ua=ua, noise_mm=0.0, sampling_hz=200.0, seed=0)
    t, y, _ = _curve(curves)
    uf = ue + uv
    assert_allclose(_at(t, y, 0.0), 0.0, atol=1e-15)
    assert_allclose(_at(t, y, 0.1), ue, rtol=1e-12)
    assert_allclose(_at(t, y, 2.0), uf, rtol=1e-12)
    assert_allclose(uf - _at(t, y, 2.1), ur, rtol=1e-12)
    assert_allclose(uf - _at(t, y, 4.0), ua, rtol=1e-12)
    assert np.all(np.diff(y[t <= 2.0]) > 0)  # monotone creep during suction
    assert np.all(np.diff(y[t > 2.0]) < 0)  # monotone recovery
    assert_allclose(truth[["ue", "uv", "uf", "ur", "ua"]].to_numpy()[0], [ue, uv, uf, ur, ua], rtol=1e-12)
    assert_allclose(truth[["r2", "r5", "r7"]].to_numpy()[0], [ua / uf, ur / ue, ur / uf], rtol=1e-12)


def test_grid_pressure_and_long_format():
    curves, truth = simulate_cutometer(3, n_cycles=2, on_s=1.5, off_s=2.5, sampling_hz=100.0, seed=1)
    assert list(curves.columns) == ["file", "measurement_id", "time_s", "deformation_mm", "pressure_mbar"]
    assert len(curves) == 3 * 801 and len(truth) == 3
    t, _, p = _curve(curves, 2)
    assert_allclose(t[[0, -1]], [0.0, 8.0])
    on = p > 0
    assert_array_equal(on, ((t > 1e-9) & (t <= 1.5 + 1e-9)) | ((t > 4 + 1e-9) & (t <= 5.5 + 1e-9)))
    assert_allclose(p[on], 450.0)
    none, _ = simulate_cutometer(1, pressure_mbar=None, seed=1)
    assert none["pressure_mbar"].isna().all()


def test_seed_reproducible_and_noise_level():
    a, _ = simulate_cutometer(200, noise_mm=0.004, seed=7)
    b, _ = simulate_cutometer(200, noise_mm=0.004, seed=7)
    c, _ = simulate_cutometer(200, noise_mm=0.0, seed=7)
    assert_array_equal(a["deformation_mm"], b["deformation_mm"])
    resid = a["deformation_mm"].to_numpy() - c["deformation_mm"].to_numpy()
    assert_allclose(resid.std(), 0.004, rtol=0.02)  # 80,200 samples: SE of the SD ~0.25 %


def test_fatigue_and_multi_cycle_truth():
    f = 0.1
    curves, truth = simulate_cutometer(1, n_cycles=3, fatigue=f, noise_mm=0.0, seed=2)
    t, y, _ = _curve(curves)
    uf = 0.27 * (1 + f) ** np.arange(3)
    ua = 0.20 * (1 + f) ** np.arange(3)
    base = np.r_[0.0, np.cumsum(uf - ua)[:-1]]
    for k in range(3):
        assert_allclose(_at(t, y, 4 * k + 2) - base[k], uf[k], rtol=1e-12)
    assert_allclose(truth["r3"], base[2] + uf[2], rtol=1e-12)
    assert_allclose(truth["r4"], base[2] + uf[2] - ua[2], rtol=1e-12)
    assert_allclose(truth["r9"], base[2] + uf[2] - uf[0], rtol=1e-12)


def test_artefacts_change_the_curve_as_documented():
    clean, _ = simulate_cutometer(1, noise_mm=0.0, seed=3)
    _, y0, _ = _curve(clean)
    t, ys, _ = _curve(simulate_cutometer(1, noise_mm=0.0, artefact="slip", seed=3)[0])
    assert_allclose((ys - y0)[t > 1.21], 0.05, rtol=1e-12)
    _, yc, _ = _curve(simulate_cutometer(1, noise_mm=0.0, artefact="clipped", seed=3)[0])
    assert_allclose(yc.max(), 0.85 * 0.27, rtol=1e-12)
    _, yd, _ = _curve(simulate_cutometer(1, noise_mm=0.0, artefact="drift", seed=3)[0])
    assert_allclose(yd - y0, 0.1 * t, atol=1e-12)
    _, yn, _ = _curve(simulate_cutometer(1, noise_mm=0.0, artefact="negative", seed=3)[0])
    assert_allclose(yn[-1], -0.05, atol=1e-12)
    _, yp, _ = _curve(simulate_cutometer(1, noise_mm=0.0, artefact="no_plateau", seed=3)[0])
    late = (t > 1.0) & (t <= 2.0)
    assert_allclose(np.diff(yp[late]), np.diff(yp[late]).mean(), rtol=1e-3)  # linear creep
    _, ym, _ = _curve(simulate_cutometer(2, noise_mm=0.0, artefact=[None, "slip"], seed=3)[0], 0)
    assert_allclose(ym, y0, atol=1e-15)


def test_invalid_inputs_raise_input_error():
    with pytest.raises(InputError, match="ur <= ua <= ue \\+ uv"):
        simulate_cutometer(1, ur=0.3, ua=0.2)
    with pytest.raises(InputError, match="unknown artefact 'spike'"):
        simulate_cutometer(2, artefact=["spike", None])
    with pytest.raises(InputError, match="ue must be a finite number > 0"):
        simulate_cutometer(1, ue=-0.1)
    with pytest.raises(InputError, match="exceed the read time"):
        simulate_cutometer(1, on_s=0.05)


def test_from_r_targets_round_trips_and_keeps_columns():
    targets = pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3"],
            "visit": ["week0", "week0", "week16"],
            "r0": [0.22, 0.3, 0.27],
            "r2": [0.8, 0.7, 0.66],
            "r5": [0.9, 0.62, 0.7],
            "r7": [0.5, 0.4, 0.38],
        }
    )
    curves, truth = simulate_cutometer_from_parameters(targets, seed=4, noise_mm=0.0)
    assert_allclose(
        truth[["r0", "r2", "r5", "r7"]].to_numpy(), targets[["r0", "r2", "r5", "r7"]].to_numpy(), rtol=1e-12
    )
    assert truth["participant_id"].tolist() == ["p1", "p2", "p3"]
    assert curves["measurement_id"].nunique() == 3
    from skintrial.instruments import cutometer_parameters

    measured = cutometer_parameters(curves)
    assert_allclose(
        measured[["r2", "r5", "r7"]].to_numpy(), targets[["r2", "r5", "r7"]].to_numpy(), rtol=1e-9
    )


def test_from_points_and_bad_targets():
    pts = pd.DataFrame(
        {
            "measurement_id": ["a", "b"],
            "ue": [0.2, 0.15],
            "uv": [0.1, 0.1],
            "ur": [0.12, 0.1],
            "ua": [0.2, 0.2],
        }
    )
    curves, truth = simulate_cutometer_from_parameters(pts, seed=5)
    assert list(curves["measurement_id"].cat.categories) == ["a", "b"]
    with pytest.raises(InputError, match="R7 <= R5"):
        simulate_cutometer_from_parameters(pd.DataFrame({"r2": [0.8], "r5": [0.4], "r7": [0.5]}))
    with pytest.raises(InputError, match="columns given: x"):
        simulate_cutometer_from_parameters(pd.DataFrame({"x": [1]}))


def test_rest_before_the_first_suction():
    ue, uv, ur, ua = 0.17, 0.11, 0.13, 0.21
    curves, truth = simulate_cutometer(
        1, ue=ue, uv=uv, ur=ur, ua=ua, noise_mm=0.0, sampling_hz=200.0, rest_s=1.5, seed=0
    )
    t, y, p = _curve(curves)
    assert t.size == int(round((1.5 + 4.0) * 200)) + 1
    rest = t <= 1.5 + 1e-9
    assert_array_equal(y[rest], 0.0)
    assert_array_equal(p[rest], 0.0)
    assert (p[(t > 1.5 + 1e-9) & (t <= 3.5 + 1e-9)] == 450).all()
    assert_allclose(_at(t, y, 1.6), ue, rtol=1e-12)
    assert_allclose(_at(t, y, 3.5), ue + uv, rtol=1e-12)
    assert_allclose(ue + uv - _at(t, y, 5.5), ua, rtol=1e-12)
    plain = simulate_cutometer(1, ue=ue, uv=uv, ur=ur, ua=ua, noise_mm=0.0, sampling_hz=200.0, seed=0)[1]
    pd.testing.assert_frame_equal(truth, plain)
    with pytest.raises(InputError, match="rest_s"):
        simulate_cutometer(1, rest_s=-1.0)
