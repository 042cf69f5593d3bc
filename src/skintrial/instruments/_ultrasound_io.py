"""Reading (and writing) B-mode skin ultrasound images: DICOM, PNG and TIFF.

Every reader returns an :class:`UltrasoundImage`: 8-bit grey levels on the 0–255 scale the
echogenicity bands are defined on, and the pixel spacing in mm with where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skintrial.errors import InputError, Problem

__all__ = ["UltrasoundImage", "read_ultrasound", "write_ultrasound_dicom", "SpacingArg"]

SpacingArg = float | Sequence[float] | Mapping[str, float | Sequence[float]] | None

_RASTER_SUFFIXES = {".png", ".tif", ".tiff"}
_CM_UNITS = 3  # DICOM PhysicalUnitsX/YDirection code 0003H = cm
_TISSUE_2D = 1  # RegionSpatialFormat 0001H = 2D (tissue or flow)
_US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"  # Ultrasound Image Storage
_US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"  # Ultrasound Multi-frame Image Storage


@dataclass(frozen=True)
class UltrasoundImage:
    """A B-mode scan ready for analysis.

    Attributes
    ----------
    pixels
        ``uint8`` grey levels, shape ``(rows, cols)`` or ``(frames, rows, cols)``; rows run from the
        probe downwards (axial), columns across the skin (lateral).
    spacing_mm
        ``(row, col)`` pixel spacing in mm, or ``None`` when neither the file nor the caller gave one.
    source
        The file the image was read from (or a label for in-memory images).
    spacing_source
        ``"dicom_region"`` (SequenceOfUltrasoundRegions), ``"dicom_pixel_spacing"`` (PixelSpacing),
        ``"argument"`` (given by the caller or a manifest) or ``"missing"``.
    """

    pixels: np.ndarray
    spacing_mm: tuple[float, float] | None
    source: str = "<array>"
    spacing_source: str = "argument"

    @property
    def n_frames(self) -> int:
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[0])

    def frames(self) -> np.ndarray:
        """The pixels as a ``(frames, rows, cols)`` stack."""
        return self.pixels[None] if self.pixels.ndim == 2 else self.pixels


def _keys(path: Path) -> tuple[str, ...]:
    """The names under which a spacing mapping may list a file: as given, its name, its absolute path."""
    return (str(path), path.name, str(path.resolve()))


def unmatched_spacing_keys(paths: Iterable[str | Path], mapping: Mapping) -> list[str]:
    """Entries of a per-file spacing mapping that name none of ``paths`` (compared exactly, case
    included): a misspelt or mis-cased name would otherwise leave its scan without a spacing."""
    known = {k for p in paths for k in _keys(Path(p))}
    return [str(k) for k in mapping if str(k) not in known]


def spacing_per_file(
    paths: Iterable[str | Path], mapping: Mapping, default: SpacingArg
) -> dict[str, SpacingArg]:
    """Each path's spacing from a per-file mapping (matched as :func:`_spacing_for` matches), else
    ``default``: a spacing manifest beside a spacing for the files it does not name."""
    out: dict[str, SpacingArg] = {}
    for p in paths:
        own = _spacing_for(Path(p), mapping)
        out[str(p)] = own if own is not None else default
    return out


def _spacing_for(path: Path, pixel_spacing_mm: SpacingArg) -> tuple[float, float] | None:
    """The caller's spacing for this file: one number (square pixels), a (row, col) pair, or a mapping
    from file name or path to either."""
    if pixel_spacing_mm is None:
        return None
    if isinstance(pixel_spacing_mm, Mapping):
        for key in _keys(path):
            if key in pixel_spacing_mm:
                return _spacing_for(path, pixel_spacing_mm[key])
        return None
    values = np.atleast_1d(np.asarray(pixel_spacing_mm, dtype=float))
    if values.size not in (1, 2) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(
            Problem(
                "pixel spacing must be one positive number or a (row, col) pair in mm",
                fix="e.g. --pixel-spacing-mm 0.0125",
                file=str(path),
                value=pixel_spacing_mm,
            )
        )
    return (float(values[0]), float(values[-1]))


def read_ultrasound(path: str | Path, *, pixel_spacing_mm: SpacingArg = None) -> UltrasoundImage:
    """Read a B-mode skin ultrasound scan from DICOM, PNG or TIFF.

    DICOM is read with pydicom. The spacing comes, in this order, from the ultrasound region
    calibration (SequenceOfUltrasoundRegions: the largest 2-D region whose PhysicalUnitsX/YDirection
    are cm, PhysicalDeltaY/X × 10 → mm; the pixels are cropped to that region's bounds), from
    PixelSpacing (row\\col, mm), and last from ``pixel_spacing_mm``. Multi-frame files give a
    ``(frames, rows, cols)`` stack. MONOCHROME1 is inverted, colour is converted to luminance, and
    more than 8 stored bits are scaled down to 0–255.

    PNG and TIFF carry no trustworthy spacing (their dpi tags describe printing, not the scanner), so
    the spacing is ``pixel_spacing_mm``: one number (square pixels), a ``(row, col)`` pair, or a
    mapping from file name to either (a manifest). Colour images become luminance (ITU-R 601) and
    16-bit images are divided by 257 to the 0–255 scale.

    Parameters
    ----------
    path
        The file.
    pixel_spacing_mm
        Spacing used when the file carries none (see above).

    Returns
    -------
    UltrasoundImage
        With ``spacing_mm=None`` and ``spacing_source="missing"`` when no spacing is known; the
        analysis then reports proportions but no millimetres, and flags ``spacing_missing``.

    Raises
    ------
    InputError
        The file is missing, of an unknown kind, or unreadable; the message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from skintrial.plan import simulate_ultrasound
    >>> pixels, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1,
    ...                                 rows=256, cols=128, seed=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.png"
    >>> Image.fromarray(pixels).save(path)
    >>> image = read_ultrasound(path, pixel_spacing_mm=0.0125)
    >>> image.pixels.shape, image.spacing_mm, image.spacing_source
    ((256, 128), (0.0125, 0.0125), 'argument')
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem("file not found", fix="check the path", file=str(path)))
    given = _spacing_for(path, pixel_spacing_mm)
    suffix = path.suffix.lower()
    if suffix in _RASTER_SUFFIXES:
        pixels = _read_raster(path)
        source = "argument" if given is not None else "missing"
        return UltrasoundImage(pixels=pixels, spacing_mm=given, source=str(path), spacing_source=source)
    if suffix in {".dcm", ".dicom", ""} or _looks_like_dicom(path):
        return _read_dicom(path, given)
    raise InputError(
        Problem(
            f"unknown image type '{path.suffix}'", file=str(path), fix="give a DICOM (.dcm), PNG or TIFF file"
        )
    )


