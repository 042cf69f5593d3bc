"""The registry of result tables: every table a run can produce, by name, with its stage and columns.

One list (:data:`TABLES`) that the pipeline checks each stage's output against, that ``write_results``
writes from (``results/<name>.csv`` for each ``written`` table), that the report reads through
(:meth:`skintrial.pipeline.TrialResults.table` refuses a name not registered here), and that
``docs/results.md`` documents (a test compares the two). Column tuples come from the module that builds
the table where it declares them; tables whose columns are built inline are declared here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from skintrial.instruments import LONG_COLUMNS as CURVE_COLUMNS
from skintrial.omics import ECM_COLUMNS
from skintrial.omics.enrichment import CAMERA_COLUMNS
from skintrial.omics.expression import DE_COLUMNS
from skintrial.omics.mechanism import MECHANISM_COLUMNS
from skintrial.omics.panels import LOD_COLUMNS, PQN_COLUMNS, SERUM_ANCOVA_COLUMNS, SERUM_CHANGE_COLUMNS
from skintrial.omics.qpcr import EXCLUSION_COLUMNS as QPCR_WELL_COLUMNS
from skintrial.omics.qpcr import RESULT_COLUMNS
from skintrial.stage import EXCLUSION_COLUMNS, StageResult, TableSpec
from skintrial.stats import (
    CHANGE_COLUMNS,
    CLDA_COLUMNS,
    CONTRAST_COLUMNS,
    CROSS_SECTIONAL_COLUMNS,
    DESCRIPTIVE_COLUMNS,
    EMMEANS_COLUMNS,
    FTEST_COLUMNS,
    KRUSKAL_COLUMNS,
    MANY_ARMS_COLUMNS,
    MIXED_ANOVA_COLUMNS,
    PAIRED_CHANGE_COLUMNS,
    RANK_ANCOVA_COLUMNS,
    RERANDOMISATION_COLUMNS,
    RESPONDER_COLUMNS,
    SIMPLE_EFFECTS_COLUMNS,
    TWO_WAY_ANOVA_COLUMNS,
    TWO_WAY_MEANS_COLUMNS,
    WILCOXON_COLUMNS,
)
from skintrial.study import SCREENING_COLUMNS
from skintrial.training import DOSE_COLUMNS, DOSE_DATA_COLUMNS, PER_PROTOCOL_COLUMNS, SUMMARY_COLUMNS

__all__ = ["TABLES", "REPORT_ONLY", "table_spec", "check_stage", "UnknownTableError"]

FLOW_COLUMNS: tuple[str, ...] = ("arm", "stage", "reason", "withdrawal_visit", "n")
BASELINE_COLUMNS: tuple[str, ...] = ("variable", "level", "arm", "n", "mean", "sd", "count", "percent")
AGREEMENT_COLUMNS: tuple[str, ...] = (
    "outcome",
    "n_raw",
    "n_table_only",
    "n",
    "mean_difference",
    "max_abs_difference",
)

_SPECS: tuple[TableSpec, ...] = (
    TableSpec("flow", "description", FLOW_COLUMNS, "participant flow (CONSORT counts) per arm"),
    TableSpec(
        "screening",
        "description",
        SCREENING_COLUMNS,
        "assessed for eligibility and excluded before enrolment (the optional screening table)",
    ),
    TableSpec("baseline", "description", BASELINE_COLUMNS, "baseline characteristics by arm"),
    TableSpec("descriptives", "description", DESCRIPTIVE_COLUMNS, "statistics by outcome, arm and visit"),
    TableSpec(
        "change", "description", CHANGE_COLUMNS, "within-arm change at every follow-up (description only)"
    ),
    TableSpec("ancova", "ancova", CONTRAST_COLUMNS, "ANCOVA contrasts, the primary analysis"),
    TableSpec("emmeans", "ancova", EMMEANS_COLUMNS, "adjusted means per outcome and arm"),
    TableSpec("arm_tests", "ancova", FTEST_COLUMNS, "F test of arm (Type II and III)"),
    TableSpec("many_arms", "ancova", MANY_ARMS_COLUMNS, "Dunnett or Tukey single-step contrasts"),
    TableSpec("rank_ancova", "sensitivity", RANK_ANCOVA_COLUMNS, "Quade's rank ANCOVA (sensitivity)"),
    TableSpec("wilcoxon", "sensitivity", WILCOXON_COLUMNS, "Wilcoxon-Mann-Whitney shift of change"),
    TableSpec("kruskal_wallis", "sensitivity", KRUSKAL_COLUMNS, "Kruskal-Wallis test of change"),
    TableSpec(
        "rerandomisation", "sensitivity", RERANDOMISATION_COLUMNS, "re-randomisation test of the ANCOVA"
    ),
    TableSpec("responders", "responders", RESPONDER_COLUMNS, "binary and responder outcomes"),
    TableSpec(
        "clda",
        "clda",
        (*CLDA_COLUMNS, "primary_visit"),
        "cLDA contrasts at every post-baseline visit (the last one primary)",
    ),
    TableSpec("mixed_anova", "mixed_anova", MIXED_ANOVA_COLUMNS, "two-way mixed ANOVA (arm × visit)"),
    TableSpec("cross_sectional", "cross_sectional", CROSS_SECTIONAL_COLUMNS, "groups compared at one visit"),
    TableSpec(
        "two_way_anova",
        "cross_sectional",
        TWO_WAY_ANOVA_COLUMNS,
        "two-way ANOVA group × by (Type II and III, partial η²)",
    ),
    TableSpec(
        "simple_effects",
        "cross_sectional",
        SIMPLE_EFFECTS_COLUMNS,
        "group contrasts within each level of by",
    ),
    TableSpec(
        "two_way_means", "cross_sectional", TWO_WAY_MEANS_COLUMNS, "adjusted mean of each group × by cell"
    ),
    TableSpec(
        "paired_change",
        "paired_change",
        PAIRED_CHANGE_COLUMNS,
        "single-arm change from baseline at every follow-up (paired t, Wilcoxon, d_z)",
    ),
    TableSpec(
        "instrument_files",
        "instruments",
        None,
        "one row per raw file: the manifest's columns, the instrument's outputs and its QC",
    ),
    TableSpec(
        "instrument_agreement",
        "instruments",
        AGREEMENT_COLUMNS,
        "raw-file values against measurements.csv, per outcome",
    ),
    TableSpec(
        "cutometer_curves",
        "instruments",
        CURVE_COLUMNS,
        "a few clean and the flagged (readable) Cutometer curves the report draws",
        written=False,
    ),
    TableSpec("training_summary", "training", SUMMARY_COLUMNS, "adherence, dose and progression"),
    TableSpec("dose_response", "training", DOSE_COLUMNS, "skin change on training dose"),
    TableSpec("dose_data", "training", DOSE_DATA_COLUMNS, "per-participant dose and change", written=False),
    TableSpec("per_protocol", "training", PER_PROTOCOL_COLUMNS, "who is in the per-protocol set"),
    TableSpec("ancova_per_protocol", "training", CONTRAST_COLUMNS, "the primary ANCOVA, per-protocol set"),
    TableSpec("serum_ancova", "omics", SERUM_ANCOVA_COLUMNS, "serum analytes: ANCOVA contrasts"),
    TableSpec("serum_change", "omics", SERUM_CHANGE_COLUMNS, "serum analytes: within-arm change"),
    TableSpec("serum_lod", "omics", LOD_COLUMNS, "serum analytes: values below the LOD"),
    TableSpec("serum_pqn", "omics", PQN_COLUMNS, "serum samples: PQN dilution factors"),
    TableSpec("mechanism", "omics", MECHANISM_COLUMNS, "factor change × skin change correlations"),
    TableSpec("mechanism_top", "omics", MECHANISM_COLUMNS, "the 20 strongest mechanism pairs"),
    TableSpec("qpcr", "omics", RESULT_COLUMNS, "fibroblast qPCR: relative expression per gene"),
    TableSpec(
        "qpcr_exclusions",
        "omics",
        (*QPCR_WELL_COLUMNS, "participant_id", "visit"),
        "qPCR wells or samples left out",
    ),
    TableSpec(
        "expression_de", "omics", DE_COLUMNS, "moderated differential expression per gene and contrast"
    ),
    TableSpec(
        "expression_ecm",
        "omics",
        ECM_COLUMNS,
        "the leading ECM genes the report's heatmap draws",
        written=False,
    ),
    TableSpec("expression_genesets", "omics", CAMERA_COLUMNS, "CAMERA gene-set tests per contrast"),
    TableSpec("exclusions", "pipeline", EXCLUSION_COLUMNS, "every record left out of an analysis"),
)

TABLES: Mapping[str, TableSpec] = {t.name: t for t in _SPECS}
"""Every result table by name, in the order ``results/`` and the docs list them."""

REPORT_ONLY: frozenset[str] = frozenset(n for n, t in TABLES.items() if not t.written)


class UnknownTableError(KeyError):
    """A table name that is not in :data:`TABLES` (a typo in the code, never a user error)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a registered result table; known: {', '.join(TABLES)}")


def table_spec(name: str) -> TableSpec:
    """The registered spec of ``name``; :class:`UnknownTableError` for any other name."""
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTableError(name) from None


def check_stage(result: StageResult) -> StageResult:
    """Check a stage's tables against the registry: every name registered for that stage, and the
    columns exactly the registered ones. Raises ``ValueError`` naming the table (a defect of ours)."""
    for name, frame in result.tables.items():
        spec = table_spec(name)
        if spec.stage != result.stage:
            raise ValueError(f"table {name!r} belongs to stage {spec.stage!r}, not {result.stage!r}")
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"table {name!r} of stage {result.stage!r} is a {type(frame).__name__}")
        if spec.columns is not None and tuple(frame.columns) != spec.columns:
            raise ValueError(
                f"table {name!r} of stage {result.stage!r} has columns {list(frame.columns)}, "
                f"registered {list(spec.columns)}"
            )
    return result
