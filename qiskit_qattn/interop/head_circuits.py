"""The one place where interop builds a head's circuits and reads their outcomes by key.

Calls into ``qiskit_qattn.circuits``: :func:`~qiskit_qattn.circuits.prepare_head` (a head laid
out for a family) and :func:`~qiskit_qattn.circuits.to_key_order` (undoes the sorted key layouts
recorded in each circuit's ``metadata["key_order"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit


def head_circuits(Q: Any, K: Any, *, family: str = "softmax_state", mask: Any | None = None,
                  scale: float | None = None, **family_options: Any) -> list[QuantumCircuit]:
    """One key-register circuit per query of the head ``(Q, K)``, built by ``family``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> [c.num_qubits for c in head_circuits(rng.normal(size=(2, 4)), rng.normal(size=(16, 4)))]
        [4, 4]
    """
    from ..circuits import prepare_head

    values = np.ones((np.shape(K)[0], 1))  # values do not change the circuits
    return prepare_head(Q, K, values, family=family, mask=mask, scale=scale,
                        **family_options).circuits


def outcomes_by_key(outcomes: Any, circuits: list[QuantumCircuit]) -> np.ndarray:
    """Per-basis-state outcomes ``[n_q, 2**m]`` re-indexed so that column ``j`` is key ``j``."""
    from ..circuits import to_key_order

    arr = np.asarray(outcomes, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != len(circuits):
        raise ValueError(f"outcomes must have shape [{len(circuits)}, 2**m]; got {arr.shape}")
    orders = [(qc.metadata or {}).get("key_order") for qc in circuits]
    return np.stack([row if order is None else to_key_order(row, order)
                     for row, order in zip(arr, orders, strict=True)])
