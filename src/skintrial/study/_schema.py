"""``study.toml`` as a whole: :class:`StudyFile`, with its ``[study]`` and ``[outcomes.NAME]`` tables.

The other tables have their own modules, whose names this module re-exports (the one place the
package imports the schema from): the analysis plan (``_schema_analysis``), the tables of the study's
other data (``_schema_sources``), the designs and their methods (``_designs``), the cross-checks
between tables (``_consistency``) and the strict base of every table (``_schema_table``: unknown keys
and values written as the wrong type are errors that name the key). See ``docs/bundle.md`` for every
key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skintrial.study._consistency import (
    CONSISTENCY_ERROR,
    Inconsistency,
    plan_inconsistencies,
    raise_inconsistencies,
    study_inconsistencies,
)
from skintrial.study._designs import (
    DEFAULT_METHODS,
    DESIGN_METHODS,
    DESIGNS,
    METHOD_NAMES,
    SINGLE_GROUP,
    DesignName,
    design_of,
    methods_of,
)
from skintrial.study._formats import CsvSpec, MeasurementsSpec
from skintrial.study._ranges import physical_range
from skintrial.study._schema_analysis import AnalysisSpec, CldaSpec, CrossSectionalSpec
from skintrial.study._schema_sources import (
    CUTOMETER_COLUMN_KEYS,
    CUTOMETER_COLUMNS,
    CUTOMETER_READ_KEYS,
    ExpressionSpec,
    QpcrSpec,
    RawSpec,
    SerumSpec,
    TrainingSpec,
)
from skintrial.study._schema_table import Table

__all__ = [
    "OutcomeSpec",
    "StudySpec",
    "AnalysisSpec",
    "TrainingSpec",
    "RawSpec",
    "SerumSpec",
    "QpcrSpec",
    "ExpressionSpec",
    "StudyFile",
    "CrossSectionalSpec",
    "CldaSpec",
    "DESIGNS",
    "DESIGN_METHODS",
    "DEFAULT_METHODS",
    "SINGLE_GROUP",
    "METHOD_NAMES",
    "design_of",
    "methods_of",
    "Inconsistency",
    "CONSISTENCY_ERROR",
    "CUTOMETER_COLUMN_KEYS",
    "CUTOMETER_COLUMNS",
    "CUTOMETER_READ_KEYS",
    "study_inconsistencies",
    "plan_inconsistencies",
    "physical_range",
]


class OutcomeSpec(Table):
    """One declared outcome (``[outcomes.NAME]``)."""

    unit: str
    label: str | None = None
    instrument: str | None = None
    family: str = "other"
    higher_is_better: bool | None = None
    site: str | None = None
    description: str = ""
    min: float | None = None
    max: float | None = None
    replicate_rule: Literal["mean", "median"] = "mean"
    type: Literal["continuous", "binary"] = "continuous"
    """``binary``: values 0/1, analysed as responders (logistic regression, standardised risk difference
    and ratio: results/responders.csv)."""
    parameter: str | None = None
    """The instrument output this outcome is computed from when raw files are given (e.g. ``r2`` of the
    Cutometer, ``dermal_thickness_mm`` of the ultrasound); default: the outcome's own name."""

    @model_validator(mode="after")
    def _ordered_range(self) -> OutcomeSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"min ({self.min:g}) is greater than max ({self.max:g}): no value could pass the range check"
            )
        return self


class StudySpec(Table):
    """``[study]``: design, arms, visits and identity of the study.

    ``design`` is ``randomised`` (the default: a parallel trial of two or more arms, a baseline and
    follow-up visits), ``cross_sectional`` (groups of a participants column compared at one visit; one
    visit is enough) or ``single_arm`` (one group measured before and after). A non-randomised study
    may leave ``arms`` out: it then has the one arm :data:`SINGLE_GROUP` and its participants table
    needs no ``arm`` column.
    """

    name: str
    description: str = ""
    design: DesignName = "randomised"
    arms: list[str]
    reference_arm: str | None = None
    visits: list[str] = Field(min_length=1)
    baseline_visit: str
    seed: int | None = None
    arm_labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _one_group_by_default(cls, data: object) -> object:
        if isinstance(data, Mapping) and "arms" not in data and design_of(data) != "randomised":
            return {**data, "arms": [SINGLE_GROUP]}
        return data

    @property
    def randomised(self) -> bool:
        """Whether the study is a randomised trial (its report may say so)."""
        return self.design == "randomised"

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        raise_inconsistencies(study_inconsistencies(self.model_dump()))
        return self


class StudyFile(BaseModel):
    """The whole ``study.toml``. Unknown tables are errors, like unknown keys inside a table."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    study: StudySpec
    outcomes: dict[str, OutcomeSpec] = Field(min_length=1)
    analysis: AnalysisSpec
    training: TrainingSpec | None = None
    raw: RawSpec | None = None
    serum: SerumSpec | None = None
    qpcr: QpcrSpec | None = None
    expression: ExpressionSpec | None = None
    csv: CsvSpec | None = None
    """How the text tables are written (separator, decimal mark, thousands); detected by default."""
    measurements: MeasurementsSpec | None = None
    """The layout of the measurements table (long by default, or a wide sheet)."""

    @model_validator(mode="before")
    @classmethod
    def _design_default_methods(cls, data: object) -> object:
        """``[analysis] methods`` left out: the design's own analysis (:data:`DEFAULT_METHODS`)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("analysis"), Mapping):
            return data
        if "methods" in data["analysis"]:
            return data
        analysis = {**data["analysis"], "methods": list(DEFAULT_METHODS[design_of(data)])}
        return {**data, "analysis": analysis}

    @model_validator(mode="after")
    def _plan_names_declared(self) -> StudyFile:
        raise_inconsistencies(plan_inconsistencies(self.model_dump()))
        return self

    @property
    def training_plan(self) -> TrainingSpec:
        """``[training]``, or its defaults (2 sessions a week for 16 weeks, ``training.csv``) when the
        table is absent: the one place those defaults are read."""
        return self.training if self.training is not None else TrainingSpec()

    @property
    def secondary(self) -> list[str]:
        """Secondary outcomes: as declared, else every declared outcome that is not primary."""
        if self.analysis.secondary is not None:
            return list(self.analysis.secondary)
        return [o for o in self.outcomes if o not in self.analysis.primary]
