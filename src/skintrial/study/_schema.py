"""``study.toml``: the typed schema of a study's design and pre-specified analysis plan.

Inner tables reject unknown keys, so a typo (``basline_visit``) is an error that names the key
instead of a silently ignored setting. Values are strict: a number written as text (``alpha =
"0.05"``), a ``true`` written as ``"yes"``, or a ``nan`` bound is an error that names the key, never
a value converted or ignored behind the user's back. See ``docs/bundle.md`` for every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from skintrial.study._formats import CsvSpec, MeasurementsSpec
from skintrial.study._ranges import physical_range, pixel_spacing_problem

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

MethodName = Literal["ancova", "clda", "mixed_anova", "cross_sectional", "paired_change"]
METHOD_NAMES: tuple[str, ...] = get_args(MethodName)
"""The analyses ``[analysis] methods`` may list."""

DesignName = Literal["randomised", "cross_sectional", "single_arm"]
DESIGNS: tuple[str, ...] = get_args(DesignName)
"""The study designs ``[study] design`` may name (docs/bundle.md, "Study designs")."""

DESIGN_METHODS: Mapping[str, tuple[str, ...]] = {
    "randomised": ("ancova", "clda", "mixed_anova", "cross_sectional"),
    "cross_sectional": ("cross_sectional",),
    "single_arm": ("paired_change", "clda"),
}
"""The methods each design may list: a cross-sectional study has no follow-up (no ANCOVA, cLDA or
mixed ANOVA); a single-arm study has no second arm (never a between-arm test)."""

DEFAULT_METHODS: Mapping[str, tuple[str, ...]] = {
    "randomised": ("ancova",),
    "cross_sectional": ("cross_sectional",),
    "single_arm": ("paired_change",),
}
"""``[analysis] methods`` when study.toml does not list them, by design."""

SINGLE_GROUP = "all"
"""The one arm of a non-randomised study that declares no ``[study] arms`` (and whose participants
table may then have no ``arm`` column)."""


def design_of(raw: object) -> str:
    """The design a raw ``study.toml`` document (or its ``[study]`` table) declares; ``randomised``
    by default and for a value that is not a design (reported by the schema)."""
    if isinstance(raw, Mapping) and isinstance(raw.get("study"), Mapping):
        raw = raw["study"]
    design = raw.get("design", "randomised") if isinstance(raw, Mapping) else "randomised"
    return design if design in DESIGNS else "randomised"


def methods_of(raw: object) -> list[str]:
    """``[analysis] methods`` of a raw document, or the design's default when the key is absent."""
    analysis = raw.get("analysis") if isinstance(raw, Mapping) else None
    listed = analysis.get("methods") if isinstance(analysis, Mapping) else None
    if listed is None:
        return list(DEFAULT_METHODS[design_of(raw)])
    return _names(listed) or []


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


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


class Inconsistency(NamedTuple):
    """A cross-check of ``study.toml`` that failed: the key (``study.reference_arm``), what, and the fix."""

    key: str
    message: str
    value: object
    fix: str


CONSISTENCY_ERROR = "study_consistency"
"""pydantic error type of the cross-checks; ``read_study_toml`` reports them one by one instead."""


