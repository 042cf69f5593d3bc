"""The HTML report: self-contained, complete, and every input string escaped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from skintrial.pipeline import analyse
from skintrial.report import render_report
from skintrial.study import load_study


def test_report_is_self_contained_with_all_sections(demo_results):
    html = render_report(demo_results)
    for section in ("flow", "baseline", "outcomes", "figures", "methods", "exclusions"):
        assert f'id="{section}"' in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts.count("<script>") == 1, "one inline script, the page's own"
    assert set(scripts) <= {"<script>", '<script type="application/json" class="dt-data">'}
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(?!data:|#)", html), (
        "nothing loaded from outside"
    )
    n_outcomes = len(demo_results.study.outcomes)
    assert html.count('class="before-after"') == n_outcomes
    assert html.count("data:image/svg+xml;base64,") >= n_outcomes + 1  # + forest plot and layer figures
    excl = demo_results.tables["exclusions"]
    assert f"{len(excl)} records excluded" in html


def test_strings_from_input_files_are_escaped(small_bundle):
    evil = "<script>alert(1)</script>"
    for path in small_bundle.rglob("*.csv"):  # every table that names participants
        path.write_text(re.sub(r"\bP001\b", evil, path.read_text()))
    path = small_bundle / "participants.csv"
    f = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = f.index[f["participant_id"] == evil][0]
    f.loc[row, ["status", "withdrawal_visit", "withdrawal_reason"]] = [
        "withdrawn",
        "week0",
        "<b>bold</b> & co",
    ]
    f.to_csv(path, index=False)
    m = pd.read_csv(small_bundle / "measurements.csv", dtype=str)
    m[~((m["participant_id"] == evil) & (m["visit"] == "week16"))].to_csv(
        small_bundle / "measurements.csv", index=False
    )
    toml = (
        (small_bundle / "study.toml")
        .read_text()
        .replace('name = "', 'name = "<img src=x onerror=alert(2)> ', 1)
    )
    (small_bundle / "study.toml").write_text(toml)
    html = render_report(analyse(load_study(small_bundle)))
    assert evil not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html


def test_sensitivity_and_replication_sections_follow_the_plan(small_bundle):
    toml = small_bundle / "study.toml"
    text = toml.read_text()
    assert 'methods = ["ancova", "clda", "mixed_anova"]' in text
    res = analyse(load_study(small_bundle))
    assert {"clda", "mixed_anova"} <= set(res.tables)
    html = render_report(res)
    assert 'id="clda-table"' in html and 'id="mixed-anova-table"' in html
    assert "It is not the treatment test" in html
    toml.write_text(text.replace('methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova"]'))
    res = analyse(load_study(small_bundle))
    assert not {"clda", "mixed_anova"} & set(res.tables)
    html = render_report(res)
    assert 'id="clda-table"' not in html and 'id="mixed-anova-table"' not in html


def test_forest_plot_follows_the_plan_ci_level_and_alpha(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text().replace("alpha = 0.05", "alpha = 0.01\nci_level = 0.9"))
    html = render_report(analyse(load_study(small_bundle)))
    assert "with 90% CIs" in html and "90% CI" in html


def test_rendering_leaves_the_users_matplotlib_state_alone(small_bundle):
    import matplotlib

    backend, size = matplotlib.get_backend(), matplotlib.rcParams["font.size"]
    with matplotlib.rc_context({"font.size": 13.0}):
        render_report(analyse(load_study(small_bundle)))
        assert matplotlib.rcParams["font.size"] == 13.0
    assert matplotlib.get_backend() == backend and matplotlib.rcParams["font.size"] == size


def test_dollar_signs_in_labels_are_drawn_as_typed(small_bundle, tmp_path):
    """'$...$' in an outcome or arm label is text from the user, not mathtext (it used to crash the report)."""
    from skintrial.report import write_report
    from skintrial.report._figures import _pyplot, svg_data_uri

    toml = small_bundle / "study.toml"
    text = toml.read_text()
    first_label = re.search(r'^label = "[^"]*"', text, flags=re.M).group(0)
    text = text.replace(first_label, 'label = "Dermal \\\\frac{ $x^{ $ thickness"', 1)
    text = re.sub(r'^AT = "[^"]*"', 'AT = "No $\\\\bad{ training$"', text, count=1, flags=re.M)
    toml.write_text(text)
    res = analyse(load_study(small_bundle))
    write_report(res, tmp_path / "report.html")
    assert "$x^{ $ thickness" in (tmp_path / "report.html").read_text()
    fig, ax = _pyplot().subplots(figsize=(3, 2))
    ax.plot([1, 2], [3, 4], label="$\\bad{")
    ax.set_title("$x^{ $")
    ax.legend()
    assert svg_data_uri(fig).startswith("data:image/svg+xml;base64,")


def test_cross_sectional_section_follows_the_plan(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace(
            'methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova", "cross_sectional"]'
        )
    )
    html = render_report(analyse(load_study(small_bundle)))
    assert 'id="cross-sectional-table"' in html and "Cross-sectional comparison at week0" in html
    assert "chance imbalances" in html and "cross-sectional comparison of the arms at" in html
    toml.write_text(
        toml.read_text().replace('methods = ["ancova", "cross_sectional"]', 'methods = ["ancova"]')
    )
    assert 'id="cross-sectional-table"' not in render_report(analyse(load_study(small_bundle)))


def test_three_visits_are_shown_with_sphericity_corrections(small_bundle):
    """A week-8 visit appears in the outcome table and the figures; the mixed ANOVA shows GG/HF corrections."""
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace('visits = ["week0", "week16"]', 'visits = ["week0", "week8", "week16"]')
    )
    m = pd.read_csv(small_bundle / "measurements.csv")
    completers = set(m.loc[m["visit"] == "week16", "participant_id"])
    mid = m[(m["visit"] == "week0") & m["participant_id"].isin(completers)].assign(visit="week8")
    mid["value"] = mid["value"] * np.random.default_rng(3).normal(1.0, 0.02, len(mid))
    pd.concat([m, mid], ignore_index=True).to_csv(small_bundle / "measurements.csv", index=False)
    res = analyse(load_study(small_bundle))
    html = render_report(res)
    table = html[html.index('id="outcome-table"') : html.index("</table>", html.index('id="outcome-table"'))]
    assert table.index(">week0</th>") < table.index(">week8</th>") < table.index(">week16</th>")
    assert "reference arm" in table and 'class="outcome-name primary"' in table
    week8 = res.tables["descriptives"].query("visit == 'week8'").iloc[0]
    assert f"{week8['mean']:.2f}" in table
    mixed = html[html.index('id="mixed-anova-table"') :]
    assert "ε (GG)" in mixed and "p (HF)" in mixed and "Greenhouse–Geisser" in html


def test_methods_state_instruments_training_and_per_protocol(tmp_path):
    """The methods paragraph follows the run: raw-file processing, adherence and the per-protocol rule."""
    from skintrial.plan import synthetic_study

    root = synthetic_study(seed=11, n=20, raw=True).write(tmp_path / "study")
    html = render_report(analyse(load_study(root)))
    methods = html[html.index('id="methods"') : html.index('id="exclusions"')]
    assert "on its week0 value and arm," in methods
    assert "Cutometer parameters" in methods and "dynamic programming" in methods
    assert "Adherence was the sessions attended over the 32 planned" in methods
    assert "participants with adherence of at least 80%" in methods
    assert methods.index("Within-arm changes") < methods.index("Analysis by skintrial")


def test_each_contrast_sits_on_the_line_of_its_first_named_arm(small_bundle):
    """Without a reference arm (all pairs) 'RT - AT' is on RT's line, as 'RT - AT' is with AT as reference."""
    toml = small_bundle / "study.toml"
    toml.write_text(re.sub(r'reference_arm = "[^"]*"\n', "", toml.read_text()))
    html = render_report(analyse(load_study(small_bundle)))
    table = html[html.index('id="outcome-table"') : html.index("</table>", html.index('id="outcome-table"'))]
    lines = [line for line in table.split("<tr>") if "<td>RT</td>" in line]
    assert lines and all("RT - AT" in line for line in lines)
    assert "reference arm" not in table
    mixed = html[html.index('id="mixed-anova-table"') :]
    assert ">Visits</th>" in mixed[:2000]


