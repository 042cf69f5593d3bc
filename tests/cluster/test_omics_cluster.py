"""The omics outcome axis on a cluster (issue 16): genes fitted and moderated in chunks on a
LocalCluster of 2 workers give the in-process table to 1e-12 relative.

The empirical-Bayes hyperparameters are combined from per-chunk sufficient statistics
(skintrial.stats._moderation_chunks); voom's trend and the duplicateCorrelation consensus are taken
centrally from the chunks' per-gene points. Chunks are made small here (several per test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import skintrial.omics._counts as counts_module
import skintrial.omics._outcome_chunks as gene_chunks
import skintrial.stats._moderation_chunks as chunks
from skintrial.omics.expression import differential_expression, fit_expression
from skintrial.stats import fit_ols, squeeze_var
from skintrial.stats._moderation import _usable

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kuehne2017_skin_aging"
RTOL = 1e-12


def small_chunks(monkeypatch, size: int) -> None:
    """Cut the genes (fits) and the outcomes (moderation) into chunks of ``size`` (2,000 by default)."""
    monkeypatch.setattr(gene_chunks, "GENES_PER_TASK", size)
    monkeypatch.setattr(chunks, "CHUNK_OUTCOMES", size)


def assert_same_table(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Text columns equal; numbers equal to 1e-12 relative (the intervals relative to their width:
    a bound near zero is a difference of two close numbers)."""
    assert list(ours.columns) == list(ref.columns)
    for col in ref.columns:
        a, b = ours[col].to_numpy(), ref[col].to_numpy()
        if ref[col].dtype.kind != "f":
            assert (a == b).all(), col
            continue
        atol = 0.0
        if col in ("ci_low", "ci_high"):
            atol = RTOL * float(np.nanmax(ref["ci_high"] - ref["ci_low"]))
        elif col == "b":
            atol = RTOL * float(np.nanmax(np.abs(b)))
        assert_allclose(a, b, rtol=RTOL, atol=atol, err_msg=col)
    for key in ("df_prior", "var_prior", "correlation"):
        if ref.attrs.get(key) is not None:
            assert_allclose(ours.attrs[key], ref.attrs[key], rtol=RTOL, err_msg=key)


def _log_data(n_genes: int = 3000, seed: int = 5):
    rng = np.random.default_rng(seed)
    samples = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(12)],
            "group": ["a", "b", "c"] * 4,
            "batch": ["x"] * 6 + ["y"] * 6,
        }
    )
    sd = np.sqrt(0.05 * 6 / rng.chisquare(6, n_genes))  # a scaled inverse chi-square prior: d0 = 6
    values = rng.normal(8, 1, (n_genes, 1)) + rng.normal(size=(n_genes, 12)) * sd[:, None]
    values[: n_genes // 20, 1::3] += 1.0
    values[rng.random(values.shape) < 0.01] = np.nan  # missing values: per-gene fits
    expr = pd.DataFrame(values, columns=samples["sample"], index=[f"g{i}" for i in range(n_genes)])
    return expr, samples


@pytest.mark.parametrize("option", ["plain", "trend", "robust"])
def test_log_expression_on_two_workers_equals_in_process(dask_client, monkeypatch, option):
    small_chunks(monkeypatch, 700)  # 5 chunks, out of order on 2 workers
    expr, samples = _log_data()
    kw = dict(
        design="~ group + batch",
        contrast=["group: b - a", "group: c - a"],
        trend=option == "trend",
        robust=option == "robust",
    )
    ref = differential_expression(expr, samples, **kw)
    ours = differential_expression(expr, samples, client=dask_client, **kw)
    assert_same_table(ours, ref)
    assert np.isfinite(np.median(ref.attrs["df_prior"]))  # the prior is estimated, not degenerate


def test_fit_on_two_workers_equals_in_process(dask_client, monkeypatch):
    small_chunks(monkeypatch, 700)
    expr, samples = _log_data(2000)
    ref = fit_expression(expr, samples, design="~ group + batch")
    ours = fit_expression(expr, samples, design="~ group + batch", client=dask_client)
    assert ours.fit.outcomes == ref.fit.outcomes
    assert (ours.fit.status == ref.fit.status).all()
    for name in ("coef", "xtx_inv", "sigma2", "df_resid", "n"):
        assert_allclose(getattr(ours.fit, name), getattr(ref.fit, name), rtol=RTOL, atol=1e-13, err_msg=name)


def test_voom_counts_on_two_workers_equal_in_process(dask_client, monkeypatch):
    small_chunks(monkeypatch, 600)
    monkeypatch.setattr(counts_module, "TMM_VALUES_PER_TASK", 3 * 2500)  # TMM: 3 samples a task
    rng = np.random.default_rng(11)
    n_genes = 2500
    samples = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(10)],
            "condition": ["ctl", "trt"] * 5,
            "batch": ["p"] * 5 + ["q"] * 5,
        }
    )
    mu = np.exp(rng.normal(3, 1.5, n_genes))[:, None] * rng.uniform(0.6, 1.6, 10)[None, :]
    mu[:100, 1::2] *= 3
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    counts[:5] = 0  # all-zero genes: left out of voom's trend
    expr = pd.DataFrame(counts, columns=samples["sample"], index=[f"g{i}" for i in range(n_genes)])
    kw = dict(design="~ condition + batch", contrast="condition: trt - ctl", counts=True)
    ref_fit = fit_expression(expr, samples, design=kw["design"], counts=True)
    ours_fit = fit_expression(expr, samples, design=kw["design"], counts=True, client=dask_client)
    assert_allclose(ours_fit.weights, ref_fit.weights, rtol=RTOL)
    assert_allclose(ours_fit.norm_factors, ref_fit.norm_factors, rtol=0)
    assert_same_table(
        differential_expression(expr, samples, client=dask_client, **kw),
        differential_expression(expr, samples, **kw),
    )


