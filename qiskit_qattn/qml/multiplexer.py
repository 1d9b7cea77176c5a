"""Uniformly controlled ``RY`` (multiplexer) with symbolic angles, by the Gray-code scheme.

``multiplexed_ry(qc, angles, target, controls)`` applies ``RY(angles[j])`` to ``target`` when the
control qubits hold ``j`` (``controls[0]`` is the least significant bit), using ``2^k`` ``RY`` and
``2^k`` ``CX`` for ``k`` controls (Möttönen et al. 2004). Every emitted angle is a fixed linear
combination of the inputs, so parameterized angles stay affine in their parameters: the circuit
transpiles before binding and the parameter-shift rule applies gate by gate.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def multiplexed_ry(
    qc: QuantumCircuit,
    angles: Sequence[float | ParameterExpression],
    target: int,
    controls: Sequence[int],
) -> None:
    """Append a uniformly controlled ``RY`` to ``qc`` (in place).

    Args:
        qc: the circuit to append to.
        angles: ``2 ** len(controls)`` angles, indexed by the control value.
        target: target qubit.
        controls: control qubits, least significant first.

    Example:
        >>> import numpy as np
        >>> from qiskit.quantum_info import Statevector
        >>> qc = QuantumCircuit(2); _ = qc.x(1)
        >>> multiplexed_ry(qc, [0.0, np.pi], target=0, controls=[1])
        >>> Statevector(qc).probabilities().round(6).tolist()
        [0.0, 0.0, 0.0, 1.0]
    """
    k = len(controls)
    if len(angles) != 1 << k:
        raise ValueError(f"angles must have 2**len(controls) = {1 << k} entries; got {len(angles)}")
    if k == 0:
        qc.ry(angles[0], target)
        return
    size = 1 << k
    for i in range(size):
        # Effective angle for control value j is sum_i (-1)^{popcount(j & gray(i))} theta_i.
        theta = sum(
            (-1 if bin(j & _gray(i)).count("1") % 2 else 1) * angles[j] for j in range(size)
        ) / size
        qc.ry(theta, target)
        changed = _gray(i) ^ _gray((i + 1) % size)
        qc.cx(controls[changed.bit_length() - 1], target)
