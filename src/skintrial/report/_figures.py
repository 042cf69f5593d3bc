"""Report figures: matplotlib (Agg) rendered to SVG and embedded as ``data:`` images.

Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot: no backend is
selected and no global rcParams are changed, so a user's own plotting session is left alone. Images
embedded through ``<img src="data:image/svg+xml;base64,...">`` cannot run script, so labels that come
from input files are harmless there.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

__all__ = ["svg_data_uri", "figure_bytes", "before_after_figure", "forest_figure"]

_COLORS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93")
_STYLE = {
    "svg.hashsalt": "skintrial",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.parse_math": False,
}
"""Every figure's style. ``text.parse_math`` is off: labels come from input files ("$5 voucher" arm, an
outcome label with ``$x^{``) and are drawn as typed, never parsed as mathtext (which would fail)."""


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


def _plain_text(fig) -> None:
    """Texts made before rendering (titles, labels, legends) were created outside :data:`_STYLE`; they
    too are drawn as typed. Texts made while rendering (tick labels) follow :data:`_STYLE`."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)


def figure_bytes(fig, fmt: str = "svg", *, dpi: int = 150) -> bytes:
    """Render a figure to SVG (no date: reproducible) or PNG bytes. Every string is drawn as plain text."""
    import matplotlib

    buf = io.BytesIO()
    _plain_text(fig)
    with matplotlib.rc_context(_STYLE):
        fig.savefig(
            buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None
        )
    return buf.getvalue()


def svg_data_uri(fig) -> str:
    """Render a figure to an SVG data URI. Every string is drawn as plain text."""
    return "data:image/svg+xml;base64," + base64.b64encode(figure_bytes(fig, "svg")).decode("ascii")


def before_after_figure(
    long: pd.DataFrame, *, outcome: str, label: str, unit: str, arms: list[str], visits: list[str]
) -> str:
    """One panel per arm: each participant's values across ``visits`` (baseline first, the analysed
    follow-up last) joined by a line, and the arm mean ± SD at each visit. ``n`` counts participants with
    both the baseline and the last visit (those the ANCOVA analyses); participants without the last visit
    are marked × at their last value."""
    plt = _pyplot()
    d = long[long["outcome"] == outcome]
    wide = d.pivot_table(index=["participant_id", "arm"], columns="visit", values="value").reset_index()
    x = np.arange(len(visits))
    fig, axes = plt.subplots(
        1,
        len(arms),
        figsize=(max(2.2, 0.9 * len(visits) + 0.6) * len(arms) + 0.6, 2.6),
        sharey=True,
        squeeze=False,
    )
    for j, (ax, arm) in enumerate(zip(axes[0], arms, strict=True)):
        w = wide[wide["arm"] == arm]
        Y = np.column_stack(
            [w.get(v, pd.Series(np.nan, index=w.index)).to_numpy(dtype=float) for v in visits]
        )
        seen = np.isfinite(Y)
        analysed = seen[:, 0] & seen[:, -1]
        color = _COLORS[j % len(_COLORS)]
        for y, ok in zip(Y, seen, strict=True):
            if ok.sum() > 1:
                ax.plot(x[ok], y[ok], color=color, alpha=0.25, lw=0.8)
        lost = seen.any(axis=1) & ~seen[:, -1]
        last = np.array([np.flatnonzero(r)[-1] for r in seen[lost]], dtype=int)
        ax.scatter(
            x[last], Y[lost][np.arange(lost.sum()), last], marker="x", color="0.3", s=14, label="no follow-up"
        )
        for k in x:
            v = Y[seen[:, k], k]
            if len(v):
                ax.errorbar(
                    k,
                    v.mean(),
                    yerr=v.std(ddof=1) if len(v) > 1 else 0,
                    color="black",
                    marker="o",
                    capsize=3,
                    lw=1.5,
                    zorder=5,
                )
        ax.set_xticks(x, visits)
        ax.set_xlim(-0.3, len(visits) - 0.7)
        ax.set_title(f"{arm} (n = {analysed.sum()})")
    axes[0][0].set_ylabel(f"{label} ({unit})")
    return svg_data_uri(fig)


def forest_figure(table: pd.DataFrame, *, labels: dict[str, str], alpha: float = 0.05) -> str:
    """Adjusted differences with their CIs on one axis: each divided by its outcome's pooled baseline
    SD and multiplied by Hedges' J (the ``effect_size`` column), so outcomes in different units can
    stand side by side. One row per outcome × contrast."""
    plt = _pyplot()
    t = table.reset_index(drop=True)
    n = len(t)
    fig, ax = plt.subplots(figsize=(6.4, 0.34 * n + 0.9))
    y = np.arange(n)[::-1]
    g = t["effect_size"].to_numpy(dtype=float)
    scale = np.where(t["estimate"].abs() > 0, np.abs(g / t["estimate"].to_numpy(dtype=float)), np.nan)
    est, lo, hi = (t[c].to_numpy(dtype=float) * scale for c in ("estimate", "ci_low", "ci_high"))
    sig = t["p_adj"].to_numpy(dtype=float) < alpha
    level = float(t["ci_level"].iloc[0]) if len(t) else 0.95
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="none", ecolor="0.4", capsize=2)
    ax.scatter(est, y, c=np.where(sig, "#d1495b", "#1b6ca8"), zorder=3, s=18)
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(y, [f"{labels.get(o, o)}: {c}" for o, c in zip(t["outcome"], t["contrast"], strict=True)])
    ax.set_xlabel(
        f"adjusted difference in baseline-SD units (Hedges' g scale), {level:.0%} CI; "
        f"red: adjusted p < {alpha:g}"
    )
    return svg_data_uri(fig)


def cutometer_curves_figure(curves: pd.DataFrame) -> str:
    """Deformation against time for a few raw Cutometer measurements."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    for j, (mid, c) in enumerate(curves.groupby("measurement_id", sort=True)):
        ax.plot(c["time_s"], c["deformation_mm"], lw=1, color=_COLORS[j % len(_COLORS)], label=str(mid))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("deformation (mm)")
    ax.legend(fontsize=7, frameon=False)
    return svg_data_uri(fig)
