"""qPCR: published results of the R ``pcr`` package data, R t.test/lm references, hand cases, properties.

Tolerances: values recomputed by R (``tests/reference/qpcr/make_qpcr_reference.R``) to 1e-10 relative
(closed forms); values printed in the pcr vignette / research notes to half a unit of their last
printed digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.omics.qpcr import (
    RESULT_COLUMNS,
    aggregate_replicates,
    clean_ct,
    efficiency_table,
    genorm,
    normfinder,
    paired_relative_expression,
    read_ct,
    relative_expression,
    standard_curve,
)

HERE = Path(__file__).resolve()
DATA = HERE.parents[2] / ".." / "shared" / "data" / "pcr_ct"
REF = HERE.parents[1] / "reference" / "qpcr"
RTOL = 1e-10
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/pcr_ct not present")
TISSUE = ["brain"] * 6 + ["kidney"] * 6


def _long(name: str, groups: list[str], genes: list[str]) -> pd.DataFrame:
    wide = pd.read_csv(DATA / name)
    wide["group"] = groups
    wide["sample"] = [f"{g}{i}" for i, g in enumerate(groups)]
    return wide.melt(id_vars=["sample", "group"], value_vars=genes, var_name="gene", value_name="ct")


@pytest.fixture(scope="module")
def pcr_ref() -> dict[tuple[str, str], float]:
    ref = pd.read_csv(REF / "pcr_reference.csv")
    return {(d, q): v for d, q, v in ref.itertuples(index=False)}


def near(actual, desired, atol):
    """|actual - desired| <= atol elementwise (atol may differ per element: printed precisions)."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    assert np.all(np.abs(actual - desired) <= np.asarray(atol)), f"{actual} vs {desired} (atol {atol})"


def _row(result, group):
    t = result.table
    return t.loc[t["group"] == group].iloc[0]


# --- the pcr package's data sets ------------------------------------------------------------------


@needs_data
def test_ct1_separate_tubes_reproduce_pcr(pcr_ref):
    res = relative_expression(
        _long("pcr_ct1.csv", TISSUE, ["c_myc", "GAPDH"]),
        reference_genes="GAPDH",
        control_group="brain",
        pairing="none",
    )
    brain, kidney = _row(res, "brain"), _row(res, "kidney")
    r = lambda q: pcr_ref[("ct1", q)]  # noqa: E731
    assert_allclose([brain.delta_ct, kidney.delta_ct], [r("delta_ct_brain"), r("delta_ct_kidney")], rtol=RTOL)
    assert_allclose([brain.delta_ct_sd, kidney.delta_ct_sd], [r("error_brain"), r("error_kidney")], rtol=RTOL)
    assert_allclose(
        [kidney.delta_delta_ct, kidney.fold_change, kidney.fc_sd_low, kidney.fc_sd_high],
        [r("delta_delta_ct"), r("fold_change"), r("fc_sd_low"), r("fc_sd_high")],
        rtol=RTOL,
    )
    # research notes [measured]: 6.860, 4.365, -2.495, RE 5.637, error 0.0954, range 5.276-6.023
    assert_allclose(
        [brain.delta_ct, kidney.delta_ct, kidney.delta_delta_ct], [6.860, 4.365, -2.495], atol=5e-4
    )
    assert_allclose([kidney.fold_change, kidney.delta_ct_sd], [5.637, 0.0954], atol=5e-4)
    assert_allclose([kidney.fc_sd_low, kidney.fc_sd_high], [5.276, 6.023], atol=5e-4)
    # vignette Table 1, printed to 2 (RE: 1) decimals: 6.86, 4.37, -2.50, RE 5.6 (5.3-6.0)
    assert_allclose([brain.delta_ct, kidney.delta_ct, kidney.delta_delta_ct], [6.86, 4.37, -2.50], atol=5e-3)
    assert_allclose([kidney.fold_change, kidney.fc_sd_low, kidney.fc_sd_high], [5.6, 5.3, 6.0], atol=0.05)


@needs_data
def test_ct1_separate_tubes_student_is_the_role_by_group_linear_model(pcr_ref):
    res = relative_expression(
        _long("pcr_ct1.csv", TISSUE, ["c_myc", "GAPDH"]),
        reference_genes="GAPDH",
        control_group="brain",
        pairing="none",
        test="student",
    )
    k = _row(res, "kidney")
    got = [k.delta_delta_ct, k.se, k.ci_low, k.ci_high, k.p]
    want = [pcr_ref[("ct1", f"student_{q}")] for q in ("estimate", "se", "ci_low", "ci_high", "p")]
    assert_allclose(got, want, rtol=1e-9)
    assert k.test == "student_t"


