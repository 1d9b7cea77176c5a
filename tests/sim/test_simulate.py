"""simulate(): choice rule, one result container, shots, and bad input."""

import tracemalloc

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qiskit_qattn.circuits import (
    prepare_head,
    qaoa_attention,
    value_observables,
    variational_block,
    z_observables,
)
from qiskit_qattn.sim import SimulationResult, problem_circuits, qaoa_problem, simulate

TOL = {"complex128": 1e-10, "complex64": 1e-5}


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_every_method_agrees_on_one_problem(rng, dtype):
    scores = rng.normal(size=(3, 10)) * 2
    v = rng.normal(size=(10, 2))
    problem = qaoa_problem(scores, reps=2)
    ops = value_observables(v)
    ref = np.array([
        [Statevector(qc).expectation_value(op).real for op in ops]
        for qc in problem_circuits(problem)
    ])
    results = {m: simulate(problem, ops, method=m, dtype=dtype)
               for m in ("structured", "statevector", "mps", "aer")}
    results["values"] = simulate(problem, v, dtype=dtype)
    for name, res in results.items():
        assert isinstance(res, SimulationResult)
        assert res.batch_shape == (3,) and res.values.shape == (3, 2), name
        assert res.dtype == dtype and res.shots is None
        np.testing.assert_allclose(res.values, ref, atol=TOL[dtype], rtol=0,
                                   err_msg=name)


def test_auto_choice_rule(rng):
    small = qaoa_attention(rng.normal(size=8), 2)
    assert simulate(small, "ZII").method == "statevector"
    assert simulate(qaoa_problem(rng.normal(size=8)), "ZII").method == "structured"
    wide = variational_block(30, 1)
    res = simulate(wide, z_observables(30)[:2],
                   parameter_values=rng.normal(size=wide.num_parameters))
    assert res.method == "mps" and "MPS" in res.metadata["reason"]
    # a tight memory budget sends even a small circuit to MPS
    res = simulate(small, "ZII", max_memory=256)
    assert res.method == "mps"


def test_probabilities_statevectors_and_counts(rng):
    circuits = prepare_head(rng.normal(size=(2, 4)), rng.normal(size=(6, 4)),
                            np.ones((6, 1))).circuits
    res = simulate(circuits)
    assert res.probabilities.shape == (2, 8) and res.values.shape == (2, 0)
    for i, qc in enumerate(circuits):
        np.testing.assert_allclose(res.probabilities[i], Statevector(qc).probabilities(),
                                   atol=1e-12)
    res = simulate(circuits, return_statevector=True, return_probabilities=False)
    assert res.probabilities is None
    np.testing.assert_allclose(res.statevectors[1], Statevector(circuits[1]).data, atol=1e-12)
    shots = simulate(circuits, shots=50000, seed=5)
    counts = shots.counts_array()
    assert counts.shape == (2, 8) and np.all(counts.sum(axis=1) == 50000)
    p = Statevector(circuits[0]).probabilities()
    sigma = np.sqrt(p * (1 - p) / 50000) + 1e-12
    assert np.all(np.abs(counts[0] / 50000 - p) < 5 * sigma)


@pytest.mark.parametrize("method", ["structured", "statevector", "aer"])
def test_shot_estimates_are_unbiased(rng, method):
    scores = rng.normal(size=(2, 8))
    v = rng.normal(size=(8, 3))
    problem = qaoa_problem(scores, reps=2)
    exact = simulate(problem, v).values
    res = simulate(problem, value_observables(v), shots=20000, seed=11, method=method)
    assert res.std_errors.shape == exact.shape and np.all(res.std_errors > 0)
    assert np.all(np.abs(res.values - exact) < 5 * res.std_errors)


def test_parameter_values_broadcast_one_circuit(rng):
    block = variational_block(4, 1)
    pv = rng.normal(size=(5, block.num_parameters))
    res = simulate(block, z_observables(4), parameter_values=pv)
    assert res.batch_shape == (5,)
    for i, row in enumerate(pv):
        sv = Statevector(block.assign_parameters(row))
        ref = [sv.expectation_value(op).real for op in z_observables(4)]
        np.testing.assert_allclose(res.values[i], ref, atol=1e-10)


def test_width_beyond_memory_fails_before_allocating():
    qc = QuantumCircuit(34)
    qc.h(range(34))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            simulate(qc, "Z" * 34, method="statevector")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "34-qubit" in message and "method='mps'" in message
    assert peak < 50 * 2**20  # nothing close to a 2**34 statevector was allocated
    with pytest.raises(ValueError, match="22-qubit circuit .*method='mps'"):
        simulate(QuantumCircuit(22), "Z" * 22, method="statevector", max_memory=2**20)
    with pytest.raises(ValueError, match="complex64"):
        simulate(QuantumCircuit(22), "Z" * 22, method="statevector", max_memory=2**20,
                 dtype="complex64")


def test_bad_input_names_the_argument(rng):
    qc = qaoa_attention(rng.normal(size=4), 1)
    with pytest.raises(ValueError, match="method must be one of"):
        simulate(qc, method="tensor")
    with pytest.raises(ValueError, match="dtype"):
        simulate(qc, dtype="float64")
    with pytest.raises(ValueError, match="shots"):
        simulate(qc, shots=0)
    with pytest.raises(ValueError, match="observables must act on all 2 qubits"):
        simulate(qc, SparsePauliOp("ZZZ"))
    with pytest.raises(TypeError, match="observables"):
        simulate(qc, [object()])
    with pytest.raises(TypeError, match="QaoaProblem"):
        simulate(qc, method="structured")
    with pytest.raises(TypeError, match="circuits_or_problem"):
        simulate(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="share one width"):
        simulate([QuantumCircuit(1), QuantumCircuit(2)])
    with pytest.raises(ValueError, match="parameter_values"):
        simulate(variational_block(2, 1), parameter_values=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unbound parameters"):
        simulate(variational_block(2, 1))
    with pytest.raises(ValueError, match="only diagonal observables"):
        simulate(qc, "XI", shots=100)
    with pytest.raises(ValueError, match="max_bond"):
        simulate(qc, "ZI", method="mps", max_bond=0)
    with pytest.raises(ValueError, match="cutoff"):
        simulate(qc, "ZI", method="mps", cutoff=2.0)
    with pytest.raises(ValueError, match="mps_engine"):
        simulate(qc, "ZI", method="mps", mps_engine="tensorflow")
    with pytest.raises(ValueError, match="device"):
        simulate(qc, "ZI", torch_device="cpu")
    with pytest.raises(ValueError, match="device"):
        simulate(qaoa_problem(rng.normal(size=4)), "ZI", method="aer", torch_device="cpu")


def test_inputs_are_not_mutated(rng):
    scores = rng.normal(size=(2, 5))
    mask = np.ones((2, 5), bool)
    v = rng.normal(size=(5, 2))
    copies = scores.copy(), mask.copy(), v.copy()
    qc = qaoa_attention(scores[0], 2)
    data_before = list(qc.data)
    simulate(qaoa_problem(scores, mask=mask), v)
    simulate(qc, v, shots=10, seed=1)
    for a, b in zip((scores, mask, v), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    assert list(qc.data) == data_before
