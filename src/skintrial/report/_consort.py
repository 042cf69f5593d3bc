"""The CONSORT flow diagram (CONSORT 2025: Hopewell et al. 2025, BMJ 389:e081123; the 2010 diagram of
Schulz et al., BMJ 340:c332, with the same stages) as a figure, from the flow counts.

Drawn for a randomised parallel design (two or more arms): assessed for eligibility → excluded before
randomisation (with reasons) → randomised → allocated per arm → lost to follow-up / discontinued (with
reasons) → analysed in the primary analysis (and excluded from it). The first two boxes come from the
bundle's optional screening table (docs/bundle.md); without it the diagram starts at randomisation.
"""

from __future__ import annotations

import textwrap

from skintrial.report._figures import _pyplot

__all__ = ["consort_figure"]

_BOX = {"boxstyle": "square,pad=0.45", "facecolor": "white", "edgecolor": "#333333", "linewidth": 0.8}
_STAGE = {"boxstyle": "round,pad=0.35", "facecolor": "#dbe6f1", "edgecolor": "none"}


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def consort_figure(
    rows: list[dict],
    *,
    followup: str,
    randomised_label: str = "Randomised",
    assessed: int | None = None,
    excluded: list[tuple[str, int]] = (),  # type: ignore[assignment]
):
    """A CONSORT diagram from the participant-flow rows of the report (one dict per arm: ``arm``,
    ``label``, ``randomised``, ``withdrawn``, ``reasons``, ``completed``, ``analysed``). With
    ``assessed`` (the number assessed for eligibility) and ``excluded`` (reason, n), the enrolment
    stage is drawn above the randomisation box.

    Examples
    --------
    >>> rows = [{"arm": a, "label": "", "randomised": 10, "withdrawn": 1, "reasons": ["moved: 1"],
    ...          "completed": 9, "analysed": 9} for a in ("AT", "RT")]
    >>> fig = consort_figure(rows, followup="week16")
    >>> any("Randomised (n = 20)" in t.get_text() for t in fig.axes[0].texts)
    True
    """
    plt = _pyplot()
    k = max(len(rows), 1)
    width = 3.0 * k + 1.2
    top = 6.4 if assessed is None else 8.4
    fig, ax = plt.subplots(figsize=(width, top - 0.8))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0.8, top)
    wrap = 34
    total = sum(r["randomised"] for r in rows)
    top_y, levels = 5.95, {"Allocation": 4.75, "Follow-up": 3.2, "Analysis": 1.45}
    centres = [1.2 + 3.0 * (j + 0.5) for j in range(k)]
    mid = (centres[0] + centres[-1]) / 2
    ax.text(mid, top_y, f"{randomised_label} (n = {total})", ha="center", va="center", fontsize=9, bbox=_BOX)
    for name, y in levels.items():
        ax.text(0.45, y, name, ha="center", va="center", rotation=90, fontsize=8.5, bbox=_STAGE)
    arrow = {"arrowstyle": "-|>", "color": "#333333", "lw": 0.8, "shrinkA": 0, "shrinkB": 0}
    if assessed is not None:  # CONSORT 2025's enrolment stage, from the screening table
        ax.text(0.45, 7.3, "Enrolment", ha="center", va="center", rotation=90, fontsize=8.5, bbox=_STAGE)
        ax.text(
            mid,
            7.9,
            f"Assessed for eligibility (n = {assessed})",
            ha="center",
            va="center",
            fontsize=9,
            bbox=_BOX,
        )
        n_out = sum(n for _, n in excluded)
        text = f"Excluded (n = {n_out})" + "".join(f"\n• {why} (n = {n})" for why, n in excluded)
        ax.text(mid + 0.35, 6.95, _wrap(text, wrap + 8), ha="left", va="center", fontsize=7.5, bbox=_BOX)
        ax.annotate("", (mid, top_y + 0.25), (mid, 7.9 - 0.25), arrowprops=arrow)
        ax.annotate("", (mid + 0.33, 6.95), (mid, 6.95), arrowprops=arrow)
    for x, r in zip(centres, rows, strict=True):
        arm = r["arm"] + (f": {r['label']}" if r.get("label") else "")
        texts = {
            "Allocation": f"Allocated to {arm}\n(n = {r['randomised']})",
            "Follow-up": f"Lost to follow-up or discontinued before {followup} (n = {r['withdrawn']})"
            + "".join(f"\n• {why}" for why in r["reasons"]),
            "Analysis": f"Analysed, primary ANCOVA (n = {r['analysed']})\nExcluded from the analysis "
            f"(n = {max(r['randomised'] - r['analysed'], 0)})",
        }
        for name, y in levels.items():
            ax.text(x, y, _wrap(texts[name], wrap), ha="center", va="center", fontsize=7.5, bbox=_BOX)
        ax.annotate("", (x, levels["Allocation"] + 0.42), (x, top_y - 0.25), arrowprops=arrow)
        ax.annotate("", (x, levels["Follow-up"] + 0.55), (x, levels["Allocation"] - 0.35), arrowprops=arrow)
        ax.annotate("", (x, levels["Analysis"] + 0.45), (x, levels["Follow-up"] - 0.6), arrowprops=arrow)
    return fig
