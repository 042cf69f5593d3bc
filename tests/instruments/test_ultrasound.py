"""Skin ultrasound: readers, layer detection, echogenicity, SLEB, QC and overlays, checked on phantoms
with known ground truth (skintrial.plan.simulate_ultrasound) and on DICOM files written with pydicom."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from skintrial.errors import InputError
from skintrial.instruments.ultrasound import (
    ULTRASOUND_COLUMNS,
    ULTRASOUND_QC_FLAGS,
    UltrasoundImage,
    overlay_png,
    read_ultrasound,
    ultrasound_files,
    ultrasound_parameters,
    write_ultrasound_dicom,
)
from skintrial.plan import simulate_ultrasound

SPACING = (0.0125, 0.0125)
FULL = os.environ.get("SKINTRIAL_FULL") == "1"
FRACTIONS = ("lep_fraction", "mep_fraction", "hep_fraction", "lep_upper", "lep_lower")

# Tolerances against the phantom truth (counted on the same pixels with the true boundaries):
THICKNESS_RTOL = 0.02  # the 2%
FRACTION_ATOL = 0.02  # boundary errors of a few rows move a few pixels between layers
SLEB_ATOL_MM = 0.04  # ~3 rows: a threshold crossing in speckle
ECHO_ATOL_MM = 0.02
IQR_ATOL_MM = 0.03

# Physiological phantoms: the lower dermis at least as echogenic as the upper (lep_lower <= lep_upper)
CASES = [
    dict(dermal_thickness_mm=1.8, lep_upper=0.35, lep_lower=0.12, sleb_thickness_mm=0.2),
    dict(dermal_thickness_mm=1.2, lep_upper=0.20, lep_lower=0.20),
    dict(dermal_thickness_mm=2.4, lep_upper=0.40, lep_lower=0.10, sleb_thickness_mm=0.3),
    dict(dermal_thickness_mm=0.9, lep_upper=0.10, lep_lower=0.05),
    dict(dermal_thickness_mm=2.0, lep_upper=0.25, lep_lower=0.15, sleb_thickness_mm=0.1, hep_lower=0.2),
]


def _image(pixels, spacing=SPACING, source="phantom"):
    return UltrasoundImage(pixels=pixels, spacing_mm=spacing, source=source)


@pytest.fixture(scope="module")
def phantoms():
    return [simulate_ultrasound(**case, seed=10 + i) for i, case in enumerate(CASES)]


def _check_against_truth(row: dict, truth: dict) -> None:
    assert_allclose(row["dermal_thickness_mm"], truth["dermal_thickness_mm"], rtol=THICKNESS_RTOL)
    assert_allclose([row[k] for k in FRACTIONS], [truth[k] for k in FRACTIONS], atol=FRACTION_ATOL)
    assert_allclose(row["sleb_thickness_mm"], truth["sleb_thickness_mm"], atol=SLEB_ATOL_MM)
    assert_allclose(row["entry_echo_mm"], truth["entry_echo_mm"], atol=ECHO_ATOL_MM)
    assert_allclose(row["dermal_thickness_iqr_mm"], truth["dermal_thickness_iqr_mm"], atol=IQR_ATOL_MM)
    assert_allclose(row["lep_ratio"], row["lep_upper"] / row["lep_lower"], rtol=1e-12)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_phantom_parameters_recovered(phantoms, case):
    pixels, truth = phantoms[case]
    row = ultrasound_parameters(_image(pixels)).as_row()
    _check_against_truth(row, truth)
    assert row["qc"] == ""


def test_boundaries_follow_the_true_layers(phantoms):
    pixels, truth = phantoms[0]
    layers = ultrasound_parameters(_image(pixels)).layers
    assert_allclose(layers.surface[0], truth["surface_row"], atol=1.5)  # rows
    assert_allclose(np.median(layers.top[0] - truth["dermis_top_row"]), 0.0, atol=1.0)
    # the border is a step in speckle: most columns within 3 rows, every column within 12
    error = np.abs(layers.border[0] - truth["border_row"])
    assert np.quantile(error, 0.9) < 3.0
    assert error.max() < 12.0


@pytest.mark.slow
def test_thickness_within_two_percent_over_random_phantoms():
    """Random physiological phantoms (full size with SKINTRIAL_FULL=1: 60 scans; default 10).

    Physiological: the lower dermis clearly more echogenic than the upper (lep_lower <= 0.7 lep_upper).
    Nearer equality, with a thick SLEB, the profile solved below the SLEB makes the lowest dermis almost
    as dark as fat; such weak borders were off by up to 3% (docs/ultrasound.md, known limits).
    """
    rng = np.random.default_rng(2024)
    n = 60 if FULL else 10
    images, truths = [], []
    for i in range(n):
        upper = rng.uniform(0.1, 0.45)
        pixels, truth = simulate_ultrasound(
            dermal_thickness_mm=rng.uniform(0.8, 2.6),
            lep_upper=upper,
            lep_lower=rng.uniform(0.03, 0.7 * upper),
            sleb_thickness_mm=float(rng.choice([0.0, 0.1, 0.2])),
            seed=1000 + i,
        )
        images.append(pixels)
        truths.append(truth)
    folder_rows = [ultrasound_parameters(_image(p)).as_row() for p in images]
    got = np.array([r["dermal_thickness_mm"] for r in folder_rows])
    want = np.array([t["dermal_thickness_mm"] for t in truths])
    assert_allclose(got, want, rtol=THICKNESS_RTOL)
    for key in FRACTIONS:
        assert_allclose([r[key] for r in folder_rows], [t[key] for t in truths], atol=FRACTION_ATOL)


def test_upper_fraction_is_configurable():
    pixels, truth = simulate_ultrasound(
        dermal_thickness_mm=2.0, lep_upper=0.4, lep_lower=0.1, upper_fraction=0.3, seed=5
    )
    row = ultrasound_parameters(_image(pixels), upper_fraction=0.3).as_row()
    assert_allclose(
        [row["lep_upper"], row["lep_lower"]], [truth["lep_upper"], truth["lep_lower"]], atol=FRACTION_ATOL
    )
    halves = ultrasound_parameters(_image(pixels)).as_row()
    assert halves["lep_upper"] < row["lep_upper"] - 0.03  # the shallow third is the darkest part
    assert_allclose(halves["lep_fraction"], row["lep_fraction"], rtol=1e-12)  # same dermis


def test_thresholds_are_configurable(phantoms):
    pixels, _ = phantoms[0]
    row = ultrasound_parameters(_image(pixels), low_max=60, high_min=150).as_row()
    top = ultrasound_parameters(_image(pixels)).layers
    y = np.arange(pixels.shape[0])[:, None] + 0.5
    dermis = (y >= top.top[0]) & (y < top.border[0])
    assert_allclose(row["lep_fraction"], (pixels[dermis] <= 60).mean(), atol=1e-12)
    assert_allclose(row["hep_fraction"], (pixels[dermis] >= 150).mean(), atol=1e-12)


def test_columns_are_the_documented_schema(phantoms, tmp_path):
    assert ULTRASOUND_COLUMNS == (
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
    Image.fromarray(phantoms[1][0]).save(tmp_path / "a.png")
    table = ultrasound_files([tmp_path / "a.png"], pixel_spacing_mm=0.0125)
    assert tuple(table.columns) == ULTRASOUND_COLUMNS
    assert all(table[c].dtype == np.float64 for c in ULTRASOUND_COLUMNS[1:-1])


# ---------------------------------------------------------------- batches


def test_batch_equals_one_by_one_and_keeps_order(phantoms, tmp_path):
    paths = []
    for i, (pixels, _) in enumerate(phantoms):
        paths.append(tmp_path / f"scan{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    order = [3, 0, 4, 1, 2]
    table = ultrasound_files([paths[i] for i in order], pixel_spacing_mm=SPACING, batch_size=3)
    single = pd.DataFrame(
        [ultrasound_parameters(read_ultrasound(paths[i], pixel_spacing_mm=SPACING)).as_row() for i in order]
    )
    pd.testing.assert_frame_equal(table, single.astype(table.dtypes.to_dict()), rtol=1e-9)
    assert table["file"].tolist() == [str(paths[i]) for i in order]


def test_bad_file_gets_an_error_row_and_the_batch_goes_on(phantoms, tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(phantoms[0][0]).save(good)
    (tmp_path / "text.png").write_text("not an image")
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tiny)
    files = [tmp_path / "text.png", good, tmp_path / "missing.dcm", tiny, tmp_path / "notes.txt", good]
    (tmp_path / "notes.txt").write_text("x")
    calls = []
    table = ultrasound_files(files, pixel_spacing_mm=0.0125, progress=calls.append)
    assert len(table) == len(files) and sum(calls) == len(files)
    errors = table["qc"].str.startswith("error: ")
    assert errors.tolist() == [True, False, True, True, True, False]
    assert "text.png" in table.loc[0, "qc"] and "missing.dcm" in table.loc[2, "qc"]
    assert table.loc[errors, "dermal_thickness_mm"].isna().all()
    assert_allclose(
        table.loc[~errors, "dermal_thickness_mm"], phantoms[0][1]["dermal_thickness_mm"], rtol=THICKNESS_RTOL
    )


def test_manifest_mapping_gives_spacing_per_file(phantoms, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(phantoms[1][0]).save(a)
    Image.fromarray(phantoms[1][0]).save(b)
    table = ultrasound_files([a, b], pixel_spacing_mm={"a.png": 0.0125, "b.png": (0.025, 0.0125)})
    # rows are twice as deep in b; the detection windows (set in mm) differ, so not exactly 2×
    assert_allclose(table.loc[1, "dermal_thickness_mm"], 2 * table.loc[0, "dermal_thickness_mm"], rtol=0.01)


def test_overlays_are_written_per_scan(phantoms, tmp_path):
    sub = tmp_path / "x"
    sub.mkdir()
    paths = [tmp_path / "s.png", sub / "s.png"]
    for p in paths:
        Image.fromarray(phantoms[0][0]).save(p)
    ultrasound_files(paths, pixel_spacing_mm=0.0125, overlay_dir=tmp_path / "ov")
    assert sorted(p.name for p in (tmp_path / "ov").iterdir()) == ["s.png", "s_2.png"]


# ---------------------------------------------------------------- QC flags


def test_low_contrast_is_flagged():
    pixels, truth = simulate_ultrasound(
        dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, contrast=0.3, seed=7
    )
    result = ultrasound_parameters(_image(pixels))
    assert result.qc == ("low_contrast",)
    assert_allclose(result["dermal_thickness_mm"], truth["dermal_thickness_mm"], rtol=THICKNESS_RTOL)


def test_saturation_is_flagged():
    pixels, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, gain=1.6, seed=8)
    assert "saturation" in ultrasound_parameters(_image(pixels)).qc
    clean, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=8)
    assert "saturation" not in ultrasound_parameters(_image(clean)).qc


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_missing_border_is_flagged_and_values_are_nan(seed):
    pixels, _ = simulate_ultrasound(
        dermal_thickness_mm=1.5,
        lep_upper=0.25,
        lep_lower=0.25,
        subcutis_lep=0.25,
        hep_lower=0.01,
        septa=0,
        seed=seed,
    )
    result = ultrasound_parameters(_image(pixels))
    assert "border_not_found" in result.qc
    assert math.isnan(result["dermal_thickness_mm"]) and math.isnan(result["lep_upper"])
    assert math.isfinite(result["entry_echo_mm"])


def test_blank_scan_flags_entry_echo_not_found():
    rng = np.random.default_rng(0)
    result = ultrasound_parameters(_image(rng.integers(0, 20, (256, 256), dtype=np.uint8)))
    assert {"entry_echo_not_found", "border_not_found", "low_contrast"} <= set(result.qc)
    assert all(math.isnan(result.values[k]) for k in result.values)


def test_missing_spacing_keeps_fractions(phantoms, tmp_path):
    pixels, truth = phantoms[0]
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = read_ultrasound(tmp_path / "a.png")
    assert image.spacing_mm is None and image.spacing_source == "missing"
    result = ultrasound_parameters(image)
    assert result.qc == ("spacing_missing",)
    assert math.isnan(result["dermal_thickness_mm"]) and math.isnan(result["sleb_thickness_mm"])
    # the nominal spacing of the detector equals the phantom's, so the fractions are the same as with it
    assert_allclose([result[k] for k in FRACTIONS], [truth[k] for k in FRACTIONS], atol=FRACTION_ATOL)


def test_qc_flag_names_are_stable():
    assert ULTRASOUND_QC_FLAGS == (
        "entry_echo_not_found",
        "border_not_found",
        "low_contrast",
        "saturation",
        "spacing_missing",
    )


# ---------------------------------------------------------------- readers


def _dicom(pixels, **attrs):
    """A minimal ultrasound DICOM dataset written by hand with pydicom (not by skintrial's writer)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns = pixels.shape[-2] if pixels.ndim >= 2 else 1, pixels.shape[-1]
    if attrs.get("SamplesPerPixel", 1) == 3:
        ds.Rows, ds.Columns = pixels.shape[-3], pixels.shape[-2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    bits = 8 if pixels.dtype == np.uint8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def _region(dy_cm, dx_cm, box, units=3, fmt=1):
    from pydicom.dataset import Dataset

    region = Dataset()
    region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = fmt, 1, 0
    (
        region.RegionLocationMinX0,
        region.RegionLocationMinY0,
        region.RegionLocationMaxX1,
        region.RegionLocationMaxY1,
    ) = box
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = units
    region.PhysicalDeltaX, region.PhysicalDeltaY = dx_cm, dy_cm
    return region


def test_dicom_region_calibration_crop_and_parameters(phantoms, tmp_path):
    pixels, truth = phantoms[0]
    framed = np.full((pixels.shape[0] + 40, pixels.shape[1] + 60), 255, np.uint8)  # annotations around
    framed[20 : 20 + pixels.shape[0], 30 : 30 + pixels.shape[1]] = pixels
    box = (30, 20, 30 + pixels.shape[1] - 1, 20 + pixels.shape[0] - 1)
    ds = _dicom(
        framed,
        SequenceOfUltrasoundRegions=[
            _region(0.5, 0.5, (0, 0, 9, 9), units=4),  # a Doppler-like region in seconds: ignored
            _region(0.00125, 0.00125, box),
        ],
    )
    ds.save_as(tmp_path / "scan.dcm", enforce_file_format=True)
    image = read_ultrasound(tmp_path / "scan.dcm", pixel_spacing_mm=0.5)  # the file's calibration wins
    assert image.spacing_source == "dicom_region"
    assert_allclose(image.spacing_mm, SPACING, rtol=1e-12)
    np.testing.assert_array_equal(image.pixels, pixels)
    _check_against_truth(ultrasound_parameters(image).as_row(), truth)


def test_dicom_pixel_spacing_monochrome1_and_12_bit(phantoms, tmp_path):
    pixels, truth = phantoms[1]
    stored = (255 - pixels).astype(np.uint16) * 16  # 12 bits stored, inverted grey scale
    ds = _dicom(
        stored,
        PixelSpacing=[0.0125, 0.0125],
        PhotometricInterpretation="MONOCHROME1",
        BitsStored=12,
        HighBit=11,
    )
    ds.save_as(tmp_path / "scan.dcm", enforce_file_format=True)
    image = read_ultrasound(tmp_path / "scan.dcm")
    assert image.spacing_source == "dicom_pixel_spacing"
    assert np.abs(image.pixels.astype(int) - pixels).max() <= 1  # 12 → 8 bit rounding
    assert_allclose(
        ultrasound_parameters(image)["dermal_thickness_mm"], truth["dermal_thickness_mm"], rtol=THICKNESS_RTOL
    )


def test_dicom_without_spacing_uses_the_argument(phantoms, tmp_path):
    pixels, _ = phantoms[1]
    _dicom(pixels).save_as(tmp_path / "scan.dcm", enforce_file_format=True)
    assert read_ultrasound(tmp_path / "scan.dcm").spacing_source == "missing"
    image = read_ultrasound(tmp_path / "scan.dcm", pixel_spacing_mm=(0.02, 0.01))
    assert image.spacing_mm == (0.02, 0.01) and image.spacing_source == "argument"


def test_dicom_rgb_is_converted_to_luminance(phantoms, tmp_path):
    pixels, _ = phantoms[1]
    rgb = np.repeat(pixels[..., None], 3, axis=2)
    ds = _dicom(
        rgb,
        SamplesPerPixel=3,
        PhotometricInterpretation="RGB",
        PlanarConfiguration=0,
        PixelSpacing=[0.0125, 0.0125],
    )
    ds.save_as(tmp_path / "rgb.dcm", enforce_file_format=True)
    np.testing.assert_array_equal(read_ultrasound(tmp_path / "rgb.dcm").pixels, pixels)


@pytest.mark.parametrize("photometric", ["YBR_FULL", "YBR_FULL_422"])
def test_dicom_ybr_colour_is_converted_once(phantoms, tmp_path, photometric):
    """pydicom 3 already returns RGB for YBR data: a grey scan keeps its grey levels exactly, and a
    coloured pixel becomes the luminance of its RGB colour (not of a twice-converted one)."""
    from pydicom.pixels import convert_color_space

    pixels, _ = phantoms[1]
    rgb = np.repeat(pixels[..., None], 3, axis=2)
    rgb[:2, :4] = [[200, 40, 90], [10, 220, 30], [60, 60, 250], [255, 255, 0]]  # a few colours
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    data = ybr
    if photometric == "YBR_FULL_422":  # each pair of columns shares one Cb, Cr: stored Y1 Y2 Cb Cr
        ybr[:, 1::2, 1:] = ybr[:, 0::2, 1:]
        data = np.empty((ybr.shape[0], ybr.shape[1] * 2), np.uint8)
        data[:, 0::4], data[:, 1::4] = ybr[:, 0::2, 0], ybr[:, 1::2, 0]
        data[:, 2::4], data[:, 3::4] = ybr[:, 0::2, 1], ybr[:, 0::2, 2]
        data = data.reshape(ybr.shape[0], ybr.shape[1], 2)  # same bytes; rows, columns for the helper
    rgb = convert_color_space(ybr, "YBR_FULL", "RGB")  # the colours the file holds
    ds = _dicom(
        np.ascontiguousarray(data),
        SamplesPerPixel=3,
        PhotometricInterpretation=photometric,
        PlanarConfiguration=0,
        PixelSpacing=[0.0125, 0.0125],
    )
    ds.save_as(tmp_path / "ybr.dcm", enforce_file_format=True)
    grey = read_ultrasound(tmp_path / "ybr.dcm").pixels
    np.testing.assert_array_equal(grey[2:], pixels[2:])
    luminance = np.round(rgb[:2].astype(float) @ [0.299, 0.587, 0.114])
    assert np.abs(grey[:2].astype(int) - luminance).max() <= 1


def test_multiframe_dicom_reports_the_median_over_frames(tmp_path):
    frames, truths = [], []
    for i, thickness in enumerate([1.4, 1.6, 1.9]):
        pixels, truth = simulate_ultrasound(
            dermal_thickness_mm=thickness, lep_upper=0.3, lep_lower=0.1, rows=384, cols=512, seed=40 + i
        )
        frames.append(pixels)
        truths.append(truth)
    write_ultrasound_dicom(tmp_path / "cine.dcm", np.stack(frames), spacing_mm=SPACING)
    image = read_ultrasound(tmp_path / "cine.dcm")
    assert image.pixels.shape == (3, 384, 512) and image.spacing_source == "dicom_region"
    result = ultrasound_parameters(image)
    assert result.frame == 1  # the frame nearest the median thickness
    assert_allclose(result["dermal_thickness_mm"], truths[1]["dermal_thickness_mm"], rtol=THICKNESS_RTOL)
    each = [ultrasound_parameters(image, frame=i)["lep_upper"] for i in range(3)]
    assert_allclose(result["lep_upper"], np.median(each), rtol=1e-12)
    with pytest.raises(InputError, match="frame 3"):
        ultrasound_parameters(image, frame=3)
    table = ultrasound_files([tmp_path / "cine.dcm"], overlay_dir=tmp_path / "ov")
    assert_allclose(table.loc[0, "dermal_thickness_mm"], result["dermal_thickness_mm"], rtol=1e-12)
    assert (tmp_path / "ov" / "cine.png").is_file()


@pytest.mark.parametrize(
    "calibration, source",
    [("region", "dicom_region"), ("pixel_spacing", "dicom_pixel_spacing"), ("none", "missing")],
)
def test_dicom_writer_round_trips(phantoms, tmp_path, calibration, source):
    pixels, _ = phantoms[3]
    path = write_ultrasound_dicom(
        tmp_path / "a.dcm", pixels, spacing_mm=(0.01, 0.02), calibration=calibration
    )
    image = read_ultrasound(path)
    np.testing.assert_array_equal(image.pixels, pixels)
    assert image.spacing_source == source
    if source != "missing":
        assert_allclose(image.spacing_mm, (0.01, 0.02), rtol=1e-12)


def test_png_rgb_and_16_bit_tiff(phantoms, tmp_path):
    pixels, _ = phantoms[1]
    Image.fromarray(np.repeat(pixels[..., None], 3, axis=2)).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_ultrasound(tmp_path / "rgb.png").pixels, pixels)
    Image.fromarray(pixels.astype(np.uint16) * 257).save(tmp_path / "deep.tif")
    np.testing.assert_array_equal(
        read_ultrasound(tmp_path / "deep.tif", pixel_spacing_mm=0.01).pixels, pixels
    )


@pytest.mark.parametrize("spacing", [0.0, -1.0, (0.1, 0.2, 0.3), float("nan")])
def test_bad_spacing_is_an_input_error(phantoms, tmp_path, spacing):
    Image.fromarray(phantoms[1][0]).save(tmp_path / "a.png")
    with pytest.raises(InputError, match="a.png"):
        read_ultrasound(tmp_path / "a.png", pixel_spacing_mm=spacing)


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="nothere.png.*file not found"):
        read_ultrasound(tmp_path / "nothere.png")
    (tmp_path / "a.bmp").write_bytes(b"BM")
    with pytest.raises(InputError, match="unknown image type"):
        read_ultrasound(tmp_path / "a.bmp")
    (tmp_path / "b.dcm").write_bytes(b"garbage")
    with pytest.raises(InputError, match="b.dcm"):
        read_ultrasound(tmp_path / "b.dcm")


