"""plan stage."""
from skintrial.plan.synthetic import SyntheticStudy, calibration_table, synthetic_study  # noqa: F401
