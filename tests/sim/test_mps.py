"""quimb MPS path: exact against dense references, bounded when truncated, wide against Aer MPS."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import SparsePauliOp, Statevector, random_pauli_list

from qiskit_qattn.circuits import (
    qaoa_attention,
    softmax_state,
    value_observables,
    variational_block,
    z_observables,
)
from qiskit_qattn.sim import build_native_mps, build_quimb_mps, simulate

TOL = {"complex128": 1e-10, "complex64": 1e-5}


def _expect(qc, ops):
    sv = Statevector(qc)
    return np.array([sv.expectation_value(op).real for op in ops])


@pytest.mark.parametrize("engine", ["native", "quimb"])
@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_exact_on_attention_and_random_circuits(rng, dtype, engine):
    s = rng.normal(size=8) * 2
    v = rng.normal(size=(8, 2))
    block = variational_block(7, 2, entanglement="circular")
    block = block.assign_parameters(rng.normal(size=block.num_parameters))
    rand = random_circuit(5, 6, max_operands=3, seed=4)
    cases = [
        (softmax_state(s), value_observables(v)),
        (qaoa_attention(s, 2, phase_separator="walsh"), value_observables(v)),
        (qaoa_attention(s, 2, phase_separator="diagonal"), value_observables(v)),
        (block, z_observables(7) + [SparsePauliOp(["XXIIIYZ"], [0.5])]),
        (rand, [SparsePauliOp(p) for p in random_pauli_list(5, 6, seed=1, phase=False)]),
    ]
    for qc, ops in cases:
        res = simulate(qc, ops, method="mps", dtype=dtype, mps_engine=engine)
        assert res.metadata["engine"] == engine
        np.testing.assert_allclose(
            res.values[0], _expect(qc, ops), atol=TOL[dtype], rtol=0
        )
        assert res.error_bounds.shape == (1, len(ops))
        if dtype == "complex128":
            assert res.truncation_error[0] < 1e-10


def test_value_array_observables_on_mps(rng):
    s = rng.normal(size=6)
    v = rng.normal(size=(6, 3))
    qc = qaoa_attention(s, 2)
    res = simulate(qc, v, method="mps")
    p = Statevector(qc).probabilities()
    np.testing.assert_allclose(res.values[0], p[:6] @ v, atol=1e-10, rtol=0)


def _entangling_circuit(rng, n=8, layers=6):
    qc = QuantumCircuit(n)
    for layer in range(layers):
        for q in range(n):
            qc.u(*rng.uniform(0, 2 * np.pi, 3), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.cx(0, n - 1)  # one long-range gate: swaps truncate too
    return qc


@pytest.mark.parametrize("engine", ["native", "quimb"])
@pytest.mark.parametrize("max_bond", [8, 4, 2])
def test_truncated_results_within_reported_bounds(rng, max_bond, engine):
    qc = _entangling_circuit(rng)
    paulis = random_pauli_list(8, 6, seed=5, phase=False)
    ops = z_observables(8) + [SparsePauliOp(p) for p in paulis]
    res = simulate(qc, ops, method="mps", max_bond=max_bond, mps_engine=engine)
    err = np.abs(res.values[0] - _expect(qc, ops))
    assert res.truncation_error[0] > 0  # this circuit needs bond 16
    assert res.metadata["max_bond"] == [max_bond]
    assert np.all(err <= res.error_bounds[0] + 1e-12)
    assert err.max() > 1e-6  # truncation really changed the values (the test can fail)


@pytest.mark.parametrize("engine", ["native", "quimb"])
def test_gate_order_for_asymmetric_two_qubit_gates(engine):
    qc = QuantumCircuit(3)
    qc.x(2)
    qc.cx(2, 0)  # control is the high qubit: catches a swapped little/big-endian mapping
    qc.ch(0, 1)
    qc.rzz(0.3, 1, 2)
    qc.cry(0.7, 2, 1)
    if engine == "quimb":
        bound = build_quimb_mps(qc)[1]
    else:
        bound = build_native_mps(qc).distance_bound
    assert bound == 0.0
    ops = [SparsePauliOp(label) for label in ("IIZ", "IZI", "ZII", "IXI", "YXI", "ZZZ")]
    res = simulate(qc, ops, method="mps", mps_engine=engine)
    np.testing.assert_allclose(res.values[0], _expect(qc, ops), atol=1e-12)


@pytest.mark.parametrize("engine", ["native", "quimb"])
def test_wide_block_agrees_with_aer_mps(rng, engine):
    from qiskit_aer import AerSimulator

    n = 50
    block = variational_block(n, 2, entanglement="circular")
    block = block.assign_parameters(rng.normal(size=block.num_parameters))
    ops = z_observables(n)[::7] + [SparsePauliOp.from_sparse_list([("ZZ", [3, 40], 1.0)], n)]
    res = simulate(block, ops, mps_engine=engine)  # auto: too wide for a dense statevector
    assert res.method == "mps" and res.truncation_error[0] < 1e-10
    aer_qc = block.copy()
    for k, op in enumerate(ops):
        aer_qc.save_expectation_value(op, range(n), label=f"o{k}")
    data = AerSimulator(method="matrix_product_state").run(aer_qc).result().data(0)
    ref = np.array([data[f"o{k}"] for k in range(len(ops))]).real
    np.testing.assert_allclose(res.values[0], ref, atol=1e-10, rtol=0)


def test_mps_sampling_statistics(rng):
    block = variational_block(6, 1)
    block = block.assign_parameters(rng.normal(size=block.num_parameters))
    ops = z_observables(6)
    res = simulate(block, ops, shots=4000, method="mps", seed=3)
    exact = _expect(block, ops)
    assert res.counts is not None and sum(res.counts[0].values()) == 4000
    assert np.all(np.abs(res.values[0] - exact) < 5 * res.std_errors[0] + 1e-3)
    counts = res.counts_array()[0]
    p = Statevector(block).probabilities()
    sigma = np.sqrt(p * (1 - p) / 4000) + 1e-9
    assert np.all(np.abs(counts / 4000 - p) < 6 * sigma + 2e-3)


def test_native_and_quimb_truncate_alike(rng):
    qc = _entangling_circuit(rng, n=10, layers=8)
    ops = z_observables(10)
    a = simulate(qc, ops, method="mps", max_bond=6)
    b = simulate(qc, ops, method="mps", max_bond=6, mps_engine="quimb")
    exact = _expect(qc, ops)
    for res in (a, b):
        assert np.all(np.abs(res.values[0] - exact) <= res.error_bounds[0] + 1e-12)
    # same truncation rule: similar discarded weight
    assert abs(a.truncation_error[0] - b.truncation_error[0]) < 0.5 * b.truncation_error[0] + 1e-9
