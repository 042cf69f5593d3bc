"""Report section for raw instrument files: QC summary, flagged files, agreement, curves, overlays.

Flagged files come first, for review: the flagged Cutometer files the stage passed (at most
``N_FLAGGED_CURVES``) are drawn with the flags of each measurement, the caption saying how many of all
flagged files that is and linking ``overlays/flagged_curves.html``, where every one is drawn; and every
flagged scan's overlay is shown before a few clean ones.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import PurePath
from typing import cast

import pandas as pd

from skintrial.qc import FLAGGED_CURVES_PAGE, flagged_measurements, measurement_flags
from skintrial.qc import flagged as qc_flagged
from skintrial.report._context import Context
from skintrial.report._figures import _pyplot, cutometer_curves_figure
from skintrial.report._format import fixed

__all__ = ["build"]

N_OVERLAYS = 4

OVERLAY_LEGEND = (
    ("#ffdc00", "yellow", "skin surface (top of the entry echo)"),
    ("#00c8ff", "cyan", "top of the dermis (lower edge of the entry echo)"),
    ("#ff00ff", "magenta", "lower edge of the subepidermal low-echogenic band (SLEB)"),
    ("#50ff50", "green", "split between upper and lower dermis"),
    ("#ff2828", "red", "dermis/subcutis border"),
)
"""The lines of an ultrasound overlay (the colours skintrial.instruments draws), as the page's legend."""


def _qc_rows(files: pd.DataFrame) -> list[list[str]]:
    rows = []
    for instrument, grp in files.groupby("instrument", sort=True):
        qc = grp["qc"].fillna("")
        errors = qc.str.startswith("error")
        flagged = (qc != "") & ~errors
        rows.append(
            [
                instrument,
                str(grp["file"].nunique()),
                str(len(grp)),
                str(int((qc == "").sum())),
                str(int(flagged.sum())),
                str(int(errors.sum())),
            ]
        )
    return rows


def _flagged_curves_figure(curves: pd.DataFrame, flags: dict[str, str], bad: set[tuple[str, str]]):
    """One small panel per flagged Cutometer file: its flagged measurements in red, its clean ones in
    grey (a figure legend says which), titled with the file and the flags of every flagged measurement.
    A file whose measurement ids match none of ``bad`` (``(file, measurement_id)``) is drawn all red."""
    plt = _pyplot()
    names = list(dict.fromkeys(curves["file"]))
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.3 * ncol + 0.6, 1.9 * nrow + 0.8), squeeze=False)
    handles: dict[str, object] = {}
    for ax, name in zip(axes.flat, names, strict=False):
        mine = curves[curves["file"] == name]
        known = any((str(name), str(m)) in bad for m in mine["measurement_id"].unique())
        for mid, c in mine.groupby("measurement_id", sort=True, observed=True):
            is_bad = (str(name), str(mid)) in bad or not known
            label = "flagged measurement" if is_bad else "clean measurement (same file)"
            (line,) = ax.plot(
                c["time_s"],
                c["deformation_mm"],
                lw=1.0 if is_bad else 0.7,
                color="#d1495b" if is_bad else "#999999",
            )
            handles.setdefault(label, line)
        title = textwrap.fill(flags.get(name, ""), 38)
        ax.set_title(f"{PurePath(str(name)).name}\n{title}", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("time (s)", fontsize=6)
        ax.set_ylabel("mm", fontsize=6)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    # the legend above the panels, inside the figure (one column when one panel wide: never clipped)
    two = ncol > 1
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.3 if two else 0.45) / fig.get_figheight()))
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="upper center",
        ncol=2 if two else 1,
        fontsize=7,
        frameon=False,
    )
    return fig


def _overlays(files: pd.DataFrame, flagged: pd.Series, assets) -> tuple[list[dict], int, int]:
    """Overlays of flagged scans first (all of them), then up to N_OVERLAYS clean ones."""
    shown = sorted(
        (name, data)
        for name, data in assets.items()
        if name.startswith("overlays/") and name.endswith(".png")
    )
    us = files[files["instrument"] == "ultrasound"]
    flags = {PurePath(str(f)).stem: q for f, q in zip(us["file"], us["qc"].fillna(""), strict=True)}
    bad = {PurePath(str(f)).stem for f in us["file"][flagged[us.index]]}
    first = [(n, d) for n, d in shown if PurePath(n).stem in bad]
    rest = [(n, d) for n, d in shown if PurePath(n).stem not in bad][:N_OVERLAYS]
    out = [
        {
            "name": name.rsplit("/", 1)[-1],
            "uri": "data:image/png;base64," + base64.b64encode(data).decode(),
            "qc": flags.get(PurePath(name).stem, ""),
        }
        for name, data in first + rest
    ]
    return out, len(shown), len(first)


def build(ctx: Context) -> list[dict]:
    """The instruments section, or nothing when the bundle had no raw files."""
    res = ctx.res
    files = res.get("instrument_files")
    if files is None or files.empty:
        return []
    info = cast("list[str]", res.settings("instruments").get("informational_flags", []))
    is_flagged = qc_flagged(files["qc"], info)
    flagged = files[is_flagged]
    agreement = cast(pd.DataFrame, res.get("instrument_agreement", pd.DataFrame()))
    overlays, n_overlays, n_flagged_overlays = _overlays(files, is_flagged, res.assets)
    curves = res.get("cutometer_curves")
    review = None
    cut = files[files["instrument"] == "cutometer"]
    flags = measurement_flags(cut, info)
    readable = {
        f for f, q in zip(cut["file"], cut["qc"].fillna(""), strict=True) if not q.startswith("error")
    }
    n_review = sum(f in readable for f in flags)  # flagged files with curves to draw
    n_drawn = 0
    if curves is not None and len(curves):
        drawn = curves["file"].isin(list(flags))
        n_drawn = curves.loc[drawn, "file"].nunique()
        if drawn.any():
            bad = flagged_measurements(cut, info)
            review = ctx.figures.add(
                "instruments-flagged-curves", _flagged_curves_figure(curves[drawn], flags, bad)
            )
        curves = curves[~drawn]
    page = FLAGGED_CURVES_PAGE if FLAGGED_CURVES_PAGE in res.assets else None
    return [
        {
            "id": "instruments",
            "title": "Instruments",
            "qc_rows": _qc_rows(files),
            "flagged": [[r.file, r.instrument, r.qc] for r in flagged.itertuples()],
            "agreement": [
                [
                    ctx.label(r.outcome),
                    str(r.n_raw),
                    str(r.n_table_only),
                    str(r.n),
                    fixed(r.mean_difference, ctx.d(r.outcome) + 1),
                    fixed(r.max_abs_difference, ctx.d(r.outcome) + 1),
                ]
                for r in agreement.itertuples()
            ],
            "curves": ctx.figures.add("instruments-cutometer-curves", cutometer_curves_figure(curves))
            if curves is not None and len(curves)
            else None,
            "flagged_curves": review,
            "n_flagged_curves": n_review,
            "n_flagged_curves_drawn": n_drawn,
            "flagged_curves_page": page,
            "overlays": overlays,
            "n_overlays": n_overlays,
            "n_flagged_overlays": n_flagged_overlays,
            "legend": OVERLAY_LEGEND,
        }
    ]