@needs_data
def test_ct1_separate_tubes_welch_by_hand():
    wide = pd.read_csv(DATA / "pcr_ct1.csv")
    res = relative_expression(
        _long("pcr_ct1.csv", TISSUE, ["c_myc", "GAPDH"]),
        reference_genes="GAPDH",
        control_group="brain",
        pairing="none",
    )
    k = _row(res, "kidney")
    parts = [
        wide[g].iloc[sl].var(ddof=1) / 6 for g in ("c_myc", "GAPDH") for sl in (slice(0, 6), slice(6, 12))
    ]
    se = np.sqrt(sum(parts))
    df = sum(parts) ** 2 / sum(a * a / 5 for a in parts)
    from scipy import stats

    assert_allclose([k.se, k.df], [se, df], rtol=1e-12)
    assert_allclose(k.p, 2 * stats.t.sf(abs(k.delta_delta_ct) / se, df), rtol=1e-10)
    assert res.delta_ct.empty and k.test == "welch_t"


@needs_data
def test_ct2_same_tube_reproduces_pcr(pcr_ref):
    res = relative_expression(
        _long("pcr_ct2.csv", TISSUE, ["c_myc", "GAPDH"]), reference_genes="GAPDH", control_group="brain"
    )
    brain, kidney = _row(res, "brain"), _row(res, "kidney")
    r = lambda q: pcr_ref[("ct2", q)]  # noqa: E731
    assert_allclose(
        [brain.delta_ct, kidney.delta_ct, brain.delta_ct_sd, kidney.delta_ct_sd],
        [r("delta_ct_brain"), r("delta_ct_kidney"), r("sd_brain"), r("sd_kidney")],
        rtol=RTOL,
    )
    assert_allclose(
        [kidney.delta_delta_ct, kidney.fold_change, kidney.fc_sd_low, kidney.fc_sd_high],
        [r("delta_delta_ct"), r("fold_change"), r("fc_sd_low"), r("fc_sd_high")],
        rtol=RTOL,
    )
    # vignette Table 3: 6.99 +- 0.21 vs 4.47 +- 0.14; ddCt -2.53; RE 5.77 (5.23-6.37); notes: SD 0.1425.
    # The table truncates brain's 6.9967 to 6.99 (Livak 2001 prints the same), hence one unit for it.
    near(
        [brain.delta_ct, kidney.delta_ct, brain.delta_ct_sd, kidney.delta_ct_sd],
        [6.99, 4.47, 0.21, 0.14],
        [1e-2, 5e-3, 5e-3, 5e-3],
    )
    near(
        [kidney.delta_delta_ct, kidney.fold_change, kidney.fc_sd_low, kidney.fc_sd_high],
        [-2.53, 5.77, 5.23, 6.37],
        [5e-3, 1e-2, 5e-3, 1e-2],
    )
    assert_allclose(kidney.delta_ct_sd, 0.1425, atol=5e-5)
    assert kidney.test == "welch_t" and np.isnan(brain.p) and brain.fold_change == 1.0


@needs_data
@pytest.mark.parametrize(
    "name,groups,genes,control,treated",
    [
        ("ct2", TISSUE, ["c_myc", "GAPDH"], "brain", "kidney"),
        ("ct4", ["control"] * 12 + ["treatment"] * 12, ["target", "ref"], "control", "treatment"),
    ],
)
@pytest.mark.parametrize("test", ["welch", "student"])
def test_t_tests_match_r(pcr_ref, name, groups, genes, control, treated, test):
    data = _long(f"pcr_{name}.csv", groups, genes)
    res = relative_expression(data, reference_genes=genes[1], control_group=control, test=test)
    row = _row(res, treated)
    got = [row.delta_delta_ct, row.ci_low, row.ci_high, row.t, row.df, row.p]
    want = [pcr_ref[(name, f"{test}_{q}")] for q in ("estimate", "ci_low", "ci_high", "t", "df", "p")]
    assert_allclose(got, want, rtol=1e-9)
    assert_allclose([row.fc_low, row.fc_high], 2.0 ** -np.array([row.ci_high, row.ci_low]), rtol=RTOL)


