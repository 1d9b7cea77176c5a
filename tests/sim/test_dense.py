"""Dense Numba statevector against qiskit.quantum_info.Statevector."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import (
    DiagonalGate,
    Initialize,
    PauliEvolutionGate,
    StatePreparation,
    UCGate,
    UnitaryGate,
)
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import SparsePauliOp, Statevector, random_pauli_list, random_unitary

from qiskit_qattn.circuits import qaoa_attention, softmax_state, variational_block
from qiskit_qattn.sim import dense_statevector, lower_circuit, simulate

TOL = {"complex128": 1e-10, "complex64": 1e-5}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_random_circuits(seed, dtype):
    qc = random_circuit(6, 8, max_operands=3, seed=seed)
    psi = dense_statevector(qc, dtype)
    np.testing.assert_allclose(psi, Statevector(qc).data, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_attention_circuits(rng, dtype):
    s = rng.normal(size=13) * 2
    block = variational_block(5, 2, entanglement="circular")
    block = block.assign_parameters(rng.normal(size=block.num_parameters))
    cases = [
        softmax_state(s),
        qaoa_attention(s, 2, phase_separator="walsh"),
        qaoa_attention(s, 3, phase_separator="diagonal"),
        block,
    ]
    for qc in cases:
        psi = dense_statevector(qc, dtype)
        np.testing.assert_allclose(psi, Statevector(qc).data, atol=TOL[dtype], rtol=0)


def test_structured_gates_keep_their_structure(rng):
    qc = QuantumCircuit(4)
    amps = rng.normal(size=4) + 1j * rng.normal(size=4)
    qc.append(StatePreparation(amps / np.linalg.norm(amps)), [1, 3])
    qc.h(0)
    qc.append(DiagonalGate(list(np.exp(1j * rng.normal(size=8)))), [3, 0, 2])
    mats = [random_unitary(2, seed=i).data for i in range(4)]
    qc.append(UCGate(mats), [2, 0, 3])
    zz = SparsePauliOp(["ZIZ", "IZZ", "ZZZ"], [0.4, -1.1, 0.3])
    qc.append(PauliEvolutionGate(zz, time=0.7), [0, 1, 3])
    qc.append(UnitaryGate(random_unitary(4, seed=9)), [3, 1])
    qc.cx(1, 2)
    kinds = [op[0] for op in lower_circuit(qc).ops]
    assert {"prep", "diag", "mux", "kq"} <= set(kinds)
    np.testing.assert_allclose(dense_statevector(qc), Statevector(qc).data, atol=1e-10, rtol=0)


def test_state_preparation_after_gates_is_decomposed(rng):
    qc = QuantumCircuit(3)
    qc.h(1)
    amps = rng.normal(size=4)
    qc.append(StatePreparation(amps / np.linalg.norm(amps)), [0, 1])  # qubit 1 not in |0>
    assert "prep" not in [op[0] for op in lower_circuit(qc).ops]
    np.testing.assert_allclose(dense_statevector(qc), Statevector(qc).data, atol=1e-10, rtol=0)


def test_initialize_and_final_measurements():
    qc = QuantumCircuit(2, 2)
    qc.append(Initialize([0, 1, 0, 0]), [0, 1])
    qc.h(1)
    qc.measure([0, 1], [0, 1])
    program = lower_circuit(qc)
    assert program.measured == [(0, 0), (1, 1)]
    ref = Statevector(qc.remove_final_measurements(inplace=False)).data
    np.testing.assert_allclose(dense_statevector(qc), ref, atol=1e-12, rtol=0)


def test_unsupported_instructions_point_to_aer():
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(ValueError, match="method='aer'"):
        lower_circuit(qc)
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.reset(0)
    with pytest.raises(ValueError, match="method='aer'"):
        lower_circuit(qc)
    with pytest.raises(ValueError, match="unbound parameters"):
        lower_circuit(variational_block(2, 1))
    with pytest.raises(TypeError, match="QuantumCircuit"):
        lower_circuit("not a circuit")


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_exact_pauli_expectations(dtype):
    qc = random_circuit(5, 6, max_operands=2, seed=11)
    paulis = random_pauli_list(5, 12, seed=3, phase=False)
    ops = [SparsePauliOp(p, coeffs=[0.5 + i]) for i, p in enumerate(paulis)]
    ops.append(SparsePauliOp(["IIIII", "ZIZII", "XXYYZ"], [1.0, -0.5, 2.0]))
    res = simulate(qc, ops, method="statevector", dtype=dtype)
    sv = Statevector(qc)
    ref = [sv.expectation_value(op).real for op in ops]
    np.testing.assert_allclose(res.values[0], ref, atol=TOL[dtype] * 10, rtol=0)