def test_random_block_on_two_workers_equals_in_process(dask_client, monkeypatch):
    small_chunks(monkeypatch, 400)
    rng = np.random.default_rng(2)
    n_genes, n_part = 1500, 8
    samples = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(2 * n_part)],
            "participant": [f"p{i}" for i in range(n_part)] * 2,
            "arm": (["A"] * 4 + ["B"] * 4) * 2,
            "visit": ["pre"] * n_part + ["post"] * n_part,
        }
    )
    person = rng.normal(size=(n_genes, n_part)) * 0.4
    values = 7 + np.hstack([person, person]) + rng.normal(size=(n_genes, 2 * n_part)) * 0.3
    expr = pd.DataFrame(values, columns=samples["sample"], index=[f"g{i}" for i in range(n_genes)])
    kw = dict(design="~ arm * visit", contrast="visit: post - pre | arm: B - A", block="participant")
    ref = differential_expression(expr, samples, **kw)
    ours = differential_expression(expr, samples, client=dask_client, **kw)
    assert 0.3 < ref.attrs["correlation"] < 0.9
    assert_same_table(ours, ref)


def test_kuehne_microarray_on_two_workers_equals_in_process(dask_client):
    """The real data: 15,801 genes × 48 arrays in 8 chunks of 2,000."""
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip(f"skin-aging data not found at {DATA}")
    kw = dict(design="~ condition + slide", contrast="condition: old - young")
    ef = fit_expression(DATA / "expression_log2.csv.gz", DATA / "samples.csv", design=kw["design"])
    ref = differential_expression(ef.data, **kw)
    ours = differential_expression(ef.data, client=dask_client, **kw)
    assert len(ours) == 15801
    assert_same_table(ours, ref)


@pytest.mark.parametrize("robust", [False, True])
def test_moderated_contrasts_of_a_fit_on_two_workers_equal_in_process(dask_client, monkeypatch, robust):
    """stats.moderated_contrasts(fit, client=): the chunks' moments computed by the workers (a round of
    their own when the fit was made here), then the moderated statistics per chunk."""
    from skintrial.stats import moderated_contrasts

    small_chunks(monkeypatch, 300)
    expr, samples = _log_data(1600, seed=21)
    ef = fit_expression(expr, samples, design="~ group + batch")
    L = np.zeros((2, len(ef.fit.params)))
    L[0, 1], L[1, 2] = 1.0, 1.0
    ref = moderated_contrasts(ef.fit, L, robust=robust)
    ours = moderated_contrasts(ef.fit, L, robust=robust, client=dask_client)
    assert_allclose(ours.df_prior, ref.df_prior, rtol=RTOL)
    assert_allclose(ours.var_prior, ref.var_prior, rtol=RTOL)
    assert_allclose(ours.coef_var_prior, ref.coef_var_prior, rtol=RTOL)
    assert_same_table(ours.table, ref.table)


