"""Serum panels: reader, below-LOD handling (vs R survival::survreg), PQN (literal), per-analyte ANCOVA
and within-arm change (vs statsmodels OLS and scipy), BH within the panel, schemas and invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from skintrial.errors import InputError
from skintrial.omics._panels_lod import censored_normal
from skintrial.omics._panels_pqn import pqn_factors
from skintrial.omics._panels_schema import (
    LOD_COLUMNS,
    PANEL_COLUMNS,
    SERUM_ANCOVA_COLUMNS,
    SERUM_CHANGE_COLUMNS,
)
from skintrial.omics.panels import panel_analysis, prepare_panel, read_panel

REF = Path(__file__).resolve().parents[1] / "reference" / "panels"


def _panel(seed: int = 0, n: int = 24, k: int = 12, withdrawn: int = 2) -> pd.DataFrame:
    """Three arms, k analytes (two panels), log-normal values, some below a limit, some withdrawn."""
    rng = np.random.default_rng(seed)
    arm = np.array(["CON", "AT", "RT"])[np.arange(n) % 3]
    rows = []
    for i in range(n):
        base = rng.normal(4, 1, k)
        for visit, shift in (("week0", 0.0), ("week16", 0.6 * (arm[i] == "RT") - 0.4 * (arm[i] == "AT"))):
            if visit == "week16" and i < withdrawn:
                continue
            x = base + shift * (np.arange(k) < 4) + rng.normal(0, 0.4, k)
            for j in range(k):
                panel = "cytokines" if j < k // 2 else "metabolites"
                rows.append(
                    (
                        f"P{i:02d}",
                        arm[i],
                        visit,
                        panel,
                        f"A{j:02d}",
                        2.0 ** x[j],
                        2.0**2.5 if j == 1 else None,
                    )
                )
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "panel", "analyte", "value", "lod"])
    below = d["lod"].notna() & (d["value"] < d["lod"])
    d["value"] = d["value"].astype(object)
    d.loc[below, "value"] = "<LOD"
    return d


# --- reader ---------------------------------------------------------------------------------------------


def test_reader_markers_limits_and_missing(tmp_path):
    p = tmp_path / "serum.csv"
    p.write_text(
        "Subject,visit,Protein,Concentration,LLOQ,platform,unit\n"
        "P1,week0,IL6,2.5,0.4,olink,pg/mL\n"
        "P1,week16,IL6,<LOD,0.4,olink,pg/mL\n"
        "P2,week0,IL6,< 0.3,,olink,pg/mL\n"
        "P2,week16,IL6,,0.4,olink,pg/mL\n"
        "P3,week0,IL6,0.2,0.4,olink,pg/mL\n",
        encoding="utf-8",
    )
    d = read_panel(p)
    assert list(d.columns) == list(PANEL_COLUMNS)
    assert d["below_lod"].tolist() == [False, True, True, False, True]
    assert_allclose(d["lod"].to_numpy(), [0.4, 0.4, 0.3, 0.4, 0.4], rtol=0, atol=0)
    assert np.isnan(d["value"].iat[3]) and not d["below_lod"].iat[3]  # empty = missing, not censored
    assert d["row"].tolist() == [2, 3, 4, 5, 6]
    assert set(d["panel"]) == {"olink"} and d.attrs["file"] == str(p)


def test_reader_excel_round_trip(tmp_path):
    d = _panel(k=4, n=6)
    d.drop(columns="arm").to_excel(tmp_path / "serum.xlsx", index=False)
    back = read_panel(tmp_path / "serum.xlsx")
    assert len(back) == len(d)
    assert back["below_lod"].sum() == (d["value"] == "<LOD").sum()


def test_reader_reports_every_problem_with_row_and_column(tmp_path):
    p = tmp_path / "serum.csv"
    p.write_text(
        "participant_id,visit,analyte,value,lod\n"
        "P1,week0,IL6,abc,0.4\n"
        "P1,week16,IL6,<LOD,\n"
        "P2,week0,IL6,1.0,-1\n"
        "P2,week0,IL6,1.1,0.4\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_panel(p)
    problems = {(q.row, q.column) for q in err.value.problems}
    assert (2, "value") in problems  # text that is not a marker
    assert (3, "value") in problems  # censored without a limit
    assert (4, "lod") in problems  # negative limit
    assert (5, "participant_id, visit, analyte") in problems  # duplicate
    assert all(q.file == str(p) for q in err.value.problems)


def test_reader_missing_column(tmp_path):
    p = tmp_path / "serum.csv"
    p.write_text("participant_id,visit,value\nP1,week0,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="analyte"):
        read_panel(p)


# --- transforms -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "factor"), [("lod_sqrt2", 1 / np.sqrt(2)), ("lod_half", 0.5), ("lod", 1.0)]
)
def test_substitution_then_log2(method, factor):
    d = _panel()
    prep = prepare_panel(d, below_lod=method)
    v = prep.values.set_index(["participant_id", "visit", "analyte"])["value"]
    below = d["value"].astype(str) == "<LOD"
    keys = list(zip(d["participant_id"], d["visit"], d["analyte"], strict=True))
    expect = np.where(
        below,
        np.log2(factor * d["lod"].astype(float).fillna(1.0)),
        np.log2(pd.to_numeric(d["value"], errors="coerce")),
    )
    assert_allclose(v.loc[keys].to_numpy(), expect, rtol=1e-13)
    lod = prep.lod.set_index("analyte")
    assert lod.loc["A01", "n_below_lod"] == below.sum() and below.sum() > 0
    assert_allclose(
        lod.loc["A01", "fraction_below_lod"], below.sum() / (d["analyte"] == "A01").sum(), rtol=1e-15
    )
    assert list(prep.lod.columns) == list(LOD_COLUMNS)


def test_log10_and_none_scales():
    d = _panel(k=4, n=6).assign(lod=None)
    raw = pd.to_numeric(d["value"], errors="coerce").to_numpy()
    assert_allclose(prepare_panel(d, log="log10").values["value"].to_numpy(), np.log10(raw), rtol=1e-13)
    assert_allclose(prepare_panel(d, log="none").values["value"].to_numpy(), raw, rtol=0)


def test_non_positive_values_cannot_be_logged():
    d = _panel(k=4, n=6).assign(lod=None)
    d.loc[5, "value"] = 0.0
    with pytest.raises(InputError) as err:
        prepare_panel(d)
    assert err.value.problems[0].row == 7 and err.value.problems[0].column == "value"
    prepare_panel(d, log="none")  # fine on a scale that is already logarithmic


def test_bad_options():
    with pytest.raises(InputError, match="below-LOD"):
        prepare_panel(_panel(k=2, n=6), below_lod="zero")
    with pytest.raises(InputError, match="PQN"):
        prepare_panel(_panel(k=2, n=6), log="none", pqn=["metabolites"])
    with pytest.raises(InputError, match="not in the data"):
        prepare_panel(_panel(k=2, n=6), pqn=["lipids"])


# --- censored normal vs R survreg -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def survreg():
    inp = pd.read_csv(REF / "censored_input.csv")
    fit = pd.read_csv(REF / "censored_fit.csv")
    return inp, fit


def test_censored_normal_matches_r_survreg(survreg):
    """EM to 1e-10 (relative to sigma) vs survreg's Newton fit (rel. tolerance 1e-13): 1e-7 relative."""
    inp, fit = survreg
    analytes = list(dict.fromkeys(inp["analyte"]))
    blocks = [inp[inp["analyte"] == a].reset_index(drop=True) for a in analytes]
    cells = pd.Categorical(blocks[0]["cell"], categories=list(dict.fromkeys(fit["cell"]))).codes
    assert all((b["cell"] == blocks[0]["cell"]).all() for b in blocks)  # same layout for every analyte
    y = np.stack([b["y"].to_numpy(dtype=float) for b in blocks])
    cen = ~np.isfinite(y)
    limit = np.stack([b["limit"].to_numpy(dtype=float) for b in blocks])
    res = censored_normal(y, cen, limit, cells, fallback=limit / np.sqrt(2))
    assert res.fitted.all() and res.converged.all()
    mu = fit.pivot(index="analyte", columns="cell", values="mu").loc[
        analytes, list(dict.fromkeys(fit["cell"]))
    ]
    sigma = fit.groupby("analyte", sort=False)["sigma"].first().loc[analytes]
    assert_allclose(res.mu, mu.to_numpy(), rtol=1e-7)
    assert_allclose(res.sigma, sigma.to_numpy(), rtol=1e-7)
    # each censored value is replaced by E[y | y < L] at the fitted parameters
    a = (limit - res.mu[:, cells]) / res.sigma[:, None]
    cond = res.mu[:, cells] - res.sigma[:, None] * stats.norm.pdf(a) / stats.norm.cdf(a)
    assert_allclose(res.values[cen], cond[cen], rtol=1e-12)
    assert (res.values[cen] < limit[cen]).all()
    assert_allclose(res.values[~cen], y[~cen], rtol=0)


