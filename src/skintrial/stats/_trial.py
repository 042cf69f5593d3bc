"""One base for the results of the trial analyses: ANCOVA, cross-sectional, cLDA and mixed ANOVA.

Every trial analysis returns a frozen :class:`TrialAnalysis`: the same three tables under the same
names, whatever the method, so that the pipeline, the report and a user read them alike.

* ``contrasts`` — differences between arms (or groups), one row per outcome × contrast (× visit for
  cLDA), with the columns of ``results/ancova.csv`` (cLDA and the cross-sectional comparison add their
  visit); empty for the mixed ANOVA, which tests terms instead.
* ``tests`` — omnibus tests per outcome: the F test of arm (group) for ANCOVA and the cross-sectional
  comparison, the ``arm``, ``visit`` and ``arm:visit`` terms of the mixed ANOVA; empty for cLDA.
* ``estimates`` — adjusted means: per outcome × arm (ANCOVA, cross-sectional), per outcome × arm ×
  visit (cLDA); empty for the mixed ANOVA.

A table an analysis does not produce is present and empty, with its declared columns. A subclass
declares its ``method`` (its name in ``[analysis] methods`` of study.toml), the columns of each table
(schemas of :mod:`skintrial.stats._schema`), any fields of its own, and :meth:`~TrialAnalysis.tables`:
which of its tables the pipeline writes, under their names in :mod:`skintrial.tables`. A new analysis
is one such small class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

__all__ = ["TrialAnalysis", "empty_table"]


def empty_table(columns: Sequence[str]) -> pd.DataFrame:
    """A table with the given columns and no rows: what an analysis holds for a table it does not make."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True, kw_only=True)
class TrialAnalysis(ABC):
    """The result of a trial analysis over many outcomes: the base of every analysis's result.

    Attributes
    ----------
    method : str
        Class level: the analysis's name in ``[analysis] methods`` (``"ancova"``,
        ``"cross_sectional"``, ``"clda"``, ``"mixed_anova"``).
    contrast_columns, test_columns, estimate_columns : tuple of str
        Class level: the columns of ``contrasts``, ``tests`` and ``estimates``, in order, whatever the
        parameters.
    contrasts : DataFrame
        Arm (group) differences, one row per outcome × contrast (× visit); ``p_adj`` is NaN until
        :func:`~skintrial.stats.multiplicity.adjust_families` fills it.
    tests : DataFrame
        Omnibus tests, one row per outcome × term (× type of sums of squares).
    estimates : DataFrame
        Adjusted means, one row per outcome × arm (× visit).
    ci_level : float or None
        Level of the intervals in ``contrasts`` and ``estimates``; None for an analysis without
        intervals (the mixed ANOVA).

    Every row of every table has a ``status``; its statistics are NaN unless it is ``ok`` (each
    analysis's docstring lists its statuses).

    Examples
    --------
    >>> from skintrial.stats import AncovaResult, CldaResult, MixedAnovaResult
    >>> AncovaResult.method, CldaResult.method, MixedAnovaResult.method
    ('ancova', 'clda', 'mixed_anova')
    >>> CldaResult.schema()["estimates"][:3]  # adjusted means per outcome x arm x visit
    ('outcome', 'arm', 'visit')
    """

    method: ClassVar[str]
    contrast_columns: ClassVar[tuple[str, ...]]
    test_columns: ClassVar[tuple[str, ...]]
    estimate_columns: ClassVar[tuple[str, ...]]

    contrasts: pd.DataFrame
    tests: pd.DataFrame
    estimates: pd.DataFrame
    ci_level: float | None

    @classmethod
    def schema(cls) -> dict[str, tuple[str, ...]]:
        """The columns of each table, by field: ``{"contrasts": ..., "tests": ..., "estimates": ...}``."""
        return {
            "contrasts": cls.contrast_columns,
            "tests": cls.test_columns,
            "estimates": cls.estimate_columns,
        }

    @abstractmethod
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the pipeline writes, by their name in ``results/<name>.csv`` (``p_adj`` not filled)."""
