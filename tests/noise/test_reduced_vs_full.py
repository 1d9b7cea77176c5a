"""The reduced device model reproduces the full model's output distribution (within shot noise)."""

import numpy as np
import pytest
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime.fake_provider import FakeManilaV2, FakeTorino
from scipy.stats import chi2

from qiskit_qattn.circuits import prepare_head
from qiskit_qattn.execution.local import _aer_counts
from qiskit_qattn.noise import device_noise_model
from qiskit_qattn.passes import compact_circuit, compile_circuits


def _compiled(backend, n_keys, seed=0):
    rng = np.random.default_rng(seed)
    q, k = rng.normal(size=(1, 4)), rng.normal(size=(n_keys, 4))
    return compile_circuits(prepare_head(q, k, np.ones((n_keys, 1))).circuits, backend,
                            measure=True)[0]


def _same_distribution(a, b):
    """Two-sample chi-square p-value for equal-size histograms."""
    mask = (a + b) > 0
    stat = np.sum((a[mask] - b[mask]) ** 2 / (a[mask] + b[mask]))
    return chi2.sf(stat, mask.sum() - 1)


def _full_counts(backend, circuit, shots, seed):
    sim = AerSimulator(noise_model=NoiseModel.from_backend(backend), seed_simulator=seed)
    counts = sim.run(circuit, shots=shots).result().get_counts()
    out = np.zeros(2**circuit.num_clbits, dtype=np.int64)
    for key, value in counts.items():
        out[int(key, 2)] += value
    return out


def test_reduced_equals_full_exactly_before_readout():
    """Without measurement noise the two models give the same density matrix on the active
    qubits (Aer truncates the idle qubits of the full-width run)."""
    backend = FakeManilaV2()
    isa = _compiled(backend, 8).remove_final_measurements(inplace=False)
    small, qubits = compact_circuit(isa)
    full, reduced = isa.copy(), small.copy()
    full.save_density_matrix(qubits=qubits)
    reduced.save_density_matrix()
    rho_full = AerSimulator(method="density_matrix",
                            noise_model=NoiseModel.from_backend(backend)).run(full).result()
    rho_small = AerSimulator(method="density_matrix",
                             noise_model=device_noise_model(backend, qubits)).run(reduced).result()
    np.testing.assert_allclose(rho_full.data()["density_matrix"].data,
                               rho_small.data()["density_matrix"].data, atol=1e-10)


def test_reduced_matches_full_within_shot_noise_manila():
    backend = FakeManilaV2()
    isa = _compiled(backend, 8)
    shots = 100_000
    full = _full_counts(backend, isa, shots, seed=1)
    reduced = _aer_counts([isa], shots, 8, backend, "device", np.random.default_rng(2))[0]
    assert full.sum() == reduced.sum() == shots
    assert _same_distribution(full, reduced) > 1e-4
    # And the noise is visible: both differ from the ideal distribution.
    ideal = _aer_counts([isa], shots, 8, backend, None, np.random.default_rng(3))[0]
    assert _same_distribution(full, ideal) < 1e-6


@pytest.mark.slow
def test_reduced_matches_full_on_torino():
    """133-qubit device: the exact noisy distributions (readout included) agree."""
    from qiskit_qattn.noise.distributions import noisy_distributions

    backend = FakeTorino()
    isa = _compiled(backend, 16, seed=4)
    full_model = NoiseModel.from_backend(backend)
    exact_full = noisy_distributions([isa], noise_model=full_model)
    exact_reduced = noisy_distributions([isa], device=backend)
    np.testing.assert_allclose(exact_reduced, exact_full, atol=1e-12)
