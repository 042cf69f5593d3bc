"""The study bundle: ``study.toml`` schema, table readers (CSV, Excel, Parquet), validation, :class:`Study`."""

from skintrial.study._bundle import Study, load_study, read_study_toml, validate_study
from skintrial.study._readers import find_table, read_table
from skintrial.study._schema import AnalysisSpec, OutcomeSpec, StudyFile, StudySpec, physical_range

__all__ = [
    "Study",
    "load_study",
    "read_study_toml",
    "validate_study",
    "find_table",
    "read_table",
    "AnalysisSpec",
    "OutcomeSpec",
    "StudyFile",
    "StudySpec",
    "physical_range",
]
