"""The tables of ``study.toml`` that name the study's other data and how to read and analyse them.

``[training]`` (the planned dose, for adherence), ``[raw]`` (raw instrument files: the manifest, pixel
spacing, the Cutometer's reading options and column mapping), ``[serum]`` (a serum panel), ``[qpcr]``
(fibroblast qPCR) and ``[expression]`` (a transcriptome). See ``docs/bundle.md`` for every key.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from skintrial.study._ranges import pixel_spacing_problem
from skintrial.study._schema_table import Table

__all__ = [
    "TrainingSpec",
    "RawSpec",
    "SerumSpec",
    "QpcrSpec",
    "ExpressionSpec",
    "CUTOMETER_COLUMNS",
    "CUTOMETER_READ_KEYS",
    "CUTOMETER_COLUMN_KEYS",
]


class TrainingSpec(Table):
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


class RawSpec(Table):
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


class SerumSpec(Table):
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


class QpcrSpec(Table):
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


class ExpressionSpec(Table):
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
