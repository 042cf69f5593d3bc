"""Multiplicity adjustments against R ``p.adjust`` and by their invariants.

Reference: ``tests/reference/stats/p_adjust.csv``, written by ``make_p_adjust.R`` beside it (R version in
``p_adjust_versions.txt``). Tolerance: 1e-12 relative (the arithmetic is a handful of multiplications
and running extrema; R writes 15 significant digits).

Invariants (hypothesis): adjusted >= raw and <= 1; monotone in the raw order for the step-wise methods;
equivariant under permutations; NaN stays NaN; a 2-D call equals the 1-D call on each row; for a fixed
sequence, running maximum along the order, and everything after the first missing p-value is 1; the
serial gatekeeper never lets a later family below an earlier one and a missing p-value closes it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from skintrial.errors import InputError
from skintrial.stats import adjust_families, p_adjust, serial_gatekeeper
from skintrial.stats.multiplicity import METHODS

HERE = Path(__file__).resolve().parents[1] / "reference" / "stats"
REF = pd.read_csv(HERE / "p_adjust.csv")
GROUPS = sorted({(v, m) for v, m in zip(REF.vector, REF.method, strict=True)})
STEP = ["holm", "hochberg", "hommel", "bonferroni", "bh", "by", "none"]

NAN = float("nan")
pvalue = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 0.001, 0.01, 0.04, 0.05, 0.5, 1.0]),  # ties
    st.just(NAN),
)
pvectors = st.lists(pvalue, min_size=0, max_size=16)
PROPS = settings(max_examples=80, deadline=None)


# ----------------------------------------------------------------------------------------------- R


@pytest.mark.parametrize(("vector", "method"), GROUPS)
def test_p_adjust_matches_r(vector, method):
    r = REF[(REF.vector == vector) & (REF.method == method)].sort_values("index")
    ours = p_adjust(r.p.to_numpy(), method)
    assert_allclose(ours, r.p_adj.to_numpy(float), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("method", sorted(set(REF.method)))
def test_batched_p_adjust_matches_r_row_by_row(method):
    """Every R vector as one row of a NaN-padded matrix: each row has its own m (its non-missing
    p-values), Hommel's algorithm runs once per distinct m."""
    refs = [
        REF[(REF.vector == v) & (REF.method == method)].sort_values("index") for v in sorted(set(REF.vector))
    ]
    width = max(len(r) for r in refs)
    P = np.full((len(refs), width), np.nan)
    expected = np.full((len(refs), width), np.nan)
    for i, r in enumerate(refs):
        P[i, : len(r)] = r.p.to_numpy()
        expected[i, : len(r)] = r.p_adj.to_numpy(float)
    assert_allclose(p_adjust(P, method), expected, rtol=1e-12, equal_nan=True)


