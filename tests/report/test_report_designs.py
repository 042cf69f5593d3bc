"""The report follows the study's design (issue 11): the title block names it; a cross-sectional report
has participants by group, the two-way ANOVA, the interaction figure and the observational caveat; a
single-arm report has the flow, the change table, the paired figure and the no-control caveat; neither
says "randomised" (page or Word document); a randomised report has the CONSORT 2025 flow (from the
optional screening table when given), adjusted means, the change at every follow-up and cLDA per visit."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path

import pytest

from skintrial.errors import InputError
from skintrial.pipeline import analyse
from skintrial.plan import synthetic_cross_sectional, synthetic_single_arm, synthetic_study
from skintrial.report._html import report_files
from skintrial.study import load_study

RANDOMISED = re.compile(r"randomi[sz]", re.IGNORECASE)


def _files(root: Path) -> tuple[str, str]:
    files = report_files(analyse(load_study(root)))
    docx = zipfile.ZipFile(io.BytesIO(files["report.docx"])).read("word/document.xml").decode("utf-8")
    return str(files["report.html"]), docx


@pytest.fixture(scope="module")
def cross_sectional(tmp_path_factory):
    return _files(synthetic_cross_sectional().write(tmp_path_factory.mktemp("xs")))


@pytest.fixture(scope="module")
def single_arm(tmp_path_factory):
    return _files(synthetic_single_arm().write(tmp_path_factory.mktemp("sa")))


def _svg_texts(html: str, figure_id: str) -> str:
    block = html[html.index(f'id="{figure_id}"') :]
    uri = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', block).group(1)
    return base64.b64decode(uri).decode("utf-8")


@pytest.mark.parametrize("which", ["cross_sectional", "single_arm"])
def test_no_randomised_in_a_non_randomised_report(request, which):
    html, docx = request.getfixturevalue(which)
    assert not RANDOMISED.search(html), RANDOMISED.search(html)
    assert not RANDOMISED.search(docx)
    assert 'id="methods"' in html and 'id="exclusions"' in html


def test_cross_sectional_report(cross_sectional):
    html, docx = cross_sectional
    assert "Cross-sectional comparison (observational study)" in html
    for section in (
        "flow",
        "characteristics",
        "group-comparison",
        "two-way-anova",
        "simple-effects",
        "interaction",
    ):
        assert f'id="{section}"' in html, section
    assert "Participants by group" in html and "CONSORT" not in html
    assert "associations, not effects of exercise" in html
    assert html.count('class="design-figure"') == 4  # one interaction figure per outcome
    assert "activity × age band" in html and "Partial η²" in html
    assert 'id="outcomes"' not in html and "ANCOVA" not in html
    assert "Two-way ANOVA" in docx


def test_single_arm_report(single_arm):
    html, docx = single_arm
    assert "Single-arm pre/post study (no control group)" in html
    for section in ("flow", "characteristics", "change", "figures", "clda"):
        assert f'id="{section}"' in html, section
    assert "regression to the mean" in html and "d_z" in html and "Wilcoxon" in html
    svg = _svg_texts(html, "flow")
    assert "Enrolled" in svg and "Withdrawn" in svg
    assert "ANCOVA" not in html and "Change from baseline" in docx


def test_randomised_report_with_a_screening_table(tmp_path):
    root = synthetic_study(seed=5, n=30, omics=False, training=False).write(tmp_path / "study")
    html, _ = _files(root)
    assert (
        "Randomised parallel-group trial" in html and "CONSORT 2025 flow diagram, from randomisation" in html
    )
    for section in ("adjusted-means", "change", "clda"):
        assert f'id="{section}"' in html, section
    assert "week16 (primary)" in html
    (root / "screening.csv").write_text(
        "stage,reason,n\nassessed,,52\nexcluded,not meeting inclusion criteria,15\nexcluded,declined to participate,7\n"
    )
    html, _ = _files(root)
    assert "from eligibility assessment" in html
    svg = _svg_texts(html, "consort-figure")
    assert "Assessed for eligibility (n = 52)" in svg and "declined to participate (n = 7)" in svg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stage,reason,n\nassessed,,50\nexcluded,declined,7\n", "assessed (50) minus excluded (7) is 43"),
        ("stage,reason,n\nassessed,,52\nexcluded,,22\n", "an excluded row needs its reason"),
        ("stage,reason,n\nscreened,,52\n", "unknown stage"),
        ("stage,reason,n\nassessed,,52.5\n", "not a whole number"),
        ("stage,n\nassessed,52\n", "required column"),
    ],
)
def test_a_bad_screening_table_names_file_row_and_fix(tmp_path, text, message):
    root = synthetic_study(seed=5, n=30, omics=False, training=False).write(tmp_path / "study")
    (root / "screening.csv").write_text(text)
    with pytest.raises(InputError) as err:
        analyse(load_study(root))
    p = next(p for p in err.value.problems if message in p.message)
    assert p.file.endswith("screening.csv") and p.fix


def test_exclusions_one_row_per_participant_and_reason(tmp_path):
    root = synthetic_study(seed=5, n=30, omics=False, training=False).write(tmp_path / "study")
    res = analyse(load_study(root))
    html = str(report_files(res)["report.html"])
    block = html[html.index('id="exclusions"') :]
    block = block[: block.index("</section>")]
    withdrawn = set(res.study.participants.query("status == 'withdrawn'")["participant_id"])
    excl = res.table("exclusions")
    assert len(excl) > 2 * len(withdrawn)  # several records per withdrawn participant ...
    assert block.count("<tr>") - 1 == len(withdrawn)  # ... one row each in the report
    assert block.count("withdrawn after week0") == len(withdrawn)
