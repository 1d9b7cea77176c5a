"""Operator equivalence of a compiled circuit with its source, on the qubits it actually uses.

``Operator.from_circuit`` builds a ``2**133`` matrix for a circuit compiled to a 133-qubit
device; here the compiled circuit is cut down to its active qubits (plus the ones the layout
places virtual qubits on), and the source circuit is embedded there and followed by the routing
permutation, so devices of any size can be checked for small circuits.
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.circuit.library import PermutationGate
from qiskit.quantum_info import Operator, Statevector

from .idle_qubits import active_qubits


def _compact(circuit: QuantumCircuit, keep: list[int]) -> QuantumCircuit:
    index = {q: i for i, q in enumerate(keep)}
    out = QuantumCircuit(len(keep), circuit.num_clbits, global_phase=circuit.global_phase)
    for inst in circuit.data:
        if inst.operation.name in ("barrier", "delay"):
            continue
        out.append(
            inst.operation,
            [index[circuit.find_bit(q).index] for q in inst.qubits],
            [circuit.find_bit(c).index for c in inst.clbits],
        )
    return out


def _embedded(source: QuantumCircuit, compiled: QuantumCircuit):
    """The source embedded on the compiled circuit's qubits, and the compact compiled circuit.

    The embedded source is followed by the routing permutation; both use the same qubits.
    """
    layout = compiled.layout
    n = source.num_qubits
    if layout is None:
        initial = list(range(n))
        perm = list(range(compiled.num_qubits))
    else:
        initial = layout.initial_index_layout(filter_ancillas=True)[:n]
        perm = layout.routing_permutation()
    moved = {p for p, q in enumerate(perm) if p != q}
    keep = sorted(set(active_qubits(compiled)) | set(initial) | moved)
    index = {q: i for i, q in enumerate(keep)}
    expected = QuantumCircuit(len(keep), global_phase=source.global_phase)
    expected.compose(source, [index[p] for p in initial], inplace=True)
    # Append the inverse of routing_permutation() as a PermutationGate (the convention is
    # pinned by tests against Qiskit's own routed circuits).
    pattern = [0] * len(keep)
    for q in keep:
        pattern[index[perm[q]]] = index[q]
    if pattern != list(range(len(keep))):
        expected.append(PermutationGate(pattern), range(len(keep)))
    return expected, _compact(compiled, keep)


def state_fidelity_on_device(source: QuantumCircuit, compiled: QuantumCircuit) -> float:
    """``|<0|U_source† U_compiled|0>|²`` with layout and routing accounted for.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.h(0)
        >>> round(state_fidelity_on_device(qc, qc), 12)
        1.0
    """
    expected, actual = _embedded(source.remove_final_measurements(inplace=False), compiled)
    actual = actual.remove_final_measurements(inplace=False)
    return float(abs(Statevector(expected).inner(Statevector(actual))) ** 2)


def layout_aware_operators(
    source: QuantumCircuit, compiled: QuantumCircuit
) -> tuple[Operator, Operator]:
    """``(expected, actual)`` operators on the compiled circuit's active qubits.

    Args:
        source: the circuit before transpilation (no measurements).
        compiled: its transpiled version, carrying ``layout`` (a ``TranspileLayout``) or none.

    Example:
        >>> from qiskit import transpile
        >>> from qiskit.transpiler import CouplingMap
        >>> qc = QuantumCircuit(3); _ = qc.h(0); _ = qc.cx(0, 2); _ = qc.cx(2, 1)
        >>> out = transpile(qc, coupling_map=CouplingMap.from_line(5), seed_transpiler=1,
        ...                 basis_gates=["cx", "rz", "sx", "x"], optimization_level=3)
        >>> expected, actual = layout_aware_operators(qc, out)
        >>> expected.equiv(actual)
        True
    """
    expected, actual = _embedded(source, compiled)
    return Operator(expected), Operator(actual)


def equivalent_on_device(source: QuantumCircuit, compiled: QuantumCircuit) -> bool:
    """Whether ``compiled`` implements ``source`` up to global phase, layout and routing."""
    expected, actual = layout_aware_operators(source, compiled)
    return expected.equiv(actual)
