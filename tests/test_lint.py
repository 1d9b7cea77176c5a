import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None and sys.prefix == sys.base_prefix,
                    reason="ruff not installed")
def test_ruff_clean():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "qiskit_qattn", "tests",
                          "benchmarks", "tutorials"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
