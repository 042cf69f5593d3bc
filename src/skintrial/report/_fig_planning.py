"""Planning figures: power against sample size, from :func:`skintrial.plan.power_curve`."""

from __future__ import annotations

import pandas as pd

from skintrial.report._figures import _COLORS

__all__ = ["power_curve_figure", "planning_page"]

PLAN_GENERATOR = "skintrial plan"
"""The ``generator`` of every plan page: how ``skintrial plan`` recognises a folder it wrote before."""


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


_LABELS = {
    "scenario": "Scenario",
    "contrast": "Contrast",
    "effect": "Effect",
    "effect_ci_low": "Effect CI, low",
    "effect_ci_high": "Effect CI, high",
    "sd": "SD",
    "rho": "Baseline–follow-up r",
    "n_enrolled_arm": "Enrolled per arm",
    "n_enrolled_total": "Enrolled in all",
    "dropout": "Dropout",
    "alpha_test": "α per test",
    "power": "Power",
    "gpower_effect_size_f": "G*Power f",
    "gpower_groups": "G*Power groups",
    "gpower_covariates": "G*Power covariates",
    "gpower_total_n": "G*Power total N",
}
_OTHER_LABELS = {
    "outcome": "Outcome",
    "arm": "Arm",
    "n": "n",
    "sd_ci_low": "SD CI, low",
    "sd_ci_high": "SD CI, high",
    "rho_ci_low": "r CI, low",
    "rho_ci_high": "r CI, high",
}
"""Headers of the pilot tables' columns (the plan table keeps only the columns of :data:`_LABELS`)."""
_PROBABILITIES = ("power", "alpha", "dropout", "p_")
_NUM = ' class="num"'


def _label(column: str) -> str:
    known = _LABELS.get(column) or _OTHER_LABELS.get(column)
    return known or column.replace("_", " ").capitalize()


def _cell(column: str, value: object, whole: bool) -> str:
    from skintrial.report._format import count_of, fixed, num

    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if whole:
        return count_of(value)
    if column == "p" or column.startswith(_PROBABILITIES) or column.endswith(("_power", "_alpha")):
        return fixed(value, 3)
    return num(value)


def _html_table(df: pd.DataFrame, id_: str) -> str:
    """A table in the report's style: labelled headers, numbers right-aligned and formatted (counts as
    whole numbers, probabilities to three decimals, other numbers to three significant digits)."""
    import html as _html

    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns
    ]
    whole = [
        bool(k and df[c].dropna().map(lambda v: float(v).is_integer()).all())
        for c, k in zip(df.columns, numeric, strict=True)
    ]
    head = "".join(
        f'<th scope="col"{_NUM if k else ""}>{_html.escape(_label(str(c)))}</th>'
        for c, k in zip(df.columns, numeric, strict=True)
    )
    rows = []
    for values in df.itertuples(index=False):
        cells = "".join(
            f"<td{_NUM if k else ''}>{_html.escape(_cell(str(c), v, w))}</td>"
            for c, v, k, w in zip(df.columns, values, numeric, whole, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="table-wrap"><table id="{id_}"><thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


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
    """A small self-contained HTML page in the report's style (its stylesheet, header and tables; no
    scripts, no external files): the plan, the power curve, the pilot estimates. Every text from input
    files is HTML-escaped; the figure is an inline SVG image.

    Examples
    --------
    >>> import pandas as pd
    >>> html = planning_page(title="r2", plan=pd.DataFrame({"scenario": ["pilot"], "n_enrolled_arm": [30.0]}),
    ...                      curve_svg=b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    >>> html.startswith("<!DOCTYPE html>") and "data:image/svg+xml;base64," in html
    True
    >>> ">30<" in html and "Enrolled per arm" in html
    True
    """
    import base64
    import html as _html
    from importlib import resources

    keep = [c for c in _LABELS if c in plan.columns]
    sections = [("sample-size", "Sample size", _html_table(plan[keep], "plan-table"))]
    uri = "data:image/svg+xml;base64," + base64.b64encode(curve_svg).decode("ascii")
    sections.append(
        (
            "power-curve",
            "Power curve",
            f'<figure id="power-curve-figure"><div class="plot"><img alt="Power against participants enrolled '
            f'per arm" src="{uri}"></div><figcaption>Power of each contrast against participants enrolled per '
            "arm; vertical lines: the planned enrolment of each scenario.</figcaption></figure>",
        )
    )
    for id_, caption, df in (
        ("simulation", "Simulated power of the pre-specified analysis", simulation),
        ("pilot-outcomes", "Pilot estimates: SD and baseline–follow-up correlation", estimates),
        ("pilot-changes", "Pilot estimates: mean change per arm", changes),
    ):
        if df is not None:
            sections.append((id_, caption, _html_table(df, f"{id_}-table")))
    css = (resources.files("skintrial.report") / "templates" / "report.css").read_text(encoding="utf-8")
    nav = "".join(f'<a href="#{i}">{_html.escape(c)}</a>' for i, c, _ in sections)
    body = "\n".join(
        f'<section id="{i}">\n<h2>{_html.escape(c)}</h2>\n{content}\n</section>' for i, c, content in sections
    )
    note = (
        f'<section id="notes">\n<h2>Notes</h2>\n<p>{_html.escape(notes)}</p>\n</section>\n' if notes else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{PLAN_GENERATOR}">\n'
        f"<title>{_html.escape(title)} — skintrial plan</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{_html.escape(title)}</h1>\n<p>Sample size and power for the next study, from the "
        f"pilot's estimates (skintrial plan).</p>\n</header>\n<nav>{nav}</nav>\n<main>\n{note}{body}\n</main>\n"
        "</body>\n</html>\n"
    )
