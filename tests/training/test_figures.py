"""Training and planning figures render from real result tables (SVG, PNG) without warnings."""

from __future__ import annotations

import io

import matplotlib
import pytest

from skintrial.plan import synthetic_study
from skintrial.plan._sim_training import simulate_training
from skintrial.plan.pilot import pilot_estimates, plan_trial, power_curve
from skintrial.report._fig_planning import planning_page, power_curve_figure
from skintrial.report._fig_training import adherence_figure, dose_response_figure
from skintrial.training import dose_response, dose_response_data, training_summary, validate_training

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def study():
    s = synthetic_study(seed=2, control_arm=True)
    log = validate_training(simulate_training(s.participants, seed=2))
    return s, training_summary(log, s.participants)


def _render(fig, fmt="svg") -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    plt.close(fig)
    return buf.getvalue()


def test_dose_response_figure(study):
    s, summary = study
    data = dose_response_data(s.measurements, summary, baseline_visit="week0")
    res = dose_response(s.measurements, summary, baseline_visit="week0")
    fig = dose_response_figure(
        data,
        res,
        outcome="dermal_thickness",
        dose_measure="sessions_attended",
        label="dermal thickness",
        unit="mm",
        dose_label="sessions attended",
    )
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one scatter per trained arm
    assert ax.get_title().startswith("slope")
    assert b"<svg" in _render(fig)


def test_adherence_and_power_curve_figures(study):
    s, summary = study
    assert _render(adherence_figure(summary, min_adherence=0.8), "png")[:4] == b"\x89PNG"
    long = s.measurements.merge(s.participants[["participant_id", "arm"]], on="participant_id")
    est = pilot_estimates(long, baseline_visit="week0")
    plan = plan_trial(est, primary="r2", effects={"AT": 0.03, "RT": 0.03})
    curve = power_curve(est, primary="r2", effects={"AT": 0.03, "RT": 0.03}, n_per_arm=range(5, 100, 5))
    fig = power_curve_figure(curve, plan=plan, title="r2")
    assert len(fig.axes[0].lines) >= 4
    svg = _render(fig)
    html = planning_page(title="r2 <plan>", plan=plan, curve_svg=svg, estimates=est.outcomes)
    assert "r2 &lt;plan&gt;" in html and "<script" not in html


def test_dose_response_figure_says_why_there_is_no_pooled_slope(study):
    s, summary = study
    data = dose_response_data(s.measurements, summary, baseline_visit="week0")
    res = dose_response(s.measurements, summary, baseline_visit="week0")
    assert (res.loc[res.dose_measure == "mean_relative_intensity", "arm"] == "all").any()
    fig = dose_response_figure(data, res, outcome="r2", dose_measure="mean_relative_intensity")
    assert "different scales" in fig.axes[0].get_title()
    _render(fig)