def test_bad_options_are_input_errors(phantoms):
    image = _image(phantoms[1][0])
    with pytest.raises(InputError, match="upper_fraction"):
        ultrasound_parameters(image, upper_fraction=1.0)
    with pytest.raises(InputError, match="low_max < high_min"):
        ultrasound_parameters(image, low_max=200, high_min=100)
    with pytest.raises(InputError, match="8-bit"):
        ultrasound_parameters(_image(phantoms[1][0].astype(np.float32)))


# ---------------------------------------------------------------- overlay


def test_overlay_draws_the_detected_border(phantoms, tmp_path):
    pixels, _ = phantoms[0]
    image = _image(pixels)
    result = ultrasound_parameters(image)
    path = overlay_png(image, result, tmp_path / "deep" / "o.png")
    drawn = np.asarray(Image.open(path).convert("RGB"))
    assert drawn.shape[0] > pixels.shape[0] and drawn.shape[1] == max(pixels.shape[1], 240)
    assert drawn.shape[2] == 3  # the scan, then a caption strip with the values, the QC and the legend
    cols = np.arange(0, pixels.shape[1], 97)
    rows = np.clip(np.round(result.layers.border[0, cols]), 0, pixels.shape[0] - 1).astype(int)
    reddish = [
        (drawn[r - 1 : r + 2, c, 0] > 200) & (drawn[r - 1 : r + 2, c, 1] < 120)
        for r, c in zip(rows, cols, strict=True)
    ]
    assert all(x.any() for x in reddish)
    # the dermis in the middle of the picture stays the grey scan
    mid = int(np.median(result.layers.top[0] + 0.25 * (result.layers.border[0] - result.layers.top[0])))
    assert (drawn[mid, :, 0] == drawn[mid, :, 2]).mean() > 0.95


