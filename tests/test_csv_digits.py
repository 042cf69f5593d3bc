"""Result CSVs carry no binary float noise: 15 significant digits, every one of them meaningful."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from skintrial._io import csv_bytes


def test_floats_are_written_without_noise_and_read_back_within_5e_15():
    noisy = pd.DataFrame(
        {"outcome": ["r2", "r5", "r7"], "estimate": [0.1041 + 3e-17, 0.1 + 0.2, 7 * 0.1], "n": [56, 56, 3]}
    )
    text = csv_bytes(noisy).decode()
    assert text.splitlines()[1:] == ["r2,0.1041,56", "r5,0.3,56", "r7,0.7,3"]
    rng = np.random.default_rng(0)
    values = pd.DataFrame({"x": rng.normal(size=1000) * 10.0 ** rng.integers(-300, 300, 1000)})
    back = pd.read_csv(io.BytesIO(csv_bytes(values)), float_precision="round_trip")
    np.testing.assert_allclose(back["x"], values["x"], rtol=5e-15)
    assert csv_bytes(pd.DataFrame({"a": ["x", "y"], "p": [np.nan, 1e-300]})).decode().splitlines()[1:] == [
        "x,",
        "y,1e-300",
    ]
