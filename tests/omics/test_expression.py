"""Differential expression (design formulas, contrasts, moderated statistics) against R limma.

Reference: tests/reference/limma/make_limma.R (R 4.2.2, limma 3.54.1). Tolerance 1e-6 relative
(the issue's target; observed ~1e-11).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.omics._design import build_design, contrast_vector
from skintrial.omics.expression import DE_COLUMNS, differential_expression

REF = Path(__file__).resolve().parents[1] / "reference" / "limma"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kuehne2017_skin_aging"
RTOL = 1e-6


@pytest.fixture(scope="module")
def kuehne_de():
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip(f"skin-aging data not found at {DATA}")
    return differential_expression(
        DATA / "expression_log2.csv.gz",
        DATA / "samples.csv",
        design="~ condition + slide",
        contrast="condition: old - young",
    )


@pytest.mark.rlimma
def test_kuehne_matches_limma_toptable(kuehne_de):
    ref = pd.read_csv(REF / "kuehne_toptable.csv.gz")
    assert list(kuehne_de.columns) == list(DE_COLUMNS)
    assert kuehne_de["gene"].tolist() == ref["gene"].tolist()
    for ours, theirs in [
        ("log_fc", "logFC"),
        ("ave_expr", "AveExpr"),
        ("t", "t"),
        ("p", "P.Value"),
        ("p_adj", "adj.P.Val"),
        ("b", "B"),
        ("ci_low", "CI.L"),
        ("ci_high", "CI.R"),
    ]:
        assert_allclose(kuehne_de[ours], ref[theirs], rtol=RTOL, err_msg=ours)
    hyper = pd.read_csv(REF / "kuehne_hyper.csv").iloc[0]
    assert_allclose(kuehne_de.attrs["df_prior"], hyper["df_prior"], rtol=RTOL)
    assert_allclose(kuehne_de.attrs["var_prior"], hyper["s2_prior"], rtol=RTOL)
    assert (kuehne_de["status"] == "ok").all()


def test_reversed_contrast_flips_sign_only(kuehne_de):
    rev = differential_expression(
        DATA / "expression_log2.csv.gz",
        DATA / "samples.csv",
        design="~ condition + slide",
        contrast="condition: young - old",
    )
    assert_allclose(rev["t"], -kuehne_de["t"], rtol=1e-12)
    assert_allclose(rev["p"], kuehne_de["p"], rtol=1e-12)


def _paired():
    expr = pd.read_csv(REF / "paired_expr.csv")
    samples = pd.read_csv(REF / "paired_samples.csv")
    return expr, samples


def test_paired_design_with_missing_values_matches_limma(tmp_path):
    expr, samples = _paired()
    path = tmp_path / "expr.csv"
    expr.to_csv(path, index=False)
    de = differential_expression(path, samples, design="~ visit + participant", contrast="visit: post - pre")
    ref = pd.read_csv(REF / "paired_toptable.csv")
    for ours, theirs in [
        ("log_fc", "logFC"),
        ("ave_expr", "AveExpr"),
        ("t", "t"),
        ("p", "P.Value"),
        ("p_adj", "adj.P.Val"),
        ("b", "B"),
        ("df_total", "df.total"),
    ]:
        assert_allclose(de[ours], ref[theirs], rtol=RTOL, err_msg=ours)


def test_anndata_input_equals_csv_input():
    anndata = pytest.importorskip("anndata")
    expr, samples = _paired()
    mat = expr.set_index("gene")
    ad = anndata.AnnData(
        X=mat.T.to_numpy(), obs=samples.set_index("sample"), var=pd.DataFrame(index=mat.index)
    )
    a = differential_expression(ad, design="~ visit + participant", contrast="visit: post - pre")
    b = differential_expression(mat, samples, design="~ visit + participant", contrast="visit: post - pre")
    pd.testing.assert_frame_equal(a, b)


def test_sample_order_does_not_matter():
    expr, samples = _paired()
    mat = expr.set_index("gene")
    a = differential_expression(mat, samples, design="~ visit + participant", contrast="visit: post - pre")
    shuffled = samples.sample(frac=1.0, random_state=3)
    b = differential_expression(mat, shuffled, design="~ visit + participant", contrast="visit: post - pre")
    assert_allclose(b["t"], a["t"], rtol=1e-9)


def test_several_contrasts_are_stacked_contrast_major():
    rng = np.random.default_rng(4)
    samples = pd.DataFrame({"sample": [f"s{i}" for i in range(12)], "arm": ["CON", "AT", "RT"] * 4})
    mat = pd.DataFrame(
        rng.normal(size=(40, 12)), columns=samples["sample"], index=[f"g{i}" for i in range(40)]
    )
    de = differential_expression(mat, samples, design="~ arm", contrast=["arm: AT - CON", "arm: RT - CON"])
    assert de["contrast"].iloc[0] == "arm: AT - CON" and de["contrast"].iloc[40] == "arm: RT - CON"
    assert de["gene"].iloc[:40].tolist() == list(mat.index)
    mean = mat.T.groupby(samples.set_index("sample")["arm"]).mean().T
    assert_allclose(de["log_fc"].iloc[40:], mean["RT"] - mean["CON"], atol=1e-12)


def test_contrast_grammar():
    s = pd.DataFrame({"arm": ["CON", "AT", "RT"] * 2, "age": [30.5, 41, 52, 33, 47, 58]})
    d = build_design(s, "~ arm + age")
    assert d.params == ("intercept", "arm[CON]", "arm[RT]", "age")
    label, L = contrast_vector(d, "arm: 0.5*AT + 0.5*RT - CON")
    assert label == "arm: 0.5*AT + 0.5*RT - CON"
    assert_allclose(L, [0, -1, 0.5, 0])
    assert contrast_vector(d, "age")[1].tolist() == [0, 0, 0, 1]
    cm = build_design(s, "~ 0 + arm")
    assert cm.params == ("arm[AT]", "arm[CON]", "arm[RT]")


@pytest.mark.parametrize(
    ("formula", "contrast", "match"),
    [
        ("condition + slide", "condition: old - young", "start with '~'"),
        ("~ condition * batch", "condition: old - young", "depends on batch"),
        ("~ condition ^ batch", "condition: old - young", "operator"),
        ("~ conditon", "condition: old - young", "not a column"),
        ("~ condition", "condition: old - middle", "levels of condition are old, young"),
        ("~ condition", "slide: a - b", "not a term"),
        ("~ condition", "condition: old", "do not sum to zero"),
        ("~ condition + age", "condition: old - young", "whole numbers"),
        ("~ condition + batch", "condition: old - young", "cannot be estimated"),
    ],
)
def test_input_errors_name_the_problem_and_the_fix(formula, contrast, match):
    samples = pd.DataFrame(
        {
            "sample": list("abcdef"),
            "condition": ["old", "young"] * 3,
            "age": [60, 20, 61, 22, 66, 25],
            "batch": ["x", "y"] * 3,
        }
    )
    mat = pd.DataFrame(np.arange(36.0).reshape(6, 6) % 7, columns=list("abcdef"))
    with pytest.raises(InputError, match=match) as err:
        differential_expression(mat, samples, design=formula, contrast=contrast)
    assert "Fix:" in str(err.value)


def test_mismatched_samples_are_all_reported(tmp_path):
    mat = pd.DataFrame(np.ones((3, 3)), columns=["a", "b", "zz"])
    samples = pd.DataFrame({"sample": ["a", "b", "c"], "g": ["x", "y", "y"]})
    path = tmp_path / "samples.csv"
    samples.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        differential_expression(mat, path, design="~ g", contrast="g: y - x")
    text = str(err.value)
    assert "2 problems" in text and "row 4" in text and "zz" in text and "samples.csv" in text


def test_non_numeric_expression_cell_is_located(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_text("gene,a,b,c,d\ng1,1,2,3,4\ng2,1,oops,3,4\n")
    samples = pd.DataFrame({"sample": list("abcd"), "g": ["x", "y"] * 2})
    with pytest.raises(InputError, match=r"expr.csv, row 3, column 'b'.*'oops'"):
        differential_expression(path, samples, design="~ g", contrast="g: y - x")


def test_quoted_numbers_are_factors_and_c_forces_one(tmp_path):
    rng = np.random.default_rng(8)
    mat = pd.DataFrame(rng.normal(size=(30, 8)), columns=[f"s{i}" for i in range(8)])
    path = tmp_path / "samples.csv"
    path.write_text("sample,slide,g\n" + "".join(f'"s{i}","{100 + i % 3}",{"xy"[i % 2]}\n' for i in range(8)))
    a = differential_expression(mat, path, design="~ g + slide", contrast="g: y - x")
    unquoted = pd.read_csv(path)
    b = differential_expression(mat, unquoted, design="~ g + C(slide)", contrast="g: y - x")
    assert_allclose(a["t"], b["t"], rtol=1e-12)
    assert a["df_total"].iloc[0] > 8 - 4  # slide took 2 columns: residual df 4 plus d0


@pytest.mark.rlimma
def test_trend_option_matches_limma_trend():
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip(f"skin-aging data not found at {DATA}")
    de = differential_expression(
        DATA / "expression_log2.csv.gz",
        DATA / "samples.csv",
        design="~ condition + slide",
        contrast="condition: old - young",
        trend=True,
    )
    ref = pd.read_csv(REF / "kuehne_trend.csv.gz")
    assert_allclose(de["t"], ref["t"], rtol=RTOL)
    assert_allclose(de["p"], ref["P.Value"], rtol=RTOL)
    assert_allclose(de.attrs["var_prior"], ref["s2.prior"], rtol=RTOL)


def test_tsv_and_excel_inputs_give_the_csv_result(tmp_path):
    expr, samples = _paired()
    mat = expr.dropna()
    csv_path, tsv_path, xlsx_path = tmp_path / "e.csv", tmp_path / "my.expr.tsv", tmp_path / "s.xlsx"
    mat.to_csv(csv_path, index=False)
    mat.to_csv(tsv_path, index=False, sep="\t")
    samples.to_excel(xlsx_path, index=False)
    kw = {"design": "~ visit + participant", "contrast": "visit: post - pre"}
    a = differential_expression(csv_path, samples, **kw)
    b = differential_expression(tsv_path, xlsx_path, **kw)
    assert_allclose(b["t"], a["t"], rtol=1e-12)


TWO_ARM = [
    "arm_visit: RT_post - RT_pre",
    "arm_visit: AT_post - AT_pre",
    "arm_visit: RT_post - RT_pre - AT_post + AT_pre",
]


def test_two_arm_paired_design_matches_limma_with_non_estimable_column_dropped():
    de = differential_expression(
        REF / "twoarm_expr.csv",
        REF / "twoarm_samples.csv",
        design="~ participant + arm_visit",
        contrast=TWO_ARM,
    )
    ref = pd.read_csv(REF / "twoarm_results.csv")
    assert de.attrs["not_estimable"]  # the arm main effect lives in the participants
    G = len(ref)
    for j, col in enumerate(["t_rt", "t_at", "t_rt_vs_at"]):
        block = de.iloc[j * G : (j + 1) * G]
        assert (block["contrast"] == TWO_ARM[j]).all()
        assert_allclose(block["t"], ref[col], rtol=RTOL, err_msg=col)
    assert_allclose(de["p"].iloc[2 * G :], ref["p_rt_vs_at"], rtol=RTOL)
    assert_allclose(de.attrs["df_prior"], ref["df_prior"].iloc[0], rtol=RTOL)
    assert_allclose(de.attrs["var_prior"], ref["s2_prior"].iloc[0], rtol=RTOL)


def test_between_arm_contrast_confounded_with_participants_is_refused():
    with pytest.raises(InputError, match="cannot be estimated") as err:
        differential_expression(
            REF / "twoarm_expr.csv",
            REF / "twoarm_samples.csv",
            design="~ participant + arm_visit",
            contrast="arm_visit: RT_pre - AT_pre",
        )
    assert "not estimable: " in str(err.value) and "Fix:" in str(err.value)


def test_robust_option_is_passed_through_and_refused_with_trend():
    expr, samples = _paired()
    kw = {"design": "~ visit + participant", "contrast": "visit: post - pre"}
    de = differential_expression(expr.set_index("gene"), samples, robust=True, **kw)
    ref = pd.read_csv(REF / "paired_robust.csv")
    assert_allclose(de["t"], ref["t"], rtol=RTOL)
    assert_allclose(de.attrs["df_prior"], ref["df.prior"], rtol=RTOL)
    with pytest.raises(InputError, match="trend and robust"):
        differential_expression(expr.set_index("gene"), samples, robust=True, trend=True, **kw)


def test_duplicate_and_empty_gene_ids_are_errors(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_text("gene,a,b,c,d\ng1,1,2,3,4\ng2,1,2,3,4\ng1,2,2,3,4\n,1,2,3,5\ng2,1,1,1,1\n")
    samples = pd.DataFrame({"sample": list("abcd"), "g": ["x", "y"] * 2})
    with pytest.raises(InputError) as err:
        differential_expression(path, samples, design="~ g", contrast="g: y - x")
    text = str(err.value)
    assert "2 problems" in text
    assert "empty at rows 5" in text
    assert "'g1' at rows 2, 4; 'g2' at rows 3, 6" in text and "Fix:" in text


def test_duplicate_gene_ids_in_a_dataframe_or_anndata_are_errors():
    anndata = pytest.importorskip("anndata")
    mat = pd.DataFrame(np.arange(24.0).reshape(6, 4) % 5, columns=list("abcd"), index=list("xyzxuv"))
    samples = pd.DataFrame({"sample": list("abcd"), "g": ["x", "y"] * 2})
    with pytest.raises(InputError, match=r"'x' at index positions 0, 3"):
        differential_expression(mat, samples, design="~ g", contrast="g: y - x")
    with pytest.warns(UserWarning, match="not unique"):
        ad = anndata.AnnData(
            X=mat.T.to_numpy(), obs=samples.set_index("sample"), var=pd.DataFrame(index=mat.index)
        )
    with pytest.raises(InputError, match=r"'x' at var positions 0, 3"):
        differential_expression(ad, design="~ g", contrast="g: y - x")


def test_h5ad_with_repeated_var_names_is_an_error_not_a_warning(tmp_path):
    anndata = pytest.importorskip("anndata")
    samples = pd.DataFrame({"sample": list("abcd"), "g": ["x", "y"] * 2})
    ad = anndata.AnnData(
        X=np.arange(16.0).reshape(4, 4) % 3,
        obs=samples.set_index("sample"),
        var=pd.DataFrame(index=["k1", "k2", "k3", "k4"]),
    )
    ad.var_names = ["k1", "k2", "k1", "k4"]  # setting names does not warn; reading them back does
    path = tmp_path / "d.h5ad"
    ad.write_h5ad(path)
    with pytest.raises(InputError, match=r"d.h5ad.*'k1' at var positions 0, 2"):
        differential_expression(path, design="~ g", contrast="g: y - x")
