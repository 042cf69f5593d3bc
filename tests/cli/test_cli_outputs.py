"""Every command's outputs: never over an input, one run per output folder, a full disk is exit 2.

An output that is one of the command's inputs (the same path, a symbolic link to it, or a hard link
to it) is refused with exit 2 before any work, naming the file and the option to change; the input
is left byte for byte as it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _alias(path: Path, how: str) -> Path:
    """``path`` itself, or a new symbolic or hard link to it beside it."""
    if how == "same":
        return path
    link = path.with_name(f"{how}-{path.name}")
    if how == "symlink":
        link.symlink_to(path)
    else:
        os.link(path, link)
    return link


# command line given an input file ``src`` and an output path ``out`` (inputs need not be valid: the
# refusal comes before anything is read)
COMMANDS = {
    "cutometer": lambda src, out: ["cutometer", str(src), "--out", str(out)],
    "ultrasound": lambda src, out: ["ultrasound", str(src), "--out", str(out), "--pixel-spacing-mm", "0.02"],
    "qpcr": lambda src, out: ["qpcr", str(src), "-r", "GAPDH", "--control-group", "a", "--out", str(out)],
    "qpcr-exclusions": lambda src, out: [
        "qpcr",
        str(src.with_name("ct.csv")),
        "-r",
        "GAPDH",
        "--control-group",
        "a",
        "--participants",
        str(src),
        "--out",
        str(src.with_name("res.csv")),
        "--exclusions",
        str(out),
    ],
    "qpcr-curve": lambda src, out: ["qpcr-curve", str(src), "--out", str(out)],
    "qpcr-stability": lambda src, out: ["qpcr-stability", str(src), "--out", str(out)],
    "expression": lambda src, out: [
        "expression",
        str(src.with_name("expr.csv")),
        "--samples",
        str(src),
        "--design",
        "~ group",
        "--contrast",
        "group: b - a",
        "--out",
        str(out),
    ],
    "randomize": lambda src, out: [
        "randomize",
        "--arms",
        "A,B",
        "--seed",
        "1",
        "--participants",
        str(src),
        "--out",
        str(out),
    ],
}


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_that_is_an_input_is_refused(tmp_path, command, how):
    src = tmp_path / "input.csv"
    src.write_text("participant_id,arm\nP1,A\n")
    for other in ("ct.csv", "expr.csv"):
        (tmp_path / other).write_text("gene,s1\nx,1\n")
    out = _alias(src, how)
    before = _digest(tmp_path)
    r = runner.invoke(app, COMMANDS[command](src, out))
    assert r.exit_code == 2, (r.exit_code, r.output)
    text = " ".join(r.output.split())
    assert str(out) in text and "choose another" in text, text
    assert "--exclusions" in text if command == "qpcr-exclusions" else "--out" in text
    assert _digest(tmp_path) == before


def test_ultrasound_overlays_never_replace_the_scans(tmp_path):
    """`skintrial ultrasound scans/*.png --overlay-dir scans` used to replace each scan by its overlay."""
    from PIL import Image

    from skintrial.plan import simulate_ultrasound

    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(2):
        pixels, _ = simulate_ultrasound(dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, seed=i)
        Image.fromarray(pixels).save(scans / f"s{i}.png")
    before = _digest(scans)
    files = [str(p) for p in sorted(scans.glob("*.png"))]
    for folder in (scans, tmp_path / "link-to-scans"):
        if folder != scans:
            folder.symlink_to(scans)
        r = runner.invoke(
            app,
            ["ultrasound", *files, "--out", str(tmp_path / "u.csv"), "--pixel-spacing-mm", "0.0125"]
            + ["--overlay-dir", str(folder)],
        )
        assert r.exit_code == 2, r.output
        text = " ".join(r.output.split())
        assert (
            "option '--overlay-dir'" in text and "2 overlay(s) would be written over the input scan" in text
        )
        assert "choose another --overlay-dir" in text
        assert _digest(scans) == before and not (tmp_path / "u.csv").exists()
    r = runner.invoke(
        app,
        ["ultrasound", *files, "--out", str(tmp_path / "u.csv"), "--pixel-spacing-mm", "0.0125"]
        + ["--overlay-dir", str(tmp_path / "qc")],
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "qc").iterdir()) == ["s0.png", "s1.png"]
    assert _digest(scans) == before


def test_the_library_refuses_overlays_over_its_inputs_too(tmp_path):
    from skintrial.errors import InputError
    from skintrial.instruments.ultrasound import ultrasound_files

    scan = tmp_path / "a.png"
    scan.write_bytes(b"not read")
    with pytest.raises(InputError, match="overlay"):
        ultrasound_files([scan], overlay_dir=tmp_path, pixel_spacing_mm=0.0125)
    assert scan.read_bytes() == b"not read"


def test_a_second_run_into_the_same_folder_exits_2_naming_the_first(small_bundle, tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom skintrial._io import output_lock\n"
            "with output_lock(sys.argv[1], command='skintrial run other-study'):\n"
            "    print('locked', flush=True)\n    sys.stdin.read()\n",
            str(out),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for args in (["run", str(small_bundle)], ["demo", "--n", "16"]):
            r = runner.invoke(app, [*args, "--out", str(out)])
            assert r.exit_code == 2, r.output
            text = " ".join(r.output.split())
            assert "another skintrial run is writing to this folder: skintrial run other-study" in text
            assert f"pid {holder.pid} on {socket.gethostname()}, started" in text
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()
    assert not (out / "results").exists()


def test_a_full_disk_during_a_run_exits_2_and_keeps_the_previous_run(small_bundle, tmp_path, monkeypatch):
    from skintrial._io import _files

    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(small_bundle), "--out", str(out)]).exit_code == 0
    assert (out / "report.html").is_file() and not (out / "report.html").is_symlink()
    assert not (out / ".skintrial").exists()  # nothing of the machinery is left after a run
    before = _digest(out)
    real = _files._write_temp

    def full(path, data):
        if path.name == "ancova.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(_files, "_write_temp", full)
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(out)])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert f"no space left on device writing {out / 'results' / 'ancova.csv'}" in text
    assert "free space or choose another --out" in text
    assert _digest(out) == before and not (out / ".skintrial").exists()
