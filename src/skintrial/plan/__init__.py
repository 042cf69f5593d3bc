"""plan stage."""
from skintrial.plan._sim_ultrasound import simulate_ultrasound  # noqa: F401
from skintrial.plan.synthetic import SyntheticStudy, calibration_table, synthetic_study  # noqa: F401
from skintrial.plan._sim_cutometer import simulate_cutometer, simulate_cutometer_from_parameters  # noqa: F401
