"""geNorm and NormFinder against values derived from the papers' models, not from a transcription of the code.

No published data set with published stability values could be obtained here as text (the Vandesompele
et al. 2002 data ship as R binaries in NormqPCR / SLqPCR / ctrlGene, and the paper prints rankings and
figures, not a table of M values for its data), so the external check is analytic:

* **geNorm** (Vandesompele et al. 2002, *Genome Biol* 3:research0034): on a one-factor model
  q_j(s) = c_j + b_j·u_s, log2(a_j/a_k) = (c_j − c_k) + (b_j − b_k)·u_s, so V_jk = |b_j − b_k|·SD(u)
  exactly, M_j = Σ_k V_jk/(n − 1), and V_n/n+1 = |mean b of the n best − mean b of the n + 1 best|·SD(u).
  Expected values come from the loadings b alone.
* **NormFinder** (Andersen, Jensen & Ørntoft 2004, *Cancer Res* 64:5245): the model
  y_igj = α_ig + β_gj + ε_igj, ε ~ N(0, σ²_ig). (i) The intragroup variance estimator is unbiased for
  σ²_ig under it (E Σ_j r²_igj/(n − 1) = σ²_i(1 − 2/k) + Σ_l σ²_l/k², which the k(k − 1) term and the
  1 − 2/k divisor undo): the average over many independent groups must recover the σ² we simulated.
  (ii) Without noise every variance is 0, the shrinkage factor is 1 and ρ_i = mean_g |d_ig|, with d the
  double-centred α (the sample effects β cancel): computed here from α alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from skintrial.omics.qpcr import genorm, normfinder

GENES = ["A", "B", "C", "D", "E"]


def _long(ct: np.ndarray, groups: np.ndarray | None = None) -> pd.DataFrame:
    n, k = ct.shape
    d = pd.DataFrame(
        {"sample": np.repeat([f"s{i}" for i in range(n)], k), "gene": np.tile(GENES[:k], n), "ct": ct.ravel()}
    )
    if groups is not None:
        d["group"] = np.repeat(groups, k)
    return d


def test_genorm_m_values_and_pairwise_variation_follow_the_one_factor_model():
    rng = np.random.default_rng(20020618)
    u = rng.normal(size=15)
    sd_u = np.std(u, ddof=1)
    b = dict(zip(GENES, [0.0, 0.1, 0.25, 0.6, 1.2], strict=True))
    c = np.array([18.0, 22.0, 25.0, 20.0, 27.0])
    ct = c[None, :] - np.outer(u, list(b.values()))  # q = -Ct = -c + b u (E = 2)
    res = genorm(_long(ct))
    remaining = list(GENES)
    for step in range(1, 5):
        got = res.m.loc[res.m["step"] == step].set_index("gene")["m"]
        want = {
            j: sd_u * sum(abs(b[j] - b[k]) for k in remaining if k != j) / (len(remaining) - 1)
            for j in remaining
        }
        assert_allclose(got[list(want)].to_numpy(), list(want.values()), rtol=1e-10)
        if len(remaining) > 2:
            remaining.remove(max(want, key=want.get))
    order = res.ranking["gene"].tolist()
    assert order[2:] == ["C", "D", "E"] and set(order[:2]) == {"A", "B"}
    bb = np.array([b[g] for g in order])
    for row in res.pairwise_variation.itertuples():
        assert_allclose(row.v, sd_u * abs(bb[: row.n].mean() - bb[: row.n + 1].mean()), rtol=1e-10)


def test_normfinder_intragroup_variance_is_unbiased_under_its_model():
    rng = np.random.default_rng(2004)
    sigma2 = np.array([0.2, 0.25, 0.3, 0.35, 0.4])
    G, n, k = 500, 40, 5  # G independent groups: their mean estimate is a Monte-Carlo expectation
    alpha = rng.normal(0, 1, (G, 1, k))
    beta = rng.normal(0, 2, (G, n, 1))
    y = 20 + alpha + beta + rng.normal(size=(G, n, k)) * np.sqrt(sigma2)
    res = normfinder(_long(y.reshape(G * n, k), np.repeat([f"g{g}" for g in range(G)], n)))
    got = res.set_index("gene").loc[GENES, "intragroup_variance"].to_numpy()
    # Monte-Carlo SE of a mean of G estimates is about sigma2 * sqrt(2 / (n - 1)) / 0.6 / sqrt(G) < 1.5 %
    assert_allclose(got, sigma2, rtol=0.06)


def test_normfinder_without_noise_is_the_mean_absolute_double_centred_group_effect():
    rng = np.random.default_rng(64)
    G, n, k = 4, 6, 5
    alpha = rng.normal(0, 0.5, (G, k))
    beta = rng.normal(0, 2, (G, n))
    y = 20 + alpha[:, None, :] + beta[:, :, None]
    groups = np.repeat([f"g{g}" for g in range(G)], n)
    res = normfinder(_long(y.reshape(G * n, k), groups)).set_index("gene")
    d = alpha - alpha.mean(axis=1, keepdims=True) - alpha.mean(axis=0, keepdims=True) + alpha.mean()
    assert_allclose(res.loc[GENES, "stability"].to_numpy(), np.abs(d).mean(axis=0), atol=1e-9)
    assert_allclose(res["intragroup_variance"].to_numpy(), 0.0, atol=1e-20)