def test_censored_normal_fallbacks_and_status():
    d = _panel(n=12, k=4)
    d.loc[d["analyte"] == "A03", "lod"] = 1e6  # everything censored
    d.loc[(d["analyte"] == "A03"), "value"] = "<LOD"
    prep = prepare_panel(d, below_lod="censored_normal")
    status = prep.lod.set_index("analyte")["status"]
    assert status["A03"] == "fallback_lod_sqrt2" and status["A01"] == "ok"
    v = prep.values[prep.values["analyte"] == "A03"]["value"]
    assert_allclose(v.to_numpy(), np.log2(1e6 / np.sqrt(2)), rtol=1e-13)
    res = panel_analysis(d, baseline_visit="week0", below_lod="censored_normal", reference_arm="CON")
    assert res.lod.set_index("analyte").loc["A03", "status"] == "no_detected_values"
    assert "A03" not in set(res.ancova["analyte"])


# --- PQN --------------------------------------------------------------------------------------------------


def test_pqn_literal_and_recovers_dilution():
    rng = np.random.default_rng(5)
    profile = 2.0 ** rng.uniform(8, 16, 50)
    true = 2.0 ** rng.normal(0, 0.3, 20)
    x = true[:, None] * profile[None, :] * 2.0 ** rng.normal(0, 0.05, (20, 50))
    x[3, 7] = np.nan
    fit = pqn_factors(x)
    ref = np.nanmedian(x, axis=0)
    literal = [np.nanmedian(x[s] / ref) for s in range(20)]
    assert_allclose(fit.factors, literal, rtol=1e-14)
    assert fit.n_quotients.tolist() == [50] * 3 + [49] + [50] * 16
    norm = x / fit.factors[:, None]
    assert np.std(np.log2(fit.factors / true)) < 0.02  # up to one common scale, the dilution is found
    assert np.nanstd(np.log2(norm / profile), axis=0).mean() < 0.08
    area = pqn_factors(x, total_area=True).factors
    t = np.nansum(x, axis=1)
    t = t / np.median(t)
    lit = [t[s] * np.nanmedian((x[s] / t[s]) / np.nanmedian(x / t[:, None], axis=0)) for s in range(20)]
    assert_allclose(area, lit, rtol=1e-14)


