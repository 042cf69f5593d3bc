"""The synthetic study's molecular layer: determinism, other files untouched, format, calibration rows and
documentation, built-in changes and links recovered in a large draw."""

from __future__ import annotations

import io
import re
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.plan import _sim_qpcr, _sim_serum, calibration_table, synthetic_study


@pytest.fixture(scope="module")
def default():
    return synthetic_study()


def test_deterministic_and_other_files_unchanged(tmp_path):
    a = synthetic_study(seed=9, n=20)
    b = synthetic_study(seed=9, n=20)
    plain = synthetic_study(seed=9, n=20, omics=False)
    assert a.files["serum.csv"] == b.files["serum.csv"] and a.files["qpcr.csv"] == b.files["qpcr.csv"]
    pd.testing.assert_frame_equal(a.measurements, plain.measurements)
    pd.testing.assert_frame_equal(a.participants, plain.participants)
    assert a.study_toml.startswith(plain.study_toml[:-1])  # the omics tables are appended
    assert set(plain.files) == {"training.csv"} and not plain.omics_truth  # only the training layer
    assert plain.files["training.csv"] == a.files["training.csv"]
    c = synthetic_study(seed=10, n=20)
    assert c.files["serum.csv"] != a.files["serum.csv"]
    root = a.write(tmp_path / "s")
    assert (root / "serum.csv").read_bytes() == a.files["serum.csv"] and b"\r" not in a.files["serum.csv"]


def test_generation_stays_fast():
    t0 = time.perf_counter()
    synthetic_study()
    assert time.perf_counter() - t0 < 2.0  # files are made on first access; typically ~0.05 s


def test_toml_tables(default):
    toml = tomllib.loads(default.study_toml)
    assert toml["serum"]["file"] == "serum.csv" and toml["serum"]["pqn"] == ["metabolites"]
    assert toml["qpcr"] == {"file": "qpcr.csv", "reference_genes": ["GAPDH", "ACTB"], "method": "ddct"}


