"""Report figures of the molecular layer: serum-panel volcano plots and the mechanism heatmap.

Rendered by matplotlib (Agg) to SVG data URIs (:func:`skintrial.report._figures.svg_data_uri`); labels
taken from input files are drawn as SVG text inside an ``<img>``, where they cannot run script.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report._figures import _pyplot, svg_data_uri

__all__ = ["volcano_figure", "mechanism_heatmap"]


def volcano_figure(table: pd.DataFrame, *, contrast: str, alpha: float = 0.05, label_top: int = 10) -> str:
    """Volcano plot of one contrast: estimate (log scale) against −log10 p; BH-significant analytes
    coloured by direction, the ``label_top`` smallest p-values labelled."""
    plt = _pyplot()
    t = table[(table["contrast"] == contrast) & np.isfinite(table["p"].astype(float))]
    x = t["estimate"].to_numpy(dtype=float)
    p = np.clip(t["p"].to_numpy(dtype=float), 1e-300, 1.0)
    y = -np.log10(p)
    sig = t["p_adj"].to_numpy(dtype=float) < alpha
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.scatter(x[~sig], y[~sig], s=6, color="0.7", lw=0, label="not significant")
    ax.scatter(
        x[sig & (x > 0)], y[sig & (x > 0)], s=10, color="#d1495b", lw=0, label=f"higher (BH q < {alpha:g})"
    )
    ax.scatter(
        x[sig & (x < 0)], y[sig & (x < 0)], s=10, color="#1b6ca8", lw=0, label=f"lower (BH q < {alpha:g})"
    )
    for i in np.argsort(p)[:label_top]:
        ax.annotate(
            str(t["analyte"].iat[i]), (x[i], y[i]), fontsize=6.5, xytext=(3, 2), textcoords="offset points"
        )
    ax.axvline(0.0, color="0.5", lw=0.6)
    scale = str(t["scale"].iat[0]) if len(t) else "log2"
    ax.set_xlabel(f"adjusted difference ({scale} ratio), {contrast}")
    ax.set_ylabel("−log10 p")
    ax.set_title(f"Serum panel: {contrast} (n = {len(t)} analytes)")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return svg_data_uri(fig)


def mechanism_heatmap(
    grid: pd.DataFrame,
    *,
    method: str,
    arm_adjusted: bool,
    top: int = 25,
    labels: dict[str, str] | None = None,
    alpha: float = 0.05,
) -> str:
    """Correlations of the ``top`` factors (smallest p over the outcomes) with every skin outcome;
    ``*`` marks BH q < ``alpha`` across the whole grid."""
    plt = _pyplot()
    g = grid[(grid["method"] == method) & (grid["arm_adjusted"] == arm_adjusted)]
    best = g.groupby("factor", sort=False)["p"].min().sort_values(kind="mergesort").head(top).index
    g = g[g["factor"].isin(best)]
    r = g.pivot(index="factor", columns="skin_outcome", values="r").reindex(best)
    q = g.pivot(index="factor", columns="skin_outcome", values="p_adj").reindex(index=best, columns=r.columns)
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(1.1 * r.shape[1] + 2.4, 0.24 * r.shape[0] + 1.4))
    im = ax.imshow(r.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(q.to_numpy(dtype=float)):
        if value < alpha:
            ax.text(j, i, "*", ha="center", va="center", fontsize=9, color="black")
    ax.set_xticks(
        range(r.shape[1]), [labels.get(c, c) for c in r.columns], rotation=30, ha="right", fontsize=7
    )
    ax.set_yticks(range(r.shape[0]), [str(f) for f in r.index], fontsize=6.5)
    kind = f"{method.capitalize()} r{', given arm' if arm_adjusted else ''}"
    fig.colorbar(im, ax=ax, shrink=0.7, label=kind)
    ax.set_title("Factor change vs skin change", fontsize=9)
    return svg_data_uri(fig)
