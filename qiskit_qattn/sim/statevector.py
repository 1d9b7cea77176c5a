"""Exact key-register probabilities of logical attention circuits (dense statevector)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

#: Dense statevectors beyond this many qubits are refused (2**26 complex128 = 1 GiB).
MAX_STATEVECTOR_QUBITS = 26


def key_probabilities(circuits: Sequence[QuantumCircuit]) -> np.ndarray:
    """Exact basis-state probabilities of each circuit, stacked ``[num_circuits, 2**m]``.

    All circuits must have the same width and no measurements.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.h(0)
        >>> key_probabilities([qc]).round(3).tolist()
        [[0.5, 0.5]]
    """
    if not circuits:
        raise ValueError("circuits must not be empty")
    widths = {qc.num_qubits for qc in circuits}
    if len(widths) != 1:
        raise ValueError(f"circuits must share one width; got widths {sorted(widths)}")
    width = widths.pop()
    if width > MAX_STATEVECTOR_QUBITS:
        raise ValueError(
            f"circuit width {width} exceeds the dense statevector limit of "
            f"{MAX_STATEVECTOR_QUBITS} qubits; use method='mps'"
        )
    with warnings.catch_warnings():
        # PauliEvolutionGate matrices go through scipy's sparse expm, which warns about formats.
        warnings.filterwarnings("ignore", message=".*CSC.*", module="scipy")
        return np.stack([Statevector(qc).probabilities() for qc in circuits])