def _looks_like_dicom(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(132)
    return head[128:132] == b"DICM"


def _to_uint8(array: np.ndarray, bits: int) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if bits > 8:
        return np.clip(np.round(array.astype(np.float64) / ((2**bits - 1) / 255.0)), 0, 255).astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)


def _read_raster(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(img, dtype=np.float64)
                return np.clip(np.round(array / 257.0), 0, 255).astype(np.uint8)
            if img.mode == "F":  # 32-bit float: NaN would become a grey value behind the user's back
                _check_finite(np.asarray(img, dtype=np.float64), path)
            return np.asarray(img if img.mode == "L" else img.convert("L"), dtype=np.uint8).copy()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - only PIL decodes here; a corrupt or truncated file raises
        # UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, DecompressionBombError ...
        raise InputError(
            Problem(
                f"cannot read the image ({type(exc).__name__}: {exc})",
                file=str(path),
                fix="export the scan again as an 8-bit PNG or TIFF",
            )
        ) from None


def _check_finite(array: np.ndarray, path: Path) -> None:
    """A floating-point image whose pixels are not all numbers (NaN rows of an export that lost part
    of the scan) is not measured: its grey values, and every border found in them, would be made up."""
    bad = ~np.isfinite(array)
    if not bad.any():
        return
    rows = np.flatnonzero(bad.any(axis=-1))
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (" …" if len(rows) > 5 else "")
    raise InputError(
        Problem(
            f"the image has {int(bad.sum())} pixels that are not numbers (NaN or infinite) on "
            f"{len(rows)} rows (rows {shown}, counted from 0 at the top)",
            file=str(path),
            fix="export the scan again from the scanner software as an 8-bit PNG or TIFF (every pixel a grey value)",
        )
    )


def _region_spacing(ds) -> tuple[tuple[float, float], tuple[int, int, int, int]] | None:
    regions = getattr(ds, "SequenceOfUltrasoundRegions", None)
    best = None
    for region in regions or ():
        units = (
            getattr(region, "PhysicalUnitsYDirection", None),
            getattr(region, "PhysicalUnitsXDirection", None),
        )
        fmt = getattr(region, "RegionSpatialFormat", _TISSUE_2D)
        if units != (_CM_UNITS, _CM_UNITS) or fmt != _TISSUE_2D:
            continue
        dy = float(getattr(region, "PhysicalDeltaY", 0) or 0) * 10.0
        dx = float(getattr(region, "PhysicalDeltaX", 0) or 0) * 10.0
        if not (dy > 0 and dx > 0):
            continue
        y0, y1, x0, x1 = (
            int(getattr(region, name, default))
            for name, default in (
                ("RegionLocationMinY0", 0),
                ("RegionLocationMaxY1", ds.Rows - 1),
                ("RegionLocationMinX0", 0),
                ("RegionLocationMaxX1", ds.Columns - 1),
            )
        )
        box = (y0, y1, x0, x1)
        area = (y1 - y0 + 1) * (x1 - x0 + 1)
        if best is None or area > best[0]:
            best = (area, (dy, dx), box)
    return None if best is None else (best[1], best[2])


def _dicom_grey(ds, path: Path) -> np.ndarray:
    """The decoded pixels as 8-bit grey levels.

    pydicom (>= 3) decodes to RGB where it can (YBR_FULL, YBR_FULL_422 and the JPEG colour spaces)
    and says which colour space it returned; only pixels it left in YBR are converted here, so a colour
    space is never converted twice (a grey YBR_FULL pixel keeps its grey level exactly).
    """
    from pydicom.pixels import get_decoder

    try:
        array, meta = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds)
    except Exception as exc:  # pydicom raises many kinds for missing handlers / bad data
        raise InputError(
            Problem(
                f"cannot decode the DICOM pixel data ({exc})",
                file=str(path),
                fix="export uncompressed, or install the decoder pydicom names",
            )
        ) from None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1))
    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2"))
    decoded = str(meta.get("photometric_interpretation", photometric))
    if samples == 3:
        if decoded.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            array = convert_color_space(array, decoded, "RGB")
        array = array.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    array = _to_uint8(np.asarray(array), int(getattr(ds, "BitsStored", 8)))
    if photometric == "MONOCHROME1":
        array = 255 - array
    if frames > 1 and array.ndim == 2:
        array = array[None]
    return array


