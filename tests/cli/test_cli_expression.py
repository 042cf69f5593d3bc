"""`skintrial expression` through typer's CliRunner on the shared app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.omics.enrichment import CAMERA_COLUMNS
from skintrial.omics.expression import DE_COLUMNS

HERE = Path(__file__).resolve()
DATA = HERE.parents[2] / ".." / "shared" / "data" / "kuehne2017_skin_aging"
REF = HERE.parents[1] / "reference" / "limma"
runner = CliRunner()


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/kuehne2017_skin_aging not present")
def test_expression_command_reproduces_limma_and_runs_camera(tmp_path):
    out = tmp_path / "res" / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(DATA / "expression_log2.csv.gz"),
            "--samples",
            str(DATA / "samples.csv"),
            "--design",
            "~ condition + slide",
            "--contrast",
            "condition: old - young",
            "--out",
            str(out),
            "--genesets",
            "ecm",
        ],
    )
    assert r.exit_code == 0, r.output
    de = pd.read_csv(out)
    assert list(de.columns) == list(DE_COLUMNS)
    ref = pd.read_csv(REF / "kuehne_toptable.csv.gz")
    assert_allclose(de["t"], ref["t"], rtol=1e-6)
    assert_allclose(de["p_adj"], ref["adj.P.Val"], rtol=1e-6)
    cam = pd.read_csv(tmp_path / "res" / "de.camera.csv")
    assert list(cam.columns) == list(CAMERA_COLUMNS)
    rc = pd.read_csv(REF / "camera.csv")
    rc = rc[rc["run"] == "fixed"].set_index("set").loc[cam["set"]]
    assert_allclose(cam["p"], rc["p"], rtol=1e-6)


def test_paired_design_and_estimated_correlation(tmp_path):
    expr = pd.read_csv(REF / "paired_expr.csv").dropna()
    ep = tmp_path / "expr.csv"
    expr.to_csv(ep, index=False)
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("FIRST30\tshifted\t" + "\t".join(f"g{i:03d}" for i in range(1, 31)) + "\n")
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(ep),
            "--samples",
            str(REF / "paired_samples.csv"),
            "--design",
            "~ visit + participant",
            "--contrast",
            "visit: post - pre",
            "--out",
            str(out),
            "--genesets",
            str(gmt),
            "--inter-gene-cor",
            "estimate",
        ],
    )
    assert r.exit_code == 0, r.output
    cam = pd.read_csv(tmp_path / "de.camera.csv")
    assert cam.loc[0, "correlation_source"] == "estimated"
    assert cam.loc[0, "direction"] == "up" and cam.loc[0, "p"] < 1e-6


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--design", "~ visit * participant"], "no residual degrees of freedom"),
        (["--design", "~ visit + participant:visit"], "needs both main effects"),
        (
            [
                "--design",
                "~ visit + participant",
                "--counts",
                "--genesets",
                "ecm",
                "--inter-gene-cor",
                "estimate",
            ],
            "a count is missing",
        ),
        (["--design", "~ visit + participant", "--genesets", "missing.gmt"], "missing.gmt"),
        (
            ["--design", "~ visit + participant", "--inter-gene-cor", "lots", "--genesets", "ecm"],
            "inter-gene-cor",
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(REF / "paired_expr.csv"),
            "--samples",
            str(REF / "paired_samples.csv"),
            "--contrast",
            "visit: post - pre",
            "--out",
            str(out),
            *args,
        ],
    )
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert not out.exists()


@pytest.mark.parametrize("flag", ["--robust", "--trend"])
def test_robust_and_trend_flags(tmp_path, flag):
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(REF / "paired_expr.csv"),
            "--samples",
            str(REF / "paired_samples.csv"),
            "--design",
            "~ visit + participant",
            "--contrast",
            "visit: post - pre",
            "--out",
            str(out),
            flag,
        ],
    )
    assert r.exit_code == 0, r.output
    de = pd.read_csv(out)
    assert list(de.columns) == list(DE_COLUMNS) and len(de) == 300


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("junk.h5ad", b"this is not an HDF5 file", "cannot read the file as AnnData"),
        ("empty.csv", b"", "cannot read the file"),
        ("gone.h5ad", None, "file not found"),
    ],
)
def test_unreadable_expression_file_exits_2_naming_it(tmp_path, name, content, needle):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(path),
            "--samples",
            str(REF / "paired_samples.csv"),
            "--design",
            "~ visit + participant",
            "--contrast",
            "visit: post - pre",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2, (r.output, r.exception)
    text = " ".join(r.output.split())
    assert name in text and needle in text and "Fix:" in text
    assert not out.exists()


def test_duplicate_gene_ids_exit_2_naming_genes_and_rows(tmp_path):
    expr = pd.read_csv(REF / "paired_expr.csv")
    expr.loc[4, "gene"] = expr.loc[1, "gene"]  # spreadsheet rows 3 and 6
    path = tmp_path / "expr.csv"
    expr.to_csv(path, index=False)
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(path),
            "--samples",
            str(REF / "paired_samples.csv"),
            "--design",
            "~ visit + participant",
            "--contrast",
            "visit: post - pre",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2, (r.output, r.exception)
    text = " ".join(r.output.split())
    gene = expr.loc[1, "gene"]
    assert f"'{gene}' at rows 3, 6" in text and "expr.csv" in text and "Fix:" in text
    assert not out.exists()


def test_expression_matrix_without_samples_asks_for_the_option(tmp_path):
    m = tmp_path / "expr.csv"
    m.write_text("gene,a,b,c,d\nG1,1,2,3,4\nG2,2,3,4,5\n")
    r = runner.invoke(
        app,
        [
            "expression",
            str(m),
            "--design",
            "~ condition",
            "--contrast",
            "condition: b - a",
            "--out",
            str(tmp_path / "de.csv"),
        ],
    )
    assert r.exit_code == 2, (r.output, r.exception)
    assert "--samples" in r.output and "samples=" not in r.output and not (tmp_path / "de.csv").exists()


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/kuehne2017_skin_aging not present")
def test_trend_is_passed_to_camera_as_trend_var(tmp_path):
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(DATA / "expression_log2.csv.gz"),
            "--samples",
            str(DATA / "samples.csv"),
            "--design",
            "~ condition + slide",
            "--contrast",
            "condition: old - young",
            "--trend",
            "--genesets",
            "ecm",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    cam = pd.read_csv(tmp_path / "de.camera.csv")
    rc = pd.read_csv(REF / "camera.csv")
    rc = rc[rc["run"] == "trend"].set_index("set").loc[cam["set"]]  # limma camera(trend.var = TRUE)
    assert_allclose(cam["p"], rc["p"], rtol=1e-6)


def test_expression_command_takes_counts(tmp_path):
    voom = HERE.parents[1] / "reference" / "voom"
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(voom / "counts.csv"),
            "--counts",
            "--samples",
            str(voom / "samples.csv"),
            "--design",
            "~ condition + batch",
            "--contrast",
            "condition: b - a",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    de = pd.read_csv(out)
    assert list(de.columns) == list(DE_COLUMNS)
    ref = pd.read_csv(voom / "voom_toptable.csv.gz")
    assert_allclose(de["t"], ref["t"], rtol=1e-6)
    assert_allclose(de["p"], ref["P.Value"], rtol=1e-6)


def test_expression_command_ora_on_counts(tmp_path):
    voom = HERE.parents[1] / "reference" / "voom"
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(voom / "counts.csv"),
            "--counts",
            "--samples",
            str(voom / "samples.csv"),
            "--design",
            "~ condition + batch",
            "--contrast",
            "condition: b - a",
            "--out",
            str(out),
            "--genesets",
            str(voom / "voom_sets.gmt"),
            "--ora",
            "0.05",
        ],
    )
    assert r.exit_code == 0, r.output
    ora = pd.read_csv(tmp_path / "de.ora.csv").set_index("set")
    cam = pd.read_csv(tmp_path / "de.camera.csv").set_index("set")
    assert ora.loc["UP_TRUE", "p_adj"] < 1e-10 and ora.loc["RANDOM_50", "p"] > 0.01
    assert cam.loc["UP_TRUE", "direction"] == "up"
    assert ora["background"].iat[0].endswith("fitted genes")


def test_expression_command_random_block(tmp_path):
    samples = pd.read_csv(REF / "twoarm_samples.csv")
    samples[["arm", "visit"]] = samples["arm_visit"].str.split("_", expand=True)
    spath = tmp_path / "samples.csv"
    samples.to_csv(spath, index=False)
    out = tmp_path / "de.csv"
    r = runner.invoke(
        app,
        [
            "expression",
            str(REF / "twoarm_expr.csv"),
            "--samples",
            str(spath),
            "--design",
            "~ arm * visit",
            "--contrast",
            "visit: post - pre | arm: RT - AT",
            "--block",
            "participant",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "within-participant correlation 0.919" in r.output
    ref = pd.read_csv(HERE.parents[1] / "reference" / "dupcor" / "dupcor_twoarm.csv")
    assert_allclose(pd.read_csv(out)["t"], ref["t_diff"], rtol=1e-6)