def test_pqn_applies_to_named_panel_only():
    d = _panel(k=8, n=9).assign(lod=None)
    d.loc[d["panel"] == "metabolites", "value"] = pd.to_numeric(
        d.loc[d["panel"] == "metabolites", "value"]
    ) * np.where(d.loc[d["panel"] == "metabolites", "participant_id"] == "P03", 4.0, 1.0)
    prep = prepare_panel(d, pqn=["metabolites"])
    f = prep.pqn.set_index(["participant_id", "visit"])["dilution_factor"]
    assert f.loc[("P03", "week0")] > 2.5 and set(prep.pqn["panel"]) == {"metabolites"}
    cyt = prep.values[prep.values["panel"] == "cytokines"]["value"].to_numpy()
    raw = np.log2(pd.to_numeric(d.loc[d["panel"] == "cytokines", "value"]).to_numpy())
    assert_allclose(cyt, raw, rtol=1e-14)


# --- per-analyte trial analysis -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analysed():
    d = _panel(seed=3, n=30, k=12)
    return d, panel_analysis(
        d, baseline_visit="week0", followup_visit="week16", reference_arm="CON", arms=["CON", "AT", "RT"]
    )


def test_schemas(analysed):
    _, res = analysed
    assert list(res.ancova.columns) == list(SERUM_ANCOVA_COLUMNS)
    assert list(res.change.columns) == list(SERUM_CHANGE_COLUMNS)
    assert set(res.ancova["contrast"]) == {"AT - CON", "RT - CON"}


