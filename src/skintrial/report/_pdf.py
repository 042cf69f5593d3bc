"""``report.pdf``: the report page printed by headless Chromium, or by WeasyPrint, when one is present.

Chromium prints the page as a browser does (its script runs, the print stylesheet applies: A4, no
navigation or filter boxes, figures and table rows kept whole). WeasyPrint, a Python package, is used
when no Chromium is found; it runs no script, so data tables print their first rows. With neither,
:func:`require_pdf_engine` raises an :class:`~skintrial.errors.InputError` that says what to install
(the CLI checks before any work, so ``--pdf`` never leaves a run half-written).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from skintrial.errors import InputError, Problem

__all__ = ["pdf_engine", "require_pdf_engine", "write_pdf", "CHROMIUM_NAMES"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
"""Executables searched on PATH, in this order (``SKINTRIAL_CHROMIUM`` names one explicitly)."""

PRINT_TIMEOUT_S = 180


def _chromium() -> str | None:
    explicit = os.environ.get("SKINTRIAL_CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def _weasyprint() -> bool:
    return importlib.util.find_spec("weasyprint") is not None


def pdf_engine() -> str | None:
    """``"chromium"`` (its path found), ``"weasyprint"`` (importable), or ``None``."""
    if _chromium():
        return "chromium"
    if _weasyprint():
        return "weasyprint"
    return None


def require_pdf_engine() -> str:
    """The engine :func:`write_pdf` will use; :class:`InputError` naming what to install when none is."""
    engine = pdf_engine()
    if engine is None:
        raise InputError(
            Problem(
                "--pdf needs headless Chromium or WeasyPrint, and neither was found "
                f"(looked for {', '.join(CHROMIUM_NAMES)} on PATH and the weasyprint package)",
                column="--pdf",
                fix="install Chromium (Debian/Ubuntu: apt install chromium; macOS: install Google Chrome "
                "and set SKINTRIAL_CHROMIUM to its executable) or WeasyPrint (pip install weasyprint), "
                "or leave out --pdf and print report.html from a browser (its print stylesheet gives a "
                "clean paged document)",
            )
        )
    return engine


def write_pdf(html: Path, pdf: Path) -> Path:
    """Print the page ``html`` to ``pdf`` (A4, the page's print stylesheet) and return ``pdf``."""
    html, pdf = Path(html).resolve(), Path(pdf)
    engine = require_pdf_engine()
    if engine == "weasyprint":
        import weasyprint  # type: ignore[import-not-found]

        weasyprint.HTML(filename=str(html)).write_pdf(str(pdf))
        return pdf
    chromium = _chromium()
    assert chromium is not None
    with tempfile.TemporaryDirectory() as profile:
        args = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf.resolve()}",
            html.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run(args, capture_output=True, timeout=PRINT_TIMEOUT_S, check=False)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        tail = done.stderr.decode(errors="replace")[-800:]
        raise RuntimeError(f"{chromium} did not write {pdf} (exit {done.returncode}): {tail}")
    return pdf
