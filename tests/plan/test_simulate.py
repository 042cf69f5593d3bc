"""Simulated power: agreement with the analytic answer within Monte Carlo error, multiplicity, schema."""

from __future__ import annotations

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan.power import ancova_power
from skintrial.plan.simulate import (
    FAMILY_COLUMNS,
    HYPOTHESIS_COLUMNS,
    analysis_options,
    design_table,
    simulate_power,
)
from skintrial.stats.multiplicity import METHODS as P_ADJUST_METHODS

FULL = os.environ.get("SKINTRIAL_FULL") == "1"
N_SIMS = 20000 if FULL else 3000


def _design(effect=0.5, rho=0.6, outcomes=("r2",)):
    return design_table(
        effects={o: {"AT": effect, "RT": effect} for o in outcomes},
        sd={o: 1.0 for o in outcomes},
        rho={o: rho for o in outcomes},
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "n", "rho"),
    [("ancova", 15, 0.6), ("ancova", 30, 0.0), ("change", 20, 0.7), ("followup", 25, 0.3)],
)
def test_simulated_power_agrees_with_analytic(method, n, rho):
    d = _design(rho=rho)
    sim = simulate_power(d, n_per_arm=n, method=method, multiplicity="none", n_sims=N_SIMS, seed=11)
    ana = ancova_power(
        effects={"AT": 0.5, "RT": 0.5},
        sd=1.0,
        rho=rho,
        n_per_arm=n,
        analysis=method,
        multiplicity="none",
        method="exact",
    )
    h = sim.hypotheses
    # each contrast within 4 Monte Carlo SE of the exact analytic power
    assert np.all(np.abs(h["power"].to_numpy() - ana["power"].to_numpy()) < 4 * h["mcse"].to_numpy())


@pytest.mark.slow
def test_type_one_error_and_unbiased_estimates():
    d = design_table(effects={"r2": {"AT": 0.0, "RT": 0.3}}, sd={"r2": 1.0}, rho={"r2": 0.5})
    sim = simulate_power(d, n_per_arm=20, multiplicity="none", n_sims=N_SIMS, seed=3)
    h = sim.hypotheses.set_index("contrast")
    se = np.sqrt(0.05 * 0.95 / N_SIMS)
    assert abs(h.loc["AT - CON", "power"] - 0.05) < 4 * se
    # SE of one estimate ~ sqrt(0.75 * 2/20) = 0.27; mean over N_SIMS within 4 SE
    assert_allclose(h["mean_estimate"], [0.0, 0.3], atol=4 * 0.28 / np.sqrt(N_SIMS))


@pytest.mark.slow
def test_holm_is_at_least_the_bonferroni_level_analytic_power():
    d = _design(outcomes=("r2", "dt"))
    sim = simulate_power(d, n_per_arm=30, multiplicity="holm", n_sims=N_SIMS, seed=5, outcome_corr=0.3)
    ana = ancova_power(effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.6, n_per_arm=30, n_outcomes=2)
    h = sim.hypotheses
    assert (h["power"] > ana["power"].iloc[0] - 4 * h["mcse"]).all()
    bonf = simulate_power(d, n_per_arm=30, multiplicity="bonferroni", n_sims=N_SIMS, seed=5, outcome_corr=0.3)
    assert (h["power"].to_numpy() >= bonf.hypotheses["power"].to_numpy()).all()  # same trials: Holm >= Bonf.
    assert np.all(np.abs(bonf.hypotheses["power"] - ana["power"].iloc[0]) < 4 * bonf.hypotheses["mcse"])
    f = sim.families.set_index("criterion")
    assert f.loc["all", "power"] <= h["power"].min() <= h["power"].max() <= f.loc["any", "power"]


def test_dropout_lowers_power_by_about_the_expected_n():
    d = _design()
    sim = simulate_power(d, n_per_arm=30, dropout=0.2, multiplicity="none", n_sims=2000, seed=2)
    ana = ancova_power(
        effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.6, n_per_arm=30, dropout=0.2, multiplicity="none"
    )
    full = simulate_power(d, n_per_arm=30, dropout=0.0, multiplicity="none", n_sims=2000, seed=2)
    assert (sim.hypotheses["power"] < full.hypotheses["power"]).all()
    # random (binomial) completer numbers: analytic at the expected n within 5 MC SE
    assert np.all(np.abs(sim.hypotheses["power"] - ana["power"]) < 5 * sim.hypotheses["mcse"])


def test_gatekeeping_never_rejects_secondary_alone():
    d = design_table(
        effects={"p": {"AT": 0.2}, "s": {"AT": 1.0}}, sd={"p": 1.0, "s": 1.0}, rho={"p": 0.5, "s": 0.5}
    )
    fam = {"primary": ["p"], "secondary": ["s"]}
    gated = simulate_power(d, n_per_arm=20, families=fam, gatekeeping=True, n_sims=1000, seed=4)
    free = simulate_power(d, n_per_arm=20, families=fam, gatekeeping=False, n_sims=1000, seed=4)
    g, f = gated.hypotheses.set_index("family"), free.hypotheses.set_index("family")
    assert g.loc["secondary", "power"] <= g.loc["primary", "power"]
    assert f.loc["secondary", "power"] > g.loc["secondary", "power"]


def _four_outcomes():
    o = ("a", "b", "c", "d")
    return design_table(
        effects={k: {"AT": e} for k, e in zip(o, (0.6, 0.5, 0.4, 0.3), strict=True)},
        sd=dict.fromkeys(o, 1.0),
        rho=dict.fromkeys(o, 0.5),
    )


