"""Synthetic fibroblast qPCR: normal human dermal fibroblasts given each participant's pre and post serum.

The seed study added participants' blood (plasma/serum) from before and after training to cultured
dermal fibroblasts and measured ECM-related gene expression, which rose after training (paper.md §5;
omics.md §4.1 gives the published means, Nishikori et al. 2023 Table 2). For each completer *i* and
visit, one cDNA sample is run in technical triplicate for the ECM genes COL1A1, COL3A1, COL6A1, HAS2,
DCN, BGN, ELN, FBN1 and the reference genes GAPDH and ACTB::

    Ct = base_g + load_s − x_isg + noise,   x_isg = a_ig + [post] (delta_{arm,g} + sd_g e_ig)

``load_s`` is the sample's cDNA amount (shared by all genes, removed by the reference genes), ``a_ig``
the donor serum's own effect on gene g, ``delta`` the true mean log2 fold change after training
(from the Table 2 means: e.g. COL6A1 0.809 → 0.908 is log2 1.12 = 0.167; BGN up more in RT than AT),
and ``e_ig`` the participant's own response. For BGN the response is correlated with the fall of the
participant's serum CCL28 and CXCL4 (standardised), the mechanism the paper proposes — *our
assumption*, as is every number not in Table 2 (:data:`CALIBRATION`). Reference genes do not respond.
A few wells are ``Undetermined``, as instruments write them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from skintrial.plan._calibration import Number

__all__ = ["CALIBRATION", "QPCR_FILE", "QPCR_COLUMNS", "TARGETS", "REFERENCES", "qpcr_table", "qpcr_csv"]

QPCR_FILE = "qpcr.csv"
QPCR_COLUMNS = ("sample", "participant_id", "visit", "gene", "replicate", "ct")
TARGETS = ("COL1A1", "COL3A1", "COL6A1", "HAS2", "DCN", "BGN", "ELN", "FBN1")
REFERENCES = ("GAPDH", "ACTB")

_T2 = (
    "paper.md §5 (ECM genes rise in fibroblasts given post-training serum [P]); omics.md §4.1 "
    "(Nishikori 2023 Table 2, All n=56: {})"
)


def _a(reason: str) -> str:
    return "assumption: " + reason


def _log2(before: float, after: float) -> float:
    return float(np.round(np.log2(after / before), 3))


CALIBRATION: tuple[Number, ...] = tuple(
    Number(*row)
    for row in (
        ("qpcr.change.COL1A1", _log2(0.821, 0.858), _T2.format("COL1A1 0.821 → 0.858, p = 0.19")),
        ("qpcr.change.COL3A1", _log2(0.895, 0.969), _T2.format("COL3A1 0.895 → 0.969, p < 0.01")),
        ("qpcr.change.COL6A1", _log2(0.809, 0.908), _T2.format("COL6A1 0.809 → 0.908, p < 0.001")),
        ("qpcr.change.HAS2", _log2(0.177, 0.239), _T2.format("HAS2 0.177 → 0.239, p < 0.001")),
        ("qpcr.change.DCN", _log2(0.911, 0.994), _T2.format("DCN 0.911 → 0.994, p < 0.001")),
        ("qpcr.change.BGN.AT", _log2(0.722, 0.750), _T2.format("BGN in AT 0.722 → 0.750, p = 0.31")),
        ("qpcr.change.BGN.RT", _log2(0.653, 0.723), _T2.format("BGN in RT 0.653 → 0.723, p < 0.001")),
        ("qpcr.change.ELN", 0.07, _a("ELN not in Table 2; a small rise like COL1A1's")),
        ("qpcr.change.FBN1", 0.07, _a("FBN1 not in Table 2; a small rise like COL1A1's")),
        (
            "qpcr.change_sd",
            0.3,
            _a("SD of a participant's log2 change; Table 2's p-values at n = 56 imply 0.3–0.4"),
        ),
        ("qpcr.change_sd.HAS2", 0.5, _a("HAS2 is the most variable (lowest expression)")),
        ("qpcr.donor_sd", 0.25, _a("SD of the donor serum's own effect on a gene (log2)")),
        ("qpcr.load_sd", 0.3, _a("SD of the cDNA amount between samples (cycles)")),
        ("qpcr.tech_sd", 0.12, _a("SD of technical replicate Cts (typical of good qPCR, < 0.2)")),
        ("qpcr.replicates", 3, _a("technical triplicates")),
        ("qpcr.undetermined_rate", 0.002, _a("rare failed wells, written 'Undetermined'")),
        (
            "qpcr.link.BGN",
            0.5,
            "paper.md §5 (RT lowers CCL28 / CXCL4, which suppress BGN [P/PR]); correlation of the "
            "BGN response with their fall our assumption",
        ),
        ("qpcr.base.COL1A1", 18.0, _a("abundant in fibroblasts")),
        ("qpcr.base.COL3A1", 20.0, _a("abundant in fibroblasts")),
        ("qpcr.base.COL6A1", 21.0, _a("typical Ct")),
        ("qpcr.base.HAS2", 27.0, _a("low expression; Table 2 relative level 0.18")),
        ("qpcr.base.DCN", 22.0, _a("typical Ct")),
        ("qpcr.base.BGN", 21.0, _a("typical Ct")),
        ("qpcr.base.ELN", 24.0, _a("typical Ct")),
        ("qpcr.base.FBN1", 22.0, _a("typical Ct")),
        ("qpcr.base.GAPDH", 17.0, _a("typical reference-gene Ct")),
        ("qpcr.base.ACTB", 16.0, _a("typical reference-gene Ct")),
    )
)


def _delta(gene: str, arm: str, numbers: Mapping[str, float]) -> float:
    if arm not in ("AT", "RT"):
        return 0.0
    if gene == "BGN":
        return numbers[f"qpcr.change.BGN.{arm}"]
    return numbers.get(f"qpcr.change.{gene}", 0.0)


def qpcr_table(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    serum_drop: np.ndarray,
    *,
    visits: tuple[str, str],
    numbers: Mapping[str, float],
) -> pd.DataFrame:
    """Long Ct table for the completers (``serum_drop``: standardised fall of CCL28 + CXCL4, (n,))."""
    done = (participants["status"] != "withdrawn").to_numpy()
    pids = participants["participant_id"].to_numpy()[done]
    arms = participants["arm"].to_numpy()[done]
    drop = serum_drop[done]
    genes = TARGETS + REFERENCES
    n, G, R = pids.size, len(genes), int(numbers["qpcr.replicates"])
    donor = rng.normal(0.0, numbers["qpcr.donor_sd"], size=(n, G))
    e = rng.standard_normal((n, G))
    b = genes.index("BGN")
    rho = numbers["qpcr.link.BGN"]
    e[:, b] = rho * drop + np.sqrt(1.0 - rho**2) * e[:, b]
    sd = np.array([numbers.get(f"qpcr.change_sd.{g}", numbers["qpcr.change_sd"]) for g in genes])
    delta = np.array([[_delta(g, a, numbers) for g in genes] for a in arms])
    response = delta + sd * e
    is_ref = np.array([g in REFERENCES for g in genes])
    donor[:, is_ref] = 0.0
    response[:, is_ref] = 0.0
    x = np.stack([donor, donor + response], axis=1)  # (n, 2, G) log2 expression vs a reference sample
    load = rng.normal(0.0, numbers["qpcr.load_sd"], size=(n, 2, 1))
    base = np.array([numbers[f"qpcr.base.{g}"] for g in genes])
    ct = base + load - x
    ct = ct[..., None] + rng.normal(0.0, numbers["qpcr.tech_sd"], size=(n, 2, G, R))
    failed = rng.random(ct.shape) < numbers["qpcr.undetermined_rate"]
    sample = np.array([[f"{p}_{v}" for v in visits] for p in pids], dtype=object)
    idx = np.indices(ct.shape).reshape(4, -1)
    return pd.DataFrame(
        {
            "sample": sample[idx[0], idx[1]],
            "participant_id": pids[idx[0]],
            "visit": np.asarray(visits, dtype=object)[idx[1]],
            "gene": np.asarray(genes, dtype=object)[idx[2]],
            "replicate": idx[3] + 1,
            "ct": np.where(failed.reshape(-1), np.nan, np.round(ct.reshape(-1), 3)),
        },
        columns=list(QPCR_COLUMNS),
    )


def qpcr_csv(table: pd.DataFrame) -> bytes:
    """``qpcr.csv`` with Cts to 3 decimals and failed wells as ``Undetermined``."""
    ct = ["Undetermined" if not np.isfinite(v) else f"{v:.3f}" for v in table["ct"].tolist()]
    return table.assign(ct=ct).to_csv(index=False, lineterminator="\n").encode("utf-8")
