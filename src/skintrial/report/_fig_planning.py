"""Planning figures: power against sample size, from :func:`skintrial.plan.power_curve`."""

from __future__ import annotations

import pandas as pd

from skintrial.report._figures import _COLORS

__all__ = ["power_curve_figure", "planning_page"]


def power_curve_figure(
    curve: pd.DataFrame,
    *,
    target_power: float | None = 0.8,
    plan: pd.DataFrame | None = None,
    title: str | None = None,
):
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
    from skintrial.report._figures import _pyplot

    plt = _pyplot()
    styles = {"pilot": "-", "conservative": "--"}
    contrasts = list(dict.fromkeys(curve["contrast"]))
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for (scen, con), g in curve.groupby(["scenario", "contrast"], sort=False):
        color = _COLORS[contrasts.index(con) % len(_COLORS)]
        ax.plot(
            g["n_per_arm"], g["power"], ls=styles.get(scen, ":"), color=color, lw=1.6, label=f"{con}, {scen}"
        )
    if target_power is not None:
        ax.axhline(target_power, color="0.5", lw=0.8, ls=":")
    if plan is not None:
        for scen, g in plan.groupby("scenario", sort=False):
            n = float(g["n_enrolled_arm"].max())
            ax.axvline(n, color="0.3", lw=0.8, ls=styles.get(scen, ":"))
            ax.annotate(
                f"{scen}: n = {n:.0f}/arm", (n, 0.5), rotation=90, fontsize=7, ha="right", va="center"
            )
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("participants enrolled per arm")
    ax.set_ylabel("power")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def planning_page(
    *,
    title: str,
    plan: pd.DataFrame,
    curve_svg: bytes,
    estimates: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    simulation: pd.DataFrame | None = None,
    notes: str = "",
) -> str:
    """A small self-contained HTML page (no scripts, no external files): the plan, the power curve, the
    pilot estimates. Every text from input files is HTML-escaped; the figure is an inline SVG image.

    Examples
    --------
    >>> import pandas as pd
    >>> html = planning_page(title="r2", plan=pd.DataFrame({"scenario": ["pilot"], "n_enrolled_arm": [30.0]}),
    ...                      curve_svg=b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    >>> html.startswith("<!DOCTYPE html>") and "data:image/svg+xml;base64," in html
    True
    """
    import base64
    import html as _html

    def table(df: pd.DataFrame, caption: str) -> str:
        body = df.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
        return f"<h2>{_html.escape(caption)}</h2>\n{body}"

    keep = [
        "scenario",
        "contrast",
        "effect",
        "effect_ci_low",
        "effect_ci_high",
        "sd",
        "rho",
        "n_enrolled_arm",
        "n_enrolled_total",
        "dropout",
        "alpha_test",
        "power",
        "gpower_effect_size_f",
        "gpower_groups",
        "gpower_covariates",
        "gpower_total_n",
    ]
    parts = [table(plan[[c for c in keep if c in plan.columns]], "Sample size")]
    uri = "data:image/svg+xml;base64," + base64.b64encode(curve_svg).decode("ascii")
    parts.append(f'<h2>Power curve</h2>\n<img alt="power curve" src="{uri}">')
    if simulation is not None:
        parts.append(table(simulation, "Simulated power of the pre-specified analysis"))
    if estimates is not None:
        parts.append(table(estimates, "Pilot estimates: SD and baseline–follow-up correlation"))
    if changes is not None:
        parts.append(table(changes, "Pilot estimates: mean change per arm"))
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;text-align:right;"
        "border-bottom:1px solid #ddd}h2{font-size:1.05rem;margin-top:1.6rem}img{max-width:100%}"
    )
    note = f"<p>{_html.escape(notes)}</p>" if notes else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n<h1>{_html.escape(title)}</h1>\n{note}\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
