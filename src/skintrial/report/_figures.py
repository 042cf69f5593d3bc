"""Report figures: matplotlib (Agg) rendered to SVG for the page and to SVG, PDF and PNG files.

Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot: no backend is
selected and no global rcParams are changed, so a user's own plotting session is left alone. Images
embedded through ``<img src="data:image/svg+xml;base64,...">`` cannot run script, so labels that come
from input files are harmless there.

:class:`FigureSet` is where every figure of a report goes: it renders the page's SVG once, keeps the
files for ``figures/`` (``<name>.svg``, ``.pdf`` and a 300-dpi ``.png``; names in docs/report.md), and
turns points named by the caller (a participant, an analyte) into *hot spots*: positions over the
image, as fractions of its width and height, that the page shows as tooltips without script.

Dense layers scale: the participant lines of a before/after figure are one
:class:`~matplotlib.collections.LineCollection`, and above :data:`BEFORE_AFTER_MAX_PARTICIPANTS`
participants the figure is drawn in its summary form (distribution, quartiles and the mean with its
CI at each visit), whose cost does not grow with the number of participants.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "svg_data_uri",
    "figure_bytes",
    "before_after_figure",
    "forest_figure",
    "cutometer_curves_figure",
    "FigureSet",
    "Hotspots",
    "BEFORE_AFTER_MAX_PARTICIPANTS",
    "PNG_DPI",
]

BEFORE_AFTER_MAX_PARTICIPANTS = 200
"""Above this many participants in a study, a before/after figure shows each arm's distribution and
mean (with CI) at each visit instead of a line per participant (docs/report.md)."""

PNG_DPI = 300
"""Resolution of the PNG files in ``figures/`` (journals ask for at least 300 dpi)."""

_COLORS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93")
_STYLE: dict[Any, Any] = {
    "svg.hashsalt": "skintrial",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,
}
"""Every figure's style. ``text.parse_math`` is off: labels come from input files ("$5 voucher" arm, an
outcome label with ``$x^{``) and are drawn as typed, never parsed as mathtext (which would fail). Text
stays text in SVG (``svg.fonttype`` none: searchable, small, editable) and PDF (TrueType, editable)."""


class _Figures:
    """The two pyplot calls the report uses, without pyplot: figures that belong to no GUI backend
    and touch no global matplotlib state (a user's own plotting session is left as it was)."""

    @staticmethod
    def subplots(*args, figsize=None, **kwargs):
        import matplotlib
        from matplotlib.figure import Figure

        with matplotlib.rc_context(_STYLE):
            fig = Figure(figsize=figsize)
            return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig) -> None:
        """Nothing to release: the figure is not registered anywhere."""


def _pyplot() -> type[_Figures]:
    return _Figures


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain_text(fig) -> None:
    """Texts made before rendering (titles, labels, legends) were created outside :data:`_STYLE`; they
    too are drawn as typed. Texts made while rendering (tick labels) follow :data:`_STYLE`. A control
    character from an input file (a backspace from a TOML escape) has no glyph: it is drawn as U+FFFD."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
        content = text.get_text()
        if _CONTROL.search(content):
            text.set_text(_CONTROL.sub("\ufffd", content))


def figure_bytes(fig, fmt: str = "svg", *, dpi: int = 150, bbox=None) -> bytes:
    """Render a figure to SVG or PDF (no date: reproducible) or PNG bytes. Every string is plain text.

    ``bbox`` (inches) is the area to save; by default the tight box around everything drawn
    (``bbox_inches="tight"``, which costs a second drawing of the figure)."""
    import matplotlib

    buf = io.BytesIO()
    _plain_text(fig)
    metadata: dict | None = (
        {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else None
    )
    with matplotlib.rc_context(_STYLE):
        fig.savefig(
            buf, format=fmt, dpi=dpi, bbox_inches="tight" if bbox is None else bbox, metadata=metadata
        )
    return buf.getvalue()


def _tight_box(fig):
    """The box (inches) that ``savefig(bbox_inches="tight")`` would crop ``fig`` to, computed once so
    that every format is saved without drawing the figure twice and hot spots use the same box."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _plain_text(fig)
    with matplotlib.rc_context(_STYLE):
        renderer = FigureCanvasAgg(fig).get_renderer()
        for ax in fig.axes:
            ax.viewLim  # settle autoscaling before any transform is read  # noqa: B018
        box = fig.get_tightbbox(renderer).padded(matplotlib.rcParams["savefig.pad_inches"])
    return box