def test_ancova_matches_statsmodels_per_analyte(analysed):
    """ANCOVA of log2 follow-up on log2 baseline + arm, vs statsmodels OLS analyte by analyte (1e-10)."""
    import statsmodels.formula.api as smf

    d, res = analysed
    prep = prepare_panel(d)
    wide = prep.values.pivot_table(
        index=["participant_id", "analyte"], columns="visit", values="value"
    ).reset_index()
    wide = wide.merge(
        d.drop_duplicates("participant_id")[["participant_id", "arm"]], on="participant_id"
    ).dropna()
    for analyte in ("A00", "A01", "A07"):
        w = wide[wide["analyte"] == analyte]
        fit = smf.ols("week16 ~ week0 + C(arm, Treatment('CON'))", w).fit()
        ours = res.ancova[res.ancova["analyte"] == analyte].set_index("contrast")
        for arm in ("AT", "RT"):
            name = f"C(arm, Treatment('CON'))[T.{arm}]"
            row = ours.loc[f"{arm} - CON"]
            assert_allclose(
                [row["estimate"], row["se"], row["p"]],
                [fit.params[name], fit.bse[name], fit.pvalues[name]],
                rtol=1e-10,
            )
            assert_allclose(row["ratio"], 2.0 ** fit.params[name], rtol=1e-10)
            assert row["n"] == int(fit.nobs) - (w["arm"] == ("RT" if arm == "AT" else "AT")).sum()


def test_bh_within_panel_and_contrast(analysed):
    from statsmodels.stats.multitest import multipletests

    _, res = analysed
    for (panel, contrast), g in res.ancova.groupby(["panel", "contrast"]):
        assert_allclose(
            g["p_adj"].to_numpy(), multipletests(g["p"].to_numpy(), method="fdr_bh")[1], rtol=1e-12
        )
        assert (g["family"] == f"{panel}: {contrast}").all()
    assert (res.ancova["p_adj"] >= res.ancova["p"]).all()


def test_within_arm_change_is_the_paired_t(analysed):
    d, res = analysed
    prep = prepare_panel(d)
    wide = prep.values.pivot_table(
        index=["participant_id", "analyte"], columns="visit", values="value"
    ).reset_index()
    wide = wide.merge(
        d.drop_duplicates("participant_id")[["participant_id", "arm"]], on="participant_id"
    ).dropna()
    for analyte, arm in (("A00", "RT"), ("A02", "AT"), ("A09", "CON")):
        w = wide[(wide["analyte"] == analyte) & (wide["arm"] == arm)]
        t = stats.ttest_rel(w["week16"], w["week0"])
        row = res.change[(res.change["analyte"] == analyte) & (res.change["arm"] == arm)].iloc[0]
        assert_allclose(
            [row["t"], row["p"], row["mean_change"]],
            [t.statistic, t.pvalue, (w["week16"] - w["week0"]).mean()],
            rtol=1e-10,
        )
        assert row["n"] == len(w) and row["df"] == len(w) - 1


def test_effects_found_where_they_were_built(analysed):
    _, res = analysed
    rt = res.ancova[(res.ancova["contrast"] == "RT - CON")].set_index("analyte")
    built = rt.loc[["A00", "A02", "A03"]]  # shift 0.6 (log2) built in; A01 carries an LOD
    assert (np.abs(built["estimate"] - 0.6) < 3 * built["se"]).all()
    null = rt.loc[["A06", "A08", "A10"]]
    assert (np.abs(null["estimate"]) < 3 * null["se"]).all()


def test_too_many_below_lod_are_counted_not_tested():
    d = _panel(n=12, k=4)
    d.loc[d["analyte"] == "A01", "lod"] = 2.0**4.5  # most values below
    d["value"] = d["value"].where(
        ~((d["analyte"] == "A01") & (pd.to_numeric(d["value"], errors="coerce") < 2.0**4.5)), "<LOD"
    )
    res = panel_analysis(d, baseline_visit="week0", reference_arm="CON", max_below_lod=0.3)
    lod = res.lod.set_index("analyte")
    assert lod.loc["A01", "fraction_below_lod"] > 0.3 and lod.loc["A01", "status"] == "too_many_below_lod"
    assert not lod.loc["A01", "tested"] and "A01" not in set(res.ancova["analyte"])
    all_in = panel_analysis(d, baseline_visit="week0", reference_arm="CON", max_below_lod=1.0)
    assert "A01" in set(all_in.ancova["analyte"])