# --- defects a reviewer saw (issue 13) ------------------------------------------------------------


def _section(html: str, id_: str) -> str:
    start = html.index(f'<section id="{id_}">')
    return html[start : html.index("</section>", start)]


def test_no_internal_names_empty_status_columns_or_mixed_decimals(demo_results):
    html = render_report(demo_results)
    for raw in (">ancova<", ">mixed_anova<", ">paired_t<", ">welch_t<", "sex: F", ">r2<", ">lep_upper<"):
        assert raw not in html, raw
    assert '<th scope="col">Status</th>' not in html, "every fit is ok: no empty Status column"
    outcomes = _section(html, "outcomes")
    for mean, sd in re.findall(r">(−?\d+\.?\d*) ± (\d+\.?\d*)<", outcomes):
        assert len(mean.partition(".")[2]) == len(sd.partition(".")[2]), (mean, sd)
    for lo, hi in re.findall(r">(−?\d+\.?\d*) to (−?\d+\.?\d*)<", outcomes):
        assert len(lo.partition(".")[2]) == len(hi.partition(".")[2]), (lo, hi)
    assert "0.0000" not in outcomes


def test_baseline_header_gives_n_per_arm_and_rows_are_labelled(demo_results):
    html = _section(render_report(demo_results), "baseline")
    assert "AT (n = 27)" in html and "RT (n = 34)" in html
    assert "Sex, n (%)" in html and "Age, mean ± SD" in html


