"""qml sits above nn: no subpackage below it imports it (lazy imports included)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "qiskit_qattn"
BELOW = ("encoding", "circuits", "passes", "noise", "sim", "runtime", "execution", "mitigation",
         "attention", "fitting", "nn", "data", "viz", "interop")
IMPORT = re.compile(r"^\s*(from|import)\s+(qiskit_qattn\.qml|\.+qml)\b", re.MULTILINE)


def test_nothing_below_qml_imports_it():
    offenders = [str(path.relative_to(PACKAGE))
                 for sub in BELOW if (PACKAGE / sub).is_dir()
                 for path in (PACKAGE / sub).rglob("*.py") if IMPORT.search(path.read_text())]
    assert offenders == []