@pytest.mark.parametrize("method", P_ADJUST_METHODS)
def test_every_p_adjust_method_is_simulated(method):
    """The simulation adjusts with skintrial.stats.p_adjust itself (batched over trials), so every
    method of the study analysis, Hommel included, is simulated; none is replaced by another."""
    res = simulate_power(_four_outcomes(), n_per_arm=20, multiplicity=method, n_sims=200, seed=5)
    h = res.hypotheses
    assert res.settings["multiplicity"] == method
    assert np.all(h["power"] <= h["power_unadjusted"] + 1e-12)
    if method == "none":
        assert_allclose(h["power"], h["power_unadjusted"])


def test_simulated_procedures_keep_their_known_order():
    """Same trials (same seed): Hommel rejects at least what Hochberg rejects, Hochberg at least
    Holm, Holm at least Bonferroni; BH at least Hochberg."""
    power = {
        m: simulate_power(_four_outcomes(), n_per_arm=25, multiplicity=m, n_sims=400, seed=8)
        .hypotheses["power"]
        .to_numpy()
        for m in ("bonferroni", "holm", "hochberg", "hommel", "bh")
    }
    assert np.all(power["holm"] >= power["bonferroni"])
    assert np.all(power["hochberg"] >= power["holm"])
    assert np.all(power["hommel"] >= power["hochberg"])
    assert np.all(power["bh"] >= power["hochberg"])


def test_unknown_multiplicity_is_refused_with_the_choices():
    with pytest.raises(InputError, match="'tukey' is unknown.*hommel"):
        simulate_power(_design(), n_per_arm=10, multiplicity="tukey", n_sims=10)


def test_schema_and_reproducibility():
    d = _design(outcomes=("a", "b"))
    r1 = simulate_power(d, n_per_arm=10, n_sims=300, seed=9)
    r2 = simulate_power(d, n_per_arm=10, n_sims=300, seed=9)
    assert list(r1.hypotheses.columns) == list(HYPOTHESIS_COLUMNS)
    assert list(r1.families.columns) == list(FAMILY_COLUMNS)
    assert r1.hypotheses.equals(r2.hypotheses)
    assert r1.settings["seed"] == 9 and r1.settings["n_sims"] == 300


def test_analysis_options_and_errors():
    opts = analysis_options({"primary": ["a"], "methods": ["clda", "ancova"], "multiplicity": "hochberg"})
    assert opts["method"] == "ancova" and opts["multiplicity"] == "hochberg"
    with pytest.raises(InputError, match="can be simulated"):
        analysis_options({"primary": ["a"], "methods": ["mixed_anova"]})
    d = _design()
    with pytest.raises(InputError) as exc:
        simulate_power(d, n_per_arm=1, families={"primary": ["zz"]}, multiplicity="nope")
    assert len(exc.value.problems) == 3


def test_refuses_absurd_work_and_chunks_by_memory(monkeypatch):
    import skintrial.plan.simulate as sim

    d = _design()
    with pytest.raises(InputError, match="too much work for one process"):
        simulate_power(d, n_per_arm=200_000, n_sims=5000)
    # a tiny memory budget forces one-trial blocks, each with its own stream: other draws, same design
    ref = simulate_power(d, n_per_arm=10, n_sims=50, seed=3)
    monkeypatch.setattr(sim, "MAX_CHUNK_BYTES", 1)
    calls = []
    small = simulate_power(d, n_per_arm=10, n_sims=50, seed=3, progress=lambda k, n: calls.append((k, n)))
    assert calls == [(k, 50) for k in range(1, 51)]
    assert small.settings["n_sims"] == ref.settings["n_sims"]
    assert abs(small.hypotheses["power"] - ref.hypotheses["power"]).max() < 0.5


def test_blocks_have_their_own_streams(monkeypatch):
    """Block b of seed s is drawn from SeedSequence(s).spawn(...)[b]: the first blocks of a longer
    run are the blocks of a shorter one, and a block does not depend on how many there are."""
    import skintrial.plan.simulate as sim

    assert (
        sim.block_rng(7, 2).random() == np.random.default_rng(np.random.SeedSequence(7).spawn(3)[2]).random()
    )
    monkeypatch.setattr(sim, "BLOCK_TRIALS", 40)
    d = _design(outcomes=("a", "b"))
    model_of = {}

    def tallies(n_sims):
        out = []
        real = sim.simulate_block

        def spy(block, *, model):
            model_of[n_sims] = model
            t = real(block, model=model)
            out.append(t)
            return t

        monkeypatch.setattr(sim, "simulate_block", spy)
        simulate_power(d, n_per_arm=10, n_sims=n_sims, seed=5)
        monkeypatch.setattr(sim, "simulate_block", real)
        return out

    short, long = tallies(80), tallies(200)
    assert len(short) == 2 and len(long) == 5
    for a, b in zip(short, long[:2], strict=True):
        np.testing.assert_array_equal(a.est_sum, b.est_sum)
        np.testing.assert_array_equal(a.rej_raw, b.rej_raw)
    # the whole run is the blocks' tallies added in order
    total = sim.Tally(model_of[200].hyp, model_of[200].fams, **model_of[200].tally)
    for t in long:
        total.merge(t)
    res = simulate_power(d, n_per_arm=10, n_sims=200, seed=5)
    np.testing.assert_array_equal(res.hypotheses["mean_estimate"].to_numpy(), total.est_sum / 200)


def test_negative_seed_is_an_input_error():
    with pytest.raises(InputError, match="seed"):
        simulate_power(_design(), n_per_arm=10, n_sims=10, seed=-1)