@needs_data
def test_ct4_published_yuan_values():
    data = _long("pcr_ct4.csv", ["control"] * 12 + ["treatment"] * 12, ["target", "ref"])
    student = _row(
        relative_expression(data, reference_genes="ref", control_group="control", test="student"), "treatment"
    )
    welch = _row(relative_expression(data, reference_genes="ref", control_group="control"), "treatment")
    # vignette Table 6 (Yuan 2006) t-test row: -0.6848, CI (-0.955, -0.4147): the equal-variance test
    assert_allclose(student.delta_delta_ct, -0.6848, atol=5e-5)
    near([student.ci_low, student.ci_high], [-0.955, -0.4147], [5e-4, 5e-5])
    assert student.p < 1e-4
    # research notes [measured]: Student p 2.83e-5; Welch CI (-0.95595, -0.41370), p 3.43e-5
    assert_allclose([student.p, welch.p], [2.83e-5, 3.43e-5], rtol=2e-3)
    assert_allclose([welch.ci_low, welch.ci_high], [-0.95595, -0.41370], atol=5e-6)


@needs_data
def test_ct3_standard_curves(pcr_ref):
    wide = pd.read_csv(DATA / "pcr_ct3.csv")
    wide["amount"] = np.repeat([1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01], 3)
    curve = standard_curve(wide.melt(id_vars="amount", var_name="gene", value_name="ct")).table.set_index(
        "gene"
    )
    for gene in ("c_myc", "GAPDH"):
        for q in (
            "slope",
            "intercept",
            "r_squared",
            "slope_se",
            "amplification_factor",
            "efficiency_low",
            "efficiency_high",
        ):
            assert_allclose(curve.loc[gene, q], pcr_ref[(f"ct3_{gene}", q)], rtol=1e-9, err_msg=f"{gene} {q}")
    # research notes [measured]: c-myc -3.388, 25.697, R2 0.9966, E 1.973; GAPDH -3.415, 22.682, 0.999, 1.963
    cols = ["slope", "intercept", "r_squared", "amplification_factor"]
    near(curve.loc["c_myc", cols].to_numpy(float), [-3.388, 25.697, 0.9966, 1.973], [5e-4, 5e-4, 5e-5, 5e-4])
    near(curve.loc["GAPDH", cols].to_numpy(float), [-3.415, 22.682, 0.999, 1.963], 5e-4)
    assert_allclose(curve["efficiency"].to_numpy(), [0.973, 0.963], atol=5e-4)  # "near 97% and 96%"
    assert curve.loc["c_myc", "range_low"] == 0.01 and curve.loc["c_myc", "n_levels"] == 7


# --- the paired pre/post design, against R t.test --------------------------------------------------


def test_paired_design_matches_r():
    data = pd.read_csv(REF / "paired_design.csv")
    ref = pd.read_csv(REF / "paired_reference.csv").set_index(["contrast", "gene", "quantity"])["value"]
    for test in ("welch", "student"):
        t = paired_relative_expression(
            data, reference_genes="GAPDH", pre="pre", post="post", reference_arm="AT", test=test
        ).table
        for gene in ("COL1A1", "BGN"):
            for arm in ("AT", "RT"):
                row = t.loc[(t.gene == gene) & (t.group == arm) & (t.test == "paired_t")].iloc[0]
                assert_allclose(
                    [row.delta_delta_ct, row.ci_low, row.ci_high, row.p, row.df],
                    [ref[(arm, gene, q)] for q in ("estimate", "ci_low", "ci_high", "p", "df")],
                    rtol=1e-9,
                )
                assert row.n == 7 and row.contrast == "post - pre"
            row = t.loc[(t.gene == gene) & (t.contrast == "RT - AT (post - pre)")].iloc[0]
            assert_allclose(
                [row.delta_delta_ct, row.ci_low, row.ci_high, row.p, row.df],
                [ref[(f"RT - AT {test}", gene, q)] for q in ("estimate", "ci_low", "ci_high", "p", "df")],
                rtol=1e-9,
            )
            assert row.test == f"{test}_t"
            assert_allclose(row.fold_change, 2.0**-row.delta_delta_ct, rtol=RTOL)


def test_paired_design_ancova_between_arms_matches_statsmodels():
    import statsmodels.formula.api as smf

    data = pd.read_csv(REF / "paired_design.csv")
    res = paired_relative_expression(data, reference_genes="GAPDH", pre="pre", post="post", between="ancova")
    t = res.table
    dct = res.delta_ct.pivot(
        index=["participant", "group", "gene"], columns="visit", values="delta_ct"
    ).reset_index()
    for gene in ("COL1A1", "BGN"):
        fit = smf.ols("post ~ C(group, Treatment('AT')) + pre", data=dct.loc[dct.gene == gene]).fit()
        name = "C(group, Treatment('AT'))[T.RT]"
        ci = fit.conf_int().loc[name]
        row = t.loc[(t.gene == gene) & (t.test == "ancova")].iloc[0]
        assert_allclose(
            [row.delta_delta_ct, row.se, row.p, row.ci_low, row.ci_high, row.df],
            [fit.params[name], fit.bse[name], fit.pvalues[name], ci[0], ci[1], fit.df_resid],
            rtol=1e-9,
        )


