"""An overlay PNG per scan: the detected boundaries drawn on the scan, for a person to check."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["overlay_png", "overlay_bytes", "OVERLAY_COLOURS"]

_GREYS = 251  # palette entries for grey levels; the line colours follow them
OVERLAY_COLOURS = {
    "surface": (255, 220, 0),  # yellow: skin surface (top of the entry echo)
    "dermis_top": (0, 200, 255),  # cyan: lower edge of the entry echo = top of the dermis
    "sleb": (255, 0, 255),  # magenta: lower edge of the SLEB
    "split": (80, 255, 80),  # green: upper/lower dermis split
    "border": (255, 40, 40),  # red: dermis/subcutis border
}


_LEGEND = (
    ("surface", "surface"),
    ("dermis_top", "dermis top"),
    ("sleb", "SLEB"),
    ("split", "upper/lower split"),
    ("border", "dermis/subcutis border"),
)
"""The legend under every overlay: each line's colour swatch and what it marks."""

_LINE_H = 12  # PIL's default bitmap font is 11 px high
_PAD = 4
_SWATCH = 10
_MIN_WIDTH = 240  # narrower scans get a wider caption strip, so that no legend entry is ever cut


def _caption_words(result) -> list[list[str]]:
    """The caption as paragraphs of words: the parameters, then the QC flags."""
    v = result.values

    def fmt(x: float, digits: int = 2) -> str:
        return "NA" if not math.isfinite(x) else f"{x:.{digits}f}"

    values = [
        f"dermis {fmt(v['dermal_thickness_mm'])} mm",
        f"(IQR {fmt(v['dermal_thickness_iqr_mm'])})",
        f"entry echo {fmt(v['entry_echo_mm'], 3)} mm",
        f"SLEB {fmt(v['sleb_thickness_mm'])} mm",
        f"LEP {fmt(v['lep_fraction'])}",
        f"upper {fmt(v['lep_upper'])}",
        f"lower {fmt(v['lep_lower'])}",
    ]
    return [values, ["qc:", *(";".join(result.qc) or "clean").split(";")]]


def _wrap(draw, chunks: list[str], width: float) -> list[str]:
    """Chunks joined by two spaces into lines no wider than ``width`` pixels (a chunk is never split)."""
    lines: list[str] = []
    for chunk in chunks:
        trial = f"{lines[-1]}  {chunk}" if lines else chunk
        if lines and draw.textlength(trial) <= width:
            lines[-1] = trial
        else:
            lines.append(chunk)
    return lines


def _legend_rows(draw, width: float) -> list[list[tuple[str, str, float]]]:
    """Legend entries (key, label, x) placed left to right, a new row when the next would not fit."""
    rows: list[list[tuple[str, str, float]]] = [[]]
    x = float(_PAD)
    for key, label in _LEGEND:
        w = _SWATCH + 3 + draw.textlength(label)
        if rows[-1] and x + w > width - _PAD:
            rows.append([])
            x = float(_PAD)
        rows[-1].append((key, label, x))
        x += w + 10
    return rows


def overlay_png(image, result, path: str | Path) -> Path:
    """Draw the detected layers of ``result`` on ``image`` and save a PNG at ``path``.

    The scan (for a cine loop, the frame ``result.frame``) is shown in grey with the skin surface
    (yellow), the top of the dermis (cyan), the lower edge of the SLEB (magenta, when there is one),
    the upper/lower dermis split (green) and the dermis/subcutis border (red); a caption below gives
    the parameters and the QC flags. Boundaries that were not found are not drawn.

    Parameters
    ----------
    image
        The :class:`UltrasoundImage` that was analysed.
    result
        Its :class:`UltrasoundResult` from :func:`ultrasound_parameters`.
    path
        Where to write the PNG (parent folders are created); written atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skintrial.plan import simulate_ultrasound
    >>> from skintrial.instruments.ultrasound import UltrasoundImage, ultrasound_parameters
    >>> pixels, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=0)
    >>> image = UltrasoundImage(pixels, (0.0125, 0.0125))
    >>> out = overlay_png(image, ultrasound_parameters(image), pathlib.Path(tempfile.mkdtemp()) / "o.png")
    >>> out.suffix
    '.png'
    """
    from skintrial._io import write_bytes

    # atomic: never half an overlay; ultrasound_files removes killed runs' temporaries once per batch
    return write_bytes(overlay_bytes(image, result), Path(path), tidy=False)


def overlay_bytes(image, result) -> bytes:
    """The PNG of :func:`overlay_png`, as bytes."""
    import io

    from PIL import Image, ImageDraw

    frame = image.frames()[result.frame]
    rows, cols = frame.shape
    width = max(cols, _MIN_WIDTH)
    probe = ImageDraw.Draw(Image.new("P", (1, 1)))
    text = [line for words in _caption_words(result) for line in _wrap(probe, words, width - 2 * _PAD)]
    legend = _legend_rows(probe, width)
    caption_h = _PAD + _LINE_H * (len(text) + len(legend)) + _PAD
    grey = np.round(np.arange(_GREYS) * 255.0 / (_GREYS - 1)).astype(np.uint8)
    palette = np.concatenate(
        [np.repeat(grey[:, None], 3, axis=1), np.array(list(OVERLAY_COLOURS.values()), np.uint8)]
    ).ravel()
    indexed = np.zeros((rows + caption_h, width), np.uint8)
    indexed[:rows, :cols] = (frame.astype(np.uint16) * (_GREYS - 1) + 127) // 255
    canvas = Image.fromarray(indexed, mode="P")
    canvas.putpalette(palette.tolist())
    colour = {name: _GREYS + i for i, name in enumerate(OVERLAY_COLOURS)}
    draw = ImageDraw.Draw(canvas)
    layers = result.layers
    if layers is not None and bool(layers.surface_found[result.frame]):
        f = result.frame
        x = np.arange(cols)
        lines = [("surface", layers.surface[f]), ("dermis_top", layers.top[f])]
        if np.median(layers.sleb_bottom[f] - layers.top[f]) > 0:
            lines.append(("sleb", layers.sleb_bottom[f]))
        if bool(layers.border_found[f]):
            frac = result.echogenicity.upper_fraction
            lines.append(("split", layers.top[f] + frac * (layers.border[f] - layers.top[f])))
            lines.append(("border", layers.border[f]))
        for name, y in lines:
            points = list(zip(x.tolist(), np.clip(y, 0, rows - 1).tolist(), strict=True))
            draw.line(points, fill=colour[name], width=1)
    y = rows + _PAD
    for line in text:
        draw.text((_PAD, y), line, fill=_GREYS - 1)
        y += _LINE_H
    for row in legend:
        for key, label, left in row:
            draw.rectangle((left, y + 1, left + _SWATCH - 1, y + _SWATCH), fill=colour[key])
            draw.text((left + _SWATCH + 3, y), label, fill=_GREYS - 1)
        y += _LINE_H
    png = io.BytesIO()
    canvas.save(png, format="PNG", compress_level=1)  # fast zlib: speckle barely compresses anyway
    return png.getvalue()
