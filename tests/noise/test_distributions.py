import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from scipy.stats import chi2

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution.local import _aer_counts
from qiskit_qattn.noise import depolarizing_noise
from qiskit_qattn.noise.distributions import (
    apply_readout,
    noisy_distributions,
    readout_matrices,
)
from qiskit_qattn.passes import compile_circuits


@pytest.fixture(scope="module")
def manila_batch():
    backend = FakeManilaV2()
    rng = np.random.default_rng(8)
    q, k = rng.normal(size=(3, 4)), rng.normal(size=(8, 4))
    return backend, compile_circuits(prepare_head(q, k, np.ones((8, 1))).circuits, backend,
                                     measure=True)


def test_reduced_device_distribution_equals_full_model_exactly(manila_batch):
    """Readout included: the reduced model is not an approximation on the active qubits."""
    backend, batch = manila_batch
    reduced = noisy_distributions(batch, device=backend)
    full = noisy_distributions(batch, noise_model=NoiseModel.from_backend(backend))
    np.testing.assert_allclose(reduced, full, atol=1e-12)


def test_matches_aer_shot_sampling(manila_batch):
    backend, batch = manila_batch
    probs = noisy_distributions(batch, device=backend)
    shots = 50_000
    counts = _aer_counts(batch, shots, 8, backend, "device", np.random.default_rng(1))
    for p, c in zip(probs, counts, strict=True):
        expected = p * shots
        mask = expected > 0
        stat = np.sum((c[mask] - expected[mask]) ** 2 / expected[mask])
        assert chi2.sf(stat, mask.sum() - 1) > 1e-4
    ideal = noisy_distributions(batch, noise_model=None)
    assert np.abs(ideal - probs).max() > 0.01  # the device noise is visible


def test_readout_is_applied_per_bit_in_order():
    model = depolarizing_noise(0.0, 0.0)
    model.add_readout_error([[0.9, 0.1], [0.0, 1.0]], [1])  # only qubit 1 flips 0 -> 1
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.measure([0, 1], [1, 0])  # qubit 1 -> bit 0, qubit 0 -> bit 1
    p = noisy_distributions([qc], noise_model=model)[0]
    # Ideal outcome: bit 1 set (0b10 = 2); bit 0 (qubit 1) reads 1 with probability 0.1.
    np.testing.assert_allclose(p, [0.0, 0.0, 0.9, 0.1], atol=1e-12)
    mats = readout_matrices(model, [1, 0])
    np.testing.assert_allclose(mats[0], [[0.9, 0.0], [0.1, 1.0]])
    np.testing.assert_allclose(mats[1], np.eye(2))


def test_apply_readout_matches_kron():
    rng = np.random.default_rng(0)
    a0 = np.array([[0.95, 0.1], [0.05, 0.9]])
    a1 = np.array([[0.8, 0.3], [0.2, 0.7]])
    p = rng.dirichlet(np.ones(4), size=3)
    np.testing.assert_allclose(apply_readout(p, [a0, a1]), p @ np.kron(a1, a0).T, atol=1e-14)


def test_measured_idle_qubit_reads_zero(manila_batch):
    backend, _ = manila_batch
    qc = QuantumCircuit(5, 2)
    qc.x(3)
    qc.measure([3, 4], [0, 1])  # qubit 4 is never touched
    p = noisy_distributions([qc], device=backend)[0]
    assert p.argmax() == 1 and p[1] > 0.8


def test_sampling_and_bad_input():
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(ValueError, match="mid-circuit"):
        noisy_distributions([qc], noise_model=None)
    with pytest.raises(ValueError, match="needs a device"):
        noisy_distributions([qc])
    with pytest.raises(ValueError, match="noise_model must be"):
        noisy_distributions([qc], noise_model="loud")
    with pytest.raises(ValueError, match="every classical bit"):
        noisy_distributions([QuantumCircuit(1, 1)], noise_model=None)


def test_scheduled_circuits_get_idle_relaxation(manila_batch):
    """Delays from scheduling (or DD) carry T1/T2 noise on the active qubits; idle wires drop."""
    from qiskit_qattn.mitigation import apply_dynamical_decoupling, schedule_idle

    backend, batch = manila_batch
    plain = noisy_distributions(batch[:1], device=backend)
    idle = noisy_distributions(schedule_idle(batch[:1], backend.target), device=backend)
    dd = noisy_distributions(apply_dynamical_decoupling(batch[:1], backend.target),
                             device=backend)
    assert 0 < np.abs(idle - plain).max() < 0.05
    assert np.abs(dd - plain).max() < 0.05
    full = noisy_distributions(schedule_idle(batch[:1], backend.target),
                               noise_model=NoiseModel.from_backend(backend))
    np.testing.assert_allclose(full, idle, atol=1e-12)