def _names(value: object) -> list[str] | None:
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def study_inconsistencies(study: object) -> list[Inconsistency]:
    """Cross-checks of the ``[study]`` table, run on the raw TOML table (so they are reported even when
    other keys have errors) as well as by :class:`StudySpec` itself."""
    if not isinstance(study, Mapping):
        return []
    out = []
    design = design_of(study)
    arms, visits = _names(study.get("arms")), _names(study.get("visits"))
    if design == "single_arm" and isinstance(study.get("reference_arm"), str):
        out.append(
            Inconsistency(
                "study.reference_arm",
                "a single-arm study has no reference arm: nothing is compared between arms",
                study.get("reference_arm"),
                'remove reference_arm, or set design = "randomised" for a trial that compares arms',
            )
        )
    if arms is not None:
        twice = sorted({a for a in arms if arms.count(a) > 1})
        if twice:
            out.append(
                Inconsistency(
                    "study.arms", f"arms are listed more than once: {twice}", twice, "list each arm once"
                )
            )
        if design == "randomised" and len(set(arms)) < 2:
            out.append(
                Inconsistency(
                    "study.arms",
                    f"a trial compares at least 2 arms; [study] arms lists {len(set(arms))}: {arms}",
                    arms,
                    'declare every arm participants were randomised to, e.g. arms = ["CON", "RT"]; a study '
                    'of one group measured before and after is design = "single_arm"',
                )
            )
        if design == "single_arm" and len(set(arms)) != 1:
            out.append(
                Inconsistency(
                    "study.arms",
                    f"a single-arm study has one arm; [study] arms lists {len(set(arms))}: {arms}",
                    arms,
                    'list the one arm (or leave arms out), or set design = "randomised" for a trial that '
                    "compares arms",
                )
            )
        ref = study.get("reference_arm")
        if isinstance(ref, str) and ref not in arms:
            out.append(
                Inconsistency(
                    "study.reference_arm",
                    f"reference_arm is not one of arms {arms}",
                    ref,
                    "set reference_arm to a declared arm, or add it to arms",
                )
            )
        labels = study.get("arm_labels")
        unknown = sorted(set(labels) - set(arms)) if isinstance(labels, Mapping) else []
        if unknown:
            out.append(
                Inconsistency(
                    "study.arm_labels",
                    f"arm_labels name arms that are not declared: {unknown}",
                    unknown,
                    "correct the arm names, or add them to arms",
                )
            )
    if visits is not None:
        twice = sorted({v for v in visits if visits.count(v) > 1})
        if twice:
            out.append(
                Inconsistency(
                    "study.visits",
                    f"visits are listed more than once: {twice}",
                    twice,
                    "list each visit once, in time order",
                )
            )
        base = study.get("baseline_visit")
        if isinstance(base, str) and base not in visits:
            out.append(
                Inconsistency(
                    "study.baseline_visit",
                    f"baseline_visit is not one of visits {visits}",
                    base,
                    "set baseline_visit to a declared visit, or add it to visits",
                )
            )
        elif (
            isinstance(base, str) and design != "cross_sectional" and len(visits) >= 2 and base == visits[-1]
        ):
            out.append(
                Inconsistency(
                    "study.baseline_visit",
                    f"baseline_visit is the last of visits {visits}; the last visit is the follow-up that the "
                    "primary analysis compares with the baseline, so the baseline must come before it",
                    base,
                    "list visits in time order (baseline first), or set baseline_visit to the visit before the "
                    "intervention",
                )
            )
        if design != "cross_sectional" and len(visits) < 2:
            what = "a randomised trial" if design == "randomised" else "a single-arm pre/post study"
            out.append(
                Inconsistency(
                    "study.visits",
                    f"{what} needs a baseline and at least one follow-up visit; [study] visits lists "
                    f"{len(visits)}: {visits}",
                    visits,
                    'list the visits in time order (e.g. visits = ["week0", "week12"]), or set design = '
                    '"cross_sectional" for a study that measures each participant once',
                )
            )
    return out


def _raise(problems: list[Inconsistency]) -> None:
    if problems:
        raise PydanticCustomError(
            CONSISTENCY_ERROR, "{detail}", {"detail": "; ".join(f"{p.key}: {p.message}" for p in problems)}
        )


class StudySpec(_Table):
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
        _raise(study_inconsistencies(self.model_dump()))
        return self


class CrossSectionalSpec(_Table):
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


class ResponderSpec(_Table):
    """``[analysis.responders.OUTCOME]``: who responded on a continuous outcome — a change from baseline
    of at least ``change_at_least``, or a percent change of at least ``percent_change_at_least``."""

    change_at_least: float | None = None
    percent_change_at_least: float | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ResponderSpec:
        if (self.change_at_least is None) == (self.percent_change_at_least is None):
            raise ValueError("give exactly one of change_at_least and percent_change_at_least")
        return self


