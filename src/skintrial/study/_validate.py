"""Checks of a bundle's tables: every problem found in one pass, each with file, row, column and fix.

A problem that repeats on many rows (an undeclared outcome on 120 rows) is reported once, at its
first row, with the number of rows affected. A value that is wrong on its own row (out of range,
not a number, an empty key cell) is reported on each row, for the first
:data:`~skintrial.errors.MAX_SHOWN` rows of its kind; one more record counts the rest (a file with a
million bad rows is a few lines, and the checks build a few records, not a million).

The checks read what ``study.toml`` declares through :class:`Declared`, which holds only the parts
that could be read: when ``study.toml`` has problems of its own, the tables are still checked for
everything that does not depend on the broken part, so one pass reports every problem.

The checks live in one module per table or concern: :mod:`._declared` (what ``study.toml``
declares), :mod:`._validate_rows` (how a check reports rows), :mod:`._validate_participants`,
:mod:`._validate_measurements` and :mod:`._validate_cross_table` (checks that read more than one
table, and the raw-file manifest). This module gathers them for the bundle loader.
"""

from __future__ import annotations

from skintrial.study._declared import Declared
from skintrial.study._validate_cross_table import (
    check_baselines,
    check_declared_outcomes,
    check_followup,
    check_manifest,
    check_withdrawals,
)

# _duplicates stays importable from here (tests/study/test_validation.py tests it on its own)
from skintrial.study._validate_measurements import _duplicates as _duplicates
from skintrial.study._validate_measurements import check_measurements
from skintrial.study._validate_participants import STATUSES, check_participants
from skintrial.study._validate_rows import blank_row_notes

__all__ = [
    "Declared",
    "check_participants",
    "check_measurements",
    "check_withdrawals",
    "check_followup",
    "check_baselines",
    "check_manifest",
    "check_declared_outcomes",
    "blank_row_notes",
    "STATUSES",
]