def test_every_r_method_is_covered_and_the_r_version_is_recorded():
    assert set(REF.method) == {"holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "fdr", "none"}
    assert (HERE / "make_p_adjust.R").exists()
    assert (HERE / "p_adjust_versions.txt").read_text().startswith("R version ")
    assert REF.p.isna().any() and REF.groupby("vector").p.apply(lambda p: p.duplicated().any()).any()


def test_missing_p_values_do_not_count_in_m():
    assert_allclose(p_adjust([0.01, NAN, 0.03], "bonferroni"), [0.02, NAN, 0.06], equal_nan=True)
    assert_allclose(p_adjust([NAN, NAN]), [NAN, NAN], equal_nan=True)
    assert p_adjust([], "holm").shape == (0,)


# ------------------------------------------------------------------------------------ fixed sequence


def test_fixed_sequence_is_the_running_maximum():
    assert_allclose(p_adjust([0.01, 0.03, 0.02, 0.2, 0.01], "fixed_sequence"), [0.01, 0.03, 0.03, 0.2, 0.2])


def test_a_missing_p_value_stops_the_fixed_sequence():
    assert_allclose(p_adjust([0.01, NAN, 0.03], "fixed_sequence"), [0.01, NAN, 1.0], equal_nan=True)
    assert_allclose(p_adjust([NAN, 0.001, 0.002], "fixed_sequence"), [NAN, 1.0, 1.0], equal_nan=True)
    assert_allclose(
        p_adjust([[0.01, NAN, 0.03], [0.01, 0.02, 0.03]], "fixed_sequence"),
        [[0.01, NAN, 1.0], [0.01, 0.02, 0.03]],
        equal_nan=True,
    )


def test_unknown_method_names_the_choices():
    with pytest.raises(InputError, match="holm"):
        p_adjust([0.1], "tukey")


def test_more_than_two_dimensions_is_refused():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        p_adjust(np.zeros((2, 2, 2)))


# -------------------------------------------------------------------------------------- properties


@PROPS
@given(p=pvectors, method=st.sampled_from(STEP))
def test_step_methods_are_bounded_monotone_and_keep_nan(p, method):
    p = np.asarray(p, dtype=float)
    adj = p_adjust(p, method)
    ok = np.isfinite(p)
    assert_array_equal(np.isnan(adj), ~ok)
    assert np.all(adj[ok] >= p[ok]) and np.all(adj[ok] <= 1.0)
    o = np.argsort(p[ok], kind="stable")
    assert np.all(np.diff(adj[ok][o]) >= 0)


@PROPS
@given(p=pvectors, method=st.sampled_from(STEP), seed=st.integers(0, 2**16))
def test_step_methods_are_permutation_equivariant(p, method, seed):
    p = np.asarray(p, dtype=float)
    perm = np.random.default_rng(seed).permutation(p.size)
    assert_allclose(p_adjust(p[perm], method), p_adjust(p, method)[perm], rtol=1e-15, equal_nan=True)


@PROPS
@given(data=st.data(), method=st.sampled_from(METHODS))
def test_a_matrix_is_adjusted_row_by_row(data, method):
    rows, m = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 10))
    P = np.array(data.draw(st.lists(pvalue, min_size=rows * m, max_size=rows * m))).reshape(rows, m)
    by_row = np.array([p_adjust(r, method) for r in P])
    assert_allclose(p_adjust(P, method), by_row, rtol=1e-15, equal_nan=True)


@PROPS
@given(p=pvectors, alpha=st.sampled_from([0.01, 0.05, 0.2]))
def test_fixed_sequence_stops_at_the_first_non_rejection_or_missing_value(p, alpha):
    p = np.asarray(p, dtype=float)
    adj = p_adjust(p, "fixed_sequence")
    ok = np.isfinite(p)
    assert_array_equal(np.isnan(adj), ~ok)
    assert np.all(adj[ok] >= p[ok]) and np.all(adj[ok] <= 1.0)
    missing = np.flatnonzero(~ok)
    if missing.size:
        after = np.arange(p.size) > missing[0]
        assert np.all(adj[after & ok] == 1.0)
    failed = np.flatnonzero(~(adj < alpha))  # NaN or not rejected
    if failed.size:
        assert not np.any(adj[failed[0] :] < alpha)  # nothing after the first failure is rejected
    before = np.arange(p.size) < (missing[0] if missing.size else p.size)
    assert_allclose(adj[before], np.maximum.accumulate(p[before]))


@PROPS
@given(
    fams=st.lists(st.lists(pvalue, min_size=1, max_size=6), min_size=1, max_size=4),
    method=st.sampled_from(METHODS),
)
def test_serial_gatekeeper_orders_families_and_a_missing_value_closes_it(fams, method):
    adjusted = [p_adjust(np.asarray(f, dtype=float), method) for f in fams]
    gated = serial_gatekeeper(adjusted)
    closed = False
    top = 0.0
    for raw, adj, g in zip(fams, adjusted, gated, strict=True):
        raw = np.asarray(raw, dtype=float)
        ok = np.isfinite(raw)
        assert_array_equal(np.isnan(g), ~ok)
        assert np.all(g[ok] >= adj[ok])
        assert np.all(g[ok] >= top)
        if closed:
            assert np.all(g[ok] == 1.0)
        closed = closed or bool((~ok).any())
        top = max(top, float(np.max(g[ok], initial=0.0)))
    # batched over rows (simulated trials): the same as family by family, row by row
    two = serial_gatekeeper([np.stack([a, a[::-1]]) for a in adjusted])
    reversed_ = serial_gatekeeper([a[::-1] for a in adjusted])
    for g, r, g2 in zip(gated, reversed_, two, strict=True):
        assert_allclose(g2, np.stack([g, r]), equal_nan=True)


