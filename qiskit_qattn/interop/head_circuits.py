"""The one place where interop builds a head's circuits (ported when ``prepare_head`` lands).

Calls into ``qiskit_qattn.circuits``: :func:`~qiskit_qattn.circuits.attention_circuits`
(``method=`` today, ``family=`` after the rename) and
:func:`~qiskit_qattn.circuits.families.rows.relabel_outcomes` (undoes the sorted key layouts).
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
    from ..circuits import attention_circuits

    return attention_circuits(Q, K, method=family, mask=mask, scale=scale, **family_options)


def outcomes_by_key(outcomes: Any, circuits: list[QuantumCircuit]) -> np.ndarray:
    """Per-basis-state outcomes ``[n_q, 2**m]`` re-indexed so that column ``j`` is key ``j``."""
    from ..circuits.families.rows import relabel_outcomes

    return relabel_outcomes(outcomes, circuits)