def test_surface_search_can_skip_a_probe_membrane(phantoms):
    from skintrial.instruments.ultrasound import DetectionSettings

    pixels, truth = phantoms[1]
    with_membrane = pixels.copy()
    with_membrane[12:16] = 250  # a bright membrane line 0.15 mm below the top, above the skin
    fooled = ultrasound_parameters(_image(with_membrane)).layers
    assert np.median(np.abs(fooled.surface[0] - truth["surface_row"])) > 10
    skip = ultrasound_parameters(_image(with_membrane), settings=DetectionSettings(surface_min_mm=0.25))
    assert_allclose(np.median(skip.layers.surface[0] - truth["surface_row"]), 0.0, atol=1.0)
    assert_allclose(skip["dermal_thickness_mm"], truth["dermal_thickness_mm"], rtol=THICKNESS_RTOL)


@pytest.mark.parametrize(
    "spacing, rows, cols", [((0.03, 0.05), 300, 256), ((0.05, 0.06), 200, 200), ((0.008, 0.01), 640, 512)]
)
def test_other_pixel_spacings(spacing, rows, cols):
    """20 MHz-like coarse pixels and 75 MHz-like fine pixels: the windows are set in mm."""
    for seed, thickness in enumerate([1.3, 2.1]):
        pixels, truth = simulate_ultrasound(
            dermal_thickness_mm=thickness,
            lep_upper=0.3,
            lep_lower=0.1,
            sleb_thickness_mm=0.15 * seed,
            spacing_mm=spacing,
            rows=rows,
            cols=cols,
            seed=seed,
        )
        row = ultrasound_parameters(_image(pixels, spacing)).as_row()
        assert row["qc"] == ""
        assert_allclose(row["dermal_thickness_mm"], truth["dermal_thickness_mm"], rtol=THICKNESS_RTOL)
        upper = ("lep_fraction", "mep_fraction", "hep_fraction", "lep_upper")
        assert_allclose([row[k] for k in upper], [truth[k] for k in upper], atol=FRACTION_ATOL)
        # the lower dermis borders 85%-LEP fat: a border 2-3 rows deep at 8 µm pixels moves it most
        assert_allclose(row["lep_lower"], truth["lep_lower"], atol=0.03)
        assert_allclose(
            row["sleb_thickness_mm"], truth["sleb_thickness_mm"], atol=max(SLEB_ATOL_MM, spacing[0])
        )