def test_methods_omit_a_missing_seed_and_name_methods_by_label(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(re.sub(r"^seed = .*\n", "", toml.read_text(), flags=re.M))
    res = analyse(load_study(small_bundle))
    assert res.provenance["seed"] is None
    methods = _section(render_report(res), "methods")
    assert "seed None" not in methods and "study seed" not in methods
    assert "Holm method" in methods and "holm method" not in methods


def test_outcome_table_caption_names_the_plans_covariates(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text().replace("covariates = []", 'covariates = ["age"]'))
    html = render_report(analyse(load_study(small_bundle)))
    note = _section(html, "outcomes")
    assert "ANCOVA of the week16 value on the week0 value, arm and Age" in note


def test_huynh_feldt_epsilon_above_one_is_capped_with_a_note(demo_results):
    from skintrial.pipeline import TrialResults
    from skintrial.report._context import make_context
    from skintrial.report._sections import _mixed
    from skintrial.stage import StageResult

    mixed = pd.DataFrame(
        {
            "outcome": ["r2"] * 3,
            "term": ["arm", "visit", "arm:visit"],
            "num_df": [1.0, 2.0, 2.0],
            "den_df": [54.0, 108.0, 108.0],
            "f": [1.2, 3.4, 0.5],
            "p": [0.28, 0.037, 0.61],
            "ges": [0.01, 0.0000018, 0.002],
            "mse": 1.0,
            "n": 56,
            "n_visits": 3,
            "gg_eps": [np.nan, 0.93, 0.93],
            "p_gg": [np.nan, 0.04, 0.6],
            "hf_eps": [np.nan, 1.07, 1.07],
            "p_hf": [np.nan, 0.037, 0.61],
            "status": "ok",
        }
    )
    res = TrialResults(
        study=demo_results.study,
        stages=(StageResult(stage="mixed_anova", tables={"mixed_anova": mixed}),),
        provenance=demo_results.provenance,
    )
    section = _mixed(make_context(res, files=False))
    hf = section["headers"].index("ε (HF)")
    assert [r[hf] for r in section["rows"]] == ["–", "1.00* (1.07)", "1.00* (1.07)"]
    assert "capped at 1" in section["note"]
    ges = section["headers"].index("Generalized η²")
    assert section["rows"][1][ges] == "<0.001"
    assert section["rows"][2][1] == "Arm × visit"


def test_qpcr_between_arm_rows_give_both_arms_n(demo_results):
    from skintrial.report._context import make_context
    from skintrial.report._section_omics import _qpcr

    section = _qpcr(make_context(demo_results, files=False))
    n = section["headers"].index("n")
    test = section["headers"].index("Test")
    between = [r for r in section["rows"] if r[test] != "paired t test"]
    assert between and all(re.fullmatch(r"\d+ vs \d+", r[n]) for r in between)
    assert {r[test] for r in between} <= {"Welch's t test", "Student's t test", "ANCOVA"}


def test_full_serum_panel_and_mechanism_grid_are_in_the_page(demo_results):
    import json

    html = render_report(demo_results)
    blocks = re.findall(r'<script type="application/json" class="dt-data">(.*?)</script>', html, flags=re.S)
    data = [json.loads(b) for b in blocks]
    assert len(data[0]["rows"]) == len(demo_results.table("serum_ancova"))
    grid = demo_results.table("mechanism")
    top = demo_results.table("mechanism_top")
    shown = grid[
        (grid["method"] == top["method"].iat[0]) & (grid["arm_adjusted"] == top["arm_adjusted"].iat[0])
    ]
    assert len(data[1]["rows"]) == len(shown)
    assert 'id="serum-panel-table"' in html and 'id="mechanism-table"' in html


def test_exclusions_are_one_line_per_participant_and_reason(demo_results):
    """Issue 11: a withdrawn participant's records in every analysis are one line (the withdrawal), with
    the analyses and outcomes it affects; any other reason is a line per participant."""
    html = _section(render_report(demo_results), "exclusions")
    excl = demo_results.table("exclusions")
    lines = html.count("<tr>") - 1
    p = demo_results.study.participants
    withdrawn = set(p.loc[p["status"] == "withdrawn", "participant_id"]) & set(excl["participant_id"])
    other = excl[~excl["participant_id"].isin(withdrawn)]
    assert lines == len(withdrawn) + other.groupby(["participant_id", "reason"]).ngroups < len(excl)
    assert html.count("withdrawn after week0") == len(withdrawn) == 5
    assert "ANCOVA, Mixed ANOVA" in html and "all 9 outcomes" in html


def test_write_report_writes_the_page_the_word_document_and_the_figures(small_bundle, tmp_path):
    from skintrial.report import write_report

    res = analyse(load_study(small_bundle))
    path = write_report(res, tmp_path / "report.html")
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "report.docx").read_bytes()[:2] == b"PK"
    stems = {p.name.rsplit(".", 1)[0] for p in (tmp_path / "figures").iterdir()}
    assert {"flow-consort", "outcomes-forest", "before-after-dermal-thickness"} <= stems
    assert len(list((tmp_path / "figures").iterdir())) == 3 * len(stems)
