"""The study bundle: ``study.toml`` schema, table readers (CSV, Excel, Parquet), validation, :class:`Study`;
import of REDCap projects into a bundle (docs/import.md)."""

from skintrial.study._bundle import Study, load_study, read_study_toml, validate_study
from skintrial.study._manifest import manifest_spacing, read_spacing_manifest
from skintrial.study._ranges import pixel_spacing_problem
from skintrial.study._readers import ROW_COLUMN, find_table, read_table
from skintrial.study._redcap_import import RedcapImport, import_redcap, redcap_draft
from skintrial.study._redcap_write import MAPPING_FILE, write_redcap_bundle, write_redcap_draft
from skintrial.study._schema import (
    CUTOMETER_COLUMN_KEYS,
    CUTOMETER_COLUMNS,
    CUTOMETER_READ_KEYS,
    AnalysisSpec,
    CrossSectionalSpec,
    ExpressionSpec,
    OutcomeSpec,
    QpcrSpec,
    RawSpec,
    SerumSpec,
    StudyFile,
    StudySpec,
    physical_range,
)
from skintrial.study._screening import SCREENING_COLUMNS, read_screening
from skintrial.study._summaries import analysis_exclusions, baseline_characteristics, participant_flow

__all__ = [
    "Study",
    "load_study",
    "read_study_toml",
    "validate_study",
    "find_table",
    "read_table",
    "ROW_COLUMN",
    "manifest_spacing",
    "read_spacing_manifest",
    "pixel_spacing_problem",
    "CUTOMETER_COLUMN_KEYS",
    "CUTOMETER_COLUMNS",
    "CUTOMETER_READ_KEYS",
    "MAPPING_FILE",
    "RedcapImport",
    "import_redcap",
    "redcap_draft",
    "write_redcap_bundle",
    "write_redcap_draft",
    "AnalysisSpec",
    "CrossSectionalSpec",
    "QpcrSpec",
    "ExpressionSpec",
    "RawSpec",
    "SerumSpec",
    "OutcomeSpec",
    "StudyFile",
    "StudySpec",
    "physical_range",
    "participant_flow",
    "baseline_characteristics",
    "analysis_exclusions",
    "SCREENING_COLUMNS",
    "read_screening",
]
