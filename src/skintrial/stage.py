"""The stage contract: what every step of a study's analysis hands on.

A run is a loop over stages (:mod:`skintrial.pipeline`): raw instrument files, the trial analyses, the
training log, the molecular layer. Each stage takes the study and returns one :class:`StageResult`:

* ``tables`` — its result tables, each under a name registered in :mod:`skintrial.tables` (the registry
  that ``write_results``, the report and the docs share, so a misspelt name fails loudly);
* ``exclusions`` — the records it left out, in the common exclusion columns
  (``analysis, outcome, participant_id, arm, visit, reason``);
* ``assets`` — files for the output folder (overlays), by path relative to it;
* ``settings`` — the settings it ran with, as plain values: the report's methods text reads them from
  here instead of re-deriving them from ``study.toml``;
* ``measurements`` — for the raw-instrument stage only: measurements that replace the table values of
  the same outcomes before the analyses run.

Nothing here imports a stage: every package depends on this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

__all__ = ["EXCLUSION_COLUMNS", "StageResult", "TableSpec"]

EXCLUSION_COLUMNS: tuple[str, ...] = ("analysis", "outcome", "participant_id", "arm", "visit", "reason")
"""``results/exclusions.csv``: one row per record left out of an analysis, and why."""


@dataclass(frozen=True)
class TableSpec:
    """A result table a stage may produce.

    Attributes
    ----------
    name : str
        The table's name: ``results/<name>.csv`` when ``written``.
    stage : str
        The stage that produces it.
    columns : tuple of str or None
        Its columns, in order; ``None`` where they follow the input (a manifest's own columns).
    description : str
        One line for the docs.
    written : bool
        Whether a run writes it under ``results/``; ``False`` for material only the report shows
        (example raw curves, per-participant dose data).
    """

    name: str
    stage: str
    columns: tuple[str, ...] | None
    description: str
    written: bool = True


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class StageResult:
    """What one stage returns (see the module docstring); the mappings are read-only."""

    stage: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    exclusions: tuple[pd.DataFrame, ...] = ()
    assets: Mapping[str, bytes] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    measurements: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", _frozen(self.tables))
        object.__setattr__(self, "assets", _frozen(self.assets))
        object.__setattr__(self, "settings", _frozen(self.settings))
        object.__setattr__(self, "exclusions", tuple(self.exclusions))
        for frame in self.exclusions:
            if tuple(frame.columns) != EXCLUSION_COLUMNS:
                raise ValueError(
                    f"stage {self.stage!r} gave exclusions with columns {list(frame.columns)}, "
                    f"not {list(EXCLUSION_COLUMNS)}"
                )
