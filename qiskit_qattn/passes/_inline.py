"""Inline the definitions of temporarily labelled gates back into a DAG."""

from __future__ import annotations

from qiskit.converters import circuit_to_dag
from qiskit.dagcircuit import DAGCircuit


def inline_labelled(dag: DAGCircuit, label: str) -> DAGCircuit:
    """Replace every gate labelled ``label`` by its definition, in place; returns ``dag``.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> inner = QuantumCircuit(2); _ = inner.cx(0, 1)
        >>> outer = QuantumCircuit(2); _ = outer.append(inner.to_gate(label="tmp"), [0, 1])
        >>> dict(inline_labelled(circuit_to_dag(outer), "tmp").count_ops())
        {'cx': 1}
    """
    for node in dag.op_nodes():
        if node.op.label == label:
            dag.substitute_node_with_dag(node, circuit_to_dag(node.op.definition))
    return dag