def test_paired_design_lists_participants_without_both_visits():
    data = pd.read_csv(REF / "paired_design.csv")
    data = data.loc[data["sample"] != "P3_post"]
    res = paired_relative_expression(data, reference_genes="GAPDH", pre="pre", post="post")
    ex = res.exclusions
    assert ex.loc[ex.stage == "paired", ["sample", "reason"]].values.tolist() == [
        ["participant P3", "no_post_sample"]
    ]
    t = res.table
    assert t.loc[(t.group == "AT") & (t.test == "paired_t"), "n"].tolist() == [6, 6]


def test_paired_design_rejects_duplicate_visit_sample():
    data = pd.read_csv(REF / "paired_design.csv")
    extra = data.loc[data["sample"] == "P1_pre"].assign(sample="P1_pre_b")
    with pytest.raises(InputError, match="participant 'P1' has 2 samples at visit 'pre'"):
        paired_relative_expression(pd.concat([data, extra]), reference_genes="GAPDH", pre="pre", post="post")


# --- hand-computed cases ----------------------------------------------------------------------------


def _toy(ct_ref, ct_t, groups=("c", "c", "c", "t", "t", "t"), ref="R", tgt="T"):
    n = len(groups)
    return pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(n)] * 2,
            "group": list(groups) * 2,
            "gene": [ref] * n + [tgt] * n,
            "ct": list(ct_ref) + list(ct_t),
        }
    )


def test_pfaffl_ratio_by_hand():
    # control: ref 20, target 25; treated: ref 20.5, target 23 (every sample alike except noise-free)
    d = _toy([20, 20, 20, 20.5, 20.5, 20.5], [25, 25.1, 24.9, 23, 23.1, 22.9])
    e = pd.Series({"R": 1.9, "T": 1.8})
    t = relative_expression(d, reference_genes="R", control_group="c", method="pfaffl", efficiencies=e).table
    # Pfaffl 2001: ratio = E_T^(Ct_T,control - Ct_T,treated) / E_R^(Ct_R,control - Ct_R,treated)
    want = 1.8 ** (25 - 23) / 1.9 ** (20 - 20.5)
    assert_allclose(t.loc[t.group == "t", "fold_change"].iloc[0], want, rtol=1e-12)
    livak = relative_expression(d, reference_genes="R", control_group="c").table
    pf2 = relative_expression(
        d,
        reference_genes="R",
        control_group="c",
        method="pfaffl",
        efficiencies=pd.DataFrame({"gene": ["R", "T"], "efficiency": [100, 100]}),
    ).table
    assert_allclose(pf2["fold_change"], livak["fold_change"], rtol=1e-12)
    assert_allclose(livak.loc[1, "fold_change"], 2.0 ** (2 - (-0.5)), rtol=1e-12)


def test_two_reference_genes_use_the_geometric_mean_of_quantities():
    rows = []
    cts = {"c1": (20, 24, 26), "c2": (20.4, 24.2, 26.5), "t1": (21, 23, 24), "t2": (20.6, 23.4, 24.1)}
    for s, (r1, r2, tg) in cts.items():
        rows += [(s, s[0], "R1", r1), (s, s[0], "R2", r2), (s, s[0], "T", tg)]
    d = pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"])
    t = relative_expression(d, reference_genes=["R1", "R2"], control_group="c").table
    # normaliser quantity = sqrt(2^-R1 * 2^-R2) = 2^-(R1+R2)/2
    dct = {s: tg - (r1 + r2) / 2 for s, (r1, r2, tg) in cts.items()}
    ddct = (dct["t1"] + dct["t2"]) / 2 - (dct["c1"] + dct["c2"]) / 2
    assert_allclose(t.loc[t.group == "t", "delta_delta_ct"].iloc[0], ddct, rtol=1e-12)
    e = pd.Series({"R1": 1.9, "R2": 2.0, "T": 1.95})
    tp = relative_expression(
        d, reference_genes=["R1", "R2"], control_group="c", method="pfaffl", efficiencies=e
    ).table
    q = {s: np.log2(1.95) * tg - (np.log2(1.9) * r1 + r2) / 2 for s, (r1, r2, tg) in cts.items()}
    want = 2.0 ** -((q["t1"] + q["t2"]) / 2 - (q["c1"] + q["c2"]) / 2)
    assert_allclose(tp.loc[tp.group == "t", "fold_change"].iloc[0], want, rtol=1e-12)


