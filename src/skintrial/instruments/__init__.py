"""instruments stage."""
from skintrial.instruments.ultrasound import *  # noqa: F403  (public names: ultrasound.__all__)
from skintrial.instruments.cutometer import CYCLE_COLUMNS, OUTPUT_COLUMNS, PARAMETERS, QC_FLAGS, QC_THRESHOLDS, cutometer_cycles, cutometer_files, cutometer_parameters, read_cutometer  # noqa: F401
from skintrial.instruments._study_layer import RawMeasurements, measure_raw, raw_outcomes  # noqa: F401
