"""Tests for the exact CNOT + RZ synthesis of dense diagonals."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit.library import DiagonalGate
from qiskit.quantum_info import Operator

from qiskit_qattn.passes.synthesis.diagonal import synthesize_diagonal


@pytest.mark.parametrize("n", range(1, 9))
def test_equals_diagonal_gate_including_global_phase(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    phases = rng.uniform(-4.0, 4.0, 2**n)
    qc = synthesize_diagonal(phases)
    expected = Operator(DiagonalGate(list(np.exp(1j * phases))))
    np.testing.assert_allclose(Operator(qc).data, expected.data, atol=1e-9)
    assert set(qc.count_ops()) <= {"cx", "rz"}
    assert qc.count_ops().get("cx", 0) == 2**n - 2


def test_matches_statevector_diagonal() -> None:
    phases = np.linspace(-1.0, 2.5, 16)
    data = Operator(synthesize_diagonal(phases)).data
    np.testing.assert_allclose(np.diag(data), np.exp(1j * phases), atol=1e-10)
    np.testing.assert_allclose(data - np.diag(np.diag(data)), 0.0, atol=1e-10)


def test_sparse_phases_drop_rotations() -> None:
    qc = synthesize_diagonal(np.zeros(8))
    assert "rz" not in qc.count_ops()
    np.testing.assert_allclose(Operator(qc).data, np.eye(8), atol=1e-12)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(3),
        np.zeros(1),
        np.zeros((2, 2)),
        np.array([0.0, np.nan]),
        np.array([np.inf, 0.0]),
        np.array([1j, 0.0]),
    ],
)
def test_rejects_bad_phases(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="phases"):
        synthesize_diagonal(bad)
