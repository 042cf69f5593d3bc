"""The CONSORT flow diagram (Schulz et al. 2010, BMJ 340:c332) as a figure, from the flow counts.

Drawn for a randomised parallel design (two or more arms): randomised → allocated per arm → lost to
follow-up / discontinued (with reasons) → analysed in the primary analysis (and excluded from it).
Eligibility screening is not part of a study bundle, so the diagram starts at randomisation.
"""

from __future__ import annotations

import textwrap

from skintrial.report._figures import _pyplot

__all__ = ["consort_figure"]

_BOX = {"boxstyle": "square,pad=0.45", "facecolor": "white", "edgecolor": "#333333", "linewidth": 0.8}
_STAGE = {"boxstyle": "round,pad=0.35", "facecolor": "#dbe6f1", "edgecolor": "none"}


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def consort_figure(rows: list[dict], *, followup: str, randomised_label: str = "Randomised"):
    """A CONSORT diagram from the participant-flow rows of the report (one dict per arm: ``arm``,
    ``label``, ``randomised``, ``withdrawn``, ``reasons``, ``completed``, ``analysed``).

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
    fig, ax = plt.subplots(figsize=(width, 5.6))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0.8, 6.4)
    wrap = 34
    total = sum(r["randomised"] for r in rows)
    top_y, levels = 5.95, {"Allocation": 4.75, "Follow-up": 3.2, "Analysis": 1.45}
    centres = [1.2 + 3.0 * (j + 0.5) for j in range(k)]
    mid = (centres[0] + centres[-1]) / 2
    ax.text(mid, top_y, f"{randomised_label} (n = {total})", ha="center", va="center", fontsize=9, bbox=_BOX)
    for name, y in levels.items():
        ax.text(0.45, y, name, ha="center", va="center", rotation=90, fontsize=8.5, bbox=_STAGE)
    arrow = {"arrowstyle": "-|>", "color": "#333333", "lw": 0.8, "shrinkA": 0, "shrinkB": 0}
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
