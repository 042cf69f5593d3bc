"""B-mode phantoms of skin for high-frequency (20–50 MHz) ultrasound, with known ground truth.

A phantom is a stack of layers seen from the probe downwards:

``gel``        coupling gel above the skin: anechoic (grey levels 0–10);
``entry echo`` the bright band the epidermis produces (190–250), ``entry_echo_mm`` thick;
``SLEB``       optional subepidermal low-echogenic band (mostly 0–30), the top of the dermis;
``dermis``     speckle whose low- and high-echogenic fractions change linearly with depth, so that the
               upper and lower parts of the dermis hold the requested fractions;
``subcutis``   dark fat (mostly 0–30) crossed by a few bright oblique septa.

Surface and dermis/subcutis border undulate smoothly across the image and the dermal thickness varies
laterally by ``thickness_cv`` (its median over columns is exactly the requested thickness).

Speckle is a complex Gaussian field blurred by an anisotropic point-spread function; its envelope is
Rayleigh distributed, which makes ``u = 1 - exp(-r²/2σ²)`` uniform on (0, 1) at every pixel while keeping
the spatial correlation of real speckle. Each pixel's grey level is then ``F⁻¹(u)`` for the grey-level
distribution of its layer and depth, so that the probability of a low-echogenic pixel (0–30) is exactly
the requested fraction and the grey levels are monotone in the speckle brightness.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skintrial.errors import InputError, Problem

__all__ = ["simulate_ultrasound"]

LOW_MAX = 30  # low-echogenic pixels: 0–30
HIGH_MIN = 201  # high-echogenic pixels: 201–255


def simulate_ultrasound(
    *,
    dermal_thickness_mm: float,
    lep_upper: float,
    lep_lower: float,
    sleb_thickness_mm: float = 0.0,
    hep_upper: float = 0.05,
    hep_lower: float = 0.10,
    upper_fraction: float = 0.5,
    rows: int = 512,
    cols: int = 1024,
    spacing_mm: float | Sequence[float] = (0.0125, 0.0125),
    surface_depth_mm: float = 0.5,
    entry_echo_mm: float = 0.10,
    undulation_mm: float = 0.08,
    thickness_cv: float = 0.03,
    sleb_lep: float = 0.85,
    subcutis_lep: float = 0.85,
    septa: int = 4,
    contrast: float = 1.0,
    gain: float = 1.0,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, dict]:
    """Simulate one B-mode skin scan with known dermal thickness, echogenicity and SLEB.

    Parameters
    ----------
    dermal_thickness_mm
        Median over columns of the distance from the lower edge of the entry echo to the
        dermis/subcutis border (the SLEB is part of the dermis).
    lep_upper, lep_lower
        Expected fraction of low-echogenic pixels (0–30) in the upper and lower part of the dermis,
        split at ``upper_fraction`` of the local thickness. The SLEB counts towards the upper part.
        The low-echogenic probability is linear in depth below the SLEB; it is solved so that both
        means hold. Requests a linear profile cannot meet (it would leave [0, 1]) are clipped, and the
        truth then reports what the phantom holds.
    sleb_thickness_mm
        Thickness of the subepidermal low-echogenic band drawn below the entry echo (0 for none); its
        pixels are low-echogenic with probability ``sleb_lep``. The truth's ``sleb_thickness_mm`` is
        the band in which a pixel is more likely low-echogenic than not, which also takes in any dermis
        below the drawn band whose profile reaches 0.5 (the drawn band is ``sleb_band_mm``).
    hep_upper, hep_lower
        Expected fraction of high-echogenic pixels (201–255) in the upper and lower dermis.
    rows, cols, spacing_mm
        Image size and pixel spacing (row = axial, column = lateral) in mm. The defaults (512 × 1024 at
        12.5 µm) cover 6.4 mm of depth and 12.8 mm of width, typical of a 50 MHz scanner.
    surface_depth_mm, entry_echo_mm, undulation_mm, thickness_cv
        Mean depth of the skin surface below the probe, entry-echo thickness, peak-to-peak amplitude of
        the smooth surface undulation and lateral coefficient of variation of the dermal thickness.
    sleb_lep, subcutis_lep, septa
        Low-echogenic probability in the SLEB and in the subcutis, and the number of bright septa in it.
    contrast, gain
        Artefacts applied last: grey levels become ``128 + contrast·(v − 128)`` (``contrast < 1`` gives
        a low-contrast scan) and are then multiplied by ``gain`` (``gain > 1`` saturates at 255).
    seed
        Seed or generator; the same seed gives the same scan.

    Returns
    -------
    pixels : numpy.ndarray
        ``uint8`` array of shape ``(rows, cols)``.
    truth : dict
        The parameters the analysis should recover, keyed like the output columns of
        :func:`skintrial.instruments.ultrasound_files` (``dermal_thickness_mm``,
        ``dermal_thickness_iqr_mm``, ``entry_echo_mm``, ``lep_fraction``, ``mep_fraction``,
        ``hep_fraction``, ``lep_upper``, ``lep_lower``, ``lep_ratio``, ``sleb_thickness_mm``), counted
        on the final pixels with the true boundaries (a pixel belongs to a layer when its centre does);
        ``expected_*`` for the model's expected fractions; per-column boundaries in row units
        (``surface_row``, ``dermis_top_row``, ``sleb_bottom_row``, ``border_row``) and ``spacing_mm``.

    Examples
    --------
    >>> from skintrial.plan import simulate_ultrasound
    >>> pixels, truth = simulate_ultrasound(dermal_thickness_mm=1.6, lep_upper=0.30,
    ...                                     lep_lower=0.12, rows=256, cols=256, seed=1)
    >>> pixels.shape, pixels.dtype.name
    ((256, 256), 'uint8')
    >>> round(truth["dermal_thickness_mm"], 3)
    1.6
    >>> bool(abs(truth["lep_upper"] - 0.30) < 0.05)
    True
    """
    rng = np.random.default_rng(seed)
    dy, dx = _spacing_pair(spacing_mm)
    _check_request(locals(), dy=dy)
    geometry = _geometry(
        rng,
        rows=rows,
        cols=cols,
        dy=dy,
        dx=dx,
        surface_depth_mm=surface_depth_mm,
        entry_echo_mm=entry_echo_mm,
        dermal_thickness_mm=dermal_thickness_mm,
        sleb_thickness_mm=sleb_thickness_mm,
        undulation_mm=undulation_mm,
        thickness_cv=thickness_cv,
    )
    centre = (np.arange(rows, dtype=np.float64) + 0.5)[:, None]
    p_low, p_high, floor, span = _layer_distributions(
        centre,
        geometry,
        rows=rows,
        cols=cols,
        lep_upper=lep_upper,
        lep_lower=lep_lower,
        hep_upper=hep_upper,
        hep_lower=hep_lower,
        upper_fraction=upper_fraction,
        sleb_fraction=sleb_thickness_mm / dermal_thickness_mm,
        sleb_lep=sleb_lep,
        subcutis_lep=subcutis_lep,
    )
    u = _uniform_speckle(rng, rows, cols, dy=dy, dx=dx)
    value = _quantile_map(u, p_low, p_high, floor, span)
    _draw_septa(rng, value, u, geometry, centre, n=septa, dy=dy, dx=dx)
    value = (128.0 + contrast * (value - 128.0)) * gain
    pixels = np.clip(np.floor(value), 0, 255).astype(np.uint8)
    truth = _truth(
        pixels,
        p_low,
        p_high,
        geometry,
        centre,
        dy=dy,
        upper_fraction=upper_fraction,
        sleb_thickness_mm=sleb_thickness_mm,
        entry_echo_mm=entry_echo_mm,
    )
    truth["spacing_mm"] = (dy, dx)
    return pixels, truth


def _spacing_pair(spacing_mm: float | Sequence[float]) -> tuple[float, float]:
    if np.ndim(spacing_mm) == 0:
        return float(spacing_mm), float(spacing_mm)  # type: ignore[arg-type]
    dy, dx = (float(v) for v in spacing_mm)  # type: ignore[union-attr]
    return dy, dx


def _check_request(args: dict, *, dy: float) -> None:
    problems = []

    def bad(name: str, message: str, fix: str) -> None:
        problems.append(Problem(message, fix=fix, column=name, value=args[name]))

    for name in ("lep_upper", "lep_lower", "hep_upper", "hep_lower", "sleb_lep", "subcutis_lep"):
        if not 0.0 <= args[name] <= 1.0:
            bad(name, "a pixel fraction must lie in [0, 1]", "give a fraction such as 0.3")
    for low, high in (("lep_upper", "hep_upper"), ("lep_lower", "hep_lower")):
        if args[low] + args[high] > 1.0:
            bad(high, f"{low} + {high} exceeds 1", "lower one of the two fractions")
    if not 0.0 < args["upper_fraction"] < 1.0:
        bad("upper_fraction", "the upper dermis must be a fraction in (0, 1)", "use 0.5 for halves")
    if args["dermal_thickness_mm"] <= 0:
        bad("dermal_thickness_mm", "dermal thickness must be positive", "give it in mm, e.g. 1.6")
    elif args["sleb_thickness_mm"] < 0 or (
        args["sleb_thickness_mm"] >= args["upper_fraction"] * args["dermal_thickness_mm"]
    ):
        bad(
            "sleb_thickness_mm",
            "the SLEB must be thinner than the upper dermis",
            "give 0 <= sleb_thickness_mm < upper_fraction * dermal_thickness_mm",
        )
    else:
        bottom = (
            args["surface_depth_mm"]
            + args["entry_echo_mm"]
            + args["undulation_mm"]
            + args["dermal_thickness_mm"] * (1 + 3 * args["thickness_cv"])
            + 0.3
        )
        if bottom > args["rows"] * dy:
            bad(
                "dermal_thickness_mm",
                f"the skin does not fit in {args['rows']} rows of {dy} mm "
                f"(it needs {bottom:.2f} mm with 0.3 mm of subcutis)",
                "add rows or thin the skin",
            )
    if args["rows"] < 32 or args["cols"] < 32:
        bad("rows", "a phantom needs at least 32 rows and 32 columns", "use the defaults 512 × 1024")
    InputError.collect(problems)


def _smooth_field(rng: np.random.Generator, cols: int, n_waves: int = 3) -> np.ndarray:
    """A smooth random curve across columns with zero median and unit peak-to-peak range."""
    x = np.arange(cols) / cols
    wave = np.zeros(cols)
    for k in range(1, n_waves + 1):
        wave += rng.normal() / k * np.sin(2 * np.pi * (k * x + rng.uniform()))
    wave -= np.median(wave)
    return wave / max(np.ptp(wave), 1e-12)


def _geometry(
    rng: np.random.Generator,
    *,
    rows: int,
    cols: int,
    dy: float,
    dx: float,
    surface_depth_mm: float,
    entry_echo_mm: float,
    dermal_thickness_mm: float,
    sleb_thickness_mm: float,
    undulation_mm: float,
    thickness_cv: float,
) -> dict:
    surface = surface_depth_mm / dy + undulation_mm / dy * _smooth_field(rng, cols)
    surface = np.maximum(surface, 0.0)
    top = surface + entry_echo_mm / dy
    variation = _smooth_field(rng, cols)
    variation = variation / max(variation.std(), 1e-12)
    variation -= np.median(variation)
    thickness = dermal_thickness_mm / dy * (1.0 + thickness_cv * variation)
    return {
        "surface": surface,
        "top": top,
        "sleb": top + sleb_thickness_mm / dy,
        "border": top + thickness,
        "thickness": thickness,
    }


def _linear_profile(upper: float, lower: float, f: float, zs: float, ps: float) -> tuple[float, float]:
    """Intercept and slope of p(z) = a + b z below a band [0, zs) held at ps, so that the mean of
    p over [0, f) is ``upper`` and over [f, 1) is ``lower``."""
    b = 2.0 * (upper * f - zs * ps - (f - zs) * lower) / ((f - zs) * (zs - 1.0))
    return lower - b * (1.0 + f) / 2.0, b


def _layer_distributions(
    centre: np.ndarray,
    g: dict,
    *,
    rows: int,
    cols: int,
    lep_upper: float,
    lep_lower: float,
    hep_upper: float,
    hep_lower: float,
    upper_fraction: float,
    sleb_fraction: float,
    sleb_lep: float,
    subcutis_lep: float,
):
    """Per-pixel probability of a low and of a high grey level, and the (floor, span) of the grey
    levels in the gel and entry echo (where the speckle maps linearly, not through the bands)."""
    f = upper_fraction
    z = (centre - g["top"]) / g["thickness"]
    a_low, b_low = _linear_profile(lep_upper, lep_lower, f, sleb_fraction, sleb_lep)
    a_high, b_high = _linear_profile(hep_upper, hep_lower, f, sleb_fraction, 0.0)
    in_sleb = centre < g["sleb"]
    p_low = np.where(in_sleb, sleb_lep, np.clip(a_low + b_low * z, 0.0, 1.0))
    p_high = np.where(in_sleb, 0.0, np.clip(a_high + b_high * z, 0.0, 1.0))
    p_low = np.where(centre >= g["border"], subcutis_lep, p_low)
    p_high = np.where(centre >= g["border"], 0.01, p_high)
    p_high = np.minimum(p_high, 1.0 - p_low)
    gel = centre < g["surface"]
    echo = ~gel & (centre < g["top"])
    floor = np.where(gel, 0.0, np.where(echo, 190.0, np.nan))
    span = np.where(gel, 11.0, np.where(echo, 60.0, np.nan))
    shape = (rows, cols)
    return (
        np.broadcast_to(p_low, shape),
        np.broadcast_to(p_high, shape),
        np.broadcast_to(floor, shape),
        np.broadcast_to(span, shape),
    )


def _uniform_speckle(rng: np.random.Generator, rows: int, cols: int, *, dy: float, dx: float) -> np.ndarray:
    """Spatially correlated speckle with uniform (0, 1) marginals (see the module docstring)."""
    from scipy.ndimage import gaussian_filter

    sigma = (max(0.012 / dy, 0.5), max(0.04 / dx, 0.5))  # axial and lateral speckle size in mm
    re = gaussian_filter(rng.standard_normal((rows, cols), dtype=np.float32), sigma, mode="wrap")
    im = gaussian_filter(rng.standard_normal((rows, cols), dtype=np.float32), sigma, mode="wrap")
    power = re * re + im * im
    u = -np.expm1(-power / np.float32(power.mean(dtype=np.float64)))
    return np.minimum(u, np.nextafter(np.float32(1), np.float32(0)))  # float32 rounds e^-17 to 1


def _quantile_map(
    u: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, floor: np.ndarray, span: np.ndarray
) -> np.ndarray:
    """Grey level F⁻¹(u) of a three-band distribution: uniform on 0–30 with probability ``p_low``,
    on 31–200 with probability ``1 − p_low − p_high``, on 201–255 with probability ``p_high``."""
    p_mid = 1.0 - p_low - p_high
    with np.errstate(divide="ignore", invalid="ignore"):
        low = (LOW_MAX + 1) * u / p_low
        mid = (LOW_MAX + 1) + (HIGH_MIN - LOW_MAX - 1) * (u - p_low) / p_mid
        high = HIGH_MIN + (256 - HIGH_MIN) * (u - p_low - p_mid) / p_high
        value = np.where(u < p_low, low, np.where(u < p_low + p_mid, mid, high))
    return np.where(np.isnan(floor), value, floor + span * u)


def _draw_septa(
    rng: np.random.Generator,
    value: np.ndarray,
    u: np.ndarray,
    g: dict,
    centre: np.ndarray,
    *,
    n: int,
    dy: float,
    dx: float,
) -> None:
    """Bright, thin, slightly oblique connective-tissue septa in the subcutis (in place)."""
    rows, cols = value.shape
    c = np.arange(cols)
    for _ in range(n):
        start = rng.integers(0, cols)
        length = int(rng.uniform(0.2, 0.5) * cols)
        depth = g["border"][start] + rng.uniform(0.25, 1.0) / dy
        line = depth + rng.uniform(-0.15, 0.15) * dx / dy * (c - start)
        along = (c >= start) & (c < start + length)
        band = (np.abs(centre - line) < max(0.015 / dy, 1.0)) & along & (centre >= g["border"] + 0.15 / dy)
        value[band] = np.maximum(value[band], 170.0 + 60.0 * u[band])


def _truth(
    pixels: np.ndarray,
    p_low: np.ndarray,
    p_high: np.ndarray,
    g: dict,
    centre: np.ndarray,
    *,
    dy: float,
    upper_fraction: float,
    sleb_thickness_mm: float,
    entry_echo_mm: float,
) -> dict:
    split = g["top"] + upper_fraction * g["thickness"]
    upper = (centre >= g["top"]) & (centre < split)
    lower = (centre >= split) & (centre < g["border"])
    dermis = upper | lower
    low, high = pixels <= LOW_MAX, pixels >= HIGH_MIN
    thickness_mm = g["thickness"] * dy
    q25, q75 = np.percentile(thickness_mm, [25, 75])
    lep_upper, lep_lower = low[upper].mean(), low[lower].mean()
    sleb = _sleb_truth(p_low, g, centre) * dy
    truth = {
        "dermal_thickness_mm": float(np.median(thickness_mm)),
        "dermal_thickness_iqr_mm": float(q75 - q25),
        "entry_echo_mm": float(entry_echo_mm),
        "lep_fraction": float(low[dermis].mean()),
        "mep_fraction": float((~low & ~high)[dermis].mean()),
        "hep_fraction": float(high[dermis].mean()),
        "lep_upper": float(lep_upper),
        "lep_lower": float(lep_lower),
        "lep_ratio": float(lep_upper / lep_lower) if lep_lower > 0 else float("nan"),
        "sleb_thickness_mm": float(np.median(sleb)),
        "sleb_band_mm": float(sleb_thickness_mm),
        "expected_lep_fraction": float(p_low[dermis].mean()),
        "expected_hep_fraction": float(p_high[dermis].mean()),
        "expected_lep_upper": float(p_low[upper].mean()),
        "expected_lep_lower": float(p_low[lower].mean()),
        "surface_row": g["surface"],
        "dermis_top_row": g["top"],
        "sleb_bottom_row": g["sleb"],
        "border_row": g["border"],
    }
    return truth


def _sleb_truth(p_low: np.ndarray, g: dict, centre: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per column, the thickness (rows) of the band below the top of the dermis in which a pixel is
    more likely low-echogenic than not (the analysis's SLEB definition applied to the model)."""
    first = np.ceil(g["top"] - 0.5).astype(int)
    rows = p_low.shape[0]
    depth = np.arange(rows)[:, None]
    mostly_low = (p_low >= threshold) & (depth >= first) & (centre < g["border"])
    run = np.cumprod(
        mostly_low[np.clip(first[None, :] + depth, 0, rows - 1), np.arange(p_low.shape[1])], axis=0
    ).sum(axis=0)
    return np.where(run > 0, first + run - g["top"], 0.0)