def test_welch_and_student_batched_match_scipy_over_many_genes():
    from scipy import stats

    rng = np.random.default_rng(7)
    groups = ["a"] * 5 + ["b"] * 7 + ["c"] * 4
    rows = []
    for i, g in enumerate(groups):
        ref = 20 + rng.normal(0, 0.3)
        rows.append((f"s{i}", g, "REF", ref))
        for k in range(6):
            rows.append((f"s{i}", g, f"G{k}", ref + 5 + k * 0.1 * (g == "b") + rng.normal(0, 0.2 + 0.1 * k)))
    d = pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"])
    res = relative_expression(d, reference_genes="REF", control_group="a")
    dct = res.delta_ct.pivot(index="sample", columns="gene", values="delta_ct")
    grp = d.drop_duplicates("sample").set_index("sample")["group"].reindex(dct.index)
    for k in range(6):
        for g in ("b", "c"):
            want = stats.ttest_ind(dct.loc[grp == g, f"G{k}"], dct.loc[grp == "a", f"G{k}"], equal_var=False)
            row = res.table.loc[(res.table.gene == f"G{k}") & (res.table.group == g)].iloc[0]
            assert_allclose([row.t, row.p, row.df], [want.statistic, want.pvalue, want.df], rtol=1e-10)
    # Student with three groups: the pooled linear model dct ~ group (statsmodels OLS as oracle)
    import statsmodels.formula.api as smf

    stud = relative_expression(d, reference_genes="REF", control_group="a", test="student").table
    frame = dct.assign(group=grp.to_numpy())
    for k in range(6):
        fit = smf.ols(f"G{k} ~ C(group, Treatment('a'))", data=frame).fit()
        for g in ("b", "c"):
            name = f"C(group, Treatment('a'))[T.{g}]"
            row = stud.loc[(stud.gene == f"G{k}") & (stud.group == g)].iloc[0]
            assert_allclose(
                [row.delta_delta_ct, row.se, row.p],
                [fit.params[name], fit.bse[name], fit.pvalues[name]],
                rtol=1e-9,
            )


# --- Ct cleaning, replicates, exclusions -------------------------------------------------------------


def test_undetermined_and_late_wells_are_listed_never_silently_dropped():
    raw = pd.DataFrame(
        {
            "sample": ["a", "a", "a", "a", "b", "b", "b", "b"],
            "group": ["c"] * 4 + ["t"] * 4,
            "gene": ["R", "R", "T", "T"] * 2,
            "replicate": [1, 2, 1, 2] * 2,
            "ct": ["20.0", "20.2", "Undetermined", "36.1", "20.1", "No Ct", "25.0", "25.2"],
        }
    )
    clean, ex = clean_ct(raw, cutoff=35)
    assert len(clean) == 5
    assert ex[["row", "reason", "action"]].values.tolist() == [
        [4, "undetermined", "excluded"],
        [5, "above_cutoff", "excluded"],
        [7, "undetermined", "excluded"],
    ]
    sub, ex2 = clean_ct(raw, cutoff=40, undetermined="cutoff")
    assert len(sub) == 8 and (ex2["action"] == "set_to_cutoff").all() and len(ex2) == 2
    assert_allclose(sub.loc[sub["row"] == 4, "ct"], 40.0)
    kept = relative_expression(raw, reference_genes="R", control_group="c", cutoff=40, undetermined="cutoff")
    assert (kept.exclusions.action == "set_to_cutoff").sum() == 2
    assert_allclose(kept.replicates.set_index(["sample", "gene"]).loc[("a", "T"), "ct"], (40 + 36.1) / 2)
    res = relative_expression(raw, reference_genes="R", control_group="c", cutoff=35)
    ex = res.exclusions
    assert (ex.stage == "ct").sum() == 3
    assert ex.loc[ex.stage == "delta_ct", ["sample", "gene", "reason"]].values.tolist() == [
        ["a", "T", "no_ct_for_sample"]
    ]


def test_bad_ct_text_names_rows_and_column():
    raw = pd.DataFrame({"sample": ["a", "b", "c"], "group": "g", "gene": "R", "ct": ["20", "twenty", "-3"]})
    with pytest.raises(InputError) as err:
        clean_ct(raw)
    msg = str(err.value)
    assert "2 problems" in msg and "row 3, column 'ct'" in msg and "'twenty'" in msg and "row 4" in msg


