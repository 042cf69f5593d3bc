"""Benchmark: 1,000 B-mode skin scans of 512 × 1024 pixels, files to parameter table, in one process.

Claim (issue 4): ``ultrasound_files`` analyses 1,000 scans of 512 × 1024 in under 30 s on a 2-core
machine, reading included; the per-scan cost is printed.

Scans: 25 phantoms from ``simulate_ultrasound`` (thickness 0.9–2.5 mm, varied echogenicity and SLEB),
each written 40 times (lateral shifts and mirror images, so no two files are equal) as DICOM with the
region calibration (half) and as PNG with the spacing given (half). Writing them is not timed.

Peer: the straightforward per-column implementation a lab would write first — for each scan and each
column, smooth the depth profile, take the strongest rising step as the surface and the strongest
falling step below it as the border, and count the dermis pixels of each echogenicity band column by
column (no dynamic programme, no SLEB, no QC, no batching). It is timed on PEER_SCANS already-read
scans and scaled linearly to 1,000 (a plain loop: constant cost per scan); the script says so. It does
less than ours, so it is a floor, not a fair rival: the thickness errors against the phantom truth are
printed next to the times. Reading the files is timed on its own (it is the same for any method), and
ours is also run one scan at a time (batch_size=1) to show what batching the scans buys.

Run: .venv/bin/python benchmarks/bench_ultrasound.py [--overlays]   (exit 1 when the target is missed)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_SCANS = 1_000
N_BASE = 25
PEER_SCANS = 20
TARGET_S = 30.0
SPACING = (0.0125, 0.0125)


def make_scans(folder: Path) -> tuple[list[Path], list[float]]:
    from PIL import Image

    from skintrial.instruments.ultrasound import write_ultrasound_dicom
    from skintrial.plan import simulate_ultrasound

    rng = np.random.default_rng(7)
    paths, truths = [], []
    per_base = N_SCANS // N_BASE
    for b in range(N_BASE):
        upper = rng.uniform(0.1, 0.45)
        pixels, truth = simulate_ultrasound(
            dermal_thickness_mm=rng.uniform(0.9, 2.5),
            lep_upper=upper,
            lep_lower=rng.uniform(0.03, upper),
            sleb_thickness_mm=float(rng.choice([0.0, 0.1, 0.2])),
            seed=b,
        )
        for k in range(per_base):
            variant = np.roll(pixels, 37 * k, axis=1)
            if k % 2:
                variant = variant[:, ::-1]
            variant = np.ascontiguousarray(variant)
            if k % 2 == 0:
                path = write_ultrasound_dicom(folder / f"s{b:02d}_{k:02d}.dcm", variant, spacing_mm=SPACING)
            else:
                path = folder / f"s{b:02d}_{k:02d}.png"
                Image.fromarray(variant).save(path, compress_level=1)
            paths.append(path)
            truths.append(truth["dermal_thickness_mm"])
    return paths, truths


def peer_one(pixels: np.ndarray, dy: float) -> dict:
    """Per-column loop: smoothed profile, strongest steps, per-column pixel counts."""
    rows, cols = pixels.shape
    kernel = np.ones(9) / 9.0
    thickness, n, low, high = [], 0, 0, 0
    for c in range(cols):
        profile = np.convolve(pixels[:, c].astype(float), kernel, mode="same")
        step = np.zeros(rows)
        step[6:-6] = profile[12:] - profile[:-12]
        surface = int(np.argmax(step[: rows // 2]))
        top = surface + 8
        lo, hi = top + 24, min(rows - 6, top + 320)
        border = lo + int(np.argmin(step[lo:hi]))
        thickness.append((border - top) * dy)
        column = pixels[top:border, c]
        n += column.size
        low += int(np.sum(column <= 30))
        high += int(np.sum(column >= 201))
    return {
        "dermal_thickness_mm": float(np.median(thickness)),
        "lep_fraction": low / n,
        "hep_fraction": high / n,
    }


def main() -> int:
    from skintrial.instruments.ultrasound import read_ultrasound, ultrasound_files

    overlays = "--overlays" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths, truths = make_scans(folder)
        print(
            f"wrote {len(paths)} scans of 512 x 1024 (half DICOM, half PNG) in {time.perf_counter() - t0:.1f} s "
            "(not timed)"
        )

        t0, c0 = time.perf_counter(), time.process_time()
        table = ultrasound_files(
            paths, pixel_spacing_mm=SPACING, overlay_dir=folder / "overlays" if overlays else None
        )
        ours_s, ours_cpu = time.perf_counter() - t0, time.process_time() - c0

        t0 = time.perf_counter()
        images = [read_ultrasound(p, pixel_spacing_mm=SPACING).pixels for p in paths]
        read_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        ultrasound_files(paths[: PEER_SCANS * 5], pixel_spacing_mm=SPACING, batch_size=1)
        single_s = (time.perf_counter() - t0) * N_SCANS / (PEER_SCANS * 5)

        t0 = time.perf_counter()
        peer_rows = [peer_one(pixels, SPACING[0]) for pixels in images[:PEER_SCANS]]
        peer_analysis_s = (time.perf_counter() - t0) * N_SCANS / PEER_SCANS
        del images

    truth = np.array(truths)
    ours_err = np.abs(table["dermal_thickness_mm"].to_numpy() / truth - 1)
    peer_err = np.abs(np.array([r["dermal_thickness_mm"] for r in peer_rows]) / truth[:PEER_SCANS] - 1)
    clean = int((table["qc"] == "").sum())
    ms = 1000.0 / N_SCANS
    ours_analysis_s = ours_s - read_s
    print(f"reading the {N_SCANS} files alone: {read_s:.2f} s = {read_s * ms:.1f} ms per scan")
    print(
        f"ours, files -> table: {ours_s:.2f} s = {ours_s * ms:.1f} ms per scan "
        f"(analysis ~{ours_analysis_s * ms:.1f} ms{' incl. overlay' if overlays else ''}; CPU {ours_cpu:.2f} s); "
        f"{clean} clean; "
        f"|thickness error| median {100 * np.median(ours_err):.2f}%, max {100 * ours_err.max():.2f}%"
    )
    print(
        f"ours one scan at a time (batch_size=1, timed on {PEER_SCANS * 5}, scaled): {single_s:.2f} s = "
        f"{single_s * ms:.1f} ms per scan"
    )
    print(
        f"peer, per-column loop without DP (analysis only, timed on {PEER_SCANS} scans and scaled to "
        f"{N_SCANS}): {peer_analysis_s:.1f} s = {peer_analysis_s * ms:.1f} ms per scan; |thickness error| "
        f"median {100 * np.median(peer_err):.2f}%, max {100 * peer_err.max():.2f}%"
    )
    print(
        f"ratio peer / ours (analysis only): {peer_analysis_s / max(ours_analysis_s, 1e-9):.1f}x; "
        f"batched / one at a time: {single_s / ours_s:.2f}x   target: ours files -> table < {TARGET_S:.0f} s"
    )
    ok = ours_s < TARGET_S
    print("PASS" if ok else "FAIL: target missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
