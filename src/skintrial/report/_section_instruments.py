"""Report section for raw instrument files: QC summary, flagged files, agreement, curves, overlays."""

from __future__ import annotations

import base64
from typing import cast

import pandas as pd

from skintrial.report._context import Context
from skintrial.report._figures import cutometer_curves_figure
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


def build(ctx: Context) -> list[dict]:
    """The instruments section, or nothing when the bundle had no raw files."""
    res = ctx.res
    files = res.get("instrument_files")
    if files is None or files.empty:
        return []
    qc = files["qc"].fillna("")
    flagged = files[qc != ""]
    agreement = cast(pd.DataFrame, res.get("instrument_agreement", pd.DataFrame()))
    shown = sorted((name, data) for name, data in res.assets.items() if name.startswith("overlays/"))
    overlays = [
        {"name": name.rsplit("/", 1)[-1], "uri": "data:image/png;base64," + base64.b64encode(data).decode()}
        for name, data in shown[:N_OVERLAYS]
    ]
    curves = res.get("cutometer_curves")
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
            "overlays": overlays,
            "n_overlays": len(shown),
            "legend": OVERLAY_LEGEND,
        }
    ]
