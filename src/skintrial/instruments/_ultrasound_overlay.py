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


def _caption(result) -> str:
    v = result.values

    def fmt(x: float, digits: int = 2) -> str:
        return "NA" if not math.isfinite(x) else f"{x:.{digits}f}"

    text = (
        f"dermis {fmt(v['dermal_thickness_mm'])} mm (IQR {fmt(v['dermal_thickness_iqr_mm'])})  "
        f"entry echo {fmt(v['entry_echo_mm'], 3)} mm  SLEB {fmt(v['sleb_thickness_mm'])} mm  "
        f"LEP {fmt(v['lep_fraction'])} upper {fmt(v['lep_upper'])} lower {fmt(v['lep_lower'])}"
    )
    qc = ";".join(result.qc) or "clean"
    return f"{text}\nqc: {qc}   yellow surface, cyan dermis top, magenta SLEB, green split, red border"


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
    caption_h = 34
    # A palette image (one byte per pixel, 3x less to compress than RGB): entries 0..250 are grey
    # levels 0..255 in steps of 255/250, the last five the line colours.
    grey = np.round(np.arange(_GREYS) * 255.0 / (_GREYS - 1)).astype(np.uint8)
    palette = np.concatenate(
        [np.repeat(grey[:, None], 3, axis=1), np.array(list(OVERLAY_COLOURS.values()), np.uint8)]
    ).ravel()
    indexed = np.zeros((rows + caption_h, cols), np.uint8)
    indexed[:rows] = (frame.astype(np.uint16) * (_GREYS - 1) + 127) // 255
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
    draw.multiline_text((4, rows + 2), _caption(result), fill=_GREYS - 1, spacing=2)
    png = io.BytesIO()
    canvas.save(png, format="PNG", compress_level=1)  # fast zlib: speckle barely compresses anyway
    return png.getvalue()
