"""Over-representation and CAMERA against R limma 3.54.1 (camera, phyper) on the Kuehne 2017 data.

Reference: tests/reference/limma/make_limma.R -> camera.csv, ora.csv, random_sets.gmt.
Tolerance: 1e-6 relative on p (observed ~1e-14).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sps

from skintrial.errors import InputError
from skintrial.omics.enrichment import (
    CAMERA_COLUMNS,
    ORA_COLUMNS,
    camera,
    camera_from_fit,
    over_representation,
)
from skintrial.omics.expression import fit_expression
from skintrial.omics.genesets import GeneSetCollection, ecm_gene_sets, read_gmt

REF = Path(__file__).resolve().parents[1] / "reference" / "limma"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kuehne2017_skin_aging"
CONTRAST = "condition: old - young"
RUNS = {
    "fixed": {},
    "estimated": {"inter_gene_cor": None},
    "ranks": {"use_ranks": True},
    "ranks_estimated": {"use_ranks": True, "inter_gene_cor": None},
    "trend": {"trend_var": True},  # limma camera(trend.var = TRUE)
    "ranks_trend": {"use_ranks": True, "trend_var": True},
}


@pytest.fixture(scope="module")
def kuehne_fit():
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip(f"skin-aging data not found at {DATA}")
    return fit_expression(DATA / "expression_log2.csv.gz", DATA / "samples.csv", design="~ condition + slide")


@pytest.fixture(scope="module")
def all_sets():
    return GeneSetCollection({**ecm_gene_sets().sets, **read_gmt(REF / "random_sets.gmt").sets})


@pytest.mark.rlimma
@pytest.mark.parametrize("run", list(RUNS))
def test_camera_matches_limma(kuehne_fit, all_sets, run):
    res = camera_from_fit(kuehne_fit, CONTRAST, all_sets, **RUNS[run])
    ref = pd.read_csv(REF / "camera.csv")
    ref = ref[ref["run"] == run].set_index("set").loc[res["set"]]
    assert list(res.columns) == list(CAMERA_COLUMNS)
    assert len(res) == len(all_sets)
    assert res["n_genes"].tolist() == ref["n_genes"].tolist()
    assert res["direction"].tolist() == ref["direction"].str.lower().tolist()
    assert_allclose(res["p"], ref["p"], rtol=1e-6)
    assert_allclose(res["p_adj"], ref["fdr"], rtol=1e-6)
    assert_allclose(res["correlation"], ref["correlation"], rtol=1e-6, atol=1e-12)


@pytest.mark.rlimma
def test_ora_matches_r_phyper(kuehne_fit, all_sets):
    selected = (REF / "ora_selected.txt").read_text().split()
    res = over_representation(selected, gene_sets=all_sets, background=kuehne_fit.data.genes)
    ref = pd.read_csv(REF / "ora.csv").set_index("set").loc[res["set"]]
    assert list(res.columns) == list(ORA_COLUMNS)
    assert res["overlap"].tolist() == ref["overlap"].tolist()
    assert res["n_set"].tolist() == ref["n_set"].tolist()
    assert_allclose(res["p"], ref["p"], rtol=1e-10)
    assert (res["background"] == "15801 genes given as background").all()


def test_ora_against_fisher_exact_and_background_is_stated():
    bg = [f"g{i}" for i in range(200)]
    sets = {"A": bg[:30], "B": bg[100:105] + ["not_measured"]}
    sel = bg[:12] + bg[150:160]
    res = over_representation(sel, gene_sets=sets, background=bg, background_label="all arrayed genes")
    a = res.set_index("set")
    _, p_fisher = sps.fisher_exact([[12, 18], [10, 160]], alternative="greater")
    assert_allclose(a.loc["A", "p"], p_fisher, rtol=1e-10)
    assert a.loc["B", "n_set"] == 5 and a.loc["B", "overlap"] == 0 and a.loc["B", "p"] == 1.0
    assert_allclose(a.loc["A", "expected"], 22 * 30 / 200)
    assert (res["background"] == "all arrayed genes").all()
    assert a.loc["A", "overlap_genes"].split(";") == bg[:12]
    assert np.all(res["p_adj"] >= res["p"])


def test_ora_refuses_selected_genes_outside_the_background():
    with pytest.raises(InputError, match="not in the background"):
        over_representation(["x", "g1"], gene_sets={"S": ["g1"]}, background=["g1", "g2"])


def _simulated(seed=0, G=400, n=12, shift=1.0):
    rng = np.random.default_rng(seed)
    samples = pd.DataFrame({"sample": [f"s{i}" for i in range(n)], "group": ["a", "b"] * (n // 2)})
    y = rng.normal(8, 0.5, size=(G, n))
    y[:20, 1::2] += shift  # the first 20 genes go up in group b
    expr = pd.DataFrame(y, index=[f"g{i}" for i in range(G)], columns=samples["sample"])
    return expr, samples


def test_camera_finds_a_shifted_set_and_not_a_null_one():
    expr, samples = _simulated()
    sets = {"UP": [f"g{i}" for i in range(20)], "NULL": [f"g{i}" for i in range(200, 240)]}
    for kw in RUNS.values():
        res = camera(
            expr, samples, design="~ group", contrast="group: b - a", gene_sets=sets, **kw
        ).set_index("set")
        assert res.loc["UP", "p"] < 1e-3 and res.loc["UP", "direction"] == "up"
        assert res.loc["NULL", "p"] > 0.01


def test_camera_is_symmetric_in_the_contrast_direction():
    expr, samples = _simulated(seed=1)
    sets = {"UP": [f"g{i}" for i in range(20)], "MIX": [f"g{i}" for i in range(10, 60)]}
    a = camera(expr, samples, design="~ group", contrast="group: b - a", gene_sets=sets)
    b = camera(expr, samples, design="~ group", contrast="group: a - b", gene_sets=sets)
    assert_allclose(a["p"], b["p"], rtol=1e-10)
    assert (a["direction"] != b["direction"]).all()


def test_camera_refuses_missing_values():
    expr, samples = _simulated()
    expr.iloc[3, 2] = np.nan
    with pytest.raises(InputError, match="complete data"):
        camera(expr, samples, design="~ group", contrast="group: b - a", gene_sets={"S": ["g1", "g2"]})


def test_camera_leaves_unfittable_genes_out_of_the_universe():
    expr, samples = _simulated(seed=2)
    sets = {"UP": [f"g{i}" for i in range(20)] + ["g399"]}
    base = camera(expr.iloc[:399], samples, design="~ group", contrast="group: b - a", gene_sets=sets)
    expr.iloc[399, :] = 5.0  # a constant gene: no residual variance, no statistic
    res = camera(expr, samples, design="~ group", contrast="group: b - a", gene_sets=sets)
    assert res.loc[0, "n_genes"] == 20
    assert_allclose(res["p"], base["p"], rtol=1e-10)