def test_chunk_moments_give_fit_f_dist_hyperparameters():
    """No cluster needed: the sufficient statistics of chunks, combined, give squeeze_var's d0 and s0²."""
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(9), np.repeat([0.0, 1.0, 2.0], 3)])
    Y = rng.normal(size=(9, 1001)) * np.sqrt(0.2 * 4 / rng.chisquare(4, 1001))
    Y[0, :30] = np.nan  # two df values
    fit = fit_ols(X, Y)
    use, df = _usable(fit)
    sv = squeeze_var(np.where(use, fit.sigma2, np.nan), df)
    parts = [
        chunks.fdist_moments(fit.sigma2[a:b], fit.df_resid[a:b], fit.status[a:b])
        for a, b in [(0, 17), (17, 500), (500, 1001)]
    ]
    s0, d0 = chunks.hyperparameters(chunks.combine_moments(parts), float(np.median(fit.sigma2)))
    assert_allclose([s0, d0], [sv.var_prior, sv.df_prior], rtol=RTOL)
    # a variance below 1e-5 × the median is floored by limma: that needs the outcomes, not the sums
    tiny = fit.sigma2.copy()
    tiny[3] = 1e-9
    parts[0] = chunks.fdist_moments(tiny[:17], fit.df_resid[:17], fit.status[:17])
    assert chunks.hyperparameters(chunks.combine_moments(parts), float(np.median(tiny))) is None


def test_omics_stage_on_two_workers_equals_in_process(dask_client, monkeypatch, tmp_path):
    """The bundle's omics stage (RNA-seq counts, paired arm × visit design) with the pipeline's client."""
    from skintrial.omics import omics_stage
    from skintrial.plan import add_expression_layer, synthetic_study
    from skintrial.study import load_study

    small_chunks(monkeypatch, 150)  # the layer's 700-odd genes in 5 chunks
    root = synthetic_study(seed=3, n=24).write(tmp_path / "bundle")
    add_expression_layer(root)
    study = load_study(root)
    ref, ours = omics_stage(study), omics_stage(study, client=dask_client)
    assert set(ours.tables) == set(ref.tables)
    assert_same_table(ours.tables["expression_de"], ref.tables["expression_de"])
    for name in ("expression_genesets", "expression_ecm"):  # CAMERA on the fit; the leading ECM genes
        pd.testing.assert_frame_equal(
            ours.tables[name], ref.tables[name], check_exact=False, rtol=RTOL, atol=0
        )
    # the serum panel's analytes in chunks: its ANCOVA's numbers to 1e-12 (skintrial.stats._ancova_chunks)
    assert_same_table(ours.tables["serum_ancova"], ref.tables["serum_ancova"])
    for name in set(ref.tables) - {"expression_de", "expression_genesets", "expression_ecm", "serum_ancova"}:
        pd.testing.assert_frame_equal(ours.tables[name], ref.tables[name], check_exact=True)  # serum, qPCR
    assert ours.settings["expression"]["df_prior"] == pytest.approx(
        ref.settings["expression"]["df_prior"], rel=RTOL
    )


def test_cli_expression_with_cluster_writes_the_same_table(tmp_path):
    """`skintrial expression --cluster local:2` (its own LocalCluster): the numbers of de.csv equal the
    in-process run's to 1e-12 (the CSV holds every digit: pandas writes floats by repr)."""
    from typer.testing import CliRunner

    from skintrial.cli import app

    expr, samples = _log_data(2500, seed=9)
    expr.index.name = "gene"
    expr.to_csv(tmp_path / "expr.csv")
    samples.to_csv(tmp_path / "samples.csv", index=False)
    args = [
        "expression",
        str(tmp_path / "expr.csv"),
        "--samples",
        str(tmp_path / "samples.csv"),
        "--design",
        "~ group + batch",
        "--contrast",
        "group: b - a",
    ]
    cli = CliRunner()
    here = cli.invoke(app, [*args, "--out", str(tmp_path / "here.csv")])
    assert here.exit_code == 0, here.output
    there = cli.invoke(app, [*args, "--out", str(tmp_path / "there.csv"), "--cluster", "local:2"])
    assert there.exit_code == 0, there.output
    assert "cluster: local:2 (2 workers)" in there.output
    assert_same_table(pd.read_csv(tmp_path / "there.csv"), pd.read_csv(tmp_path / "here.csv"))