def svg_data_uri(fig) -> str:
    """Render a figure to an SVG data URI. Every string is drawn as plain text."""
    return _uri(figure_bytes(fig, "svg"))


def _uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


@dataclass(frozen=True)
class Hotspots:
    """Points of one axes, in data coordinates, each with the text its tooltip shows."""

    ax: object
    x: Sequence[float] | np.ndarray
    y: Sequence[float] | np.ndarray
    labels: Sequence[str]


def _hotspot_positions(fig, spots: Sequence[Hotspots], box) -> list[dict]:
    """Where each point lands on the image saved with ``box`` (inches, :func:`_tight_box`), as
    percentages of its width and height."""
    out = []
    for s in spots:
        x, y = np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            continue
        px = s.ax.transData.transform(np.column_stack([x[ok], y[ok]])) / fig.dpi  # type: ignore[attr-defined]
        fx = 100 * (px[:, 0] - box.x0) / box.width
        fy = 100 * (box.y1 - px[:, 1]) / box.height
        labels = [label for label, k in zip(s.labels, ok, strict=True) if k]
        out += [
            {"x": f"{a:.2f}", "y": f"{b:.2f}", "text": t}
            for a, b, t in zip(fx, fy, labels, strict=True)
            if 0 <= a <= 100 and 0 <= b <= 100
        ]
    return out


@dataclass
class FigureSet:
    """Every figure of one report: the page's SVG, the files for ``figures/`` and the hot spots.

    ``files=False`` renders only the page's SVG (a report rendered to a string, without its files).
    """

    files: bool = True
    png_dpi: int = PNG_DPI
    rendered: dict[str, bytes] = field(default_factory=dict)
    """``figures/<name>.<ext>`` → bytes, in the order figures were added."""

    def add(self, name: str, fig, *, hotspots: Sequence[Hotspots] = ()) -> dict:
        """Render ``fig`` as ``name`` (a file stem: section and outcome, docs/report.md); return what the
        page shows: ``{"name", "uri", "hotspots"}``."""
        if f"figures/{name}.svg" in self.rendered:
            raise ValueError(f"two figures are named {name!r}")
        box = _tight_box(fig)
        spots = _hotspot_positions(fig, hotspots, box) if hotspots else []
        svg = figure_bytes(fig, "svg", bbox=box)
        if self.files:
            self.rendered[f"figures/{name}.svg"] = svg
            self.rendered[f"figures/{name}.pdf"] = figure_bytes(fig, "pdf", bbox=box)
            self.rendered[f"figures/{name}.png"] = figure_bytes(fig, "png", dpi=self.png_dpi, bbox=box)
        return {"name": name, "uri": _uri(svg), "hotspots": spots}


def slug(text: str) -> str:
    """A file-name part from a label: lowercase ASCII letters, digits and ``-`` ('RT - AT' → 'rt-vs-at')."""
    import unicodedata

    text = text.replace(" - ", " vs ")
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "x"


def _wide(long: pd.DataFrame, outcome: str, visits: list[str]) -> pd.DataFrame:
    d = long[long["outcome"] == outcome]
    wide = d.pivot_table(index=["participant_id", "arm"], columns="visit", values="value", observed=True)
    return wide.reindex(columns=visits).reset_index()