def test_replicate_rules_and_sd_flag():
    clean = pd.DataFrame(
        {
            "sample": ["a"] * 3 + ["b"] * 2,
            "group": "g",
            "gene": "G",
            "ct": [20.0, 20.1, 21.5, 22.0, 22.2],
            "row": [2, 3, 4, 5, 6],
        }
    )
    mean, ex = aggregate_replicates(clean, rule="mean", max_sd=0.5)
    assert_allclose(mean["ct"], [np.mean([20, 20.1, 21.5]), 22.1])
    assert_allclose(mean["replicate_sd"], [np.std([20, 20.1, 21.5], ddof=1), np.std([22, 22.2], ddof=1)])
    assert mean["sd_flag"].tolist() == [True, False]
    assert ex[["sample", "action"]].values.tolist() == [["a", "flagged"]]
    med, _ = aggregate_replicates(clean, rule="median", max_sd=None)
    assert_allclose(med["ct"], [20.1, 22.1])
    dropped, ex = aggregate_replicates(clean, max_sd=0.5, high_sd="exclude")
    assert dropped["sample"].tolist() == ["b"] and ex["action"].tolist() == ["excluded"]


def test_missing_reference_gene_excludes_the_sample_and_says_so():
    d = _toy([20, 20, 20, 20.5, 20.5, 20.5], [25, 25.1, 24.9, 23, 23.1, 22.9])
    d["ct"] = d["ct"].astype(object)
    d.loc[(d["sample"] == "s4") & (d["gene"] == "R"), "ct"] = "Undetermined"
    res = relative_expression(d, reference_genes="R", control_group="c")
    ex = res.exclusions
    assert ex.loc[ex.stage == "delta_ct", ["sample", "reason"]].values.tolist() == [
        ["s4", "reference_gene_missing"]
    ]
    assert res.table.loc[res.table.group == "t", "n"].iloc[0] == 2


def test_input_errors_name_the_fix(tmp_path):
    d = _toy([20] * 6, [25] * 3 + [24] * 3)
    with pytest.raises(InputError, match="reference gene.*GAPDH.*not in the data"):
        relative_expression(d, reference_genes="GAPDH", control_group="c")
    with pytest.raises(InputError, match="control group 'x' not in the data"):
        relative_expression(d, reference_genes="R", control_group="x")
    with pytest.raises(InputError, match="needs amplification efficiencies"):
        relative_expression(d, reference_genes="R", control_group="c", method="pfaffl")
    with pytest.raises(InputError, match="no efficiency for gene"):
        relative_expression(
            d, reference_genes="R", control_group="c", method="pfaffl", efficiencies=pd.Series({"R": 2.0})
        )
    conflict = d.copy()
    conflict.loc[0, "group"] = "t"
    with pytest.raises(InputError, match="sample 's0' has more than one group"):
        relative_expression(conflict, reference_genes="R", control_group="c")
    (tmp_path / "ct.csv").write_text("sample,gene,ct\na,R,20\n")
    with pytest.raises(InputError, match="missing column\\(s\\) group"):
        read_ct(tmp_path / "ct.csv")


def test_read_ct_csv_and_excel_round_trip(tmp_path):
    d = _toy([20, 20.1, 19.9, 20.5, 20.4, 20.6], [25, 25.1, 24.9, 23, 23.1, "Undetermined"])
    d.to_csv(tmp_path / "ct.csv", index=False)
    d.rename(columns={"ct": "Cq", "gene": "Target Name"}).to_excel(tmp_path / "ct.xlsx", index=False)
    a = relative_expression(read_ct(tmp_path / "ct.csv"), reference_genes="R", control_group="c")
    b = relative_expression(read_ct(tmp_path / "ct.xlsx"), reference_genes="R", control_group="c")
    pd.testing.assert_frame_equal(a.table, b.table)
    ex = a.exclusions
    assert ex.loc[ex.stage == "ct", "row"].tolist() == [13]
    assert ex.loc[ex.stage == "delta_ct", ["sample", "gene"]].values.tolist() == [["s5", "T"]]


def test_numeric_labels_are_matched_as_text():
    d = _toy([20, 20.1, 19.9, 20.5, 20.4, 20.6], [25, 25.1, 24.9, 23, 23.1, 22.8], groups=(1, 1, 1, 2, 2, 2))
    t = relative_expression(d, reference_genes="R", control_group=1).table
    assert t["contrast"].tolist() == ["1 - 1", "2 - 1"]


