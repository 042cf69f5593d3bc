"""The pre-specified analysis plan of ``study.toml``: ``[analysis]`` and its inner tables.

:class:`AnalysisSpec` (the outcomes' families, methods, alpha, multiplicity, sensitivity analyses,
covariates), :class:`CrossSectionalSpec` (``[analysis.cross_sectional]``), :class:`ResponderSpec`
(``[analysis.responders.OUTCOME]``), :class:`RerandomisationSpec` (``[analysis.rerandomisation]``) and
:class:`CldaSpec` (``[analysis.clda]``). See ``docs/bundle.md`` for every key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from skintrial.study._consistency import CONSISTENCY_ERROR
from skintrial.study._designs import MethodName
from skintrial.study._schema_table import Table

__all__ = [
    "AnalysisSpec",
    "CrossSectionalSpec",
    "ResponderSpec",
    "RerandomisationSpec",
    "CldaSpec",
    "DfMethodName",
    "CovarianceName",
]


class CrossSectionalSpec(Table):
    """``[analysis.cross_sectional]``: the groups compared at one visit by the ``cross_sectional`` method.

    Defaults: the arms (``group = "arm"``) at the baseline visit, with the plan's covariates and its
    reference arm; ``group`` may name any participants column (e.g. an activity level), and then the
    contrasts are all pairs unless ``reference_group`` is given.
    """

    group: str = "arm"
    visit: str | None = None
    reference_group: str | None = None
    covariates: list[str] | None = None
    by: str | None = None
    """An optional second factor (a participants column, e.g. an age band): the two-way ANOVA
    group × by (Type II and III, partial eta squared) and the simple effects of group within each level
    of ``by``."""


class ResponderSpec(Table):
    """``[analysis.responders.OUTCOME]``: who responded on a continuous outcome — a change from baseline
    of at least ``change_at_least``, or a percent change of at least ``percent_change_at_least``."""

    change_at_least: float | None = None
    percent_change_at_least: float | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ResponderSpec:
        if (self.change_at_least is None) == (self.percent_change_at_least is None):
            raise ValueError("give exactly one of change_at_least and percent_change_at_least")
        return self


class RerandomisationSpec(Table):
    """``[analysis.rerandomisation]``: the allocation scheme the re-randomisation test re-draws
    (``sensitivity = [..., "rerandomisation"]``). Left out: simple randomisation with equal ratios,
    stated as such in the results. ``permuted_blocks`` is ``skintrial randomize``'s scheme: blocks of
    ``block_sizes`` within the strata (participants columns), in participants.csv order."""

    scheme: Literal["simple", "permuted_blocks"] = "simple"
    ratios: list[int] | None = None
    block_sizes: list[int] = Field(default_factory=list)
    strata: list[str] = Field(default_factory=list)
    seed: int = Field(default=20261207, ge=0)


DfMethodName = Literal["kenward_roger", "kenward_roger_linear", "satterthwaite", "between_within", "residual"]
CovarianceName = Literal["us", "cs", "csh", "ar1", "ar1h", "toep", "toeph"]
_DEFAULT_FALLBACK: list[CovarianceName] = ["toeph", "ar1h", "cs"]


class CldaSpec(Table):
    """``[analysis.clda]``: how the cLDA / MMRM (``methods = [..., "clda"]``) is fitted and tested.

    The default is what statistical analysis plans for an MMRM most often pre-specify (Mallinckrodt et
    al. 2008; the FDA/EMA practice the issue cites): an unstructured covariance with Kenward–Roger
    degrees of freedom and variance (SAS ``ddfm=kr``), and, should the unstructured fit fail, the
    structures heterogeneous Toeplitz, heterogeneous AR(1) and compound symmetry tried in that order;
    model-based standard errors. ``visit_covariates`` must be among ``[analysis] covariates``.
    """

    df_method: DfMethodName = "kenward_roger"
    covariance: CovarianceName = "us"
    fallback: list[CovarianceName] = Field(default_factory=lambda: _DEFAULT_FALLBACK.copy())
    vcov: Literal["model", "empirical"] = "model"
    visit_covariates: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _compatible(self) -> CldaSpec:
        if self.vcov == "empirical" and self.df_method.startswith("kenward_roger"):
            raise PydanticCustomError(
                CONSISTENCY_ERROR,
                "{detail}",
                {
                    "detail": "vcov: Kenward-Roger df come with their own adjusted model variance, not the "
                    'empirical one; use vcov = "model", or df_method = "satterthwaite" with "empirical"'
                },
            )
        return self


class AnalysisSpec(Table):
    """``[analysis]``: the pre-specified analysis plan."""

    primary: list[str] = Field(min_length=1)
    secondary: list[str] | None = None
    methods: list[MethodName] = Field(default_factory=lambda: list[MethodName](["ancova"]))
    cross_sectional: CrossSectionalSpec | None = None
    alpha: float = Field(default=0.05, gt=0, lt=1)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    multiplicity: Literal[
        "holm", "hochberg", "bonferroni", "bh", "by", "fixed_sequence", "none", "dunnett", "tukey"
    ] = "holm"
    gatekeeping: bool = False
    sensitivity: list[Literal["rerandomisation", "rank_ancova", "wilcoxon"]] = Field(default_factory=list)
    rerandomisations: int = Field(default=10_000, ge=100)
    rerandomisation: RerandomisationSpec = Field(default_factory=RerandomisationSpec)
    responders: dict[str, ResponderSpec] = Field(default_factory=dict)
    covariates: list[str] = Field(default_factory=list)
    interaction: bool = False
    per_protocol_min_adherence: float | None = Field(default=None, ge=0, le=1)
    clda: CldaSpec = Field(default_factory=CldaSpec)

    @model_validator(mode="after")
    def _visit_covariates_are_covariates(self) -> AnalysisSpec:
        extra = [c for c in self.clda.visit_covariates if c not in self.covariates]
        if extra:
            raise PydanticCustomError(
                CONSISTENCY_ERROR,
                "{detail}",
                {
                    "detail": f"clda.visit_covariates: {extra} not among [analysis] covariates "
                    f"{self.covariates}; add them there (a covariate x visit term needs the covariate)"
                },
            )
        return self
