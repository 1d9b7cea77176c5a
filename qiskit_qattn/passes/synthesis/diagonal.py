"""Exact CNOT + RZ synthesis of dense diagonal unitaries (Walsh / Gray-code phase network).

A diagonal ``diag(exp(i * phases))`` on ``n`` qubits is a phase polynomial: after a Walsh-Hadamard
transform, ``phases[x] = c + sum_s a_s * (-1) ** popcount(s & x)``. Every non-zero ``s`` whose
lowest set bit is ``t`` is produced on wire ``t`` by a cyclic reflected Gray code over the controls
``t + 1, t + 2, ..., n - 1`` (nearest control flips most often) and receives ``RZ(-2 * a_s)``. The
starting point of each Gray cycle (``_rotations``) is a free choice that only changes which CNOTs
come first and last; rotating by one step makes the closing CNOT come from the nearest control
``t + 1``. The per-``n`` rotations were picked by measuring Qiskit's O3 (Sabre) on FakeTorino and
FakeSherbrooke (``benchmarks/diagonal_synthesis.py``); they tune routing luck, not the CNOT count.
Target ``t < n - 1`` costs ``2 ** (n - 1 - t)`` CNOTs, so the circuit has ``2 ** n - 2`` CNOTs,
ends in the identity linear map (no permutation) and carries the constant ``c`` as its global
phase.
"""

from __future__ import annotations

import numpy as np
from qiskit.circuit import QuantumCircuit

from ...encoding import fwht


def _rotations(n: int) -> list[int]:
    """Start offset of the Gray cycle of every target (empirical, see module docstring)."""
    if n in (5, 6, 8):
        return [0, 1, 3] + [0] * (n - 3)
    return [1] * n


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
    coeff = fwht(arr.astype(float)) / arr.size
    qc = QuantumCircuit(n, global_phase=float(coeff[0]))

    def phase(wire: int, s: int) -> None:
        if abs(coeff[s]) > atol:
            qc.rz(-2.0 * float(coeff[s]), wire)

    rotations = _rotations(n)
    for t in range(n):
        controls = list(range(t + 1, n))  # controls[0] = t + 1 flips most often
        k = len(controls)
        mask = 1 << t
        phase(t, mask)
        if not k:
            continue
        flips = [(i & -i).bit_length() - 1 for i in range(1, 1 << k)] + [k - 1]
        r = rotations[t] % len(flips)
        flips = flips[r:] + flips[:r]  # any rotation of a Gray cycle visits the same coset
        for step, bit in enumerate(flips):
            qc.cx(controls[bit], t)
            mask ^= 1 << controls[bit]
            if step < len(flips) - 1:
                phase(t, mask)
    return qc