def test_result_columns_never_depend_on_parameters():
    d = _toy([20, 20.1, 19.9, 20.5, 20.4, 20.6], [25, 25.1, 24.9, 23, 23.1, 22.8])
    for kw in ({}, {"test": "student", "ci_level": 0.9}, {"pairing": "none"}):
        assert (
            tuple(relative_expression(d, reference_genes="R", control_group="c", **kw).table.columns)
            == RESULT_COLUMNS
        )
    t90 = relative_expression(d, reference_genes="R", control_group="c", ci_level=0.9).table
    t95 = relative_expression(d, reference_genes="R", control_group="c").table
    assert (t90.ci_level == 0.9).all() and t90.loc[1, "ci_high"] - t90.loc[1, "ci_low"] < t95.loc[
        1, "ci_high"
    ] - t95.loc[1, "ci_low"]


# --- standard curves and efficiency tables ----------------------------------------------------------


def test_standard_curve_linear_range_auto_drops_the_flat_end():
    amount = np.repeat([1, 0.1, 0.01, 1e-3, 1e-4, 1e-5], 2)
    ct = 15 - 3.32 * np.log10(amount) + np.tile([0.05, -0.05], 6)
    ct[-2:] = [30.0, 30.2]  # the most dilute level is off the line (stochastic/plateau)
    d = pd.DataFrame({"gene": "G", "amount": amount, "ct": ct})
    full = standard_curve(d).table.iloc[0]
    auto = standard_curve(d, linear_range="auto", min_r_squared=0.999).table.iloc[0]
    fixed = standard_curve(d, linear_range=(1e-4, 1)).table.iloc[0]
    assert full.r_squared < 0.999 <= auto.r_squared
    assert auto.range_low == 1e-4 and auto.n_levels == 5 and auto.n == 10
    assert_allclose(auto.slope, fixed.slope, rtol=1e-12)
    assert_allclose(auto.amplification_factor, 10 ** (1 / 3.32), rtol=1e-3)


def test_efficiency_table_forms():
    assert_allclose(efficiency_table(pd.DataFrame({"gene": ["A"], "amplification_factor": [1.93]})), [1.93])
    assert_allclose(
        efficiency_table(pd.DataFrame({"Gene": ["A", "B"], "Efficiency": [93, 101]})), [1.93, 2.01]
    )
    with pytest.raises(InputError, match="outside"):
        efficiency_table(pd.DataFrame({"gene": ["A"], "amplification_factor": [3.5]}))
    with pytest.raises(InputError, match="twice"):
        efficiency_table(pd.DataFrame({"gene": ["A", "A"], "efficiency": [0.9, 0.95]}))


# --- reference-gene stability -----------------------------------------------------------------------


def _stability_data(seed=3, n=12):
    rng = np.random.default_rng(seed)
    sd = {"A": 0.1, "B": 0.25, "C": 0.4, "D": 0.7, "E": 1.0}
    rows = [
        (f"s{i}", "xy"[i % 2], g, 20 + i * 0.3 + s * rng.normal() + (0.8 * (i % 2) if g == "D" else 0))
        for i in range(n)
        for g, s in sd.items()
    ]
    return pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"])


def test_genorm_matches_the_definition_step_by_step():
    d = _stability_data()
    wide = d.pivot(index="sample", columns="gene", values="ct")
    res = genorm(d)
    genes = list("ABCDE")
    for step in sorted(res.m["step"].unique()):
        m = res.m.loc[res.m.step == step].set_index("gene")["m"]
        for j in m.index:  # V_jk = SD of log2(a_j/a_k) = SD of (Ct_k - Ct_j); M_j = mean over k != j
            v = [np.std(wide[k] - wide[j], ddof=1) for k in m.index if k != j]
            assert_allclose(m[j], np.mean(v), rtol=1e-12)
        genes.remove(m.idxmax()) if len(m) > 2 else None
    assert res.ranking["rank"].tolist() == [1, 1, 3, 4, 5]
    first = res.m.loc[res.m.step == 1].set_index("gene")["m"]
    assert res.ranking["gene"].iloc[-1] == first.idxmax() and res.ranking["gene"].iloc[-1] in {"D", "E"}
    order = res.ranking["gene"].tolist()
    for row in res.pairwise_variation.itertuples():
        nf_n = wide[order[: row.n]].mean(axis=1)
        nf_n1 = wide[order[: row.n + 1]].mean(axis=1)
        assert_allclose(row.v, np.std(nf_n - nf_n1, ddof=1), rtol=1e-12)


def test_genorm_hand_case_with_a_coregulated_pair():
    # A and B differ by a constant (V_AB = 0); C is noisy: M_A = M_B = V_AC / 2
    d = pd.DataFrame(
        {
            "sample": list(range(4)) * 3,
            "gene": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
            "ct": [20, 21, 22, 23, 25, 26, 27, 28, 20, 20, 20, 20],
        }
    )
    m = genorm(d).m.query("step == 1").set_index("gene")["m"]
    v_ac = np.std([0, 1, 2, 3], ddof=1)
    assert_allclose(m[["A", "B", "C"]].to_numpy(), [v_ac / 2, v_ac / 2, v_ac], rtol=1e-12)


