"""Drop the idle qubits of a compiled (ISA) circuit so simulators see only what it uses."""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.converters import circuit_to_dag, dag_to_circuit


def active_qubits(circuit: QuantumCircuit) -> list[int]:
    """Indices of the qubits that carry at least one operation (barriers and delays don't count).

    Example:
        >>> qc = QuantumCircuit(5); _ = qc.cx(3, 1)
        >>> active_qubits(qc)
        [1, 3]
    """
    used: set[int] = set()
    for inst in circuit.data:
        if inst.operation.name in ("barrier", "delay"):
            continue
        used.update(circuit.find_bit(q).index for q in inst.qubits)
    return sorted(used)


def compact_circuit(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """Return ``(circuit on its active qubits only, those qubits' original indices)``.

    Qubit ``i`` of the result is qubit ``qubits[i]`` of the input; classical bits are kept.

    Example:
        >>> qc = QuantumCircuit(5, 1); _ = qc.h(4); _ = qc.measure(4, 0)
        >>> small, qubits = compact_circuit(qc)
        >>> small.num_qubits, qubits
        (1, [4])
    """
    qubits = active_qubits(circuit)
    dag = circuit_to_dag(circuit)
    keep = set(qubits)
    idle = [bit for i, bit in enumerate(dag.qubits) if i not in keep]
    idle_set = set(idle)
    # Barriers and delays touching idle wires would pin them; they change no probabilities.
    for node in list(dag.op_nodes()):
        if node.op.name in ("barrier", "delay") and idle_set.intersection(node.qargs):
            dag.remove_op_node(node)
    dag.remove_qubits(*idle)
    out = dag_to_circuit(dag)
    out.metadata = dict(circuit.metadata or {})
    return out, qubits
