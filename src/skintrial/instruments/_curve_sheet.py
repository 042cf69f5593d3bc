"""``overlays/flagged_curves.html``: every flagged Cutometer curve drawn, for review by eye.

The report draws a bounded number of flagged files in its own pages (``N_FLAGGED_CURVES``); this page,
beside the ultrasound contact sheet (``overlays/index.html``), draws all of them, so that none is left
out of review however big the study. Each file is one panel: its flagged measurements in red, its clean
ones in grey, captioned with the file and the flags of every flagged measurement
(:func:`skintrial.qc.measurement_flags`). Curves are inline SVG polylines (no images to write), thinned
to at most :data:`MAX_POINTS` points each.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd

from skintrial.qc import flagged_measurements, measurement_flags

__all__ = ["flagged_curves_page"]

MAX_POINTS = 400
"""At most this many points per drawn curve (evenly thinned; the page stays small for long recordings)."""

_W, _H, _PAD = 300, 150, 6


def _polyline(t: np.ndarray, y: np.ndarray, t_max: float, y_min: float, y_max: float) -> str:
    step = max(1, -(-len(t) // MAX_POINTS))
    t, y = t[::step], y[::step]
    x = _PAD + (t / (t_max or 1.0)) * (_W - 2 * _PAD)
    yy = _H - _PAD - (y - y_min) / ((y_max - y_min) or 1.0) * (_H - 2 * _PAD)
    return " ".join(
        f"{a:.1f},{b:.1f}" for a, b in zip(x, yy, strict=True) if np.isfinite(a) and np.isfinite(b)
    )


def flagged_curves_page(curves: pd.DataFrame, files: pd.DataFrame, informational: Iterable[str]) -> bytes:
    """The page: one panel per flagged file of ``curves`` (long ``file, measurement_id, time_s,
    deformation_mm``), in the order of ``curves``, flagged measurements red and clean ones grey."""
    info = list(informational)
    flags = measurement_flags(files, info)
    bad = flagged_measurements(files, info)
    figures = []
    for name, grp in curves.groupby("file", sort=False):
        name = str(name)
        t_all = grp["time_s"].to_numpy(float)
        y_all = grp["deformation_mm"].to_numpy(float)
        fin = np.isfinite(y_all)
        y_min, y_max = (float(y_all[fin].min()), float(y_all[fin].max())) if fin.any() else (0.0, 1.0)
        t_max = float(np.nanmax(t_all)) if np.isfinite(t_all).any() else 1.0
        any_known = any((name, str(m)) in bad for m in grp["measurement_id"].unique())
        lines = []
        for mid, c in grp.groupby("measurement_id", sort=True, observed=True):
            flagged = (name, str(mid)) in bad or not any_known  # ids unmatched: the whole file is flagged
            lines.append(
                '<polyline class="{}" points="{}"><title>{}</title></polyline>'.format(
                    "f" if flagged else "c",
                    _polyline(
                        c["time_s"].to_numpy(float), c["deformation_mm"].to_numpy(float), t_max, y_min, y_max
                    ),
                    html.escape(f"{mid} ({'flagged' if flagged else 'clean'})"),
                )
            )
        figures.append(
            f'<figure><svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
            f'aria-label="{html.escape("curves of " + name, quote=True)}">{"".join(lines)}</svg>'
            f"<figcaption>{html.escape(name)} — <b>{html.escape(flags.get(name, ''))}</b><br>"
            f"<small>0–{t_max:.3g} s; {y_min:.3g}–{y_max:.3g} mm</small></figcaption></figure>"
        )
    n = len(figures)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Flagged Cutometer curves</title>'
        "<style>body{font:13px sans-serif;margin:1em}div{display:flex;flex-wrap:wrap;gap:12px}"
        "figure{margin:0;width:300px}svg{background:#fafafa;border:1px solid #ddd}"
        "polyline{fill:none;stroke-width:1}polyline.f{stroke:#d1495b;stroke-width:1.4}polyline.c{stroke:#999}"
        ".key span{display:inline-block;width:18px;height:3px;vertical-align:middle;margin:0 4px}"
        "</style></head><body>"
        f"<h1>Flagged Cutometer curves ({n} file{'s' if n != 1 else ''})</h1>"
        '<p class="key">Deformation against time, one panel per file with a flagged measurement (not used); '
        '<span style="background:#d1495b"></span>flagged measurement '
        '<span style="background:#999"></span>clean measurement of the same file. Each caption lists the '
        "flags of every flagged measurement (docs/cutometer.md).</p>"
        f"<div>\n{chr(10).join(figures)}\n</div></body></html>\n"
    )
    return page.encode("utf-8")
