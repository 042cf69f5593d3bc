"""``--pdf``: report.pdf through headless Chromium, or a clear message naming what to install."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.report import _pdf


def test_without_chromium_or_weasyprint_pdf_is_refused_before_any_work(small_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("SKINTRIAL_CHROMIUM", raising=False)
    monkeypatch.setattr(_pdf, "_weasyprint", lambda: False)
    assert _pdf.pdf_engine() is None
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(small_bundle), "--out", str(out), "--pdf"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "--pdf needs headless Chromium or WeasyPrint" in text
    assert "apt install chromium" in text and "pip install weasyprint" in text
    assert not out.exists(), "nothing written"


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_pdf_is_printed_by_chromium_beside_the_report(small_bundle, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(small_bundle), "--out", str(out), "--pdf"])
    assert result.exit_code == 0, result.output
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert (out / "report.docx").is_file() and (out / "figures" / "outcomes-forest.svg").is_file()
    again = CliRunner().invoke(app, ["run", str(small_bundle), "--out", str(out)])
    assert again.exit_code == 0 and not (out / "report.pdf").exists(), "no stale PDF from an earlier run"
