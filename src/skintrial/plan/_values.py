"""Plain Python values for error messages: ``value: 2.5``, never ``value: np.float64(2.5)``."""

from __future__ import annotations

import numpy as np


def plain(value: object) -> object:
    """NumPy scalars and arrays (also inside lists, tuples and dicts) as plain Python values.

    Examples
    --------
    >>> plain({"AT": np.float64(2.5), "n": [np.int64(2), 3]})
    {'AT': 2.5, 'n': [2, 3]}
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value
