"""Report section for raw instrument files: QC summary, flagged files, agreement, curves, overlays."""

from __future__ import annotations

import base64

import pandas as pd

from skintrial.pipeline import TrialResults
from skintrial.report._figures import cutometer_curves_figure
from skintrial.report._format import num

__all__ = ["build"]

N_OVERLAYS = 4


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


def build(res: TrialResults) -> list[dict]:
    """The instruments section, or nothing when the bundle had no raw files."""
    files = res.get("instrument_files")
    if files is None or files.empty:
        return []
    qc = files["qc"].fillna("")
    flagged = files[qc != ""]
    agreement = res.get("instrument_agreement", pd.DataFrame())
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
                    r.outcome,
                    str(r.n_raw),
                    str(r.n_table_only),
                    str(r.n),
                    num(r.mean_difference),
                    num(r.max_abs_difference),
                ]
                for r in agreement.itertuples()
            ],
            "curves": cutometer_curves_figure(curves) if curves is not None and len(curves) else None,
            "overlays": overlays,
            "n_overlays": len(shown),
        }
    ]
