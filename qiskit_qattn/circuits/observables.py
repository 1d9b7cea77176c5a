"""Value observables: ``O_c = sum_j V[j, c] |j><j|`` as Walsh (Z-string) ``SparsePauliOp``s."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from ..encoding import as_real_array, diagonal_to_sparse_pauli, num_key_qubits, pad_rows


def value_observables(
    V: Any, num_qubits: int | None = None, *, atol: float = 0.0
) -> list[SparsePauliOp]:
    """One diagonal observable per value column; padding keys get value 0.

    ``<psi| O_c |psi> = sum_j |psi_j|^2 V[j, c]``: on an attention state this is output column
    ``c``. All ``O_c`` are diagonal, so one set of computational-basis shots estimates them all.

    Args:
        V: value matrix ``[num_keys, d_v]`` (a 1-D vector is one column).
        num_qubits: key-register width (default ``ceil(log2 num_keys)``, at least 1).
        atol: drop Walsh terms with ``|coefficient| <= atol`` (0 keeps the expansion exact).

    Example:
        >>> ops = value_observables([[1.0, 0.0], [3.0, 2.0]])
        >>> ops[0].to_list()
        [('I', (2+0j)), ('Z', (-1+0j))]
    """
    values = as_real_array(V, "V", ndim=(1, 2))
    if values.ndim == 1:
        values = values[:, None]
    n = values.shape[0]
    m = num_key_qubits(n) if num_qubits is None else int(num_qubits)
    if 2**m < n:
        raise ValueError(f"num_qubits={m} holds {2**m} keys; V has {n} rows")
    padded = pad_rows(values, m)
    return [diagonal_to_sparse_pauli(padded[:, c], atol=atol) for c in range(values.shape[1])]


def kept_keys_projector(keep: Any) -> SparsePauliOp:
    """Projector onto the kept (unmasked, non-padding) keys: ``sum_{j kept} |j><j|``.

    Estimators divide by its expectation to renormalise over kept keys.

    Example:
        >>> kept_keys_projector([True, True, True, False]).to_list()[0]
        ('II', (0.75+0j))
    """
    keep = np.asarray(keep, dtype=bool)
    return diagonal_to_sparse_pauli(keep.astype(float))
