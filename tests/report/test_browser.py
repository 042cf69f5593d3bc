"""Open the demo report in a real headless Chromium: screenshot and DOM show a rendered page."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skintrial.cli import app

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            timeout=120,
            check=False,
        )


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (make test installs it where it can)",
)
def test_demo_report_renders_in_chromium(tmp_path: Path):
    assert CHROMIUM is not None, "CI must have chromium: `make test` installs it"
    out = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--out", str(out), "--n", "30"]).exit_code == 0
    url = (out / "report.html").as_uri()
    shot = tmp_path / "shot.png"
    r = _chromium("--window-size=1280,2000", f"--screenshot={shot}", url)
    assert shot.is_file(), r.stderr.decode(errors="replace")[-2000:]
    from PIL import Image

    img = Image.open(shot).convert("L")
    lo, hi = img.getextrema()
    assert img.size == (1280, 2000) and hi - lo > 100, "screenshot is blank"
    assert len(set(img.resize((64, 100)).tobytes())) > 20, "screenshot has almost no content"
    dom = _chromium("--dump-dom", url).stdout.decode()
    assert 'id="outcome-table"' in dom and "Gross elasticity R2" in dom
    assert dom.count('class="before-after"') == 9
    assert dom.count("<img") >= 10


# --- the interactive page, driven through the DevTools protocol (tests/report/conftest.py) ---------


def _natural(text: str) -> list[tuple[int, int | str]]:
    import re

    return [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", text) if t]


def _texts(page, selector: str) -> list[str]:
    return page.eval(f"Array.from(document.querySelectorAll({selector!r})).map(e => e.textContent.trim())")


def test_clicking_a_header_sorts_the_rows(page, demo_out):
    page.open((demo_out / "report.html").as_uri())
    column = "#change-table tbody tr td:nth-child(3)"  # n, a number column
    before = [int(t) for t in _texts(page, column)]
    page.click("#change-table thead th:nth-child(3)")
    after = [int(t) for t in _texts(page, column)]
    assert sorted(before) == after and after != before
    assert page.eval(
        "document.querySelector('#change-table thead th:nth-child(3)').getAttribute('aria-sort')"
    ) == ("ascending")
    page.click("#change-table thead th:nth-child(3)")
    assert [int(t) for t in _texts(page, column)] == sorted(before, reverse=True)
    page.click("#serum-panel-table thead th:nth-child(1)")  # a data table sorts its whole panel
    names = _texts(page, "#serum-panel-table tbody tr td:nth-child(1)")
    assert len(names) > 20 and names == sorted(names, key=_natural)  # CCL2 before CCL11
    assert page.errors() == []


def test_typing_in_the_panel_filter_hides_rows_that_do_not_match(page, demo_out):
    page.open((demo_out / "report.html").as_uri())
    total = page.eval("document.querySelectorAll('#serum-panel-table tbody tr').length")
    assert total > 20, "with JavaScript the data table shows more than its static rows"
    page.type("#serum .dt-search", "CCL2")
    rows = _texts(page, "#serum-panel-table tbody tr")
    assert 0 < len(rows) < total and all("ccl2" in r.lower() for r in rows)
    page.eval(
        "(s => { s.value = 'cytokines'; s.dispatchEvent(new Event('change')); })"
        "(document.querySelector('#serum .dt-filter'))"
    )
    panels = _texts(page, "#serum-panel-table tbody tr td:nth-child(2)")
    assert panels and set(panels) == {"cytokines"}
    page.type("#mechanism .dt-search", "CCL28")
    factors = _texts(page, "#mechanism-table tbody tr td:nth-child(1)")
    assert factors and all("CCL28" in f for f in factors)
    assert page.errors() == []


def test_no_horizontal_overflow_at_900_px(page, demo_out):
    page.open((demo_out / "report.html").as_uri(), width=900)
    width = page.eval("document.documentElement.scrollWidth")
    assert width <= 900, f"the page is {width} px wide in a 900 px window"
    wide = page.eval(
        "Array.from(document.querySelectorAll('main > section')).filter(s => s.scrollWidth > s.clientWidth + 1)"
        ".map(s => s.id)"
    )
    assert wide == [], f"sections wider than the window: {wide}"


def test_hot_spots_name_the_point_under_the_pointer(page, demo_out):
    page.open((demo_out / "report.html").as_uri())
    tips = _texts(page, "#figures .before-after .hot")
    assert tips == [""] * len(tips) and len(tips) >= 30
    first = page.eval("document.querySelector('#figures .before-after .hot').dataset.tip")
    assert first.startswith("P0") and "→" in first
    volcano = page.eval("Array.from(document.querySelectorAll('.volcano .hot')).map(e => e.dataset.tip)")
    assert any(t.startswith("CCL28 (") for t in volcano)
    forest = page.eval("Array.from(document.querySelectorAll('#forest-plot .hot')).map(e => e.dataset.tip)")
    assert any("Gross elasticity R2" in t for t in forest)
    dose = page.eval("Array.from(document.querySelectorAll('.dose-figure .hot')).map(e => e.dataset.tip)")
    assert dose and all("adherence" in t for t in dose)


def test_the_page_reads_with_javascript_off(page, demo_out):
    page.open((demo_out / "report.html").as_uri(), javascript=False)
    assert page.eval("document.querySelectorAll('#serum-panel-table tbody tr').length") == 20
    assert page.eval("document.querySelector('#serum .dt-controls').hidden") is True
    assert page.eval("getComputedStyle(document.querySelector('#serum .dt-static-note')).display") != "none"
    assert page.eval("document.querySelectorAll('#outcome-table tbody tr').length") > 9
    loaded = page.eval("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert loaded, "every figure renders without script"
    assert page.eval("document.querySelector('th[aria-sort]')") is None  # nothing pretends to sort
    shot = page.call("Page.captureScreenshot", {"format": "png"})["data"]
    import base64
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(shot))).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100


def test_print_stylesheet_gives_a_paged_document(page, demo_out):
    page.open((demo_out / "report.html").as_uri())
    pdf = page.call("Page.printToPDF", {"preferCSSPageSize": True}, timeout=120)["data"]
    import base64

    data = base64.b64decode(pdf)
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") > 3
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    assert page.eval("getComputedStyle(document.querySelector('nav')).display") == "none"
    assert page.eval("getComputedStyle(document.querySelector('#serum .dt-controls')).display") == "none"


def test_demo_writes_the_word_document_and_the_figure_files(demo_out):
    assert (demo_out / "report.docx").stat().st_size > 10_000
    figures = {p.name for p in (demo_out / "figures").iterdir()}
    stems = {n.rsplit(".", 1)[0] for n in figures}
    assert {"flow-consort", "outcomes-forest", "before-after-r2", "serum-volcano-rt-vs-at"} <= stems
    assert all({f"{s}.svg", f"{s}.pdf", f"{s}.png"} <= figures for s in stems)
