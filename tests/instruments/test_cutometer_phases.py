"""Where the suction starts: a declared onset after a rest, and a pressure channel without suction."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.instruments import PARAMETERS, cutometer_cycles, cutometer_parameters
from skintrial.plan import simulate_cutometer

ALL = [n for n in PARAMETERS if n[0] in "ur"]  # points and R0-R9


@pytest.fixture(scope="module")
def rested():
    """Noise-free 2-cycle curves that begin with 1.2 s at rest, without and with a pressure channel."""
    opts = dict(
        ue=[0.15, 0.18, 0.21],
        uv=[0.08, 0.09, 0.1],
        ur=[0.1, 0.12, 0.14],
        ua=[0.18, 0.2, 0.24],
        n_cycles=2,
        noise_mm=0.0,
        rest_s=1.2,
        seed=3,
    )
    bare, truth = simulate_cutometer(3, pressure_mbar=None, **opts)
    pressured, _ = simulate_cutometer(3, **opts)
    return bare, pressured, truth


def test_declared_onset_recovers_the_truth_after_a_rest(rested):
    bare, _, truth = rested
    res = cutometer_parameters(bare, on_s=2.0, off_s=2.0, onset_s=1.2)
    assert (res["qc"] == "").all() and (res["n_cycles"] == 2).all()
    assert_allclose(res[ALL].to_numpy(), truth[ALL].to_numpy(), atol=1e-9)
    cycles = cutometer_cycles(bare, on_s=2.0, off_s=2.0, onset_s=1.2)
    assert_allclose(cycles["t_on_s"].to_numpy()[:2], [1.2, 5.2], atol=1e-12)


def test_without_the_onset_the_rest_is_read_as_suction(rested):
    bare, _, truth = rested
    res = cutometer_parameters(bare, on_s=2.0, off_s=2.0)
    assert np.abs(res["ue"].to_numpy() - truth["ue"].to_numpy()).min() > 0.05


def test_pressure_phases_need_no_onset_and_ignore_it(rested):
    _, pressured, truth = rested
    for onset in (0.0, 1.2, 3.0):
        res = cutometer_parameters(pressured, on_s=2.0, off_s=2.0, onset_s=onset)
        assert_allclose(res[ALL].to_numpy(), truth[ALL].to_numpy(), atol=1e-9)


@pytest.mark.parametrize("onset", [-0.5, float("nan"), float("inf")])
def test_a_bad_onset_is_an_input_error(rested, onset):
    with pytest.raises(InputError, match="onset"):
        cutometer_parameters(rested[0], on_s=2.0, off_s=2.0, onset_s=onset)


def test_an_all_zero_pressure_channel_falls_back_to_declared_times():
    curves, truth = simulate_cutometer(2, n_cycles=2, noise_mm=0.0, seed=5)
    silent = curves.assign(pressure_mbar=0.0)
    res = cutometer_parameters(silent, on_s=2.0, off_s=2.0)
    assert (res["qc"] == "").all()
    assert_allclose(res[ALL].to_numpy(), truth[ALL].to_numpy(), atol=1e-9)


def test_an_all_zero_pressure_channel_without_declared_times_reads_the_curve():
    curves, truth = simulate_cutometer(1, seed=6, noise_mm=0.0)
    res = cutometer_parameters(curves.assign(pressure_mbar=0.0))
    assert res["qc"][0] == "phases_inferred"
    assert_allclose(res[ALL].to_numpy(), truth[ALL].to_numpy(), atol=1e-9)
