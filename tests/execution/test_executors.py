import tempfile

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution import (
    CircuitBatch,
    LocalSampler,
    RuntimeExecutor,
    StatevectorExecutor,
    compiled_batch,
    logical_batch,
    resolve_executor,
)
from qiskit_qattn.noise import depolarizing_noise, noisy_distributions

pytestmark = pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")


@pytest.fixture(scope="module")
def manila():
    return FakeManilaV2()


def _qaoa_head(rng, n_q=3, n_k=6):
    q, k, v = rng.normal(size=(n_q, 4)), rng.normal(size=(n_k, 4)), rng.normal(size=(n_k, 2))
    return prepare_head(q, k, v, family="qaoa", reps=2)


def test_structured_and_circuit_statevectors_agree(rng):
    head = _qaoa_head(rng)
    batch = logical_batch(head)
    assert batch.problem is not None
    structured = StatevectorExecutor().probabilities(batch)
    dense = StatevectorExecutor(method="statevector").probabilities(batch)
    ref = np.stack([Statevector(qc).probabilities() for qc in head.circuits])
    np.testing.assert_allclose(structured, ref, atol=1e-10)
    np.testing.assert_allclose(dense, ref, atol=1e-10)


def test_template_batch_binds_to_the_per_query_circuits(rng, manila):
    head = _qaoa_head(rng)
    batch = compiled_batch(head, manila)
    assert batch.template is not None and batch.num_rows == 3 and batch.measured
    per_query = compiled_batch(head, manila, template=False)
    a = noisy_distributions(batch.circuits, noise_model=None)
    b = noisy_distributions(per_query.circuits, noise_model=None)
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(a, np.stack([Statevector(qc).probabilities()
                                            for qc in head.circuits]), atol=1e-9)


def test_noiseless_compiled_sampling_matches_probabilities(rng, manila):
    head = prepare_head(rng.normal(size=(1, 4)), rng.normal(size=(8, 4)), np.ones((8, 1)))
    batch = compiled_batch(head, manila)
    counts = LocalSampler(manila, noise_model=None, seed=2).run([batch], 40000)[0].counts
    p = head.rows.probs[0]
    sigma = np.sqrt(p * (1 - p) / 40000) + 1e-12
    assert np.all(np.abs(counts[0] / 40000 - p) < 5 * sigma)


def test_aer_fallback_agrees_with_exact_noisy_distributions(monkeypatch):
    """Beyond the density-matrix limit the one sampler switches to Aer shots: same statistics."""
    import qiskit_qattn.noise.distributions as dist

    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    noise = depolarizing_noise(0.01, 0.05, readout=0.03)
    batch = CircuitBatch([qc], 2, measured=True)
    sampler = LocalSampler("fake_manila", noise_model=noise, seed=3)
    exact = noisy_distributions([qc], noise_model=noise)[0]
    monkeypatch.setattr(dist, "MAX_DENSITY_QUBITS", 1)
    counts = sampler.run([batch], 50_000)[0].counts[0]
    sigma = np.sqrt(exact * (1 - exact) / 50_000) + 1e-12
    assert np.all(np.abs(counts / 50_000 - exact) < 5 * sigma)


def test_runtime_executor_one_job_for_every_batch(rng, manila):
    head = _qaoa_head(rng)
    batch = compiled_batch(head, manila)
    ex = RuntimeExecutor(manila, store=tempfile.mkdtemp(), seed=4)
    out = ex.run([batch, batch], shots=3000)
    assert ex.executions == 1 and len(out) == 2
    assert out[0].metadata["jobs"] == 1 and out[0].counts.shape == (3, 8)
    assert np.all(out[0].counts.sum(axis=1) == 3000)
    assert out[0].metadata["cost_preview"]["circuits"] == 6


def test_bad_executor_input_is_named(rng, manila):
    head = _qaoa_head(rng)
    with pytest.raises(ValueError, match="execution must be one of"):
        resolve_executor("quantum")
    with pytest.raises(ValueError, match="drop device"):
        resolve_executor("statevector", device="fake_manila")
    with pytest.raises(ValueError, match="mode applies"):
        resolve_executor("shots", mode=manila)
    with pytest.raises(ValueError, match="needs shots"):
        LocalSampler().run([logical_batch(head)])
    with pytest.raises(ValueError, match="noise_model must be"):
        LocalSampler(manila, noise_model="loud")
    with pytest.raises(ValueError, match="compiled for"):
        LocalSampler("fake_lima").run([compiled_batch(head, manila)], 10)
    with pytest.raises(ValueError, match="logical circuits"):
        StatevectorExecutor().run([compiled_batch(head, manila)])
    with pytest.raises(ValueError, match="primitive must be one of"):
        RuntimeExecutor(manila, primitive="oracle")
    with pytest.raises(ValueError, match="exactly one of circuits and template"):
        CircuitBatch(None, 1)