class RerandomisationSpec(_Table):
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


class CldaSpec(_Table):
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


class AnalysisSpec(_Table):
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


class TrainingSpec(_Table):
    """``[training]``: the planned training dose (for adherence)."""

    sessions_per_week: int = Field(default=2, gt=0)
    weeks: int = Field(default=16, gt=0)
    file: str = "training.csv"
    training_arms: list[str] | None = Field(default=None, min_length=1)
    """Arms with a training prescription (adherence is planned for them only); by default every arm with
    training rows in the log. Checked against ``[study] arms`` with the other cross-checks of study.toml
    (docs/training.md)."""

    @model_validator(mode="after")
    def _distinct_training_arms(self) -> TrainingSpec:
        if self.training_arms is not None and len(set(self.training_arms)) != len(self.training_arms):
            raise ValueError(f"training_arms lists an arm twice: {self.training_arms}")
        return self


CutometerColumn = Literal["time_s", "deformation_mm", "pressure_mbar", "measurement_id"]
CutometerReadOption = Literal["sep", "decimal", "skiprows", "sheet_name"]
CutometerColumnKey = Literal[CutometerColumn, CutometerReadOption]
#: The canonical columns of ``read_cutometer``'s long table that a mapping may name.
CUTOMETER_COLUMNS: tuple[str, ...] = get_args(CutometerColumn)
#: Reader options a mapping may carry (passed to pandas).
CUTOMETER_READ_KEYS: tuple[str, ...] = get_args(CutometerReadOption)
#: Keys of ``[raw.cutometer_columns]`` and the CLI's ``--column`` keys: the columns and the reader
#: options. Declared here once; ``instruments._cutometer_read`` imports them (instruments already
#: depend on the study layer, never the other way).
CUTOMETER_COLUMN_KEYS: tuple[str, ...] = get_args(CutometerColumnKey)


class RawSpec(_Table):
    """``[raw]``: raw instrument files and how to read them (docs/bundle.md, docs/cutometer.md).

    The ``cutometer_*`` keys are the options of ``skintrial cutometer`` (``--on``, ``--off``,
    ``--onset``, ``--read-time``, ``--method``, ``--drop-first-cycle``, and ``--column`` as the table
    ``[raw.cutometer_columns]``: ``time_s = "Time [ms]:ms"``).
    """

    manifest: str = "raw/manifest.csv"
    data_root: str | None = None
    """A shared raw-data folder (absolute, or relative to study.toml) whose files the manifest may list
    besides the bundle's own; without it, every raw file lies inside the bundle folder."""
    pixel_spacing_mm: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    cutometer_on_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    cutometer_off_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    cutometer_onset_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    cutometer_read_time_s: float = Field(default=0.1, gt=0, allow_inf_nan=False)
    cutometer_method: Literal["read_time", "inflection"] = "read_time"
    cutometer_drop_first_cycle: bool = False
    cutometer_columns: dict[CutometerColumnKey, str | int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _plausible_spacing(self) -> RawSpec:
        why = None if self.pixel_spacing_mm is None else pixel_spacing_problem(self.pixel_spacing_mm)
        if why is not None:
            raise ValueError(f"pixel_spacing_mm: {why}")
        return self

    @model_validator(mode="after")
    def _cutometer_times(self) -> RawSpec:
        on, off, read = self.cutometer_on_s, self.cutometer_off_s, self.cutometer_read_time_s
        if off is not None and on is None:
            raise ValueError(
                "cutometer_off_s is given without cutometer_on_s: give both suction and relaxation times"
            )
        if on is not None and not on > read:
            raise ValueError(f"cutometer_on_s ({on}) must be longer than cutometer_read_time_s ({read})")
        if off is not None and not off >= read:
            raise ValueError(f"cutometer_off_s ({off}) must be at least cutometer_read_time_s ({read})")
        for key, value in self.cutometer_columns.items():
            if key == "skiprows" and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"cutometer_columns.skiprows must be a whole number >= 0, not {value!r}")
            if key not in ("skiprows", "sheet_name") and not isinstance(value, str):
                raise ValueError(f"cutometer_columns.{key} must be a text 'SOURCE[:UNIT]', not {value!r}")
        return self


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
    mechanism_methods: list[Literal["spearman", "pearson"]] = Field(
        default_factory=lambda: list[Literal["spearman", "pearson"]](["spearman", "pearson"])
    )
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


