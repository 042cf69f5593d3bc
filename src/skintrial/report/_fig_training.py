"""Training figures: dose–response of skin change on training dose; attendance per participant.

Each function takes the result tables of :mod:`skintrial.training` and returns a matplotlib Figure
(Agg backend; matplotlib is imported inside the function). The caller renders and closes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.report._figures import _COLORS, _pyplot

__all__ = ["dose_response_figure", "adherence_figure"]

_NOT_POOLED = {
    "not_pooled_scales_differ": "no pooled slope: the dose is on different scales in the arms",
    "not_pooled_one_arm": "no pooled slope: the dose varies in one arm only",
}


def dose_response_figure(
    data: pd.DataFrame,
    results: pd.DataFrame,
    *,
    outcome: str,
    dose_measure: str,
    label: str | None = None,
    unit: str | None = None,
    dose_label: str | None = None,
):
    """Change in one outcome against one training dose: a point per participant, a fit per arm.

    Parameters
    ----------
    data : DataFrame
        :func:`skintrial.training.dose_response_data`.
    results : DataFrame
        :func:`skintrial.training.dose_response`.
    outcome, dose_measure : str
    label, unit, dose_label : str, optional
        Axis text (default: the column names).

    Returns
    -------
    matplotlib.figure.Figure
        Each arm's line has the arm's baseline-adjusted slope and passes through the arm's mean dose
        and mean change; the title gives the pooled (arm-adjusted) slope with its CI and p, or says
        why there is none (dose on different scales in the arms, or varying in one arm only).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": list("abcd"), "arm": ["AT", "AT", "RT", "RT"], "outcome": "r2",
    ...                   "dose_measure": "adherence", "dose": [0.7, 0.9, 0.8, 1.0], "baseline": 0.6,
    ...                   "followup": [0.62, 0.65, 0.63, 0.66], "change": [0.02, 0.05, 0.03, 0.06]})
    >>> r = pd.DataFrame({"outcome": "r2", "dose_measure": "adherence", "arm": ["all", "AT", "RT"],
    ...                   "estimate": [0.15, 0.15, 0.15], "ci_low": 0.1, "ci_high": 0.2, "ci_level": 0.95,
    ...                   "p": 0.01, "n": [4, 2, 2], "status": "ok"})
    >>> fig = dose_response_figure(d, r, outcome="r2", dose_measure="adherence")
    >>> len(fig.axes[0].lines)  # a fit per arm and the zero line
    3
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    plt = _pyplot()
    d = data[(data["outcome"] == outcome) & (data["dose_measure"] == dose_measure)]
    r = results[(results["outcome"] == outcome) & (results["dose_measure"] == dose_measure)].set_index("arm")
    fig, ax = plt.subplots(figsize=(4.6, 3.3))
    for j, (arm, g) in enumerate(d.groupby("arm", sort=True)):
        color = _COLORS[j % len(_COLORS)]
        ok = np.isfinite(g["dose"]) & np.isfinite(g["change"])
        ax.scatter(
            g.loc[ok, "dose"],
            g.loc[ok, "change"],
            s=16,
            color=color,
            alpha=0.8,
            label=f"{arm} (n = {ok.sum()})",
        )
        if arm in r.index and r.loc[arm, "status"] == "ok" and ok.sum() > 1:
            x = np.linspace(g.loc[ok, "dose"].min(), g.loc[ok, "dose"].max(), 2)
            y = g.loc[ok, "change"].mean() + r.loc[arm, "estimate"] * (x - g.loc[ok, "dose"].mean())
            ax.plot(x, y, color=color, lw=1.6)
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(dose_label or dose_measure)
    ax.set_ylabel(f"change in {label or outcome}" + (f" ({unit})" if unit else ""))
    if "all" in r.index and r.loc["all", "status"] == "ok":
        a = r.loc["all"]
        ax.set_title(
            f"slope {a['estimate']:.3g} per unit ({100 * a['ci_level']:.0f}% CI {a['ci_low']:.3g} to "
            f"{a['ci_high']:.3g}), p = {a['p']:.2g}",
            fontsize=8,
        )
    elif "all" in r.index and r.loc["all", "status"] in _NOT_POOLED:
        ax.set_title(_NOT_POOLED[r.loc["all", "status"]], fontsize=8)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def adherence_figure(summary: pd.DataFrame, *, min_adherence: float | None = None):
    """Sessions attended as a fraction of plan, one point per participant, by arm.

    Withdrawn participants are drawn as open circles; the per-protocol threshold as a dashed line.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"participant_id": list("abc"), "arm": ["AT", "RT", "RT"], "adherence": [0.9, 0.7, 1.0],
    ...                   "status": ["completed", "withdrawn", "completed"]})
    >>> fig = adherence_figure(s, min_adherence=0.8)
    >>> fig.axes[0].get_ylabel()
    'sessions attended / planned'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    plt = _pyplot()
    s = summary[np.isfinite(summary["adherence"].astype(float))]
    arms = sorted(s["arm"].astype(str).unique())
    fig, ax = plt.subplots(figsize=(1.3 * max(len(arms), 1) + 1.6, 3.0))
    rng = np.random.default_rng(0)  # horizontal jitter only, fixed so figures are reproducible
    for j, arm in enumerate(arms):
        g = s[s["arm"].astype(str) == arm]
        x = j + rng.uniform(-0.18, 0.18, len(g))
        wd = (g["status"] == "withdrawn").to_numpy() if "status" in g else np.zeros(len(g), bool)
        color = _COLORS[j % len(_COLORS)]
        ax.scatter(x[~wd], g["adherence"].to_numpy(float)[~wd], s=16, color=color)
        ax.scatter(x[wd], g["adherence"].to_numpy(float)[wd], s=16, facecolors="none", edgecolors=color)
        ax.plot([j - 0.3, j + 0.3], [g["adherence"].median()] * 2, color="black", lw=1.5)
    if min_adherence is not None:
        ax.axhline(min_adherence, color="0.4", ls="--", lw=1)
    ax.set_xticks(range(len(arms)), arms)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("sessions attended / planned")
    fig.tight_layout()
    return fig
