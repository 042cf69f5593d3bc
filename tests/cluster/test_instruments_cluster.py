"""Instrument files on a cluster (issue 16): the same tables, error rows, flags and overlays as in
this process, whatever the chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

import skintrial.instruments.cutometer as cutometer_module
import skintrial.instruments.ultrasound as ultrasound_module
from skintrial.cli import app
from skintrial.instruments import cutometer_files, raw_stage, ultrasound_files
from skintrial.plan import simulate_cutometer, simulate_ultrasound, synthetic_study
from skintrial.study import load_study

SPACING = 0.0125


@pytest.fixture(scope="module")
def curves(tmp_path_factory) -> list[Path]:
    """Curve files at several rates and cycle counts, some with several measurements, artefacts
    (flagged rows), one without a pressure channel (an analysis error: the batch falls back to file by
    file), one that cannot be read and one with a single sample."""
    folder = tmp_path_factory.mktemp("curves")
    artefacts = [None, "no_plateau", "drift", "slip", "clipped", "negative"]
    paths = []
    for i in range(14):
        options = {
            "seed": i,
            "sampling_hz": [100, 50, 1000, 200][i % 4],
            "n_cycles": 1 + i % 3,
            "artefact": artefacts[i % 6],
        }
        if i == 3:
            options["pressure_mbar"] = None
        table, _ = simulate_cutometer(3 if i % 5 == 0 else 1, **options)
        paths.append(folder / f"c{i:02d}.csv")
        table.drop(columns="file").to_csv(paths[-1], index=False)
    (folder / "bad.csv").write_text("time_s,deformation_mm\n0,abc\n")
    (folder / "one.csv").write_text("time_s,deformation_mm,pressure_mbar\n0,0.1,450\n")
    paths[4:4] = [folder / "bad.csv"]
    paths[9:9] = [folder / "one.csv"]
    return paths


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> list[Path]:
    """Scans of two shapes (batched per shape), a low-contrast one (flagged), an unreadable one, and
    two files with the same stem in different folders (overlays s.png and s_2.png)."""
    folder = tmp_path_factory.mktemp("scans")
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    paths = []
    for i in range(7):
        shape = (256, 384) if i % 3 else (320, 448)
        pixels, _ = simulate_ultrasound(
            dermal_thickness_mm=1.0 + 0.15 * i,
            lep_upper=0.3,
            lep_lower=0.1,
            rows=shape[0],
            cols=shape[1],
            seed=i,
        )
        if i == 2:
            pixels = (pixels // 4 + 90).astype(np.uint8)  # grey levels over a range of 64: low_contrast
        path = folder / ("a/s.png" if i == 1 else "b/s.png" if i == 5 else f"p{i}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
    (folder / "broken.png").write_text("not an image")
    paths.insert(3, folder / "broken.png")
    return paths


def _chunks_of(monkeypatch, module, size: int) -> None:
    """Cut the cluster's chunks at ``size`` files (the default is 67-200: one chunk for these few)."""
    monkeypatch.setattr(module, "files_per_task", lambda n, workers, **_: size)


def test_cutometer_rows_never_depend_on_the_files_measured_with_them(curves):
    whole = cutometer_files(curves, on_s=2.0, off_s=2.0)
    assert whole["qc"].str.startswith("error").sum() == 2  # bad.csv and the single sample
    assert whole["qc"].str.contains("no_plateau|drift|clipped|negative").any()
    for size in (1, 3, 7):
        parts = [
            cutometer_files(curves[a : a + size], on_s=2.0, off_s=2.0) for a in range(0, len(curves), size)
        ]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_exact=True)


