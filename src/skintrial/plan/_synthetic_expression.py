"""A synthetic RNA-seq layer for a synthetic study bundle: counts with known truth.

:func:`add_expression_layer` writes ``expression.csv`` (genes × samples, negative-binomial counts),
``expression_samples.csv`` (``sample, participant_id, visit``) and an ``[expression]`` table into
a bundle written by :func:`skintrial.plan.synthetic_study`: one sample per participant at the
baseline and the last visit (skin biopsies, or fibroblasts given that visit's serum). The model::

    mu_gs = base_g × lib_s × exp(person_ig) × 2^([post] × delta_{arm,g}),   y ~ NB(mu, dispersion_g)

``person_ig`` (SD 0.3 on the natural-log scale) is each participant's own level — why the paired design
matters. The truth follows the published direction (Nishikori et al. 2023; ``docs/calibration.md``):
ECM genes rise after training; the named fibroblast genes (COL1A1, COL3A1, COL6A1, HAS2, DCN) by the
log2 changes of their Table 2 means in both arms, BGN more after resistance training, and a block of
further matrisome genes only after resistance training (``rt_block``, log2 ``rt_effect``) — the
claim that resistance training acts through ECM genes. Every other gene is null. The effect sizes
beyond Table 2's are *our assumption*, as are base means, dispersions and library sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["add_expression_layer"]

_TABLE2 = {  # log2 of the post/pre means of Nishikori et al. 2023 Table 2 (both arms; BGN by arm)
    "COL1A1": np.log2(0.858 / 0.821),
    "COL3A1": np.log2(0.969 / 0.895),
    "COL6A1": np.log2(0.908 / 0.809),
    "HAS2": np.log2(0.239 / 0.177),
    "DCN": np.log2(0.994 / 0.911),
}
_BGN = {"AT": np.log2(0.750 / 0.722), "RT": np.log2(0.723 / 0.653)}


def add_expression_layer(
    root: str | Path,
    *,
    seed: int = 0,
    n_other: int = 450,
    rt_block: int = 60,
    rt_effect: float = 1.0,
    rt_arm: str = "RT",
) -> pd.DataFrame:
    """Write an RNA-seq layer into the bundle at ``root`` and return the truth.

    Returns
    -------
    DataFrame
        ``gene, arm, log2_change``: the true mean log2 change from the baseline to the last visit of
        every gene in every arm (0 for null genes).

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> root = synthetic_study(seed=3, n=12).write(tempfile.mkdtemp())
    >>> truth = add_expression_layer(root)
    >>> truth.loc[truth["gene"] == "COL6A1", "log2_change"].round(3).tolist()
    [0.167, 0.167]
    """
    from skintrial.omics import ecm_gene_sets
    from skintrial.study import load_study

    root = Path(root)
    study = load_study(root)
    s = study.spec.study
    pre, post = s.baseline_visit, s.visits[-1]
    parts = study.participants[["participant_id", "arm"]].astype(str)
    rng = np.random.default_rng(seed)
    matrisome = sorted(set(ecm_gene_sets().sets.get("MATRISOME", ())) - set(_TABLE2) - {"BGN"})
    block = matrisome[:rt_block]
    genes = [
        *_TABLE2,
        "BGN",
        *block,
        *matrisome[rt_block : rt_block + 90],
        *(f"GENE{i:05d}" for i in range(n_other)),
    ]
    G = len(genes)
    delta = {arm: np.zeros(G) for arm in s.arms}
    for arm in s.arms:
        delta[arm][: len(_TABLE2)] = list(_TABLE2.values())
        delta[arm][len(_TABLE2)] = _BGN.get(arm, _BGN["AT"])
        if arm == rt_arm:
            delta[arm][len(_TABLE2) + 1 : len(_TABLE2) + 1 + len(block)] = rt_effect
    base = np.exp(rng.normal(4.5, 1.5, G))
    base[: len(_TABLE2) + 1] = np.exp(rng.normal(8.0, 0.5, len(_TABLE2) + 1))  # abundant in fibroblasts
    dispersion = 0.02 + 0.3 / np.sqrt(base)
    columns, rows = [], []
    for pid, arm in zip(parts["participant_id"], parts["arm"], strict=True):
        person = rng.normal(0.0, 0.3, G)
        for visit in (pre, post):
            mu = base * np.exp(person) * 2.0 ** (delta[arm] * (visit == post)) * rng.uniform(0.6, 1.6)
            size = 1.0 / dispersion
            columns.append(rng.negative_binomial(size, size / (size + mu)))
            rows.append({"sample": f"{pid}_{visit}", "participant_id": pid, "visit": visit})
    matrix = pd.DataFrame(np.column_stack(columns), index=pd.Index(genes, name="gene"))
    matrix.columns = [r["sample"] for r in rows]
    matrix.to_csv(root / "expression.csv")
    pd.DataFrame(rows).to_csv(root / "expression_samples.csv", index=False)
    with open(root / "study.toml", "a", encoding="utf-8") as fh:
        fh.write(
            "\n[expression]\n"
            'file = "expression.csv"\n'
            'samples = "expression_samples.csv"\n'
            "counts = true\n"
            'genesets = "ecm"\n'
        )
    return pd.DataFrame(
        [
            {"gene": g, "arm": a, "log2_change": float(delta[a][i])}
            for a in s.arms
            for i, g in enumerate(genes)
        ]
    )
