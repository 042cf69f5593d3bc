"""Report figures of the expression layer: a volcano per contrast and a heatmap of the leading ECM genes.

Each function returns a matplotlib Figure and the tooltip points of its genes (gene names from the
input are drawn as SVG text inside an ``<img>``, where they cannot run script).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.report._fig_omics import place_labels
from skintrial.report._figures import Hotspots, _pyplot

__all__ = ["expression_volcano", "ecm_heatmap"]


def _q(v: float) -> str:
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def expression_volcano(de: pd.DataFrame, *, contrast: str, alpha: float = 0.05, label_top: int = 10):
    """log2 fold change against −log10 p for one contrast; BH-significant genes coloured by
    direction, the ``label_top`` smallest p labelled. Returns (Figure, [Hotspots]) with a tooltip
    per significant or labelled gene (all genes would make the page heavy)."""
    plt = _pyplot()
    t = de[(de["contrast"] == contrast) & np.isfinite(de["p"].astype(float))]
    x = t["log_fc"].to_numpy(dtype=float)
    p = np.clip(t["p"].to_numpy(dtype=float), 1e-300, 1.0)
    y = -np.log10(p)
    q = t["p_adj"].to_numpy(dtype=float)
    sig = q < alpha
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    ax.scatter(x[~sig], y[~sig], s=5, color="0.72", lw=0, label="not significant", rasterized=len(x) > 3000)
    up, down = sig & (x > 0), sig & (x < 0)
    ax.scatter(x[up], y[up], s=8, color="#d1495b", lw=0, label=f"up (BH q < {alpha:g})")
    ax.scatter(x[down], y[down], s=8, color="#1b6ca8", lw=0, label=f"down (BH q < {alpha:g})")
    ax.axvline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel(f"log2 fold change, {contrast}")
    ax.set_ylabel("−log10 p")
    ax.set_title(f"{contrast} ({len(t)} genes)", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    if len(x):
        pad = 0.08 * (np.nanmax(np.abs(x)) or 1.0)
        ax.set_xlim(np.nanmin(x) - pad, np.nanmax(x) + pad)
        ax.set_ylim(0, np.nanmax(y) * 1.12 + 0.1)
    order = np.argsort(p, kind="mergesort")
    top = order[:label_top]
    genes = t["gene"].astype(str).to_numpy()
    place_labels(ax, x[top], y[top], [genes[i] for i in top])
    tip = np.zeros(len(t), dtype=bool)
    tip[order[:200]] = True  # the 200 smallest p: the genes a reader points at
    tips = [f"{genes[i]}: log2 FC {x[i]:.2f}, p = {_q(p[i])}, q = {_q(q[i])}" for i in np.flatnonzero(tip)]
    return fig, [Hotspots(ax, x[tip], y[tip], tips)]


def ecm_heatmap(ecm: pd.DataFrame, *, contrasts: Sequence[str], alpha: float = 0.05):
    """log2 fold changes of the leading ECM genes (the ``expression_ecm`` table, genes in its order),
    one column per contrast; ``*`` marks BH q < ``alpha``. Returns (Figure, [Hotspots])."""
    plt = _pyplot()
    genes = list(dict.fromkeys(ecm["gene"].astype(str)))
    fc = ecm.pivot(index="gene", columns="contrast", values="log_fc").reindex(
        index=genes, columns=list(contrasts)
    )
    qv = ecm.pivot(index="gene", columns="contrast", values="p_adj").reindex(
        index=genes, columns=list(contrasts)
    )
    F, Q = fc.to_numpy(dtype=float), qv.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(F))) if np.isfinite(F).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.5 * F.shape[1] + 2.6, 0.26 * F.shape[0] + 2.2))
    im = ax.imshow(F, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    for (i, j), value in np.ndenumerate(Q):
        if value < alpha:
            ax.text(j, i, "*", ha="center", va="center", fontsize=10, color="black")
    ax.set_xticks(range(F.shape[1]), list(contrasts), rotation=25, ha="right", fontsize=7)
    ax.set_yticks(range(F.shape[0]), [str(g) for g in fc.index], fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.7, label="log2 fold change")
    ax.set_title("Leading ECM genes", fontsize=9)
    ii, jj = np.meshgrid(np.arange(F.shape[0]), np.arange(F.shape[1]), indexing="ij")
    tips = [
        f"{fc.index[i]} · {contrasts[j]}: log2 FC {F[i, j]:.2f}, q = {_q(Q[i, j])}"
        for i, j in zip(ii.ravel(), jj.ravel(), strict=True)
    ]
    return fig, [Hotspots(ax, jj.ravel(), ii.ravel(), tips)]
