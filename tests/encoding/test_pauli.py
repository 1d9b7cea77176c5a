import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qiskit_qattn.encoding import diagonal_to_sparse_pauli, sparse_pauli_to_diagonal


@pytest.mark.parametrize("m", [1, 2, 4, 6])
def test_z_string_expansion_reproduces_diagonal(rng, m):
    d = rng.normal(size=2**m)
    op = diagonal_to_sparse_pauli(d)
    dense = op.to_matrix()
    np.testing.assert_allclose(np.diag(dense).real, d, atol=1e-12)
    np.testing.assert_allclose(dense - np.diag(np.diag(dense)), 0, atol=1e-12)
    np.testing.assert_allclose(sparse_pauli_to_diagonal(op), d, atol=1e-12)


def test_little_endian_order():
    # Z on qubit 0 flips sign on odd basis states.
    op = diagonal_to_sparse_pauli([1.0, -1.0, 1.0, -1.0])
    assert op.to_list() == [("IZ", 1 + 0j)]


def test_sparse_pauli_to_diagonal_rejects_x():
    with pytest.raises(ValueError, match="diagonal"):
        sparse_pauli_to_diagonal(SparsePauliOp(["XZ"]))


def test_diagonal_to_sparse_pauli_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        diagonal_to_sparse_pauli([1.0, np.nan])
    with pytest.raises(ValueError, match="power-of-two"):
        diagonal_to_sparse_pauli([1.0, 2.0, 3.0])
