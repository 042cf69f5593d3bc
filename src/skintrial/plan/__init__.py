"""Planning the next study: synthetic studies and instrument simulators, power, sample size, pilots,
randomisation, and the workflows of ``skintrial plan`` and ``power`` (:func:`plan_study`,
:func:`plan_power`)."""

from skintrial.plan._clda_plan import CldaPowerPlan, plan_clda_power
from skintrial.plan._directions import PUBLISHED_DIRECTIONS, published_directions
from skintrial.plan._sim_cutometer import simulate_cutometer, simulate_cutometer_from_parameters
from skintrial.plan._sim_training import simulate_attendance, simulate_training
from skintrial.plan._sim_ultrasound import simulate_ultrasound
from skintrial.plan._synthetic_designs import (
    DEMO_DESIGNS,
    DESIGN_SEED,
    demo_study,
    synthetic_cross_sectional,
    synthetic_single_arm,
)
from skintrial.plan._synthetic_expression import add_expression_layer
from skintrial.plan._workflow import (
    NOTE_KINDS,
    PLAN_TABLES,
    PlannedAnalysis,
    PlanNote,
    PowerPlan,
    TrialPlan,
    n_grid,
    plan_power,
    plan_study,
)
from skintrial.plan.clda_power import (
    clda_power,
    clda_sample_size,
    simulated_clda_power,
    visit_correlation,
)
from skintrial.plan.pilot import PilotEstimates, pilot_design, pilot_estimates, plan_trial, power_curve
from skintrial.plan.power import ancova_power, ancova_sample_size
from skintrial.plan.randomize import balance_report, randomization_list
from skintrial.plan.responder_power import responder_power, responder_sample_size, simulated_responder_power
from skintrial.plan.simulate import SimulationResult, design_table, simulate_power
from skintrial.plan.synthetic import SyntheticStudy, calibration_table, synthetic_study

__all__ = [
    "add_expression_layer",
    "simulate_cutometer",
    "simulate_cutometer_from_parameters",
    "simulate_attendance",
    "simulate_training",
    "simulate_ultrasound",
    "PilotEstimates",
    "pilot_design",
    "pilot_estimates",
    "plan_trial",
    "power_curve",
    "ancova_power",
    "ancova_sample_size",
    "balance_report",
    "randomization_list",
    "responder_power",
    "responder_sample_size",
    "simulated_responder_power",
    "clda_power",
    "CldaPowerPlan",
    "plan_clda_power",
    "clda_sample_size",
    "simulated_clda_power",
    "visit_correlation",
    "SimulationResult",
    "design_table",
    "simulate_power",
    "SyntheticStudy",
    "calibration_table",
    "synthetic_study",
    "synthetic_cross_sectional",
    "synthetic_single_arm",
    "DESIGN_SEED",
    "DEMO_DESIGNS",
    "demo_study",
    "PUBLISHED_DIRECTIONS",
    "published_directions",
    "NOTE_KINDS",
    "PLAN_TABLES",
    "PlannedAnalysis",
    "PlanNote",
    "PowerPlan",
    "TrialPlan",
    "n_grid",
    "plan_power",
    "plan_study",
]