# ---------------------------------------------------------------- invariants


def test_mirrored_scan_gives_the_same_parameters(phantoms):
    pixels, _ = phantoms[0]
    row = ultrasound_parameters(_image(pixels)).as_row()
    mirrored = ultrasound_parameters(_image(np.ascontiguousarray(pixels[:, ::-1]))).as_row()
    keys = ULTRASOUND_COLUMNS[1:-1]
    assert_allclose([mirrored[k] for k in keys], [row[k] for k in keys], rtol=0.01, atol=1e-3)


def test_spacing_scales_millimetres_only(phantoms):
    """Doubling both spacings and every detection length leaves the geometry in rows unchanged."""
    from skintrial.instruments.ultrasound import DetectionSettings

    pixels, _ = phantoms[1]
    base = ultrasound_parameters(_image(pixels))
    d = DetectionSettings()
    doubled = DetectionSettings(
        lateral_bin_mm=2 * d.lateral_bin_mm,
        surface_window_mm=tuple(2 * w for w in d.surface_window_mm),
        surface_min_mm=2 * d.surface_min_mm,
        echo_window_mm=2 * d.echo_window_mm,
        max_entry_echo_mm=2 * d.max_entry_echo_mm,
        border_window_mm=tuple(2 * w for w in d.border_window_mm),
        min_dermis_mm=2 * d.min_dermis_mm,
        max_dermis_mm=2 * d.max_dermis_mm,
        smoothness=d.smoothness / 2,
        confidence_group_mm=2 * d.confidence_group_mm,
    )
    scaled = ultrasound_parameters(_image(pixels, (0.025, 0.025)), settings=doubled)
    for key in ("dermal_thickness_mm", "entry_echo_mm", "sleb_thickness_mm", "dermal_thickness_iqr_mm"):
        assert_allclose(scaled[key], 2 * base[key], rtol=1e-9)
    for key in FRACTIONS:
        assert_allclose(scaled[key], base[key], rtol=1e-12)


