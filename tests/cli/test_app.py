"""The CLI's shared policy (``cli/_app.py``): how warnings reach the user."""

from __future__ import annotations

import warnings

from skintrial.cli._app import err_console, guarded
from skintrial.errors import DegenerateFitWarning


def test_skintrial_warnings_are_one_plain_line():
    """A fit that could not be made is said as 'warning: ...', without Python's source path and code line."""

    @guarded
    def command() -> int:
        warnings.warn("cLDA could not be fitted for 1 of 5 outcome(s)", DegenerateFitWarning, stacklevel=2)
        return 7

    with warnings.catch_warnings():
        warnings.simplefilter("always", DegenerateFitWarning)
        with err_console.capture() as captured:
            assert command() == 7
    said = captured.get()
    assert said.startswith("warning: cLDA could not be fitted for 1 of 5 outcome(s)")
    assert ".py" not in said and "DegenerateFitWarning" not in said