def before_after_figure(
    long: pd.DataFrame,
    *,
    outcome: str,
    label: str,
    unit: str,
    arms: list[str],
    visits: list[str],
    summary: bool | None = None,
    ci_level: float = 0.95,
    value_text=None,
):
    """One panel per arm across ``visits`` (baseline first, the analysed follow-up last).

    Up to :data:`BEFORE_AFTER_MAX_PARTICIPANTS` participants (or ``summary=False``): each participant's
    values joined by a line (one LineCollection per arm), the arm mean ± SD at each visit, and × for
    participants without the last visit, at their last value. Above it (or ``summary=True``): at each
    visit the distribution (a half-violin from the histogram), the quartiles and 5th–95th percentiles,
    and the mean with its ``ci_level`` t-interval, means joined across visits. ``n`` counts participants
    with both the baseline and the last visit (those the ANCOVA analyses).

    Returns
    -------
    (Figure, list of Hotspots)
        The figure and its tooltip points: one per participant (last value) or per arm × visit summary.
    """
    from skintrial.stats import t_critical  # the one inference path (a pure function, no stage)

    plt = _pyplot()
    wide = _wide(long, outcome, visits)
    if summary is None:
        summary = len(wide) > BEFORE_AFTER_MAX_PARTICIPANTS
    text = value_text or (lambda v: f"{v:.3g}")
    x = np.arange(len(visits), dtype=float)
    fig, axes = plt.subplots(
        1,
        len(arms),
        figsize=(max(2.2, 0.9 * len(visits) + 0.6) * len(arms) + 0.6, 2.6),
        sharey=True,
        squeeze=False,
    )
    spots: list[Hotspots] = []
    for j, (ax, arm) in enumerate(zip(axes[0], arms, strict=True)):
        w = wide[wide["arm"] == arm]
        Y = w[visits].to_numpy(dtype=float)
        seen = np.isfinite(Y)
        analysed = seen[:, 0] & seen[:, -1]
        color = _COLORS[j % len(_COLORS)]
        if summary:
            spots.append(_summary_panel(ax, Y, seen, x, color, arm, visits, ci_level, text, t_critical))
        else:
            spots.append(
                _lines_panel(ax, Y, seen, x, color, arm, visits, text, w["participant_id"].to_numpy())
            )
        ax.set_xticks(x, visits)
        ax.set_xlim(-0.4, len(visits) - 0.6)
        ax.set_title(f"{arm} (n = {int(analysed.sum())})")
        ax.autoscale_view(scalex=False)
    axes[0][0].set_ylabel(f"{label} ({unit})")
    return fig, spots


def _lines_panel(ax, Y, seen, x, color, arm, visits, text, participants) -> Hotspots:
    """A line per participant (one LineCollection), × at the last value of those without the last visit,
    and the mean ± SD at each visit; a hot spot at each participant's last value."""
    from matplotlib.collections import LineCollection

    lines = [np.column_stack([x[ok], y[ok]]) for y, ok in zip(Y, seen, strict=True) if ok.sum() > 1]
    ax.add_collection(LineCollection(lines, colors=color, alpha=0.25, linewidths=0.8))
    lost = seen.any(axis=1) & ~seen[:, -1]
    last_k = np.array([np.flatnonzero(r)[-1] if r.any() else 0 for r in seen], dtype=int)
    last_y = Y[np.arange(len(Y)), last_k] if len(Y) else np.array([])
    ax.scatter(x[last_k[lost]], last_y[lost], marker="x", color="0.3", s=14)
    for k in range(len(visits)):
        v = Y[seen[:, k], k]
        if len(v):
            sd = v.std(ddof=1) if len(v) > 1 else 0
            ax.errorbar(k, v.mean(), yerr=sd, color="black", marker="o", capsize=3, lw=1.5, zorder=5)
    first = Y[np.arange(len(Y)), np.argmax(seen, axis=1)] if len(Y) else np.array([])
    has = seen.any(axis=1)
    tips = [
        f"{pid} ({arm}): {text(a)} → {text(b)} at {visits[k]}"
        if k > 0
        else f"{pid} ({arm}): {text(b)} at {visits[0]} only"
        for pid, a, b, k in zip(participants[has], first[has], last_y[has], last_k[has], strict=True)
    ]
    return Hotspots(ax, x[last_k[has]], last_y[has], tips)


