"""Run every benchmark script (``make bench``); each writes its own section of RESULTS.md.

Usage: python benchmarks/run_all.py [name ...]   (names without .py; default: all)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scripts that are helpers, not benchmarks.
SKIP = {"run_all.py", "fit_default_schedule.py", "fit_family_schedules.py"}


def main(argv: list[str]) -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_")
    )
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    failed = []
    for script in scripts:
        start = time.perf_counter()
        print(f"== {script.name}", flush=True)
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        elapsed = time.perf_counter() - start
        print(f"== {script.name}: exit {code} after {elapsed:.0f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