class ExpressionSpec(_Table):
    """``[expression]``: a transcriptome of the participants' samples (docs/expression.md, "In a study").

    ``file`` is a genes × samples matrix (CSV/TSV, ``.gz`` ok) or an AnnData ``.h5ad``; ``samples`` the
    sample table (``sample, participant_id, visit`` and optionally ``treatment`` and other columns;
    not needed for an ``.h5ad`` whose ``obs`` has them). ``counts`` marks RNA-seq counts (TMM + voom).
    ``design`` and ``contrasts`` default to the paired arm × visit design of the study (each
    participant their own control: the change from the baseline to the last visit within each arm,
    and between arms). ``genesets`` is ``"ecm"`` (the shipped matrisome sets), a GMT file of the
    bundle, or ``"none"``.
    """

    file: str = "expression.csv"
    samples: str | None = "expression_samples.csv"
    counts: bool = False
    design: str | None = None
    contrasts: list[str] | None = None
    genesets: str = "ecm"
    inter_gene_cor: float = Field(default=0.01, ge=-1, le=1)
    trend: bool = False
    robust: bool = False
    random_participant: bool = False
    """Participants as a random block (limma duplicateCorrelation) instead of a fixed term."""


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
        _raise(plan_inconsistencies(self.model_dump()))
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


