"""Aer adapter: ideal runs against Statevector, noisy density-matrix runs against closed forms."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli, Statevector
from qiskit_aer.noise import NoiseModel, depolarizing_error

from qiskit_qattn.circuits import prepare_head, value_observables, variational_block
from qiskit_qattn.sim import simulate

TOL = {"complex128": 1e-10, "complex64": 1e-5}


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_ideal_aer_matches_statevector(head, dtype):
    q, k, v = head
    circuits = prepare_head(q, k, v, family="softmax_state").circuits[:2]
    circuits += prepare_head(q, k, v, family="qaoa", reps=2).circuits[:2]
    ops = value_observables(v)
    res = simulate(circuits, ops, method="aer", dtype=dtype, return_probabilities=True)
    assert res.method == "aer" and res.values.shape == (4, 3)
    for i, qc in enumerate(circuits):
        sv = Statevector(qc)
        ref = [sv.expectation_value(op).real for op in ops]
        np.testing.assert_allclose(res.values[i], ref, atol=TOL[dtype], rtol=0)
        np.testing.assert_allclose(res.probabilities[i], sv.probabilities(), atol=TOL[dtype])


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_ideal_aer_on_random_circuits_and_blocks(rng, dtype):
    from qiskit.circuit.random import random_circuit
    from qiskit.quantum_info import SparsePauliOp, random_pauli_list

    block = variational_block(5, 2)
    block = block.assign_parameters(rng.normal(size=block.num_parameters))
    circuits = [random_circuit(5, 6, max_operands=3, seed=s) for s in range(3)] + [block]
    ops = [SparsePauliOp(p) for p in random_pauli_list(5, 6, seed=2, phase=False)]
    res = simulate(circuits, ops, method="aer", dtype=dtype)
    for i, qc in enumerate(circuits):
        sv = Statevector(qc)
        ref = [sv.expectation_value(op).real for op in ops]
        np.testing.assert_allclose(res.values[i], ref, atol=TOL[dtype], rtol=0)


def test_noisy_density_matrix_is_exact():
    p = 0.1
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(p, 1), ["x"])
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.x(0)
    qc.x(1)
    res = simulate(qc, ["IZ", "ZI"], noise_model=noise)
    assert res.method == "aer" and res.metadata["aer_method"] == "density_matrix"
    # depolarizing: rho -> (1-p) rho + p I/2 per X, so <Z> shrinks by (1-p) per gate
    np.testing.assert_allclose(res.values[0], [(1 - p) ** 2, -(1 - p)], atol=1e-10)


def test_noisy_shots_and_mid_circuit_measurement_go_to_aer(rng):
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.cx(0, 1)
    res = simulate(qc, ["ZI"], shots=4000, seed=7)
    assert res.method == "aer" and "mid-circuit" in res.metadata["reason"]
    assert abs(res.values[0, 0]) < 5 * res.std_errors[0, 0] + 1e-3
    assert sum(res.counts[0].values()) == 4000
    assert set(res.counts[0]) <= {"00", "11"}


def test_aer_mps_option(rng):
    block = variational_block(6, 2)
    pv = rng.normal(size=(2, block.num_parameters))
    res = simulate(block, ["IIIIIZ", "ZIIIII"], parameter_values=pv, method="aer",
                   aer_method="matrix_product_state")
    for i, row in enumerate(pv):
        sv = Statevector(block.assign_parameters(row))
        ref = [sv.expectation_value(Pauli(label)).real for label in ("IIIIIZ", "ZIIIII")]
        np.testing.assert_allclose(res.values[i], ref, atol=1e-10)


def test_density_matrix_width_error_before_allocation():
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.01, 1), ["x"])
    with pytest.raises(ValueError, match="20-qubit circuit .* method='mps'"):
        simulate(QuantumCircuit(20), ["I" * 20], noise_model=noise, max_memory=2**30)
