"""``study.toml``: the typed schema of a study's design and pre-specified analysis plan.

Inner tables reject unknown keys, so a typo (``basline_visit``) is an error that names the key
instead of a silently ignored setting. See ``docs/bundle.md`` for every key.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "OutcomeSpec",
    "StudySpec",
    "AnalysisSpec",
    "TrainingSpec",
    "RawSpec",
    "SerumSpec",
    "QpcrSpec",
    "StudyFile",
    "METHOD_NAMES",
    "physical_range",
]

METHOD_NAMES = ("ancova", "clda", "mixed_anova")

# Physical ranges by unit, used when an outcome does not declare min/max. A ratio is bounded by 1 for
# the Cutometer ratios R2, R5, R7 (Ua/Uf, Ur/Ue, Ur/Uf); declare `max` for a ratio that can exceed 1.
_UNIT_RANGES: dict[str, tuple[float, float]] = {
    "ratio": (0.0, 1.0),
    "fraction": (0.0, 1.0),
    "%": (0.0, 100.0),
    "percent": (0.0, 100.0),
    "mm": (0.0, 100.0),
    "um": (0.0, 100_000.0),
    "µm": (0.0, 100_000.0),
    "cm": (0.0, 300.0),
    "kg": (0.0, 500.0),
    "g": (0.0, 500_000.0),
    "mL/kg/min": (0.0, 100.0),
    "L/min": (0.0, 10.0),
    "bpm": (0.0, 250.0),
    "years": (0.0, 130.0),
    "kg/m2": (5.0, 100.0),
}


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutcomeSpec(_Table):
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
    parameter: str | None = None
    """The instrument output this outcome is computed from when raw files are given (e.g. ``r2`` of the
    Cutometer, ``dermal_thickness_mm`` of the ultrasound); default: the outcome's own name."""


def physical_range(spec: OutcomeSpec) -> tuple[float, float]:
    """The allowed range of an outcome: its declared min/max, else its unit's physical range."""
    lo, hi = _UNIT_RANGES.get(spec.unit, (-math.inf, math.inf))
    return (spec.min if spec.min is not None else lo, spec.max if spec.max is not None else hi)


class StudySpec(_Table):
    """``[study]``: arms, visits and identity of the study."""

    name: str
    description: str = ""
    arms: list[str] = Field(min_length=1)
    reference_arm: str | None = None
    visits: list[str] = Field(min_length=2)
    baseline_visit: str
    seed: int | None = None
    arm_labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"arms are listed twice: {self.arms}")
        if len(set(self.visits)) != len(self.visits):
            raise ValueError(f"visits are listed twice: {self.visits}")
        if self.reference_arm is not None and self.reference_arm not in self.arms:
            raise ValueError(f"reference_arm {self.reference_arm!r} is not one of arms {self.arms}")
        if self.baseline_visit not in self.visits:
            raise ValueError(f"baseline_visit {self.baseline_visit!r} is not one of visits {self.visits}")
        unknown = sorted(set(self.arm_labels) - set(self.arms))
        if unknown:
            raise ValueError(f"arm_labels name arms that are not declared: {unknown}")
        return self


class AnalysisSpec(_Table):
    """``[analysis]``: the pre-specified analysis plan."""

    primary: list[str] = Field(min_length=1)
    secondary: list[str] | None = None
    methods: list[Literal["ancova", "clda", "mixed_anova"]] = Field(default_factory=lambda: ["ancova"])
    alpha: float = Field(default=0.05, gt=0, lt=1)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    multiplicity: Literal["holm", "hochberg", "bonferroni", "bh", "by", "fixed_sequence", "none"] = "holm"
    gatekeeping: bool = False
    covariates: list[str] = Field(default_factory=list)
    interaction: bool = False
    per_protocol_min_adherence: float | None = Field(default=None, ge=0, le=1)


class TrainingSpec(_Table):
    """``[training]``: the planned training dose (for adherence)."""

    sessions_per_week: int = Field(default=2, gt=0)
    weeks: int = Field(default=16, gt=0)
    file: str = "training.csv"


class RawSpec(_Table):
    """``[raw]``: raw instrument files and how to read them."""

    manifest: str = "raw/manifest.csv"
    pixel_spacing_mm: float | None = Field(default=None, gt=0)
    cutometer_on_s: float | None = None
    cutometer_off_s: float | None = None


class SerumSpec(_Table):
    """``[serum]``: a serum panel file (cytokines, hormones, metabolites) and how to analyse it (docs/panels.md)."""

    file: str = "serum.csv"
    log: Literal["log2", "log10", "ln", "none"] = "log2"
    below_lod: Literal["lod_sqrt2", "lod_half", "lod", "censored_normal", "missing"] = "lod_sqrt2"
    max_below_lod: float = Field(default=0.5, ge=0, le=1)
    pqn: list[str] = Field(default_factory=list)
    pqn_reference: Literal["median", "mean"] = "median"
    pqn_total_area: bool = False
    mechanism_outcomes: list[str] | None = None
    mechanism_methods: list[Literal["spearman", "pearson"]] = Field(default_factory=lambda: ["spearman", "pearson"])
    mechanism_arm_adjusted: bool = True


class QpcrSpec(_Table):
    """``[qpcr]``: fibroblast qPCR of each participant's pre and post serum (docs/qpcr.md, docs/panels.md)."""

    file: str = "qpcr.csv"
    reference_genes: list[str] = Field(min_length=1)
    method: Literal["ddct", "pfaffl"] = "ddct"
    efficiencies: dict[str, float] | None = None
    pre: str | None = None
    post: str | None = None
    between: Literal["change", "ancova"] = "change"
    test: Literal["welch", "student"] = "welch"
    cutoff: float | None = 35.0
    undetermined: Literal["exclude", "cutoff"] = "exclude"
    replicate_rule: Literal["mean", "median"] = "mean"
    max_replicate_sd: float | None = Field(default=0.5, gt=0)


class StudyFile(BaseModel):
    """The whole ``study.toml``. Unknown tables are errors, like unknown keys inside a table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: StudySpec
    outcomes: dict[str, OutcomeSpec] = Field(min_length=1)
    analysis: AnalysisSpec
    training: TrainingSpec | None = None
    raw: RawSpec | None = None
    serum: SerumSpec | None = None
    qpcr: QpcrSpec | None = None

    @model_validator(mode="after")
    def _plan_names_declared(self) -> StudyFile:
        declared = set(self.outcomes)
        for key in ("primary", "secondary"):
            names = getattr(self.analysis, key) or []
            unknown = [o for o in names if o not in declared]
            if unknown:
                raise ValueError(f"analysis.{key} names undeclared outcomes {unknown}")
        both = set(self.analysis.primary) & set(self.analysis.secondary or [])
        if both:
            raise ValueError(f"outcomes {sorted(both)} are both primary and secondary")
        return self

    @property
    def secondary(self) -> list[str]:
        """Secondary outcomes: as declared, else every declared outcome that is not primary."""
        if self.analysis.secondary is not None:
            return list(self.analysis.secondary)
        return [o for o in self.outcomes if o not in self.analysis.primary]
