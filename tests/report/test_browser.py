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
