"""analyse_training on a written bundle with a training log."""

from __future__ import annotations

import pytest

from skintrial.errors import InputError
from skintrial.plan import synthetic_study
from skintrial.plan._sim_training import simulate_training
from skintrial.study import load_study, validate_study
from skintrial.training import analyse_training


def _bundle(tmp_path, extra_toml=""):
    s = synthetic_study(seed=5, n=30, control_arm=True, training=False)
    root = s.write(tmp_path / "study")
    simulate_training(s.participants, seed=5).to_csv(root / "training.csv", index=False)
    if extra_toml:
        text = (root / "study.toml").read_text()
        (root / "study.toml").write_text(text + extra_toml)
    return root


def test_analyse_training_from_bundle(tmp_path):
    res = analyse_training(load_study(_bundle(tmp_path)))
    assert res is not None and res.per_protocol is None
    assert len(res.summary) == 30
    assert set(res.dose_response["arm"]) == {"all", "AT", "RT"}
    assert (res.summary.loc[res.summary["arm"] == "CON", "sessions_planned"] == 0).all()


def test_no_log_gives_none(tmp_path):
    root = synthetic_study(seed=5, n=12, training=False).write(tmp_path / "s")
    assert analyse_training(load_study(root)) is None


def test_declared_training_without_log_is_an_error(tmp_path):
    root = synthetic_study(seed=5, n=12, training=False).write(tmp_path / "s")
    (root / "study.toml").write_text((root / "study.toml").read_text() + "\n[training]\nweeks = 16\n")
    with pytest.raises(InputError, match="log is missing"):
        analyse_training(load_study(root))


def test_per_protocol_rule_from_study_toml(tmp_path):
    root = _bundle(tmp_path)
    text = (
        (root / "study.toml")
        .read_text()
        .replace("[analysis]\n", "[analysis]\nper_protocol_min_adherence = 0.9\n")
    )
    (root / "study.toml").write_text(text)
    res = analyse_training(load_study(root))
    pp = res.per_protocol.merge(res.summary[["participant_id", "status"]], on="participant_id")
    trained = pp[pp["adherence"].notna() & (pp["status"] == "completed")]
    assert (trained["per_protocol"] == (trained["adherence"] >= 0.9)).all()
    assert (pp["min_adherence"] == 0.9).all()


def test_dose_response_uses_the_last_declared_visit(tmp_path):
    """visits week0, week8, week16: 'week8' sorts last as text, but week16 is the declared end."""
    import pandas as pd

    root = _bundle(tmp_path)
    m = pd.read_csv(root / "measurements.csv")
    w = m.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value").dropna()
    mid = (
        w["week0"].rename("value").reset_index().assign(visit="week8")
    )  # completers only, no change by week 8
    pd.concat([m, mid]).to_csv(root / "measurements.csv", index=False)
    text = (root / "study.toml").read_text()
    (root / "study.toml").write_text(
        text.replace('visits = ["week0", "week16"]', 'visits = ["week0", "week8", "week16"]')
    )
    res = analyse_training(load_study(root))
    end = m.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value").dropna()
    got = res.dose_data.drop_duplicates(["participant_id", "outcome"]).set_index(
        ["participant_id", "outcome"]
    )
    pd.testing.assert_series_equal(
        got["change"], (end["week16"] - end["week0"]).reindex(got.index), check_names=False
    )


def test_dose_response_follows_the_plans_ci_level(tmp_path):
    root = _bundle(tmp_path)
    text = (root / "study.toml").read_text().replace("[analysis]\n", "[analysis]\nci_level = 0.9\n")
    (root / "study.toml").write_text(text)
    dr = analyse_training(load_study(root)).dose_response
    fitted = dr[dr["status"] == "ok"]
    assert len(fitted) and (dr["ci_level"] == 0.9).all()
    from scipy import stats as sps

    half = sps.t.ppf(0.95, fitted["df"]) * fitted["se"]
    assert ((fitted["ci_high"] - fitted["estimate"] - half).abs() < 1e-10).all()


def test_sessions_beyond_the_plan_are_reported_and_adherence_capped(tmp_path):
    """A third weekly session for one participant (2 planned): kept, adherence capped, listed in the report."""
    import pandas as pd

    from skintrial.pipeline import analyse
    from skintrial.report import render_report

    root = _bundle(tmp_path)
    log = pd.read_csv(root / "training.csv")
    pid = log.loc[log["modality"] == "aerobic", "participant_id"].iloc[0]
    mine = log[(log["participant_id"] == pid) & (log["modality"] == "aerobic")]
    full = mine.groupby("week").size().pipe(lambda n: n[n == 2]).index  # weeks with both planned sessions
    added = mine[mine["week"].isin(full)].drop_duplicates("week").assign(session=3)
    pd.concat([log, added]).to_csv(root / "training.csv", index=False)
    study = load_study(root)
    s = analyse_training(study).summary.set_index("participant_id").loc[pid]
    assert s["sessions_attended"] == len(mine) + len(added) and s["weeks_over_prescription"] == len(full)
    assert s["adherence"] == min(1.0, s["sessions_attended"] / 32)
    assert s["sessions_beyond_plan"] == max(0, s["sessions_attended"] - 32)
    html = render_report(analyse(study))
    assert 'id="training-extra-table"' in html and f"<td>{pid}</td>" in html
    assert "adherence is capped at 100%" in html


def test_training_arms_key_sets_who_has_a_plan(tmp_path):
    """Only the arms listed get a plan (here RT is left out on purpose); unknown or repeated arms are refused."""
    root = _bundle(tmp_path, '\n[training]\ntraining_arms = ["AT"]\n')
    res = analyse_training(load_study(root))
    planned = res.summary.groupby("arm")["sessions_planned"].max()
    assert planned.to_dict() == {"AT": 32, "CON": 0, "RT": 0}
    assert res.summary.loc[res.summary["arm"] == "RT", "adherence"].isna().all()
    text = (root / "study.toml").read_text().replace('training_arms = ["AT"]', 'training_arms = ["AT", "XX"]')
    (root / "study.toml").write_text(text)
    problems = validate_study(root)  # a study.toml cross-check: validate names it before any log is read
    assert any(p.column == "training.training_arms" and "XX" in p.message for p in problems), problems
    (root / "study.toml").write_text(text.replace('["AT", "XX"]', '["AT", "AT"]'))
    with pytest.raises(InputError, match="twice"):
        load_study(root)
