"""Structural templates: one parametrised circuit for every query of a family that shares one.

The compiled circuit of most families depends on each row's angles, but their *structure* —
which gates act on which qubits — often does not: the warm start is a fixed tree of uniformly
controlled ``RY`` gates, the Born machine a fixed ``RY``/``CZ`` ladder. Lowering each row's
logical circuit to rotations and fixed gates (through the gates' own definitions) exposes that
structure; where every row has the same one, the angles that differ between rows become
``Parameter``s of one template, compiled once per device and bound per row. Angles shared by
every row stay numbers, so the compiler can still simplify them.

The bound template prepares the same state as each row's own circuit (only global phases are
dropped, which no measurement sees); compiled, it has the gates of a generic row: the compiler
cannot exploit one row's special angles, which for the warm start costs nothing (the same
two-qubit gate count as compiling row by row on FakeTorino), and it is compiled once instead of
once per query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, ParameterVector
from qiskit.circuit.library import UGate

#: Gates kept as they are (no parameters).
FIXED_GATES = frozenset({"cx", "cz", "ecr", "h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx",
                         "sxdg", "id", "swap", "iswap"})
#: Rotations whose angles may become template parameters.
ROTATION_GATES = frozenset({"rx", "ry", "rz", "p", "u", "r", "u1", "u2", "u3", "rzz", "rxx",
                            "ryy", "rzx", "cp", "crx", "cry", "crz"})


def lower(circuit: QuantumCircuit) -> list[tuple[Gate, tuple[int, ...]]]:
    """The circuit as ``(gate, qubits)`` over fixed gates and rotations (global phase dropped).

    Composite gates are expanded through their definitions; one-qubit ``unitary`` gates become
    ``U(θ, φ, λ)``.

    Example:
        >>> from qiskit.circuit.library import UCRYGate
        >>> qc = QuantumCircuit(2); _ = qc.append(UCRYGate([0.1, 0.2]), [0, 1])
        >>> sorted({g.name for g, _ in lower(qc)})
        ['cx', 'ry']
    """
    out: list[tuple[Gate, tuple[int, ...]]] = []
    _flatten(circuit, tuple(range(circuit.num_qubits)), out)
    return out


def _flatten(circuit: QuantumCircuit, wires: tuple[int, ...], out: list) -> None:
    from qiskit.synthesis import OneQubitEulerDecomposer

    for inst in circuit.data:
        op = inst.operation
        qubits = tuple(wires[circuit.find_bit(q).index] for q in inst.qubits)
        if op.name in FIXED_GATES or op.name in ROTATION_GATES:
            out.append((op, qubits))
        elif op.name == "unitary" and op.num_qubits == 1:
            theta, phi, lam = OneQubitEulerDecomposer("U").angles(op.to_matrix())
            out.append((UGate(theta, phi, lam), qubits))
        elif op.name == "barrier":
            continue
        elif op.definition is not None and not inst.clbits:
            _flatten(op.definition, qubits, out)
        else:
            raise ValueError(f"cannot lower instruction {op.name!r} into gates")


def structure_template(
    circuits: Sequence[QuantumCircuit], *, atol: float = 1e-12
) -> tuple[QuantumCircuit, np.ndarray] | None:
    """One parametrised circuit and per-row values, or ``None`` if the rows differ in structure.

    Args:
        circuits: one logical circuit per row (e.g. ``PreparedHead.circuits``).
        atol: angles equal across rows within ``atol`` stay numbers.

    Returns:
        ``(template, values [rows, num_parameters])`` with ``template.parameters`` in the order
        of the columns of ``values`` (one ``ParameterVector`` ``"a"``), or ``None``.

    Example:
        >>> rows = []
        >>> for angle in (0.1, 0.7):
        ...     qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.ry(angle, 1); _ = qc.cz(0, 1)
        ...     rows.append(qc)
        >>> template, values = structure_template(rows)
        >>> template.num_parameters, values.tolist()
        (1, [[0.1], [0.7]])
    """
    lowered = [lower(qc) for qc in circuits]
    first = lowered[0]
    shape = [(g.name, q, len(g.params)) for g, q in first]
    for other in lowered[1:]:
        if len(other) != len(first) or [(g.name, q, len(g.params)) for g, q in other] != shape:
            return None
    angles = np.array([[float(p) for g, _ in row for p in g.params] for row in lowered])
    varying = np.ptp(angles, axis=0) > atol if len(lowered) > 1 else np.zeros(angles.shape[1],
                                                                              bool)
    params = ParameterVector("a", int(varying.sum()))
    template = QuantumCircuit(circuits[0].num_qubits, name=f"{circuits[0].name}_template")
    column = 0
    next_param = 0
    for gate, qubits in first:
        values = []
        for _ in gate.params:
            if varying[column]:
                values.append(params[next_param])
                next_param += 1
            else:
                values.append(float(angles[0, column]))
            column += 1
        op = gate.__class__(*values) if gate.params else gate
        template.append(op, list(qubits))
    return template, angles[:, varying]


def template_key(template: QuantumCircuit) -> str:
    """Content hash of a template (gates, qubits, numeric angles and parameter names).

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.ry(0.5, 0)
        >>> template_key(qc) == template_key(qc.copy())
        True
    """
    import hashlib

    h = hashlib.sha256(f"{template.num_qubits}".encode())
    for inst in template.data:
        qubits = [template.find_bit(q).index for q in inst.qubits]
        params = [p.name if hasattr(p, "name") else repr(float(p)) for p in inst.operation.params]
        h.update(f"{inst.operation.name}{qubits}{params};".encode())
    return h.hexdigest()
