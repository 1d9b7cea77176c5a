"""Structured QAOA kernel against Qiskit's dense Statevector of the real circuits."""

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qiskit_qattn.circuits import qaoa_attention
from qiskit_qattn.circuits.schedules import default_schedule
from qiskit_qattn.sim import (
    problem_circuits,
    qaoa_problem,
    qaoa_problem_from_attention,
    simulate,
    structured_statevectors,
)
from qiskit_qattn.sim.structured import iter_structured_states

TOL = {"complex128": 1e-10, "complex64": 1e-5}


@pytest.mark.parametrize("separator", ["walsh", "diagonal"])
@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_matches_qaoa_attention_circuits(rng, separator, dtype):
    scores = rng.normal(size=(4, 11)) * 2.0
    mask = rng.random((4, 11)) < 0.8
    mask[:, 0] = True
    problem = qaoa_problem(scores, reps=3, mask=mask)
    psi = structured_statevectors(problem, dtype)
    assert psi.dtype == np.dtype(dtype)
    for b in range(4):
        qc = qaoa_attention(scores[b], 3, mask=mask[b], phase_separator=separator)
        ref = Statevector(qc).data  # includes the circuit's global phase
        np.testing.assert_allclose(psi[b], ref, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("block_qubits", [0, 1, 2, 5])
def test_cache_blocking_variants_agree(rng, block_qubits):
    # block_qubits below m exercises the one- and two-qubit full passes of the kernel
    scores = rng.normal(size=(2, 37))
    gammas, betas = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    problem = qaoa_problem(scores, gammas=gammas, betas=betas)
    parts = [s for _, _, s in iter_structured_states(problem, block_qubits=block_qubits)]
    psi = np.concatenate(parts)
    for b in range(2):
        ref = Statevector(qaoa_attention(scores[b], 2, gammas[b], betas[b])).data
        np.testing.assert_allclose(psi[b], ref, atol=1e-10, rtol=0)


def test_default_schedule_scaling_matches_builder(rng):
    s = rng.normal(size=9) * 3
    problem = qaoa_problem(s, reps=2, temperature=0.7)
    dg, db = default_schedule(2)
    np.testing.assert_allclose(problem.gammas[0], dg / np.std(s / 0.7))
    np.testing.assert_allclose(problem.betas[0], db)
    qc = qaoa_attention(s, 2, temperature=0.7)
    np.testing.assert_allclose(
        structured_statevectors(problem)[0], Statevector(qc).data, atol=1e-10, rtol=0
    )


def test_heads_batch_and_chunking(rng):
    q, k = rng.normal(size=(3, 5, 8)), rng.normal(size=(3, 6, 8))
    problem = qaoa_problem_from_attention(q, k, reps=2)
    assert problem.batch_shape == (3, 5)
    full = structured_statevectors(problem).reshape(15, -1)
    chunks = np.concatenate([s for _, _, s in iter_structured_states(problem, chunk_rows=4)])
    np.testing.assert_allclose(chunks, full, atol=0)
    scores = np.einsum("hqd,hkd->hqk", q, k) / np.sqrt(8)
    for h, i in [(0, 0), (2, 4), (1, 3)]:
        ref = Statevector(qaoa_attention(scores[h, i], 2)).data
        np.testing.assert_allclose(full[h * 5 + i], ref, atol=1e-10, rtol=0)


def test_problem_circuits_are_the_same_states(rng):
    problem = qaoa_problem(rng.normal(size=(2, 16)), reps=2)
    circuits = problem_circuits(problem)
    psi = structured_statevectors(problem)
    for b, qc in enumerate(circuits):
        np.testing.assert_allclose(psi[b], Statevector(qc).data, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_simulate_value_outputs_per_head(rng, dtype):
    q, k, v = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 7, 3))
    problem = qaoa_problem_from_attention(q, k, reps=2)
    res = simulate(problem, v, dtype=dtype)
    assert res.method == "structured" and res.values.shape == (2, 4, 3)
    scores = np.einsum("hqd,hkd->hqk", q, k) / np.sqrt(8)
    for h in range(2):
        for i in range(4):
            p = Statevector(qaoa_attention(scores[h, i], 2)).probabilities()
            np.testing.assert_allclose(
                res.values[h, i], p[:7] @ v[h], atol=TOL[dtype], rtol=0
            )


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_torch_device_path_matches_numba(rng, dtype):
    pytest.importorskip("torch")
    problem = qaoa_problem(rng.normal(size=(3, 12)), reps=2, mask=rng.random((3, 12)) < 0.9)
    v = rng.normal(size=(12, 2))
    cpu = simulate(problem, v, return_statevector=True, dtype=dtype)
    torch_res = simulate(problem, v, return_statevector=True, torch_device="cpu", dtype=dtype)
    assert torch_res.metadata["device"] == "cpu" and torch_res.statevectors.dtype == dtype
    np.testing.assert_allclose(torch_res.statevectors, cpu.statevectors, atol=TOL[dtype], rtol=0)
    np.testing.assert_allclose(torch_res.values, cpu.values,
                               atol=TOL[dtype], rtol=0)


def test_problem_validation(rng):
    with pytest.raises(ValueError, match="scores"):
        qaoa_problem([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="mask"):
        qaoa_problem(rng.normal(size=(2, 4)), mask=np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match="gammas"):
        qaoa_problem(rng.normal(size=(2, 4)), gammas=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="betas must have length reps=3"):
        qaoa_problem(rng.normal(size=(2, 4)), gammas=[0.1, 0.2, 0.3], betas=[0.1, 0.2])
    with pytest.raises(ValueError, match="betas"):
        qaoa_problem(rng.normal(size=(2, 4)), reps=2, betas=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="temperature"):
        qaoa_problem(rng.normal(size=4), temperature=0.0)
    with pytest.raises(ValueError, match="dtype"):
        structured_statevectors(qaoa_problem(rng.normal(size=4)), "float32")
