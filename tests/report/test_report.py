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
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
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
    assert table.index("<th>week0</th>") < table.index("<th>week8</th>") < table.index("<th>week16</th>")
    assert "reference arm" in table and 'class="outcome-name primary"' in table
    week8 = res.tables["descriptives"].query("visit == 'week8'").iloc[0]
    assert f"{week8['mean']:.3g}"[:4] in table
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
    assert "<th>Visits</th>" in mixed[:2000]