def test_row_order_does_not_matter(analysed):
    d, res = analysed
    shuffled = d.sample(frac=1.0, random_state=1).reset_index(drop=True)
    again = panel_analysis(
        shuffled,
        baseline_visit="week0",
        followup_visit="week16",
        reference_arm="CON",
        arms=["CON", "AT", "RT"],
    )
    key = ["analyte", "contrast"]
    a = res.ancova.sort_values(key).reset_index(drop=True)
    b = again.ancova.sort_values(key).reset_index(drop=True)
    assert_allclose(
        a[["estimate", "se", "p", "p_adj"]].to_numpy(),
        b[["estimate", "se", "p", "p_adj"]].to_numpy(),
        rtol=1e-12,
    )


def test_same_analyte_on_two_panels_stays_apart():
    d = _panel(n=9, k=4).assign(lod=None)
    d["analyte"] = d["analyte"].replace({"A01": "IL6", "A03": "IL6"})
    res = panel_analysis(d, baseline_visit="week0", reference_arm="CON")
    il6 = res.ancova[res.ancova["analyte"] == "IL6"]
    assert sorted(il6["panel"].unique()) == ["cytokines", "metabolites"] and len(il6) == 4


def test_needs_the_arm_column():
    with pytest.raises(InputError, match="arm"):
        panel_analysis(_panel(k=2, n=6).drop(columns="arm"), baseline_visit="week0")


@pytest.mark.parametrize(
    ("header", "pair"),
    [
        ("participant_id,visit,analyte,value,conc", "'value' and 'conc'"),
        ("participant_id,subject,visit,analyte,value", "'participant_id' and 'subject'"),
    ],
)
def test_reader_refuses_two_columns_with_one_meaning(tmp_path, header, pair):
    p = tmp_path / "serum.csv"
    p.write_text(header + "\nP1,week0,IL6,1.0,2.0\n", encoding="utf-8")
    with pytest.raises(InputError, match=pair) as err:
        read_panel(p)
    assert err.value.problems[0].file == str(p) and "delete the other" in err.value.problems[0].fix


def _three_visits() -> pd.DataFrame:
    d = _panel(seed=4, n=12, k=4, withdrawn=0)
    mid = d.loc[d["visit"] == "week16"].assign(visit="week4")
    order = {"week0": 0, "week4": 1, "week16": 2}
    return pd.concat([d, mid], ignore_index=True).sort_values(
        "visit", key=lambda v: v.map(order), kind="stable"
    )


def test_several_followup_visits_are_named_in_visit_order_unless_an_order_is_declared():
    """As ancova: with two visits besides the baseline and no follow-up named, the error names both, in visit
    order (week4 before week16, not text order) on shuffled and on sorted rows alike; a declared order's last
    visit is the follow-up."""
    d = _three_visits()  # week4 sorts after week16 as text; rows sorted by visit
    for rows in (d, d.sample(frac=1.0, random_state=1), d.sort_values(["participant_id", "visit"])):
        with pytest.raises(InputError, match=r"2 visits besides the baseline 'week0': \['week4', 'week16'\]"):
            panel_analysis(rows, baseline_visit="week0", reference_arm="CON")
    declared = panel_analysis(
        d, baseline_visit="week0", reference_arm="CON", visits=["week0", "week16", "week4"]
    )
    assert set(declared.change["followup_visit"]) == {"week4"}  # a declared order wins over appearance
    natural = panel_analysis(
        d, baseline_visit="week0", reference_arm="CON", visits=["week0", "week4", "week16"]
    )
    assert set(natural.change["followup_visit"]) == {"week16"}
    cat = d.assign(visit=pd.Categorical(d["visit"], categories=["week0", "week16", "week4"], ordered=True))
    with pytest.raises(InputError, match=r"\['week16', 'week4'\]"):  # named in category order
        panel_analysis(cat.sample(frac=1.0, random_state=1), baseline_visit="week0", reference_arm="CON")
    named = panel_analysis(
        d.sample(frac=1.0, random_state=2),
        baseline_visit="week0",
        followup_visit="week16",
        reference_arm="CON",
    )
    assert set(named.change["followup_visit"]) == {"week16"}
