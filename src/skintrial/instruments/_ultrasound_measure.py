"""Skin parameters from detected layers: dermal thickness, echogenicity fractions, SLEB, QC flags.

Works on a stack ``(n, rows, cols)`` of scans of one shape and spacing, like the detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skintrial.instruments._ultrasound_detect import DetectionSettings, Layers, detect_layers

__all__ = ["COLUMNS", "QC_FLAGS", "Echogenicity", "UltrasoundResult", "measure_stack", "combine_frames"]

COLUMNS: tuple[str, ...] = (
    "file",
    "dermal_thickness_mm",
    "dermal_thickness_iqr_mm",
    "entry_echo_mm",
    "lep_fraction",
    "mep_fraction",
    "hep_fraction",
    "lep_upper",
    "lep_lower",
    "lep_ratio",
    "sleb_thickness_mm",
    "qc",
)
NUMERIC: tuple[str, ...] = COLUMNS[1:-1]
QC_FLAGS: tuple[str, ...] = (
    "entry_echo_not_found",
    "border_not_found",
    "low_contrast",
    "saturation",
    "spacing_missing",
)


@dataclass(frozen=True)
class Echogenicity:
    """The documented 0–255 echogenicity scale and the quality thresholds.

    Low-echogenic pixels (LEP) have grey levels ``0..low_max``, high-echogenic pixels (HEP)
    ``high_min..255`` and medium-echogenic pixels (MEP) everything between (31–200 by default).
    ``upper_fraction`` of the local dermal thickness, measured down from the top of the dermis, is the
    upper dermis; the rest is the lower dermis.
    """

    low_max: int = 30
    high_min: int = 201
    upper_fraction: float = 0.5
    min_dynamic_range: float = 100.0  # 1st–99th percentile grey-level range below which: low_contrast
    max_saturated: float = 0.02  # fraction of pixels at 255 below the surface above which: saturation


@dataclass(frozen=True)
class UltrasoundResult:
    """Parameters of one scan (one row of :func:`ultrasound_files`) and the layers behind them.

    ``values`` maps every numeric output column to a float (NaN when it cannot be measured);
    ``qc`` holds the flag names (empty when clean). ``layers`` are the boundaries of every analysed
    frame (arrays ``(frames, cols)`` in row units) and ``frame`` is the frame an overlay shows (the one
    whose dermal thickness is nearest the reported median).
    """

    file: str
    values: dict
    qc: tuple[str, ...]
    layers: Layers | None = None
    frame: int = 0
    spacing_mm: tuple[float, float] | None = None
    echogenicity: Echogenicity = field(default_factory=Echogenicity)

    def __getitem__(self, name: str):
        return self.as_row()[name]

    def as_row(self) -> dict:
        """The output row: ``file``, the numeric columns, and ``qc`` as ``;``-joined flag names."""
        return {"file": self.file, **{k: self.values[k] for k in NUMERIC}, "qc": ";".join(self.qc)}


def _fractions(stack: np.ndarray, layers: Layers, e: Echogenicity) -> dict[str, np.ndarray]:
    """Low/medium/high fractions in the dermis and LEP in its upper and lower part, per scan, and the
    fraction of saturated pixels (255) below the skin surface.

    A pixel belongs to a layer when its centre (row + 0.5) lies between the layer's boundaries, i.e.
    rows ``ceil(top − 0.5) ≤ r < ceil(bottom − 0.5)``. Each scan is cut to the rows its dermis spans,
    and the masks are counted whole (``count_nonzero`` without an axis is the fast path).
    """
    n, rows, _ = stack.shape
    names = ("n_up", "n_lo", "low_up", "low_lo", "high", "saturated")
    c = {k: np.zeros(n) for k in names}

    def first_row(boundary: np.ndarray) -> np.ndarray:
        return np.clip(np.ceil(boundary - 0.5), 0, rows).astype(np.int32)

    for i in range(n):  # a few scans per batch: the work inside is whole-array
        top, border = first_row(layers.top[i]), first_row(layers.border[i])
        split = first_row(layers.top[i] + e.upper_fraction * (layers.border[i] - layers.top[i]))
        r0 = int(top.min())
        r1 = max(int(border.max()), r0 + 1)
        sub = stack[i, r0:r1]
        r = np.arange(r0, r1, dtype=np.int32)[:, None]
        upper = (r >= top) & (r < split)
        lower = (r >= split) & (r < border)
        low = sub <= e.low_max
        c["n_up"][i], c["n_lo"][i] = np.count_nonzero(upper), np.count_nonzero(lower)
        c["low_up"][i], c["low_lo"][i] = np.count_nonzero(low & upper), np.count_nonzero(low & lower)
        c["high"][i] = np.count_nonzero((sub >= e.high_min) & (upper | lower))
        below = stack[i, int(first_row(layers.surface[i]).min()) :]
        c["saturated"][i] = np.count_nonzero(below == 255) / max(below.size, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = c["n_up"] + c["n_lo"]
        lep_upper, lep_lower = c["low_up"] / c["n_up"], c["low_lo"] / c["n_lo"]
        out = {
            "lep_fraction": (c["low_up"] + c["low_lo"]) / total,
            "hep_fraction": c["high"] / total,
            "lep_upper": lep_upper,
            "lep_lower": lep_lower,
            "lep_ratio": np.where(lep_lower > 0, lep_upper / lep_lower, np.nan),
        }
    out["mep_fraction"] = 1.0 - out["lep_fraction"] - out["hep_fraction"]
    out["saturated"] = c["saturated"]
    return out


def _dynamic_range(stack: np.ndarray) -> np.ndarray:
    """1st–99th percentile grey-level range per scan (on every 4th row and column)."""
    sub = stack[:, ::4, ::4].reshape(stack.shape[0], -1)
    lo, hi = np.percentile(sub, [1, 99], axis=1)
    return hi - lo


def _column_stats(rows: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray]:
    q25, q50, q75 = np.percentile(rows * d, [25, 50, 75], axis=1)
    return q50, q75 - q25


def measure_stack(
    stack: np.ndarray,
    *,
    spacing_mm: tuple[float, float] | None,
    echogenicity: Echogenicity | None = None,
    settings: DetectionSettings | None = None,
) -> tuple[list[dict], list[tuple[str, ...]], Layers]:
    """Parameters and QC flags of every scan in a ``(n, rows, cols)`` stack of one spacing."""
    e = echogenicity or Echogenicity()
    layers = detect_layers(stack, spacing_mm=spacing_mm, settings=settings)
    frac = _fractions(stack, layers, e)
    dyn = _dynamic_range(stack)
    dy = spacing_mm[0] if spacing_mm else np.nan
    thick, iqr = _column_stats(layers.border - layers.top, dy)
    echo, _ = _column_stats(layers.top - layers.surface, dy)
    sleb, _ = _column_stats(layers.sleb_bottom - layers.top, dy)
    values, flags = [], []
    for i in range(stack.shape[0]):
        qc = []
        if not layers.surface_found[i]:
            qc.append("entry_echo_not_found")
        if not layers.border_found[i]:
            qc.append("border_not_found")
        if dyn[i] < e.min_dynamic_range:
            qc.append("low_contrast")
        if frac["saturated"][i] > e.max_saturated:
            qc.append("saturation")
        if spacing_mm is None:
            qc.append("spacing_missing")
        row = {
            "dermal_thickness_mm": thick[i],
            "dermal_thickness_iqr_mm": iqr[i],
            "entry_echo_mm": echo[i],
            "sleb_thickness_mm": sleb[i],
            **{
                k: frac[k][i]
                for k in (
                    "lep_fraction",
                    "mep_fraction",
                    "hep_fraction",
                    "lep_upper",
                    "lep_lower",
                    "lep_ratio",
                )
            },
        }
        if not layers.surface_found[i]:
            row = dict.fromkeys(row, np.nan)
        elif not layers.border_found[i]:
            row = {k: (v if k == "entry_echo_mm" else np.nan) for k, v in row.items()}
        values.append({k: float(row[k]) for k in NUMERIC})
        flags.append(tuple(qc))
    return values, flags, layers


def combine_frames(values: list[dict], flags: list[tuple[str, ...]]) -> tuple[dict, tuple[str, ...], int]:
    """One result from the frames of a cine loop: the median over frames of each parameter (frames
    where it is NaN left out), every flag raised in any frame, and the frame nearest the median
    thickness (for the overlay)."""
    table = np.array([[v[k] for k in NUMERIC] for v in values], dtype=np.float64)
    finite = np.isfinite(table)
    median = np.array(
        [np.median(table[finite[:, j], j]) if finite[:, j].any() else np.nan for j in range(table.shape[1])]
    )
    combined = dict(zip(NUMERIC, (float(v) for v in median), strict=True))
    qc = tuple(f for f in QC_FLAGS if any(f in fl for fl in flags))
    thick = table[:, NUMERIC.index("dermal_thickness_mm")]
    frame = int(np.nanargmin(np.abs(thick - median[0]))) if np.isfinite(thick).any() else 0
    return combined, qc, frame
