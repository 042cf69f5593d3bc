"""Training logs → attendance and adherence, volume load, relative intensity, progression, per-protocol
set, and the dose–response of skin change on training dose (through the batched engine)."""

from skintrial.training._adherence import (
    PER_PROTOCOL_COLUMNS,
    SUMMARY_COLUMNS,
    per_protocol_set,
    training_summary,
)
from skintrial.training._dose import (
    DOSE_COLUMNS,
    DOSE_DATA_COLUMNS,
    DOSE_MEASURES,
    dose_response,
    dose_response_data,
)
from skintrial.training._logs import MODALITIES, TESTS, TRAINING_COLUMNS, read_training, validate_training
from skintrial.training._study import TrainingResults, analyse_training, training_stage

__all__ = [
    "TRAINING_COLUMNS",
    "MODALITIES",
    "TESTS",
    "read_training",
    "validate_training",
    "SUMMARY_COLUMNS",
    "PER_PROTOCOL_COLUMNS",
    "training_summary",
    "per_protocol_set",
    "DOSE_COLUMNS",
    "DOSE_DATA_COLUMNS",
    "DOSE_MEASURES",
    "dose_response",
    "dose_response_data",
    "TrainingResults",
    "analyse_training",
    "training_stage",
]
