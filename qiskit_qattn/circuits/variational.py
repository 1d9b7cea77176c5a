"""QSANN-style variational blocks (Li et al. 2022): angle-encoded tokens, trainable ansatz.

A block on ``n`` qubits: ``RY(x_i)`` angle encoding of ``n`` features, then ``reps`` layers of
[``RY(θ)``, ``RZ(θ)`` on every qubit, a CX entangling pattern], then a final ``RY(θ)`` layer.
Pauli-Z expectations of the qubits give the query/key/value features. Parameter layout:
``inputs = x[0..n-1]``, ``weights = θ[0 .. 2*n*reps + n - 1]`` in layer order.
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

ENTANGLEMENTS = ("linear", "circular", "pairwise")


def _entangling_pairs(num_qubits: int, entanglement: str) -> list[tuple[int, int]]:
    if entanglement == "linear":
        return [(i, i + 1) for i in range(num_qubits - 1)]
    if entanglement == "circular":
        pairs = [(i, i + 1) for i in range(num_qubits - 1)]
        return pairs + ([(num_qubits - 1, 0)] if num_qubits > 2 else [])
    # pairwise: even bonds then odd bonds (depth 2 per layer on a line)
    return [(i, i + 1) for i in range(0, num_qubits - 1, 2)] + [
        (i, i + 1) for i in range(1, num_qubits - 1, 2)
    ]


def variational_block(
    num_qubits: int,
    reps: int = 2,
    *,
    entanglement: str = "pairwise",
    input_prefix: str = "x",
    weight_prefix: str = "θ",
) -> QuantumCircuit:
    """Parameterised QSANN-style block with separate input and weight parameters.

    Args:
        num_qubits: register width (>= 1).
        reps: entangling layers (>= 0).
        entanglement: ``"linear"``, ``"circular"`` or ``"pairwise"`` CX pattern.
        input_prefix: name of the input ``ParameterVector`` (length ``num_qubits``).
        weight_prefix: name of the weight ``ParameterVector`` (length ``(2 * reps + 1) * n``).

    Returns:
        A circuit whose ``metadata`` lists ``input_parameters`` and ``weight_parameters`` names.

    Example:
        >>> qc = variational_block(4, reps=2)
        >>> qc.num_parameters, len(qc.metadata["weight_parameters"])
        (24, 20)
    """
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
        raise ValueError(f"num_qubits must be an integer >= 1; got {num_qubits!r}")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 0:
        raise ValueError(f"reps must be an integer >= 0; got {reps!r}")
    if entanglement not in ENTANGLEMENTS:
        raise ValueError(f"entanglement must be one of {ENTANGLEMENTS}; got {entanglement!r}")
    n = num_qubits
    x = ParameterVector(input_prefix, n)
    theta = ParameterVector(weight_prefix, (2 * reps + 1) * n)
    qc = QuantumCircuit(n, name="qsann_block")
    for i in range(n):
        qc.ry(x[i], i)
    k = 0
    pairs = _entangling_pairs(n, entanglement)
    for _ in range(reps):
        for i in range(n):
            qc.ry(theta[k], i)
            qc.rz(theta[k + 1], i)
            k += 2
        for a, b in pairs:
            qc.cx(a, b)
    for i in range(n):
        qc.ry(theta[k], i)
        k += 1
    qc.metadata = {
        "family": "qsann_block",
        "reps": reps,
        "entanglement": entanglement,
        "input_parameters": [p.name for p in x],
        "weight_parameters": [p.name for p in theta],
    }
    return qc


def z_observables(num_qubits: int) -> list[SparsePauliOp]:
    """Single-qubit ``Z_i`` observables, qubit ``i`` little-endian.

    Example:
        >>> [op.paulis[0].to_label() for op in z_observables(2)]
        ['IZ', 'ZI']
    """
    return [
        SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], num_qubits) for i in range(num_qubits)
    ]