def test_png_and_dicom_round_trip_any_grey_levels(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))
    spacing = st.floats(0.001, 0.5)

    @settings(max_examples=25, deadline=None)
    @given(arrays(np.uint8, shapes), spacing, spacing)
    def check(pixels, dy, dx):
        write_ultrasound_dicom(tmp_path / "a.dcm", pixels, spacing_mm=(dy, dx))
        image = read_ultrasound(tmp_path / "a.dcm")
        np.testing.assert_array_equal(image.pixels, pixels)
        assert_allclose(image.spacing_mm, (dy, dx), rtol=1e-6)  # DS keeps 16 characters
        Image.fromarray(pixels).save(tmp_path / "a.png")
        np.testing.assert_array_equal(read_ultrasound(tmp_path / "a.png", pixel_spacing_mm=dy).pixels, pixels)

    check()


def _tiff_declaring(width: int, height: int) -> bytes:
    """A tiny uncompressed 8-bit TIFF whose header declares ``width`` x ``height`` pixels."""
    import struct

    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 16),
    ]
    ifd_at = 8 + 16
    head = b"II*\x00" + struct.pack("<I", ifd_at) + bytes(16)
    ifd = (
        struct.pack("<H", len(entries))
        + b"".join(
            struct.pack("<HHII", tag, kind, count, value)
            if kind == 4
            else struct.pack("<HHIHH", tag, kind, count, value, 0)
            for tag, kind, count, value in entries
        )
        + struct.pack("<I", 0)
    )
    return head + ifd


