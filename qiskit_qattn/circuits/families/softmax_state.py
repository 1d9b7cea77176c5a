"""Exact amplitude encoding of one attention row: ``sum_j sqrt(softmax(s)_j) |j>``."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation

from ..rows import circuit_metadata, prepare_row

FAMILY = "softmax_state"

#: Largest key count :func:`softmax_state` accepts (12 key qubits; O(n) CNOTs).
SOFTMAX_STATE_MAX_KEYS = 2**12


def softmax_state(
    scores: Any, *, temperature: float = 1.0, mask: Any | None = None
) -> QuantumCircuit:
    """Prepare ``sum_j sqrt(p_j) |j>`` with ``p = softmax(scores / temperature)`` exactly.

    Key ``j`` is basis state ``|j>`` (little-endian); padding and masked keys get amplitude 0.

    Args:
        scores: finite score row of length ``n`` (``n <= SOFTMAX_STATE_MAX_KEYS``).
        temperature: softmax temperature, > 0.
        mask: optional boolean keep-mask of length ``n`` (``True`` = attend).

    Returns:
        A circuit on ``m = ceil(log2 n)`` qubits with ``metadata`` describing the row.

    Example:
        >>> qc = softmax_state([0.1, 0.5, -0.2])
        >>> qc.num_qubits, qc.metadata["padding"]
        (2, 1)
    """
    rows = prepare_row(scores, temperature, mask, max_keys=SOFTMAX_STATE_MAX_KEYS)
    qc = QuantumCircuit(rows.num_qubits, name="softmax_state")
    qc.append(StatePreparation(np.sqrt(rows.probs[0]), normalize=True), qc.qubits)
    qc.metadata = circuit_metadata(rows, FAMILY)
    return qc
