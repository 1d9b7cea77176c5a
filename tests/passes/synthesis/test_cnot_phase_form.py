import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit.random import random_circuit
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.quantum_info import Operator

from qiskit_qattn.circuits import qaoa_attention, softmax_state
from qiskit_qattn.passes.synthesis.cnot_phase_form import classify_run, to_cnot_phase_form


@pytest.mark.parametrize("basis", [["cz", "rz", "sx", "x"], ["ecr", "rz", "sx", "x"], ["cx", "u"]])
def test_rewrite_is_exact_including_global_phase(rng, basis):
    circuits = [
        qaoa_attention(rng.normal(size=8), reps=2),
        qaoa_attention(rng.normal(size=16), reps=1, phase_separator="diagonal"),
        softmax_state(rng.normal(size=8)),
        random_circuit(4, 6, seed=3, max_operands=2),
    ]
    for qc in circuits:
        compiled = transpile(qc, basis_gates=basis, optimization_level=3, seed_transpiler=1)
        out = dag_to_circuit(to_cnot_phase_form(circuit_to_dag(compiled)))
        assert np.allclose(Operator(out).data, Operator(compiled).data)


def test_cnot_ladders_become_cx_and_phases():
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(3)
    qc.cx(0, 1)
    qc.rz(0.3, 1)
    qc.cx(2, 1)
    qc.rz(0.2, 1)
    qc.cx(0, 1)
    compiled = transpile(qc, basis_gates=["cz", "rz", "sx", "x"], optimization_level=1)
    out = dag_to_circuit(to_cnot_phase_form(circuit_to_dag(compiled)))
    assert set(out.count_ops()) <= {"cx", "cz", "p", "x"}
    assert np.allclose(Operator(out).data, Operator(qc).data)


def test_classify_run_finds_target_frames():
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    cls = classify_run(h)
    assert not cls["CC"] and cls["CT"] is not None and cls["TC"] is not None
    assert classify_run(np.diag([1, 1j]))["CC"]
