"""qml sits above nn: no subpackage below it imports it (lazy imports included)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "qiskit_qattn"
BELOW = ("encoding", "circuits", "passes", "noise", "sim", "runtime", "mitigation", "attention",
         "nn", "data", "viz", "interop")
IMPORT = re.compile(r"^\s*(from|import)\s+(qiskit_qattn\.qml|\.+qml)\b", re.MULTILINE)


def test_nothing_below_qml_imports_it():
    offenders = [str(path.relative_to(PACKAGE))
                 for sub in BELOW if (PACKAGE / sub).is_dir()
                 for path in (PACKAGE / sub).rglob("*.py") if IMPORT.search(path.read_text())]
    assert offenders == []


def test_qml_reaches_the_lead_area_only_through_its_adapter():
    """circuits/runtime are being redesigned (issue 14): one module of qml calls them."""
    pattern = re.compile(r"^\s*from\s+(\.\.|qiskit_qattn\.)(circuits|runtime)\b", re.MULTILINE)
    users = sorted(path.name for path in (PACKAGE / "qml").rglob("*.py")
                   if pattern.search(path.read_text()))
    assert users == ["_adapter.py"]