# ---------------------------------------------------------------------------------------- families


def test_families_and_gatekeeping():
    res = pd.DataFrame({"outcome": ["a", "a", "b", "c", "d"], "p": [0.01, 0.02, 0.03, 0.001, 0.5]})
    fam = {"primary": ["a", "b"], "secondary": ["c"]}
    out = adjust_families(res, families=fam, method="holm")
    assert out.family.tolist() == ["primary", "primary", "primary", "secondary", "other"]
    assert_allclose(out.p_adj, [0.03, 0.04, 0.04, 0.001, 0.5])
    gated = adjust_families(res, families=fam, method="holm", gatekeeping=True)
    assert_allclose(gated.p_adj, [0.03, 0.04, 0.04, 0.04, 0.5])
    seq = adjust_families(res, families={"primary": ["b", "a"]}, method="fixed_sequence")
    assert_allclose(seq.p_adj[:3], [0.03, 0.03, 0.03])
    assert np.all(gated.p_adj >= out.p_adj)


@pytest.mark.parametrize("method", METHODS)
def test_a_primary_family_that_cannot_be_estimated_keeps_the_gate_closed(method):
    """A primary outcome with no fit (p NaN, status says why) is a non-rejection: no secondary or
    other result can be significant behind it, whatever its own p-value."""
    res = pd.DataFrame(
        {
            "outcome": ["p1", "p1", "p2", "s1", "s2", "x"],
            "p": [1e-6, 2e-6, NAN, 1e-9, 1e-8, 1e-9],
            "status": ["ok", "ok", "too_few_observations", "ok", "ok", "ok"],
        }
    )
    out = adjust_families(
        res, families={"primary": ["p1", "p2"], "secondary": ["s1", "s2"]}, method=method, gatekeeping=True
    )
    assert out["status"].tolist() == res["status"].tolist()  # passed through untouched
    assert out["family"].tolist() == ["primary"] * 3 + ["secondary"] * 2 + ["other"]
    assert np.isnan(out["p_adj"].iat[2])
    assert np.all(out["p_adj"].to_numpy()[3:] == 1.0)
    assert np.all(out["p_adj"].to_numpy()[:2] < 0.05)  # p1 is tested (first in a fixed sequence)
    free = adjust_families(res, families={"primary": ["p1", "p2"], "secondary": ["s1", "s2"]}, method=method)
    assert np.all(free["p_adj"].to_numpy()[3:] < 0.05)  # without the gatekeeper they stand alone


def test_a_named_outcome_without_rows_is_a_missing_hypothesis():
    res = pd.DataFrame({"outcome": ["p1", "s1"], "p": [0.001, 0.001]})
    fams = {"primary": ["p1", "p2"], "secondary": ["s1"]}
    gated = adjust_families(res, families=fams, method="holm", gatekeeping=True)
    assert_allclose(gated["p_adj"], [0.001, 1.0])  # p2 was not tested: the gate stays closed
    seq = adjust_families(res, families={"primary": ["p2", "p1", "s1"]}, method="fixed_sequence")
    assert_allclose(seq["p_adj"], [1.0, 1.0])  # the sequence stops at p2
    ungated = adjust_families(res, families=fams, method="holm")
    assert_allclose(ungated["p_adj"], [0.001, 0.001])  # not counted in m, as R's NA


def test_an_empty_results_table():
    res = pd.DataFrame({"outcome": pd.Series([], dtype=str), "p": pd.Series([], dtype=float)})
    out = adjust_families(res, families={"primary": ["a"]}, gatekeeping=True)
    assert len(out) == 0 and {"p_adj", "family", "p_adj_method"} <= set(out.columns)
