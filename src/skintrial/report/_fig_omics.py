"""Report figures of the molecular layer: serum-panel volcano plots and the mechanism heatmap.

Each function returns a matplotlib Figure (and the tooltip points of its analytes, where it has
points); the report renders them through its :class:`~skintrial.report._figures.FigureSet`. Labels taken
from input files are drawn as SVG text inside an ``<img>``, where they cannot run script.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report._figures import Hotspots, _pyplot

__all__ = ["volcano_figure", "mechanism_heatmap", "place_labels"]

_OFFSETS = [
    (dx * r, dy * r)
    for r in (4, 10, 18, 28)
    for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
]
"""Candidate label offsets from the point, in points: nearest first, eight directions per ring."""


def place_labels(ax, x, y, texts, *, fontsize: float = 7.0) -> list:
    """Label points without overlaps: each label (in the given order, most important first) takes the
    nearest of :data:`_OFFSETS` where its box overlaps no label placed before it, no labelled point
    and stays inside the axes; a label far from its point gets a thin leader line; one that fits
    nowhere is left out (the point's tooltip still names it). Returns the annotations drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before measuring
    inside = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([x, y]))
    dots = [Bbox.from_extents(px - 3, py - 3, px + 3, py + 3) for px, py in pts]
    placed: list = []
    drawn = []
    scale = fig.dpi / 72.0
    for xi, yi, text in zip(x, y, texts, strict=True):
        ann = None
        for dx, dy in _OFFSETS:
            far = abs(dx) > 10 or abs(dy) > 10
            ann = ax.annotate(
                text,
                (xi, yi),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=fontsize,
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5} if far else None,
            )
            ann.update_positions(renderer)
            box = Text.get_window_extent(ann, renderer)  # the text alone, not its leader line
            box = Bbox.from_extents(box.x0 - scale, box.y0 - scale, box.x1 + scale, box.y1 + scale)
            fits = (
                inside.x0 <= box.x0
                and box.x1 <= inside.x1
                and inside.y0 <= box.y0
                and box.y1 <= inside.y1
                and not any(box.overlaps(b) for b in placed)
                and not any(box.overlaps(d) for d in dots)
            )
            if fits:
                placed.append(box)
                drawn.append(ann)
                break
            ann.remove()
            ann = None
    return drawn


def volcano_figure(table: pd.DataFrame, *, contrast: str, alpha: float = 0.05, label_top: int = 10):
    """Volcano plot of one contrast: estimate (log scale) against −log10 p; BH-significant analytes
    coloured by direction, the ``label_top`` smallest p-values labelled without overlaps
    (:func:`place_labels`).

    Returns
    -------
    (Figure, list of Hotspots)
        A tooltip per analyte: name, panel, ratio, p and BH q.
    """
    plt = _pyplot()
    t = table[(table["contrast"] == contrast) & np.isfinite(table["p"].astype(float))]
    x = t["estimate"].to_numpy(dtype=float)
    p = np.clip(t["p"].to_numpy(dtype=float), 1e-300, 1.0)
    y = -np.log10(p)
    q = t["p_adj"].to_numpy(dtype=float)
    sig = q < alpha
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    ax.scatter(x[~sig], y[~sig], s=6, color="0.7", lw=0, label="not significant", rasterized=len(x) > 5000)
    ax.scatter(
        x[sig & (x > 0)], y[sig & (x > 0)], s=10, color="#d1495b", lw=0, label=f"higher (BH q < {alpha:g})"
    )
    ax.scatter(
        x[sig & (x < 0)], y[sig & (x < 0)], s=10, color="#1b6ca8", lw=0, label=f"lower (BH q < {alpha:g})"
    )
    ax.axvline(0.0, color="0.5", lw=0.6)
    scale = str(t["scale"].iat[0]) if len(t) else "log2"
    ax.set_xlabel(f"adjusted difference ({scale} ratio), {contrast}")
    ax.set_ylabel("−log10 p")
    ax.set_title(f"Serum panel: {contrast} (n = {len(t)} analytes)")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    if len(x):
        pad_x = 0.08 * (np.nanmax(np.abs(x)) or 1.0)
        ax.set_xlim(np.nanmin(x) - pad_x, np.nanmax(x) + pad_x)
        ax.set_ylim(0, np.nanmax(y) * 1.12 + 0.1)
    top = np.argsort(p, kind="mergesort")[:label_top]
    place_labels(ax, x[top], y[top], [str(t["analyte"].iat[i]) for i in top])
    names = t["analyte"].astype(str).to_numpy()
    panels = t["panel"].astype(str).to_numpy() if "panel" in t.columns else np.full(len(t), "")
    ratio = t["ratio"].to_numpy(dtype=float) if "ratio" in t.columns else np.exp2(x)
    tips = [
        f"{a} ({pn}): ratio {r:.2f}, p = {'<0.001' if pi < 0.001 else f'{pi:.3f}'}, "
        f"q = {'<0.001' if qi < 0.001 else f'{qi:.3f}'}"
        for a, pn, r, pi, qi in zip(names, panels, ratio, p, q, strict=True)
    ]
    return fig, [Hotspots(ax, x, y, tips)]


def mechanism_heatmap(
    grid: pd.DataFrame,
    *,
    method: str,
    arm_adjusted: bool,
    top: int = 25,
    labels: dict[str, str] | None = None,
    alpha: float = 0.05,
):
    """Correlations of the ``top`` factors (smallest p over the outcomes) with every skin outcome;
    ``*`` marks BH q < ``alpha`` across the whole grid. Tick labels at 8 pt (readable at print size).

    Returns
    -------
    (Figure, list of Hotspots)
        A tooltip per cell: factor, outcome, r and q.
    """
    plt = _pyplot()
    g = grid[(grid["method"] == method) & (grid["arm_adjusted"] == arm_adjusted)]
    best = g.groupby("factor", sort=False)["p"].min().sort_values(kind="mergesort").head(top).index
    g = g[g["factor"].isin(best)]
    r = g.pivot(index="factor", columns="skin_outcome", values="r").reindex(best)
    q = g.pivot(index="factor", columns="skin_outcome", values="p_adj").reindex(index=best, columns=r.columns)
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(1.25 * r.shape[1] + 2.8, 0.3 * r.shape[0] + 1.9))
    im = ax.imshow(r.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    Q = q.to_numpy(dtype=float)
    for (i, j), value in np.ndenumerate(Q):
        if value < alpha:
            ax.text(j, i, "*", ha="center", va="center", fontsize=10, color="black")
    names = [labels.get(c, c) for c in r.columns]
    ax.set_xticks(range(r.shape[1]), names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(r.shape[0]), [str(f) for f in r.index], fontsize=8)
    kind = f"{method.capitalize()} r{', given arm' if arm_adjusted else ''}"
    fig.colorbar(im, ax=ax, shrink=0.7, label=kind)
    ax.set_title("Factor change vs skin change", fontsize=9)
    ii, jj = np.meshgrid(np.arange(r.shape[0]), np.arange(r.shape[1]), indexing="ij")
    R = r.to_numpy(dtype=float)
    tips = [
        f"{r.index[i]} × {names[j]}: r = {R[i, j]:.2f}, q = "
        + ("<0.001" if Q[i, j] < 0.001 else f"{Q[i, j]:.3f}")
        for i, j in zip(ii.ravel(), jj.ravel(), strict=True)
    ]
    return fig, [Hotspots(ax, jj.ravel(), ii.ravel(), tips)]
