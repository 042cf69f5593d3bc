"""Instruments: raw signal to skin parameters, with quality flags.

Cutometer suction curves → Ue, Uv, Uf, Ur, Ua and R0–R9 (``docs/cutometer.md``); high-frequency skin
ultrasound scans → dermal thickness, echogenicity, SLEB and overlays (``docs/ultrasound.md``); and a
bundle's raw files → measurements (``measure_raw``).
"""

from skintrial.instruments._batch import error_problems
from skintrial.instruments._cutometer_read import COLUMN_KEYS, LONG_COLUMNS, column_mapping
from skintrial.instruments._study_layer import (
    RawMeasurements,
    measure_raw,
    qc_flagged,
    raw_outcomes,
    raw_stage,
)
from skintrial.instruments._ultrasound_io import spacing_per_file, unmatched_spacing_keys
from skintrial.instruments.cutometer import (
    CYCLE_COLUMNS,
    INFORMATIONAL_FLAGS,
    OUTPUT_COLUMNS,
    PARAMETERS,
    QC_FLAGS,
    QC_THRESHOLDS,
    cutometer_cycles,
    cutometer_files,
    cutometer_parameters,
    read_cutometer,
)
from skintrial.instruments.ultrasound import (
    ULTRASOUND_COLUMNS,
    ULTRASOUND_QC_FLAGS,
    DetectionSettings,
    Echogenicity,
    UltrasoundImage,
    UltrasoundResult,
    overlay_png,
    read_ultrasound,
    ultrasound_files,
    ultrasound_parameters,
    write_ultrasound_dicom,
)

__all__ = [
    "COLUMN_KEYS",
    "LONG_COLUMNS",
    "column_mapping",
    "error_problems",
    "spacing_per_file",
    "unmatched_spacing_keys",
    "RawMeasurements",
    "measure_raw",
    "raw_outcomes",
    "raw_stage",
    "qc_flagged",
    "CYCLE_COLUMNS",
    "INFORMATIONAL_FLAGS",
    "OUTPUT_COLUMNS",
    "PARAMETERS",
    "QC_FLAGS",
    "QC_THRESHOLDS",
    "cutometer_cycles",
    "cutometer_files",
    "cutometer_parameters",
    "read_cutometer",
    "ULTRASOUND_COLUMNS",
    "ULTRASOUND_QC_FLAGS",
    "DetectionSettings",
    "Echogenicity",
    "UltrasoundImage",
    "UltrasoundResult",
    "overlay_png",
    "read_ultrasound",
    "ultrasound_files",
    "ultrasound_parameters",
    "write_ultrasound_dicom",
]
