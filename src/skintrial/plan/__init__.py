"""plan stage."""
from skintrial.plan._sim_ultrasound import simulate_ultrasound  # noqa: F401
from skintrial.plan.synthetic import SyntheticStudy, calibration_table, synthetic_study  # noqa: F401
from skintrial.plan._sim_cutometer import simulate_cutometer, simulate_cutometer_from_parameters  # noqa: F401
from skintrial.plan._sim_training import simulate_training  # noqa: F401
from skintrial.plan.pilot import PilotEstimates, pilot_estimates, plan_trial, power_curve  # noqa: F401
from skintrial.plan.power import ancova_power, ancova_sample_size  # noqa: F401
from skintrial.plan.randomize import balance_report, randomization_list  # noqa: F401
from skintrial.plan.simulate import SimulationResult, design_table, simulate_power  # noqa: F401
