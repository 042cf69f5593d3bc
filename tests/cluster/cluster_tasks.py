"""Task functions for the runner tests, in a module of their own: Dask's worker processes import a task
function by its module name, and a test module (``tests.cluster.test_runner``) cannot be imported
there (another distribution's ``tests`` package shadows it)."""

from __future__ import annotations

from skintrial.errors import InputError


def square(x: int, offset: int = 0) -> int:
    return x * x + offset


def fail_on_three(x: int) -> int:
    if x == 3:
        raise InputError("item 3 is bad", fix="leave it out")
    return x