def plan_inconsistencies(raw: object) -> list[Inconsistency]:
    """Cross-checks between ``[analysis]`` and ``[outcomes.*]`` on the raw TOML document (see
    :func:`study_inconsistencies`)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("analysis"), Mapping):
        return []
    analysis, outcomes = raw["analysis"], raw.get("outcomes")
    declared = set(outcomes) if isinstance(outcomes, Mapping) else None
    out = []
    for key in ("primary", "secondary"):
        names = _names(analysis.get(key))
        unknown = [o for o in names or [] if declared is not None and o not in declared]
        if unknown:
            out.append(
                Inconsistency(
                    f"analysis.{key}",
                    f"analysis.{key} names undeclared outcomes {unknown}",
                    unknown,
                    "declare each as an [outcomes.NAME] table with its unit, or correct the name",
                )
            )
    both = sorted(set(_names(analysis.get("primary")) or []) & set(_names(analysis.get("secondary")) or []))
    if both:
        out.append(
            Inconsistency(
                "analysis.secondary",
                f"outcomes {both} are both primary and secondary",
                both,
                "list each outcome in one family only",
            )
        )
    return (
        out
        + _design_inconsistencies(raw)
        + _cross_sectional_inconsistencies(raw)
        + _training_inconsistencies(raw)
    )


_NOT_FOR_DESIGN = {
    "cross_sectional": "a cross-sectional study measures each participant once: it has no follow-up to "
    "analyse by {method}",
    "single_arm": "a single-arm study has no second arm: {method} compares arms, and a single-arm study is "
    "never analysed by a between-arm test",
    "randomised": "{method} tests change within one group; in a randomised trial within-arm tests are no "
    "comparison of the arms (the within-arm change is described in change.csv)",
}


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _design_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """The methods of ``[analysis]`` fit the study's design, and the design's own analysis is listed;
    the ANCOVA-only settings (interaction, per-protocol set) belong to a randomised trial."""
    design, methods = design_of(raw), methods_of(raw)
    allowed = DESIGN_METHODS[design]
    out = []
    for m in methods:
        if m in METHOD_NAMES and m not in allowed:
            out.append(
                Inconsistency(
                    "analysis.methods",
                    _NOT_FOR_DESIGN[design].format(method=m) + f" (design = {design!r})",
                    m,
                    f"list only methods of this design: {list(allowed)}, or correct [study] design",
                )
            )
    own = DEFAULT_METHODS[design][0]
    if design != "randomised" and own not in methods:
        out.append(
            Inconsistency(
                "analysis.methods",
                f"a {design.replace('_', '-')} study is analysed by {own!r}, which methods does not list",
                methods,
                f"add {own!r} to [analysis] methods (or leave methods out)",
            )
        )
    analysis, study = _mapping(raw.get("analysis")), _mapping(raw.get("study"))
    table = analysis.get("cross_sectional")
    group = table.get("group", "arm") if isinstance(table, Mapping) else "arm"
    arms = _names(study.get("arms"))
    if design == "cross_sectional" and group == "arm" and (arms is None or len(set(arms)) < 2):
        out.append(
            Inconsistency(
                "analysis.cross_sectional.group",
                "a cross-sectional study compares the groups of a participants column, and none is named "
                "(the default, the arm, has one value here)",
                None,
                'name the column in study.toml: [analysis.cross_sectional] group = "activity" (any '
                "participants column with two or more values)",
            )
        )
    if design != "randomised":
        for key in ("interaction", "per_protocol_min_adherence"):
            if analysis.get(key) not in (None, False):
                out.append(
                    Inconsistency(
                        f"analysis.{key}",
                        f"{key} is a setting of the ANCOVA of a randomised trial; this study's design is "
                        f"{design!r}",
                        analysis.get(key),
                        f"remove {key} from [analysis], or correct [study] design",
                    )
                )
    return out


def _training_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """``[training] training_arms`` names declared arms."""
    training, study = raw.get("training"), raw.get("study")
    if not isinstance(training, Mapping) or not isinstance(study, Mapping):
        return []
    listed, arms = _names(training.get("training_arms")), _names(study.get("arms"))
    unknown = [a for a in listed or [] if arms is not None and a not in arms]
    if not unknown:
        return []
    return [
        Inconsistency(
            "training.training_arms",
            f"training_arms names arms that are not declared: {unknown}",
            unknown,
            f"name arms of [study] arms {arms}, or add the arm there",
        )
    ]


def _cross_sectional_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """``[analysis.cross_sectional]`` goes with ``"cross_sectional"`` in methods, names a declared visit,
    and (grouping by arm) a declared reference arm."""
    analysis, study = raw["analysis"], raw.get("study")
    study = study if isinstance(study, Mapping) else {}
    table, methods = analysis.get("cross_sectional"), methods_of(raw)
    if not isinstance(table, Mapping):
        return []
    out = []
    key = "analysis.cross_sectional"
    if "cross_sectional" not in methods:
        out.append(
            Inconsistency(
                key,
                "[analysis.cross_sectional] is given but 'cross_sectional' is not in [analysis] methods",
                None,
                "add 'cross_sectional' to methods, or remove the table",
            )
        )
    visits, arms = _names(study.get("visits")), _names(study.get("arms"))
    visit = table.get("visit")
    if isinstance(visit, str) and visits is not None and visit not in visits:
        out.append(
            Inconsistency(
                f"{key}.visit",
                f"visit is not one of [study] visits {visits}",
                visit,
                "name a declared visit (default: the baseline visit)",
            )
        )
    group, by = table.get("group", "arm"), table.get("by")
    if isinstance(by, str) and by == group:
        out.append(
            Inconsistency(
                f"{key}.by",
                f"by names the grouping column {group!r} itself; the two-way ANOVA needs a second factor",
                by,
                "name another participants column (e.g. an age band), or leave by out",
            )
        )
    ref = table.get("reference_group")
    if group == "arm" and isinstance(ref, str) and arms is not None and ref not in arms:
        out.append(
            Inconsistency(
                f"{key}.reference_group",
                f"reference_group is not one of arms {arms}",
                ref,
                "name a declared arm, or leave it out (default: the reference arm)",
            )
        )
    return out