def _normfinder_literal(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Andersen et al. 2004, written out term by term with loops (an independent transcription)."""
    n, k = y.shape
    levels = list(dict.fromkeys(groups))
    var = np.zeros((len(levels), k))
    zig = np.zeros((len(levels), k))
    ng = np.zeros(len(levels))
    for g, lev in enumerate(levels):
        yg = y[groups == lev]
        ng[g] = len(yg)
        for i in range(k):
            zig[g, i] = yg[:, i].mean()
        s = np.zeros(k)
        for i in range(k):
            for j in range(len(yg)):
                r = yg[j, i] - yg[:, i].mean() - yg[j, :].mean() + yg.mean()
                s[i] += r * r / (len(yg) - 1)
        for i in range(k):
            var[g, i] = max((s[i] - s.sum() / (k * (k - 1))) / (1 - 2 / k), 0.0)
    d = np.zeros_like(zig)
    for g in range(len(levels)):
        for i in range(k):
            d[g, i] = zig[g, i] - zig[g].mean() - zig[:, i].mean() + zig.mean()
    gamma2 = max((d**2).sum() / ((len(levels) - 1) * (k - 1)) - (var / ng[:, None]).mean(), 0.0)
    rho = np.zeros(k)
    for i in range(k):
        for g in range(len(levels)):
            a = var[g, i] / ng[g]
            dt = d[g, i] * gamma2 / (gamma2 + a)
            v = a + gamma2 * a / (gamma2 + a)
            rho[i] += (abs(dt) + np.sqrt(v)) / len(levels)
    return rho


def test_normfinder_matches_a_literal_transcription():
    d = _stability_data(n=14)
    wide = d.pivot(index="sample", columns="gene", values="ct").reindex([f"s{i}" for i in range(14)])
    groups = np.array(["xy"[i % 2] for i in range(14)])
    want = _normfinder_literal(-wide.to_numpy(), groups)
    got = normfinder(d).set_index("gene").reindex(wide.columns)["stability"].to_numpy()
    assert_allclose(got, want, rtol=1e-12)
    assert normfinder(d)["gene"].iloc[-1] in {"D", "E"}  # D shifts between groups, E is noisiest


# --- properties ------------------------------------------------------------------------------------

cts = st.lists(st.floats(15, 30, allow_nan=False), min_size=8, max_size=8)


@settings(max_examples=25, deadline=None)
@given(ref=cts, tgt=cts, load=st.lists(st.floats(-2, 2), min_size=4, max_size=4))
@pytest.mark.parametrize("test", ["student", "welch"])
def test_properties_swap_control_inverts_and_loading_cancels(ref, tgt, load, test):
    groups = ("c", "c", "c", "c", "t", "t", "t", "t")
    d = _toy(ref, tgt, groups=groups)
    res_c = relative_expression(d, reference_genes="R", control_group="c", test=test).table.set_index("group")
    res_t = relative_expression(d, reference_genes="R", control_group="t", test=test).table.set_index("group")
    assert_allclose(res_c.loc["t", "fold_change"] * res_t.loc["c", "fold_change"], 1.0, rtol=1e-9)
    if np.isfinite(res_c.loc["t", "p"]):  # all-equal Cts leave no variance: estimate only, no test
        assert_allclose(res_c.loc["t", "fc_low"] * res_t.loc["c", "fc_high"], 1.0, rtol=1e-9)
        assert_allclose(res_c.loc["t", "p"], res_t.loc["c", "p"], rtol=1e-7)
    # adding a per-sample amount of cDNA (same shift to every gene of a sample) changes nothing
    shift = dict(zip([f"s{i}" for i in range(4)], load, strict=True))
    d2 = d.assign(ct=d["ct"] + d["sample"].map(shift).fillna(0.0))
    res_l = relative_expression(d2, reference_genes="R", control_group="c", test="student").table.set_index(
        "group"
    )
    assert_allclose(res_l["delta_delta_ct"], res_c["delta_delta_ct"], atol=1e-9)
    # row order does not matter
    res_p = relative_expression(
        d.sample(frac=1.0, random_state=1), reference_genes="R", control_group="c", test="student"
    ).table.set_index("group")
    assert_allclose(res_p["delta_delta_ct"], res_c["delta_delta_ct"], atol=1e-12)
