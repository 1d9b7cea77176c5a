import math

import pytest
from qiskit import QuantumCircuit

from qiskit_qattn.resources import clifford_t_counts, physical_estimates
from qiskit_qattn.resources.physical import logical_counts

# qdk 1.33.1 figures for FIXED (default parameters: error budget 1e-3, qubit_gate_ns_e3 and
# qubit_gate_us_e4, surface code). Tolerance: distances and logical qubits exact; physical
# qubits and runtime within 10% (room for estimator-model updates between QDK releases; a
# repeated call must give identical numbers).
REFERENCE = {
    "qubit_gate_ns_e3": {"code_distance": 7, "logical_qubits": 9, "physical_qubits": 67718,
                         "runtime": 3.36e-05},
    "qubit_gate_us_e4": {"code_distance": 3, "logical_qubits": 9, "physical_qubits": 180,
                         "runtime": 0.0216},
}


def fixed_circuit():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.rz(0.3, 1)
    return qc


def test_fixed_circuit_reproduces():
    first = physical_estimates(fixed_circuit(), qubit_models=list(REFERENCE),
                               qec_schemes="surface_code")
    again = physical_estimates(fixed_circuit(), qubit_models=list(REFERENCE),
                               qec_schemes="surface_code")
    assert [e.as_dict() for e in first] == [e.as_dict() for e in again]
    for est in first:
        ref = REFERENCE[est.qubit_model]
        assert est.code_distance == ref["code_distance"]
        assert est.logical_qubits == ref["logical_qubits"]
        assert est.physical_qubits == pytest.approx(ref["physical_qubits"], rel=0.10)
        assert est.runtime == pytest.approx(ref["runtime"], rel=0.10)


def test_estimates_follow_the_surface_code_formulas():
    (est,) = physical_estimates(fixed_circuit(), qubit_models="qubit_gate_ns_e3",
                                qec_schemes="surface_code", error_budget=1e-4)
    q = 2  # algorithmic qubits of the circuit
    assert est.logical_qubits == 2 * q + math.ceil(math.sqrt(8 * q)) + 1
    d = est.code_distance
    assert est.physical_qubits == est.logical_qubits * 2 * d * d + est.t_factory_qubits
    # logical cycle = (4 t_2q + 2 t_meas) * d with 50 ns gates and 100 ns measurement
    assert est.logical_cycle_time == pytest.approx((4 * 50e-9 + 2 * 100e-9) * d)
    assert est.runtime >= est.logical_depth * est.logical_cycle_time * (1 - 1e-9)
    assert est.error_budget == 1e-4 and est.assumptions["errorBudget"] == 1e-4
    # a lower error budget cannot need a smaller code
    (loose,) = physical_estimates(fixed_circuit(), qubit_models="qubit_gate_ns_e3",
                                  qec_schemes="surface_code", error_budget=1e-2)
    assert loose.code_distance <= d


def test_qdk_counts_equal_our_clifford_t_counts():
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.rz(0.3, 0)
    qc.rzz(0.7, 1, 2)
    qc.rz(math.pi / 4, 2)
    qc.cx(0, 2)
    qc.ry(1.3, 1)
    ours = clifford_t_counts(qc)
    theirs = logical_counts(ours.clifford_rz, lowered=True)
    assert theirs["rotationCount"] == ours.rotations
    assert theirs["tCount"] == ours.t_like
    assert theirs["numQubits"] == 3


def test_floquet_only_for_majorana_models():
    est = physical_estimates(fixed_circuit(), qubit_models=["qubit_gate_ns_e4", "qubit_maj_ns_e4"])
    pairs = {(e.qubit_model, e.qec_scheme) for e in est}
    assert pairs == {("qubit_gate_ns_e4", "surface_code"), ("qubit_maj_ns_e4", "surface_code"),
                     ("qubit_maj_ns_e4", "floquet_code")}
    assert all(e.physical_qubits > 0 and e.runtime > 0 for e in est)


def test_bad_input():
    with pytest.raises(ValueError, match="qubit_models"):
        physical_estimates(fixed_circuit(), qubit_models="qubit_transmon")
    with pytest.raises(ValueError, match="qec_schemes"):
        physical_estimates(fixed_circuit(), qec_schemes="color_code")
    with pytest.raises(ValueError, match="floquet_code needs"):
        physical_estimates(fixed_circuit(), qubit_models="qubit_gate_ns_e3",
                           qec_schemes="floquet_code")
    with pytest.raises(ValueError, match="error_budget"):
        physical_estimates(fixed_circuit(), error_budget=0.0)
    with pytest.raises(TypeError, match="circuit"):
        physical_estimates("OPENQASM 3;")
