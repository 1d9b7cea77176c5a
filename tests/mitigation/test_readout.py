import numpy as np
import pytest
from qiskit import QuantumCircuit

from qiskit_qattn.mitigation import (
    ReadoutCalibration,
    measured_qubits,
    multinomial_covariance,
    readout_calibration_circuits,
)
from qiskit_qattn.noise import depolarizing_noise, noisy_distributions
from qiskit_qattn.sim import sample_counts

A0 = np.array([[0.97, 0.08], [0.03, 0.92]])
A1 = np.array([[0.95, 0.12], [0.05, 0.88]])


def test_tensored_matrix_is_little_endian_kron():
    cal = ReadoutCalibration.from_qubit_matrices([A0, A1])
    np.testing.assert_allclose(cal.matrix, np.kron(A1, A0))
    # P(read 01 | prepared 00): bit 0 flipped, bit 1 kept.
    assert cal.matrix[1, 0] == pytest.approx(A0[1, 0] * A1[0, 0])


@pytest.mark.parametrize("solver", ["nnls", "inverse"])
def test_mitigation_inverts_a_known_confusion_matrix(solver):
    cal = ReadoutCalibration.from_qubit_matrices([A0, A1])
    p = np.array([0.5, 0.1, 0.3, 0.1])
    measured = cal.matrix @ p
    probs, _ = cal.mitigate(measured[None] * 1e6, solver=solver)
    np.testing.assert_allclose(probs[0], p, atol=1e-9)


def test_full_calibration_inverts_a_correlated_confusion_matrix():
    rng = np.random.default_rng(2)
    a = np.eye(4) * 0.9 + rng.random((4, 4)) * 0.1 / 3
    a = a / a.sum(axis=0)  # correlated: not a Kronecker product
    shots = 10**9
    cal = ReadoutCalibration.from_counts(np.round(a.T * shots), 2, "full")
    np.testing.assert_allclose(cal.matrix, a, atol=1e-8)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    probs, _ = cal.mitigate((a @ p)[None] * shots)
    np.testing.assert_allclose(probs[0], p, atol=1e-8)


def test_tensored_from_counts_estimates_flip_rates():
    cal = ReadoutCalibration.from_qubit_matrices([A0, A1])
    counts = np.stack([cal.matrix[:, 0], cal.matrix[:, 3]]) * 10**8
    est = ReadoutCalibration.from_counts(counts, 2, "tensored")
    np.testing.assert_allclose(est.qubit_matrices[0], A0, atol=1e-9)
    np.testing.assert_allclose(est.qubit_matrices[1], A1, atol=1e-9)


def test_nnls_keeps_a_distribution():
    cal = ReadoutCalibration.from_qubit_matrices([A0, A1])
    counts = np.array([[900, 40, 60, 0]])  # pure noise around |00>: inverse goes negative
    inverse, _ = cal.mitigate(counts, solver="inverse")
    nnls, _ = cal.mitigate(counts, solver="nnls")
    assert inverse.min() < 0
    assert nnls.min() >= 0
    assert nnls.sum() == pytest.approx(1.0)


def test_propagated_covariance_matches_monte_carlo():
    cal = ReadoutCalibration.from_qubit_matrices([A0, A1])
    p = np.array([0.4, 0.2, 0.3, 0.1])
    rng = np.random.default_rng(1)
    shots = 4000
    draws = rng.multinomial(shots, cal.matrix @ p, size=2000)
    probs, covs = cal.mitigate(draws, solver="inverse")
    np.testing.assert_allclose(np.sqrt(np.diag(np.cov(probs.T))),
                               np.sqrt(np.diag(covs.mean(axis=0))), rtol=0.1)


def test_calibration_circuits_on_aer_recover_the_readout_model():
    """Calibrate on Aer with a known readout error, then mitigate a prepared |10> + |01> mix."""
    model = depolarizing_noise(0.0, 0.0, readout=(0.04, 0.09))
    qubits = [2, 0]
    cals = readout_calibration_circuits(qubits, 3, "tensored")
    test = QuantumCircuit(3, 2)
    test.h(2)
    test.x(0)
    test.cx(2, 0)  # (|01> + |10>)/sqrt2 on bits (qubit 2 -> bit 0, qubit 0 -> bit 1)
    test.measure(qubits, [0, 1])
    shots = 200_000
    counts = sample_counts(noisy_distributions(cals + [test], noise_model=model), shots, seed=4)
    cal = ReadoutCalibration.from_counts(counts[:2], 2)
    expected = np.array([[0.96, 0.09], [0.04, 0.91]])
    for m in cal.qubit_matrices:
        np.testing.assert_allclose(m, expected, atol=5 / np.sqrt(shots))
    probs, covs = cal.mitigate(counts[2:])
    sigma = np.sqrt(np.diag(covs[0]))
    z = (probs[0] - [0.0, 0.5, 0.5, 0.0]) / np.maximum(sigma, 1e-4)
    assert np.all(np.abs(z) < 5), z


def test_measured_qubits_and_bad_input():
    qc = QuantumCircuit(4, 2)
    qc.measure(3, 0)
    with pytest.raises(ValueError, match="every classical bit exactly once"):
        measured_qubits(qc)
    with pytest.raises(ValueError, match="distinct indices"):
        readout_calibration_circuits([1, 1], 3)
    with pytest.raises(ValueError, match="readout method must be one of"):
        readout_calibration_circuits([0], 3, "magic")
    with pytest.raises(ValueError, match="use method='tensored'"):
        readout_calibration_circuits(list(range(11)), 12, "full")
    with pytest.raises(ValueError, match="column-stochastic"):
        ReadoutCalibration.from_qubit_matrices([[[0.9, 0.9], [0.1, 0.2]]])
    with pytest.raises(ValueError, match="solver must be one of"):
        ReadoutCalibration.from_qubit_matrices([A0]).mitigate([[1, 1]], solver="magic")
    with pytest.raises(ValueError, match="at least one shot"):
        multinomial_covariance([[0, 0]])


def test_execute_with_rem_runs_once_and_mitigates():
    model = depolarizing_noise(0.0, 0.0, readout=(0.05, 0.1))
    qc = QuantumCircuit(3, 2)
    qc.x(2)
    qc.measure([2, 1], [0, 1])
    calls = []

    def run(batch):
        calls.append(len(batch))
        return sample_counts(noisy_distributions(batch, noise_model=model), 100_000, seed=2)

    from qiskit_qattn.mitigation import execute_with_rem

    res = execute_with_rem([qc, qc], run)
    assert calls == [4]
    np.testing.assert_allclose(res.probabilities[:, 1], 1.0, atol=0.01)
    assert res.raw_counts[0, 1] < 0.9 * 100_000
    other = QuantumCircuit(3, 2)
    other.measure([0, 1], [0, 1])
    with pytest.raises(ValueError, match="same physical qubits"):
        execute_with_rem([qc, other], run)
