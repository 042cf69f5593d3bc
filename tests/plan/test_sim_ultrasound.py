"""The B-mode phantom simulator: geometry, requested echogenicity, SLEB, artefacts, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan import simulate_ultrasound
from skintrial.plan._sim_ultrasound import _linear_profile


@pytest.fixture(scope="module")
def scan():
    return simulate_ultrasound(
        dermal_thickness_mm=1.8, lep_upper=0.35, lep_lower=0.12, sleb_thickness_mm=0.2, seed=3
    )


def test_shape_dtype_and_determinism(scan):
    pixels, truth = scan
    assert pixels.shape == (512, 1024) and pixels.dtype == np.uint8
    again, _ = simulate_ultrasound(
        dermal_thickness_mm=1.8, lep_upper=0.35, lep_lower=0.12, sleb_thickness_mm=0.2, seed=3
    )
    np.testing.assert_array_equal(pixels, again)
    other, _ = simulate_ultrasound(
        dermal_thickness_mm=1.8, lep_upper=0.35, lep_lower=0.12, sleb_thickness_mm=0.2, seed=4
    )
    assert (other != pixels).mean() > 0.5
    assert truth["spacing_mm"] == (0.0125, 0.0125)


def test_median_thickness_is_exactly_the_request(scan):
    _, truth = scan
    assert_allclose(truth["dermal_thickness_mm"], 1.8, rtol=1e-12)
    thickness = (truth["border_row"] - truth["dermis_top_row"]) * 0.0125
    assert_allclose(np.median(thickness), 1.8, rtol=1e-12)
    assert thickness.std() > 0.01  # it does vary across the image (thickness_cv = 3%)
    assert np.all(truth["surface_row"] < truth["dermis_top_row"])
    assert np.all(truth["dermis_top_row"] < truth["sleb_bottom_row"])
    assert np.all(truth["sleb_bottom_row"] < truth["border_row"])


def test_model_fractions_meet_the_request_and_pixels_follow(scan):
    _, truth = scan
    # the depth profile is solved so that the model's means are the requested ones
    assert_allclose([truth["expected_lep_upper"], truth["expected_lep_lower"]], [0.35, 0.12], atol=0.005)
    # realised pixel fractions scatter around the model (speckle is spatially correlated)
    assert_allclose([truth["lep_upper"], truth["lep_lower"]], [0.35, 0.12], atol=0.02)
    assert_allclose(truth["lep_fraction"] + truth["mep_fraction"] + truth["hep_fraction"], 1.0, rtol=1e-12)
    assert_allclose(truth["lep_ratio"], truth["lep_upper"] / truth["lep_lower"], rtol=1e-12)


@pytest.mark.parametrize(
    "upper, lower, zs, ps, f",
    [(0.3, 0.1, 0.0, 0.0, 0.5), (0.35, 0.12, 0.11, 0.85, 0.5), (0.2, 0.4, 0.05, 0.9, 0.3)],
)
def test_linear_profile_has_the_requested_means(upper, lower, zs, ps, f):
    a, b = _linear_profile(upper, lower, f, zs, ps)
    z = (np.arange(200_000) + 0.5) / 200_000
    p = np.where(z < zs, ps, a + b * z)
    assert_allclose([p[z < f].mean(), p[z >= f].mean()], [upper, lower], atol=1e-4)


def test_sleb_truth_is_the_mostly_low_band(scan):
    pixels, truth = scan
    assert_allclose(truth["sleb_thickness_mm"], 0.2, atol=0.0125)  # within one row of the drawn band
    assert truth["sleb_band_mm"] == 0.2
    top = np.ceil(truth["dermis_top_row"] - 0.5).astype(int)
    band = np.stack([pixels[t : t + 12, c] for c, t in enumerate(top)])  # the first 0.15 mm of dermis
    assert (band <= 30).mean() > 0.75
    none = simulate_ultrasound(dermal_thickness_mm=1.8, lep_upper=0.2, lep_lower=0.1, seed=3)[1]
    assert none["sleb_thickness_mm"] == 0.0


def test_layers_have_their_grey_levels(scan):
    pixels, truth = scan
    y = np.arange(pixels.shape[0])[:, None] + 0.5
    gel = y < truth["surface_row"]
    echo = (y >= truth["surface_row"]) & (y < truth["dermis_top_row"])
    fat = y >= truth["border_row"] + 80  # well below the septa band
    assert pixels[gel].max() <= 10
    assert pixels[echo].min() >= 190
    assert_allclose((pixels[fat] <= 30).mean(), 0.85, atol=0.03)


def test_artefacts():
    base = dict(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=1)
    plain, _ = simulate_ultrasound(**base)
    flat, _ = simulate_ultrasound(**base, contrast=0.3)
    hot, _ = simulate_ultrasound(**base, gain=1.6)
    spread = lambda a: np.subtract(*np.percentile(a, [99, 1]))  # noqa: E731
    assert spread(flat) < 0.35 * spread(plain)
    assert (hot == 255).mean() > 0.05 > (plain == 255).mean()


def test_clipped_profiles_report_what_the_phantom_holds():
    # a very dark upper and very bright lower dermis cannot be linear inside [0, 1]: it is clipped
    _, truth = simulate_ultrasound(
        dermal_thickness_mm=1.5, lep_upper=0.9, lep_lower=0.0, hep_upper=0.0, hep_lower=0.0, seed=2
    )
    assert truth["expected_lep_upper"] < 0.9
    assert_allclose(truth["lep_upper"], truth["expected_lep_upper"], atol=0.03)


def test_small_and_anisotropic_images():
    pixels, truth = simulate_ultrasound(
        dermal_thickness_mm=1.0,
        lep_upper=0.3,
        lep_lower=0.2,
        rows=200,
        cols=64,
        spacing_mm=(0.02, 0.05),
        seed=0,
    )
    assert pixels.shape == (200, 64) and truth["spacing_mm"] == (0.02, 0.05)
    assert_allclose(truth["dermal_thickness_mm"], 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, column",
    [
        (dict(lep_upper=1.2), "lep_upper"),
        (dict(lep_lower=0.95, hep_lower=0.1), "hep_lower"),
        (dict(sleb_thickness_mm=0.9), "sleb_thickness_mm"),
        (dict(dermal_thickness_mm=6.0), "dermal_thickness_mm"),
        (dict(dermal_thickness_mm=-1.0), "dermal_thickness_mm"),
        (dict(upper_fraction=1.0), "upper_fraction"),
    ],
)
def test_impossible_requests_are_input_errors(kwargs, column):
    request = dict(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=0) | kwargs
    with pytest.raises(InputError, match=f"column '{column}'"):
        simulate_ultrasound(**request)


def test_bands_with_zero_probability_stay_empty():
    # u is kept below 1 in float32, so a band with probability 0 never receives a pixel
    _, truth = simulate_ultrasound(
        dermal_thickness_mm=1.5, lep_upper=0.2, lep_lower=0.1, hep_upper=0.0, hep_lower=0.0, seed=11
    )
    assert truth["hep_fraction"] == 0.0
    _, truth = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.0, lep_lower=0.0, seed=11)
    assert truth["lep_fraction"] == 0.0
