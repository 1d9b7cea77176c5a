"""Exact amplitude encoding of one attention row: ``sum_j sqrt(softmax(s)_j) |j>``."""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation

from ..encoding import masked_softmax
from ._rows import score_row

#: Largest key count :func:`softmax_state` accepts (12 key qubits; O(n) CNOTs).
SOFTMAX_STATE_MAX_KEYS = 2**12


def softmax_state(
    scores: Any, temperature: float = 1.0, *, mask: Any | None = None
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
    row = score_row(scores, temperature, mask, SOFTMAX_STATE_MAX_KEYS, "softmax_state")
    probs = np.zeros(2**row.num_qubits)
    keep = row.keep[: row.num_keys]
    probs[: row.num_keys] = masked_softmax(row.scores, temperature=row.temperature, mask=keep)
    amplitudes = np.sqrt(probs)
    qc = QuantumCircuit(row.num_qubits, name="softmax_state")
    qc.append(StatePreparation(amplitudes, normalize=True), qc.qubits)
    qc.metadata = row.metadata("softmax_state")
    return qc
