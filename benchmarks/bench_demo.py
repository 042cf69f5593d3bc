"""`skintrial demo` end to end under 30 s on a 2-core machine; `import skintrial` under 0.5 s.

Both are measured in fresh subprocesses (what a user waits for), best of three for the import.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
DEMO_TARGET_S, IMPORT_TARGET_S = 30.0, 0.5


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    baseline = min(_time([sys.executable, "-c", "pass"]) for _ in range(3))
    imp = min(_time([sys.executable, "-c", "import skintrial"]) for _ in range(3)) - baseline
    with tempfile.TemporaryDirectory() as tmp:
        demo = _time([str(BIN / "skintrial"), "demo", "--out", str(Path(tmp) / "demo")])
    print(
        f"import skintrial: {imp * 1000:.0f} ms beyond interpreter start (target < {IMPORT_TARGET_S * 1000:.0f} ms)"
    )
    print(f"skintrial demo end to end: {demo:.1f} s (target < {DEMO_TARGET_S:.0f} s)")
    ok = imp < IMPORT_TARGET_S and demo < DEMO_TARGET_S
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