def _parse_dicom(path: Path):
    """The dataset with every element parsed (pydicom parses lazily, so a corrupt element would
    otherwise fail later, wherever it is first read)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        meta = getattr(ds, "file_meta", None)
        for dataset in (ds,) if meta is None else (meta, ds):
            for _ in dataset.iterall():
                pass
    except Exception as exc:  # noqa: BLE001 - only pydicom runs here; a corrupt or truncated file raises
        # InvalidDicomError, EOFError, OSError, BytesLengthException, NotImplementedError (unknown VR) ...
        raise InputError(
            Problem(
                f"not a readable DICOM file ({type(exc).__name__}: {exc})",
                file=str(path),
                fix="check the export; PNG/TIFF with --pixel-spacing-mm also work",
            )
        ) from None
    return ds


def _read_dicom(path: Path, given: tuple[float, float] | None) -> UltrasoundImage:
    ds = _parse_dicom(path)
    try:
        pixels = _dicom_grey(ds, path)
        region = _region_spacing(ds)
        spacing = None
        if "PixelSpacing" in ds and len(ds.PixelSpacing) == 2:
            spacing = (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
    except (ValueError, TypeError, OverflowError) as exc:  # a header value that is not a usable number
        raise InputError(
            Problem(
                f"the DICOM header holds a value that cannot be used ({exc})",
                file=str(path),
                fix="export the scan again from the scanner; PNG/TIFF with --pixel-spacing-mm also work",
            )
        ) from None
    if region is not None:
        spacing, (y0, y1, x0, x1) = region
        pixels = np.ascontiguousarray(pixels[..., y0 : y1 + 1, x0 : x1 + 1])
        return UltrasoundImage(pixels, spacing, str(path), "dicom_region")
    if spacing is not None and spacing[0] > 0 and spacing[1] > 0:
        return UltrasoundImage(pixels, spacing, str(path), "dicom_pixel_spacing")
    source = "argument" if given is not None else "missing"
    return UltrasoundImage(pixels, given, str(path), source)


def write_ultrasound_dicom(
    path: str | Path,
    pixels: np.ndarray,
    *,
    spacing_mm: float | Sequence[float],
    calibration: str = "region",
    uid_seed: str | None = None,
) -> Path:
    """Write 8-bit B-mode pixels as an uncompressed ultrasound DICOM file.

    ``pixels`` of shape ``(rows, cols)`` give an Ultrasound Image, ``(frames, rows, cols)`` an
    Ultrasound Multi-frame Image. ``calibration="region"`` stores the spacing the way scanners do,
    in one SequenceOfUltrasoundRegions item (cm per pixel, region = the whole image);
    ``"pixel_spacing"`` stores PixelSpacing (mm); ``"none"`` stores no spacing. UIDs are derived from
    ``uid_seed`` (default: the file name) so the same call writes the same file.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.dcm"
    >>> _ = write_ultrasound_dicom(path, np.zeros((64, 32), np.uint8), spacing_mm=(0.01, 0.02))
    >>> read_ultrasound(path).spacing_mm
    (0.01, 0.02)
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    path = Path(path)
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    dy, dx = (float(spacing_mm),) * 2 if np.ndim(spacing_mm) == 0 else map(float, spacing_mm)  # type: ignore[arg-type]
    multi = pixels.ndim == 3
    seed = uid_seed or path.name
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(_US_MULTIFRAME if multi else _US_IMAGE)
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[seed, "sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[seed, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[seed, "series"])
    ds.Modality = "US"
    ds.Manufacturer = "skintrial phantom"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if multi:
        ds.NumberOfFrames = pixels.shape[0]
    if calibration == "region":
        region = Dataset()
        region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = _TISSUE_2D, 1, 0
        region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
        region.RegionLocationMaxX1, region.RegionLocationMaxY1 = ds.Columns - 1, ds.Rows - 1
        region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = _CM_UNITS
        region.PhysicalDeltaX, region.PhysicalDeltaY = dx / 10.0, dy / 10.0
        ds.SequenceOfUltrasoundRegions = [region]
    elif calibration == "pixel_spacing":
        ds.PixelSpacing = [dy, dx]
    elif calibration != "none":
        raise InputError(
            Problem(
                "calibration must be 'region', 'pixel_spacing' or 'none'",
                value=calibration,
                fix="use calibration='region'",
            )
        )
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
