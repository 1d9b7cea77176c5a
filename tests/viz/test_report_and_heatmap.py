import numpy as np
from qiskit import QuantumCircuit

from qiskit_qattn.viz import (
    attention_heatmaps,
    circuit_report,
    markdown_table,
    update_results_section,
)


def test_circuit_report_counts():
    qc = QuantumCircuit(4, 4)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.rz(0.1, 2)
    qc.measure(range(4), range(4))
    rep = circuit_report(qc)
    assert rep == {"qubits": 3, "two_qubit_gates": 2, "depth": 4, "two_qubit_depth": 2}


def test_heatmap_png(tmp_path):
    path = attention_heatmaps([np.eye(3), np.ones((3, 3)) / 3], ["a", "b"], tmp_path / "x.png",
                              tokens=["x", "y", "z"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_sections_are_replaced_not_duplicated(tmp_path):
    p = tmp_path / "RESULTS.md"
    update_results_section(p, "a", "first")
    update_results_section(p, "b", markdown_table(["x"], [[1]]))
    update_results_section(p, "a", "second")
    text = p.read_text()
    assert "second" in text and "first" not in text and text.count("<!-- section:b -->") == 1
