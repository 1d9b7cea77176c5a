"""Depth and gate-count reports of (compiled) circuits."""

from __future__ import annotations

from qiskit import QuantumCircuit

_NON_GATES = {"barrier", "measure", "reset", "delay"}


def two_qubit_count(circuit: QuantumCircuit) -> int:
    """Number of two-qubit gates (measurements, barriers, delays excluded).

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.cx(0, 1); _ = qc.cz(1, 0)
        >>> two_qubit_count(qc)
        2
    """
    return sum(
        1
        for inst in circuit.data
        if len(inst.qubits) == 2 and inst.operation.name not in _NON_GATES
    )


def circuit_report(circuit: QuantumCircuit) -> dict[str, int]:
    """Active qubits, 2q count, depth and 2q depth of a circuit (measurements excluded).

    Example:
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> circuit_report(qc)
        {'qubits': 2, 'two_qubit_gates': 1, 'depth': 2, 'two_qubit_depth': 1}
    """
    body = circuit.remove_final_measurements(inplace=False)
    used = set()
    for inst in body.data:
        if inst.operation.name not in ("barrier", "delay"):
            used.update(body.find_bit(q).index for q in inst.qubits)
    return {
        "qubits": len(used),
        "two_qubit_gates": two_qubit_count(body),
        "depth": body.depth(lambda inst: inst.operation.name not in _NON_GATES),
        "two_qubit_depth": body.depth(
            lambda inst: len(inst.qubits) == 2 and inst.operation.name not in _NON_GATES
        ),
    }
