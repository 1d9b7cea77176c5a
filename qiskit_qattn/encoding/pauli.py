"""Diagonal vectors <-> ``SparsePauliOp`` sums of Z-strings (little-endian, Qiskit order)."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.quantum_info import PauliList, SparsePauliOp

from .validation import to_numpy
from .walsh import _check_power_of_two, fwht, walsh_coefficients


def z_strings(num_qubits: int, subsets: np.ndarray) -> PauliList:
    """``PauliList`` of the Z-strings whose supports are the bit sets ``subsets``.

    Example:
        >>> z_strings(2, np.array([0, 1, 3])).to_labels()
        ['II', 'IZ', 'ZZ']
    """
    subsets = np.asarray(subsets, dtype=np.int64)
    bits = ((subsets[:, None] >> np.arange(num_qubits)) & 1).astype(bool)
    return PauliList.from_symplectic(bits, np.zeros_like(bits))


def diagonal_to_sparse_pauli(diagonal: Any, *, atol: float = 0.0) -> SparsePauliOp:
    """Expand a real diagonal of length ``2**m`` into a ``SparsePauliOp`` of Z-strings.

    Args:
        diagonal: real vector ``d``; the operator is ``sum_z d[z] |z><z|``.
        atol: drop terms with ``|coefficient| <= atol`` (default keeps every non-zero term,
            so the expansion reproduces ``d`` exactly up to float rounding).

    Example:
        >>> diagonal_to_sparse_pauli([3.0, 1.0]).to_list()
        [('I', (2+0j)), ('Z', (1+0j))]
    """
    d = to_numpy(diagonal)
    if d.ndim != 1:
        raise ValueError(f"diagonal must be 1-D; got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("diagonal must be finite")
    m = _check_power_of_two(d.shape[0], "diagonal")
    if m == 0:
        raise ValueError("diagonal must have length 2**m with m >= 1; got length 1")
    coeffs = walsh_coefficients(d)
    keep = np.flatnonzero(np.abs(coeffs) > atol)
    if keep.size == 0:
        keep = np.array([0])
    return SparsePauliOp(z_strings(m, keep), coeffs[keep].astype(complex))


def sparse_pauli_to_diagonal(operator: SparsePauliOp) -> np.ndarray:
    """Diagonal of a ``SparsePauliOp`` made only of I/Z factors, as a length ``2**n`` vector.

    Raises:
        ValueError: if a term contains X or Y.

    Example:
        >>> sparse_pauli_to_diagonal(SparsePauliOp(["IZ"])).tolist()
        [1.0, -1.0, 1.0, -1.0]
    """
    if not isinstance(operator, SparsePauliOp):
        raise ValueError(f"operator must be a SparsePauliOp; got {type(operator)!r}")
    paulis = operator.paulis
    if np.any(paulis.x):
        raise ValueError("operator must be diagonal (only I and Z factors)")
    n = operator.num_qubits
    weights = (1 << np.arange(n, dtype=np.int64))
    subsets = (paulis.z.astype(np.int64) * weights).sum(axis=1)
    # Each Pauli may carry a phase (-i)^k; fold it into the coefficient.
    phases = (-1j) ** paulis.phase
    coeffs = np.zeros(2**n, dtype=complex)
    np.add.at(coeffs, subsets, operator.coeffs * phases)
    diag = fwht(coeffs)
    if np.allclose(diag.imag, 0.0, atol=1e-12 * max(1.0, float(np.max(np.abs(diag))))):
        return diag.real.copy()
    return diag