def _summary_panel(ax, Y, seen, x, color, arm, visits, ci_level, text, t_critical) -> Hotspots:
    """Distribution, quartiles and mean ± CI of each visit in one arm: a fixed number of artists."""
    means, lows, highs, labels = [], [], [], []
    for k in range(len(visits)):
        v = Y[seen[:, k], k]
        if len(v) < 2:
            means.append(np.nan)
            lows.append(np.nan)
            highs.append(np.nan)
            labels.append(f"{arm} at {visits[k]}: n = {len(v)}")
            continue
        counts, edges = np.histogram(v, bins=24)
        width = 0.32 * counts / counts.max()
        centres = 0.5 * (edges[:-1] + edges[1:])
        ax.fill_betweenx(centres, x[k] - width, x[k], color=color, alpha=0.35, lw=0)
        q05, q25, q50, q75, q95 = np.percentile(v, [5, 25, 50, 75, 95])
        ax.vlines(x[k] + 0.06, q05, q95, color=color, lw=0.8)
        ax.vlines(x[k] + 0.06, q25, q75, color=color, lw=4)
        ax.hlines(q50, x[k] + 0.02, x[k] + 0.10, color="white", lw=1)
        m, se = v.mean(), v.std(ddof=1) / np.sqrt(len(v))
        half = float(t_critical(ci_level, len(v) - 1)) * se
        means.append(m)
        lows.append(m - half)
        highs.append(m + half)
        labels.append(
            f"{arm} at {visits[k]}: n = {len(v)}; mean {text(m)} ({ci_level:.0%} CI {text(m - half)} to "
            f"{text(m + half)}); median {text(q50)}, quartiles {text(q25)} to {text(q75)}"
        )
    mx = x + 0.16
    ax.errorbar(
        mx,
        means,
        yerr=[np.subtract(means, lows), np.subtract(highs, means)],
        color="black",
        marker="o",
        ms=3.5,
        capsize=3,
        lw=1.2,
        zorder=5,
    )
    return Hotspots(ax, mx, means, labels)


def forest_figure(table: pd.DataFrame, *, labels: dict[str, str], alpha: float = 0.05):
    """Adjusted differences with their CIs on one axis: each divided by its outcome's pooled baseline
    SD and multiplied by Hedges' J (the ``effect_size`` column), so outcomes in different units can
    stand side by side. One row per outcome × contrast.

    Returns
    -------
    (Figure, list of Hotspots)
        One tooltip per row: outcome, contrast, g with its CI, adjusted p.
    """
    plt = _pyplot()
    t = table.reset_index(drop=True)
    n = len(t)
    fig, ax = plt.subplots(figsize=(6.4, 0.34 * n + 0.9))
    y = np.arange(n)[::-1].astype(float)
    g = t["effect_size"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(t["estimate"].abs() > 0, np.abs(g / t["estimate"].to_numpy(dtype=float)), np.nan)
    est, lo, hi = (t[c].to_numpy(dtype=float) * scale for c in ("estimate", "ci_low", "ci_high"))
    sig = t["p_adj"].to_numpy(dtype=float) < alpha
    level = float(t["ci_level"].iloc[0]) if len(t) else 0.95
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="none", ecolor="0.4", capsize=2)
    ax.scatter(est, y, c=np.where(sig, "#d1495b", "#1b6ca8"), zorder=3, s=18)
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    names = [f"{labels.get(o, o)}: {c}" for o, c in zip(t["outcome"], t["contrast"], strict=True)]
    ax.set_yticks(y, names)
    ax.set_xlabel(
        f"adjusted difference in baseline-SD units (Hedges' g scale), {level:.0%} CI; "
        f"red: adjusted p < {alpha:g}"
    )
    p_adj = t["p_adj"].to_numpy(dtype=float)
    tips = [
        f"{name}: g = {e:.2f} ({level:.0%} CI {a:.2f} to {b:.2f}), adjusted p = "
        + ("<0.001" if p < 0.001 else f"{p:.3f}")
        for name, e, a, b, p in zip(names, est, lo, hi, p_adj, strict=True)
    ]
    return fig, [Hotspots(ax, est, y, tips)]


def cutometer_curves_figure(curves: pd.DataFrame):
    """Deformation against time for a few raw Cutometer measurements."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    for j, (mid, c) in enumerate(curves.groupby("measurement_id", sort=True)):
        ax.plot(c["time_s"], c["deformation_mm"], lw=1, color=_COLORS[j % len(_COLORS)], label=str(mid))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("deformation (mm)")
    ax.legend(fontsize=7, frameon=False)
    return fig