@pytest.mark.parametrize("size", [3, 200])
def test_cutometer_files_on_a_cluster_equal_in_process(curves, dask_client, monkeypatch, size):
    want = cutometer_files(curves, on_s=2.0, off_s=2.0)
    _chunks_of(monkeypatch, cutometer_module, size)
    done: list[int] = []
    seen: list[str] = []
    got = cutometer_files(
        curves, on_s=2.0, off_s=2.0, client=dask_client, progress=done.append, on_file=seen.append
    )
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert sum(done) == len(curves) and len(done) == -(-len(curves) // size)  # once per chunk
    assert seen == [str(p) for p in curves]


def test_ultrasound_scans_batched_together_or_alone_give_the_same_rows_and_overlays(scans, tmp_path):
    tables = {}
    for batch_size in (1, 2, 16):
        overlays = tmp_path / f"b{batch_size}"
        tables[batch_size] = ultrasound_files(
            scans, pixel_spacing_mm=SPACING, overlay_dir=overlays, batch_size=batch_size
        )
        pd.testing.assert_frame_equal(tables[batch_size], tables[1], check_exact=True)
        for png in (tmp_path / "b1").glob("*.png"):
            assert (overlays / png.name).read_bytes() == png.read_bytes()


def test_ultrasound_files_on_a_cluster_equal_in_process(scans, dask_client, monkeypatch, tmp_path):
    want = ultrasound_files(scans, pixel_spacing_mm=SPACING, overlay_dir=tmp_path / "here")
    assert want["qc"].str.startswith("error").sum() == 1
    assert want["qc"].str.contains("low_contrast").sum() == 1
    _chunks_of(monkeypatch, ultrasound_module, 3)
    done: list[int] = []
    got = ultrasound_files(
        scans,
        pixel_spacing_mm=SPACING,
        overlay_dir=tmp_path / "there",
        client=dask_client,
        progress=done.append,
    )
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert sorted(done) == [2, 3, 3]  # one call per finished chunk
    here = sorted(p.name for p in (tmp_path / "here").glob("*.png"))
    assert "s.png" in here and "s_2.png" in here and len(here) == len(scans) - 1  # no overlay of broken.png
    assert sorted(p.name for p in (tmp_path / "there").glob("*.png")) == here
    for name in here:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def test_raw_stage_on_a_cluster_equals_in_process(tmp_path, dask_client):
    bundle = synthetic_study(seed=8, n=12, raw=True).write(tmp_path / "study")
    man = pd.read_csv(bundle / "raw" / "manifest.csv")
    (bundle / "raw" / man.query("instrument == 'cutometer'")["file"].iloc[0]).write_text("time_s\nx\n")
    study = load_study(bundle)
    want = raw_stage(study)
    done: list[int] = []
    got = raw_stage(study, client=dask_client, progress=done.append)
    assert sum(done) == len(man)
    assert set(got.tables) == set(want.tables)
    for name, table in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True)
    assert want.tables["instrument_files"]["qc"].str.startswith("error").sum() == 1
    for mine, theirs in zip(got.exclusions, want.exclusions, strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    assert want.measurements is not None and got.measurements is not None
    pd.testing.assert_frame_equal(got.measurements, want.measurements, check_exact=True)
    assert any(k.endswith(".png") for k in want.assets) and dict(got.assets) == dict(want.assets)
    assert dict(got.settings) == dict(want.settings)


def _same_csv(args: list[str], cluster: str, folder: Path) -> None:
    cli = CliRunner()
    here, there = folder / "here.csv", folder / "there.csv"
    r = cli.invoke(app, [*args, "--out", str(here)])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, [*args, "--out", str(there), "--cluster", cluster])
    assert r.exit_code == 0, r.output
    assert f"cluster: {cluster} (2 workers)" in r.output
    assert there.read_bytes() == here.read_bytes()


def test_cli_cutometer_with_a_local_cluster_writes_the_same_csv(curves, tmp_path):
    _same_csv(["cutometer", *map(str, curves[:6]), "--on", "2", "--off", "2"], "local:2", tmp_path)


def test_cli_ultrasound_on_a_running_scheduler_writes_the_same_csv(scans, dask_client, tmp_path):
    args = ["ultrasound", *map(str, scans[:4]), "--pixel-spacing-mm", str(SPACING)]
    _same_csv(args, dask_client.scheduler.address, tmp_path)
