"""Report figures: cost that does not grow with participants, files for journals, hot spots on their
points, volcano labels that do not overlap, readable heatmap ticks."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from skintrial.report._fig_omics import mechanism_heatmap, volcano_figure
from skintrial.report._figures import (
    BEFORE_AFTER_MAX_PARTICIPANTS,
    FigureSet,
    Hotspots,
    _pyplot,
    before_after_figure,
    figure_bytes,
)


def _long(n: int, visits=("week0", "week8", "week16"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.normal(1.5, 0.2, n)
    frames = []
    for k, v in enumerate(visits):
        values = base + 0.05 * k + rng.normal(0, 0.05, n)
        if k == len(visits) - 1:
            values[: n // 10] = np.nan  # a tenth without follow-up
        frames.append(
            pd.DataFrame(
                {
                    "participant_id": [f"P{i:04d}" for i in range(n)],
                    "arm": np.where(np.arange(n) % 2, "RT", "AT"),
                    "visit": v,
                    "outcome": "dermal_thickness",
                    "value": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"])


def _artists(fig) -> int:
    return sum(len(ax.lines) + len(ax.collections) + len(ax.patches) + len(ax.texts) for ax in fig.axes)


def _before_after(long, **kw):
    return before_after_figure(
        long,
        outcome="dermal_thickness",
        label="Dermal thickness",
        unit="mm",
        arms=["AT", "RT"],
        visits=["week0", "week8", "week16"],
        **kw,
    )


def test_participant_lines_are_one_collection_per_arm():
    fig, spots = _before_after(_long(150))
    for ax in fig.axes:
        kinds = [type(c).__name__ for c in ax.collections]
        assert kinds.count("LineCollection") >= 1
        assert len(ax.lines) < 20, "no Line2D per participant"
    assert sum(len(s.labels) for s in spots) == 150  # a tooltip per participant
    assert any("P0011 (RT)" in t for s in spots for t in s.labels)


def test_summary_form_above_the_threshold_costs_the_same_for_any_n():
    small, _ = _before_after(_long(BEFORE_AFTER_MAX_PARTICIPANTS + 2))
    large, spots = _before_after(_long(5000))
    assert _artists(small) == _artists(large)
    assert len(figure_bytes(large, "svg")) < 1.2 * len(figure_bytes(small, "svg"))
    tips = [t for s in spots for t in s.labels]
    assert len(tips) == 2 * 3 and "mean" in tips[0] and "95% CI" in tips[0] and "quartiles" in tips[0]
    lines, _ = _before_after(_long(BEFORE_AFTER_MAX_PARTICIPANTS))
    assert _artists(lines) != _artists(small), "at the threshold itself the lines are drawn"


def test_figure_files_are_svg_pdf_and_300_dpi_png():
    from PIL import Image

    fig, ax = _pyplot().subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("−log10 p ± η²")
    figures = FigureSet()
    item = figures.add("outcomes-forest", fig)
    assert set(figures.rendered) == {f"figures/outcomes-forest.{e}" for e in ("svg", "pdf", "png")}
    svg = figures.rendered["figures/outcomes-forest.svg"]
    assert svg.lstrip().startswith(b"<?xml") and b"<text" in svg, "text stays text in the SVG"
    assert figures.rendered["figures/outcomes-forest.pdf"].startswith(b"%PDF")
    png = Image.open(io.BytesIO(figures.rendered["figures/outcomes-forest.png"]))
    assert round(png.info["dpi"][0]) == 300 and png.size[0] > 3 * 300 * 0.8
    assert item["uri"].startswith("data:image/svg+xml;base64,")
    with pytest.raises(ValueError, match="two figures"):
        figures.add("outcomes-forest", fig)
    assert FigureSet(files=False).add("x", fig)["name"] == "x"


def test_hot_spots_land_on_their_points():
    """The percentages of a hot spot are where its point is on the saved (tightly cropped) image."""
    from PIL import Image

    fig, ax = _pyplot().subplots(figsize=(4, 3))
    xs, ys = np.array([0.2, 0.8, 0.5]), np.array([0.3, 0.9, 0.6])
    ax.scatter(xs, ys, s=30, color="#ff0000", lw=0)
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    ax.set_ylabel("a long label that widens the left margin")
    item = FigureSet(files=False).add("spots", fig, hotspots=[Hotspots(ax, xs, ys, ["a", "b", "c"])])
    png = np.asarray(Image.open(io.BytesIO(figure_bytes(fig, "png", dpi=100))).convert("RGB")).astype(int)
    red = (png[..., 0] > 200) & (png[..., 1] < 80) & (png[..., 2] < 80)
    h, w = red.shape
    for spot in item["hotspots"]:
        cx, cy = float(spot["x"]) / 100 * w, float(spot["y"]) / 100 * h
        y0, x0 = int(cy) - 6, int(cx) - 6
        assert red[max(y0, 0) : y0 + 13, max(x0, 0) : x0 + 13].sum() > 10, spot
    assert [s["text"] for s in item["hotspots"]] == ["a", "b", "c"]


def _volcano_table(n: int = 1445, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    est = rng.normal(0, 0.3, n)
    est[:12] = 0.9 + rng.normal(0, 0.01, 12)  # a crowd of top hits at one spot
    p = np.exp(-np.abs(est) * rng.uniform(5, 30, n))
    p[:12] = 1e-9 * (1 + rng.random(12))
    return pd.DataFrame(
        {
            "analyte": [f"analyte_with_a_long_name_{i:04d}" for i in range(n)],
            "panel": "metabolites",
            "contrast": "RT - AT",
            "estimate": est,
            "p": p,
            "p_adj": np.minimum(p * 40, 1),
            "scale": "log2",
            "ratio": np.exp2(est),
        }
    )


def test_volcano_labels_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Annotation, Text

    fig, spots = volcano_figure(_volcano_table(), contrast="RT - AT")
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    anns = [a for a in ax.texts if isinstance(a, Annotation)]
    assert 5 <= len(anns) <= 10
    boxes = []
    for a in anns:
        a.update_positions(renderer)
        boxes.append(Text.get_window_extent(a, renderer))
    inside = ax.get_window_extent(renderer)
    for i, b in enumerate(boxes):
        assert inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1
        assert not any(b.overlaps(c) for c in boxes[i + 1 :]), anns[i].get_text()
    assert len(spots[0].labels) == 1445 and spots[0].labels[0].startswith("analyte_with_a_long_name_0000")


def test_heatmap_tick_labels_are_readable():
    rng = np.random.default_rng(0)
    grid = pd.DataFrame(
        [
            {"factor": f"F{i}", "skin_outcome": o, "method": "spearman", "arm_adjusted": True, "r": r, "p": p}
            for i in range(40)
            for o, r, p in zip(["r2", "r5"], rng.uniform(-1, 1, 2), rng.uniform(0, 1, 2), strict=True)
        ]
    )
    grid["p_adj"] = grid["p"]
    fig, spots = mechanism_heatmap(grid, method="spearman", arm_adjusted=True, labels={"r2": "R2"})
    ax = fig.axes[0]
    sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert min(sizes) >= 8
    assert len(spots[0].labels) == 25 * 2 and spots[0].labels[0].startswith("F")
