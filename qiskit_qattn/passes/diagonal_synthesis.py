"""Exact CNOT + RZ synthesis of dense diagonal unitaries (Walsh / Gray-code phase network).

A diagonal ``diag(exp(i * phases))`` on ``n`` qubits is a phase polynomial: after a Walsh-Hadamard
transform, ``phases[x] = c + sum_s a_s * (-1) ** popcount(s & x)``. Every non-zero ``s`` with
highest set bit ``t`` is produced on wire ``t`` by a reflected Gray code over the controls
``t - 1, t - 2, ..., 0`` (most frequent control first, so the heaviest interaction is between
neighbouring indices) and receives ``RZ(-2 * a_s)``. Each target ``t`` costs ``2 ** t`` CNOTs, so
the whole circuit has ``2 ** n - 2`` CNOTs, ends in the identity linear map (no permutation) and
carries the constant ``c`` as its global phase.
"""

from __future__ import annotations

import numpy as np
from qiskit.circuit import QuantumCircuit


def _walsh(phases: np.ndarray) -> np.ndarray:
    """Walsh coefficients ``a_s`` with ``phases[x] = sum_s a_s (-1)^{popcount(s & x)}``."""
    a = np.array(phases, dtype=float)
    h = 1
    while h < a.size:
        a = a.reshape(-1, 2, h)
        a = np.concatenate((a[:, 0] + a[:, 1], a[:, 0] - a[:, 1]), axis=1).reshape(-1)
        h *= 2
    return a / a.size


def synthesize_diagonal(phases: np.ndarray, *, atol: float = 1e-12) -> QuantumCircuit:
    """Circuit of ``cx`` and ``rz`` gates equal to ``DiagonalGate(np.exp(1j * phases))``.

    The result equals the diagonal exactly, global phase included; no output permutation.

    Args:
        phases: real phases, length ``2 ** n`` (``n >= 1``), little-endian basis-state order.
        atol: Walsh coefficients smaller than this are dropped (their ``rz`` is omitted).

    Returns:
        Circuit on ``n`` qubits with ``2 ** n - 2`` CNOTs.

    Raises:
        ValueError: if ``phases`` is not a 1-D array of length ``2 ** n`` or is not finite.

    Example:
        >>> import numpy as np
        >>> from qiskit.quantum_info import Operator
        >>> from qiskit.circuit.library import DiagonalGate
        >>> phases = np.array([0.1, 0.4, -0.3, 1.2, 0.0, 2.0, 0.7, -1.1])
        >>> qc = synthesize_diagonal(phases)
        >>> qc.count_ops()["cx"]
        6
        >>> Operator(qc).equiv(Operator(DiagonalGate(list(np.exp(1j * phases)))))
        True
    """
    arr = np.asarray(phases)
    if arr.ndim != 1 or arr.size < 2 or arr.size & (arr.size - 1):
        raise ValueError(f"phases must be a 1-D array of length 2**n with n >= 1, got {arr.shape}")
    if np.iscomplexobj(arr) or not np.all(np.isfinite(arr)):
        raise ValueError("phases must be finite real numbers")
    n = arr.size.bit_length() - 1
    coeff = _walsh(arr.astype(float))
    qc = QuantumCircuit(n, global_phase=float(coeff[0]))

    def phase(wire: int, s: int) -> None:
        if abs(coeff[s]) > atol:
            qc.rz(-2.0 * float(coeff[s]), wire)

    for t in range(n):
        controls = list(range(t - 1, -1, -1))  # controls[0] = t - 1 flips most often
        mask = 1 << t
        phase(t, mask)
        for i in range(1, 1 << t):
            c = controls[(i & -i).bit_length() - 1]
            qc.cx(c, t)
            mask ^= 1 << c
            phase(t, mask)
        if t:
            qc.cx(controls[-1], t)
    return qc