def test_serum_file_reads_back(default):
    from skintrial.omics.panels import read_panel

    text = default.files["serum.csv"].decode("utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(_sim_serum.SERUM_COLUMNS)
    completers = (default.participants["status"] == "completed").sum()
    assert len(frame) == 1480 * (len(default.participants) + completers)
    assert frame.groupby("panel")["analyte"].nunique().to_dict() == {
        "cytokines": 520,
        "hormones": 20,
        "metabolites": 940,
    }
    assert "N,N-dimethylglycine" in set(frame["analyte"])  # the comma survives quoting
    below = frame["value"] == "<LOD"
    assert 0.01 < below.mean() < 0.2 and (frame.loc[below, "panel"] != "metabolites").all()
    assert (
        frame.loc[below, "panel"] == "cytokines"
    ).mean() > 0.99  # hormones' LODs sit at the 0.1th percentile
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "serum.csv"
        p.write_bytes(default.files["serum.csv"])
        panel = read_panel(p)
    assert panel["below_lod"].sum() == below.sum()
    assert panel.loc[panel["panel"] == "metabolites", "lod"].isna().all()


def test_truth_counts_and_named_factors(default):
    cat = default.omics_truth["serum"]
    for arm, up, down in (("AT", 28, 41), ("RT", 34, 27)):
        c = cat[f"change.{arm}"]
        assert ((c > 0).sum(), (c < 0).sum()) == (up, down)
    s = cat.set_index("analyte")
    assert s.loc["IL15", "change.AT"] > 0 and s.loc["CXCL8", "change.RT"] > 0
    assert (s.loc[["CCL28", "CXCL4", "N,N-dimethylglycine"], "change.RT"] < 0).all()
    assert (s.loc[["IFNG", "IFNA2", "TNFSF10"], "change.AT"] < 0).all()
    links = default.omics_truth["links"].set_index("factor")
    assert links.loc["CCL28", "skin_outcome"] == "dermal_thickness" and links.loc["CCL28", "rho"] == -0.7
    q = default.omics_truth["qpcr"].set_index(["gene", "arm"])["log2_fold_change"]
    assert q.loc[("BGN", "RT")] > q.loc[("BGN", "AT")] > 0 and q.loc[("GAPDH", "RT")] == 0


def test_qpcr_file_format(default):
    frame = pd.read_csv(
        io.StringIO(default.files["qpcr.csv"].decode("utf-8")), dtype=str, keep_default_na=False
    )
    assert list(frame.columns) == list(_sim_qpcr.QPCR_COLUMNS)
    completers = (default.participants["status"] == "completed").sum()
    assert len(frame) == completers * 2 * 10 * 3
    assert set(frame["gene"]) == set(_sim_qpcr.TARGETS + _sim_qpcr.REFERENCES)
    ct = pd.to_numeric(frame["ct"], errors="coerce")
    assert ct[ct.notna()].between(10, 35).all() and (frame.loc[ct.isna(), "ct"] == "Undetermined").all()
    assert ct.isna().mean() < 0.01
    assert (frame["sample"] == frame["participant_id"] + "_" + frame["visit"]).all()
    assert frame.groupby(["sample", "gene"]).size().eq(3).all()


@pytest.mark.slow
def test_large_draw_recovers_changes_and_links():
    """n = 300 (SKINTRIAL_FULL=1: 2,000): mean log2 changes within 4 SE of the truth for the named factors,
    the built-in correlations within 0.1, the BGN fold change larger in RT."""
    import os

    n = 2000 if os.environ.get("SKINTRIAL_FULL") == "1" else 300
    study = synthetic_study(n=n, seed=3, dropout=False)
    frame = pd.read_csv(
        io.StringIO(study.files["serum.csv"].decode("utf-8")),
        keep_default_na=False,
        usecols=["participant_id", "visit", "analyte", "value"],
    )
    named = ["IL15", "CCL28", "CXCL4", "CXCL8", "IFNG"]
    frame = frame[frame["analyte"].isin(named)]
    wide = (
        frame.assign(value=np.log2(pd.to_numeric(frame["value"], errors="coerce")))
        .pivot_table(index=["participant_id", "analyte"], columns="visit", values="value")
        .reset_index()
    )
    wide = wide.merge(study.participants[["participant_id", "arm"]], on="participant_id")
    wide["change"] = wide["week16"] - wide["week0"]
    truth = study.omics_truth["serum"].set_index("analyte")
    for (analyte, arm), g in wide.groupby(["analyte", "arm"]):
        se = g["change"].std(ddof=1) / np.sqrt(len(g))
        assert abs(g["change"].mean() - truth.loc[analyte, f"change.{arm}"]) < 4 * se, (analyte, arm)
    skin = study.measurements.pivot_table(
        index="participant_id", columns=["visit", "outcome"], values="value"
    )
    dt = (skin["week16"]["dermal_thickness"] - skin["week0"]["dermal_thickness"]).rename("dt")
    ccl = wide[wide["analyte"] == "CCL28"].set_index("participant_id").join(dt)
    resid = ccl.groupby("arm")[["change", "dt"]].transform(lambda x: x - x.mean())
    assert_allclose(resid.corr().iloc[0, 1], -0.7, atol=0.1)
    q = pd.read_csv(io.StringIO(study.files["qpcr.csv"].decode("utf-8")))
    q["ct"] = pd.to_numeric(q["ct"], errors="coerce")
    m = q.groupby(["participant_id", "visit", "gene"])["ct"].mean().unstack("gene")
    dct = m["BGN"] - (m["GAPDH"] + m["ACTB"]) / 2
    change = -(dct.xs("week16", level="visit") - dct.xs("week0", level="visit"))
    by_arm = change.groupby(study.participants.set_index("participant_id")["arm"]).mean()
    assert by_arm["RT"] > by_arm["AT"] > 0


def test_calibration_rows_are_sourced_and_documented():
    table = calibration_table()
    rows = (*_sim_serum.CALIBRATION, *_sim_qpcr.CALIBRATION)
    names = {r.name for r in rows}
    assert names <= set(table["name"]) and table["name"].is_unique
    mine = table[table["name"].isin(names)]
    assert (mine["source"].str.contains("paper.md") | mine["source"].str.startswith("assumption:")).all()
    docs = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"
    text = docs.read_text("utf-8")
    listed = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+?) \|", text, re.M)}
    for r in rows:
        assert r.name in listed, f"{r.name} missing from docs/calibration.md"
        assert_allclose(float(listed[r.name]), r.value, rtol=1e-5, err_msg=r.name)
