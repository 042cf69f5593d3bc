"""Planning figures: power against sample size, from :func:`skintrial.plan.power_curve`."""

from __future__ import annotations

import pandas as pd

__all__ = ["power_curve_figure"]

_COLORS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93")


def power_curve_figure(curve: pd.DataFrame, *, target_power: float | None = 0.8, plan: pd.DataFrame | None = None,
                       title: str | None = None):
    """Power of each contrast against participants enrolled per arm; one line style per scenario.

    Parameters
    ----------
    curve : DataFrame
        :func:`skintrial.plan.power_curve` (columns ``scenario, contrast, n_per_arm, power``).
    target_power : float, optional
        Drawn as a horizontal line.
    plan : DataFrame, optional
        :func:`skintrial.plan.plan_trial`: the planned enrolment per arm of each scenario is marked.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"scenario": "pilot", "contrast": "AT - CON", "n_per_arm": [10, 20, 30],
    ...                   "power": [0.3, 0.6, 0.8]})
    >>> fig = power_curve_figure(c)
    >>> fig.axes[0].get_xlabel()
    'participants enrolled per arm'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "skintrial", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False})
    styles = {"pilot": "-", "conservative": "--"}
    contrasts = list(dict.fromkeys(curve["contrast"]))
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for (scen, con), g in curve.groupby(["scenario", "contrast"], sort=False):
        color = _COLORS[contrasts.index(con) % len(_COLORS)]
        ax.plot(g["n_per_arm"], g["power"], ls=styles.get(scen, ":"), color=color, lw=1.6, label=f"{con}, {scen}")
    if target_power is not None:
        ax.axhline(target_power, color="0.5", lw=0.8, ls=":")
    if plan is not None:
        for scen, g in plan.groupby("scenario", sort=False):
            n = float(g["n_enrolled_arm"].max())
            ax.axvline(n, color="0.3", lw=0.8, ls=styles.get(scen, ":"))
            ax.annotate(f"{scen}: n = {n:.0f}/arm", (n, 0.03), rotation=90, fontsize=7, ha="right", va="bottom")
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("participants enrolled per arm")
    ax.set_ylabel("power")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