def _dicom_bytes(tmp_path, pixels, **kwargs) -> bytes:
    path = write_ultrasound_dicom(tmp_path / "source.dcm", pixels, spacing_mm=0.0125, **kwargs)
    return path.read_bytes()


def _corrupt_files(tmp_path, pixels) -> dict[str, bytes]:
    png, tif = tmp_path / "source.png", tmp_path / "source.tif"
    Image.fromarray(pixels).save(png)
    Image.fromarray(pixels).save(tif)
    dcm = _dicom_bytes(tmp_path, pixels)
    units_tag = b"\x18\x00\x24\x60US"  # (0018,6024) PhysicalUnitsXDirection in the region, explicit VR LE
    assert dcm.count(units_tag) == 1
    spacing = _dicom_bytes(tmp_path, pixels, calibration="pixel_spacing")
    ds_value = b"0.0125\\0.0125"
    assert spacing.count(ds_value) == 1
    return {
        "truncated.png": png.read_bytes()[: png.stat().st_size // 2],
        "truncated.tif": tif.read_bytes()[: tif.stat().st_size // 2],
        "bomb.tif": _tiff_declaring(40_000, 40_000),  # PIL: DecompressionBombError, not an OSError
        "truncated.dcm": dcm[: len(dcm) // 2],
        "unknown_vr.dcm": dcm.replace(units_tag, units_tag[:4] + b"QQ"),  # pydicom: NotImplementedError
        "odd_length.dcm": dcm.replace(
            units_tag + b"\x02\x00", units_tag + b"\x03\x00"
        ),  # BytesLengthException
        "bad_spacing.dcm": spacing.replace(ds_value, b"0.0*25\\0.0125"),  # not a number (ValueError)
    }


def test_corrupt_and_truncated_files_are_input_errors_and_error_rows(phantoms, tmp_path):
    """Whatever PIL or pydicom raise for a damaged file, the reader says InputError (naming the file),
    so the batch gives the file an error row instead of stopping."""
    good = tmp_path / "good.png"
    Image.fromarray(phantoms[0][0]).save(good)
    bad = []
    for name, content in _corrupt_files(tmp_path, phantoms[0][0]).items():
        (tmp_path / name).write_bytes(content)
        bad.append(tmp_path / name)
        with pytest.raises(InputError, match=name):
            read_ultrasound(tmp_path / name, pixel_spacing_mm=0.0125)
    table = ultrasound_files([*bad, good], pixel_spacing_mm=0.0125)
    assert table["qc"].str.startswith("error: ").tolist() == [True] * len(bad) + [False]
    assert all(p.name in qc for p, qc in zip(bad, table["qc"], strict=False))


def test_a_defect_in_the_analysis_is_raised_not_hidden_in_an_error_row(phantoms, tmp_path, monkeypatch):
    """Only bad input (InputError) becomes an error row; a bug of ours stops the batch (CLI exit 1)."""
    import skintrial.instruments.ultrasound as us

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"s{i}.png")
        Image.fromarray(phantoms[0][0]).save(paths[-1])

    def broken(*args, **kwargs):
        raise KeyError("lep_upper")

    monkeypatch.setattr(us, "measure_stack", broken)
    monkeypatch.setattr(us, "ultrasound_parameters", broken)
    with pytest.raises(KeyError):
        ultrasound_files(paths, pixel_spacing_mm=0.0125)
    monkeypatch.setattr(us, "read_ultrasound", broken)
    with pytest.raises(KeyError):
        ultrasound_files(paths, pixel_spacing_mm=0.0125)


@pytest.mark.parametrize("cols", [60, 200, 640])
def test_overlay_legend_and_caption_fit_inside_the_image(cols):
    """Every legend entry (swatch and name) and every caption line lies inside the PNG, however narrow
    the scan: the magenta SLEB line can always be identified."""
    import io

    from PIL import Image, ImageDraw

    from skintrial.instruments import _ultrasound_overlay as ov
    from skintrial.instruments.ultrasound import UltrasoundImage, ultrasound_parameters
    from skintrial.plan import simulate_ultrasound

    pixels, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=0)
    image = UltrasoundImage(np.ascontiguousarray(pixels[:, :cols]), (0.0125, 0.0125))
    result = ultrasound_parameters(image)
    png = Image.open(io.BytesIO(ov.overlay_bytes(image, result)))
    width = png.size[0]
    assert width >= max(cols, ov._MIN_WIDTH)
    probe = ImageDraw.Draw(Image.new("P", (1, 1)))
    rows = ov._legend_rows(probe, width)
    placed = [(key, label, x) for row in rows for key, label, x in row]
    assert [k for k, _, _ in placed] == [k for k, _ in ov._LEGEND]
    for _, label, x in placed:
        assert x + ov._SWATCH + 3 + probe.textlength(label) <= width
    lines = [line for words in ov._caption_words(result) for line in ov._wrap(probe, words, width - 8)]
    assert all(probe.textlength(line) <= width - 8 or "  " not in line for line in lines)
    palette = np.asarray(png)  # the magenta swatch is drawn in the caption strip
    magenta = ov._GREYS + list(ov.OVERLAY_COLOURS).index("sleb")
    assert (palette[image.frames()[0].shape[0] :] == magenta).any()
