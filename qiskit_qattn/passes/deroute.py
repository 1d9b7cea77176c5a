"""Undo routing: absorb SWAP-like two-qubit blocks of a physical circuit into a wire relabelling.

A router inserts SWAPs; translation and peephole optimisation then merge them with neighbouring
gates into two-qubit blocks ``U``. When ``SWAP·U`` needs fewer two-qubit gates than ``U``, the
block is "``V`` followed by a SWAP" with ``V = SWAP·U`` cheap, and the SWAP can be dropped if every
later gate is relabelled. Repeating this over the circuit recovers the logical circuit of the
routed one (non-adjacent two-qubit gates allowed) plus the permutation the SWAPs performed. The
rewrite is exact for any block, so a logical gate that happens to look like ``V·SWAP`` is handled
correctly too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import CXGate, UnitaryGate
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.dagcircuit import DAGOpNode
from qiskit.synthesis import TwoQubitBasisDecomposer

from ._inline import inline_labelled

_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)
_CX_DECOMPOSER = TwoQubitBasisDecomposer(CXGate())
_LABEL = "qattn_deroute_block_"
#: Single two-qubit gates that may need more than one CNOT.
_WIDE_GATES = frozenset({
    "swap", "unitary", "iswap", "dcx", "rxx", "ryy", "rzz", "rzx", "xx_plus_yy", "xx_minus_yy",
    "cu", "cry", "crx", "crz", "cp", "cs", "csdg", "ch", "cy",
})


@dataclass
class DeroutedCircuit:
    """A routed circuit split into its logical circuit and the permutation of its SWAPs.

    Attributes:
        circuit: the logical circuit on the same wires; each wire carries one piece of data from
            start to end.
        data_at_end: ``data_at_end[p]`` is the wire of ``circuit`` whose data the routed circuit
            leaves on wire ``p``.
        swaps_absorbed: number of SWAPs removed.
    """

    circuit: QuantumCircuit
    data_at_end: list[int]
    swaps_absorbed: int

    def permutation_circuit(self) -> QuantumCircuit:
        """``circuit`` followed by the permutation: equivalent to the routed circuit.

        Example:
            >>> qc = QuantumCircuit(2); _ = qc.swap(0, 1)
            >>> out = deroute(qc).permutation_circuit()
            >>> from qiskit.quantum_info import Operator
            >>> Operator(out).equiv(Operator(qc))
            True
        """
        from qiskit.circuit.library import PermutationGate

        out = self.circuit.copy()
        if self.data_at_end != list(range(len(self.data_at_end))):
            out.append(PermutationGate(self.data_at_end), out.qubits)
        return out


_FIXED: dict[str, np.ndarray] = {}


def _op_matrix(op) -> np.ndarray:
    """Matrix of ``op``; the ISA gates that dominate routed circuits skip ``to_matrix``."""
    name = op.name
    if name == "rz":
        half = 0.5 * float(op.params[0])
        return np.diag([np.exp(-1j * half), np.exp(1j * half)])
    if name in ("sx", "x", "cz", "cx", "ecr", "h", "swap") and not op.params:
        if name not in _FIXED:
            _FIXED[name] = np.asarray(op.to_matrix(), dtype=complex)
        return _FIXED[name]
    return np.asarray(op.to_matrix(), dtype=complex)


def _kron2(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    return (high[:, None, :, None] * low[None, :, None, :]).reshape(4, 4)


def _block_matrix(nodes: list[DAGOpNode], pair: tuple) -> np.ndarray | None:
    """4x4 unitary of a run on ``pair`` (little-endian), or None if an op has no matrix."""
    total = np.eye(4, dtype=complex)
    pending = [np.eye(2, dtype=complex), np.eye(2, dtype=complex)]  # 1q gates not yet applied
    for node in nodes:
        try:
            m = _op_matrix(node.op)
        except Exception:  # noqa: BLE001 - operations without a matrix bound no SWAP
            return None
        qargs = node.qargs
        if len(qargs) == 1:
            side = 0 if qargs[0] == pair[0] else 1
            pending[side] = m @ pending[side]
            continue
        if qargs[0] != pair[0]:
            m = _SWAP @ m @ _SWAP
        total = m @ _kron2(pending[1], pending[0]) @ total
        pending = [np.eye(2, dtype=complex), np.eye(2, dtype=complex)]
    return _kron2(pending[1], pending[0]) @ total


def _cost(unitary: np.ndarray) -> int:
    return int(_CX_DECOMPOSER.num_basis_gates(unitary))


def _local_factors(unitary: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(low, high)`` with ``unitary = high ⊗ low`` (little-endian), or None if entangling."""
    realigned = unitary.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, sv, vh = np.linalg.svd(realigned)
    if sv[1] > 1e-9 * sv[0]:
        return None
    high = np.sqrt(sv[0]) * u[:, 0].reshape(2, 2)
    low = np.sqrt(sv[0]) * vh[0].reshape(2, 2)
    return low, high


def _swap_triples(run: list[DAGOpNode], pair: tuple) -> list[tuple[int, int, tuple]]:
    """``(first, last, (low, high))`` for each stretch of three two-qubit gates that is a SWAP.

    The stretch ``W`` (from the first to the third two-qubit gate, one-qubit gates between
    included) is a SWAP up to local gates when ``SWAP·W = high ⊗ low``.
    """
    positions = [i for i, node in enumerate(run) if len(node.qargs) == 2]
    found, k = [], 0
    while k + 2 < len(positions):
        first, last = positions[k], positions[k + 2]
        matrix = _block_matrix(run[first:last + 1], pair)
        factors = None if matrix is None else _local_factors(_SWAP @ matrix)
        if factors is None:
            k += 1
            continue
        found.append((first, last, factors))
        k += 3
    return found


def deroute(circuit: QuantumCircuit) -> DeroutedCircuit:
    """Absorb the SWAP-like two-qubit blocks of ``circuit`` into a wire relabelling.

    Blocks are maximal runs of gates on one qubit pair. Inside a run, each stretch of three
    two-qubit gates that is a SWAP up to local gates becomes those local gates plus a wire
    relabelling (the rest of the run is kept gate for gate). A run without such a stretch is
    replaced as a whole by ``V = SWAP·U`` (decomposed into ``cx`` and one-qubit gates) when ``V``
    needs fewer two-qubit gates than ``U``. Runs left equal to at most one CNOT are rewritten as
    that CNOT. Other operations are copied with their wires relabelled.

    Args:
        circuit: any circuit (typically routed and translated); classical bits are kept.

    Returns:
        :class:`DeroutedCircuit` whose ``permutation_circuit()`` equals ``circuit``.

    Example:
        >>> qc = QuantumCircuit(3)
        >>> _ = qc.cx(0, 1); _ = qc.swap(1, 2); _ = qc.cx(0, 1)
        >>> out = deroute(qc)
        >>> out.swaps_absorbed, out.circuit.num_nonlocal_gates(), out.data_at_end
        (1, 2, [0, 2, 1])
    """
    dag = circuit_to_dag(circuit)
    runs = dag.collect_2q_runs()
    index = {q: i for i, q in enumerate(dag.qubits)}
    blocks: list[tuple[list[DAGOpNode], tuple]] = []
    for run in runs:
        pair = tuple(sorted({q for node in run for q in node.qargs}, key=index.__getitem__))
        # A run with one CX-like gate costs at most 1 and can never hide a SWAP.
        two_qubit = [node for node in run if len(node.qargs) == 2]
        if len(pair) != 2 or (len(two_qubit) < 2 and two_qubit[0].op.name not in _WIDE_GATES):
            continue
        label = f"{_LABEL}{len(blocks)}"
        blocks.append((run, pair))
        # A bare placeholder: the run's matrix is only built if no SWAP stretch is found in it.
        dag.replace_block_with_op(
            run, Gate(label, 2, [], label=label), {q: i for i, q in enumerate(pair)},
            cycle_check=False,
        )
    out = QuantumCircuit(*circuit.qregs, *circuit.cregs, global_phase=circuit.global_phase)
    if not out.qubits:  # circuits built from bare bits
        out = QuantumCircuit(circuit.num_qubits, circuit.num_clbits)
        out.global_phase = circuit.global_phase
    clbit = {c: out.clbits[i] for i, c in enumerate(dag.clbits)}
    data = list(range(len(dag.qubits)))  # wire p currently holds the data of logical wire data[p]
    absorbed = 0
    for node in dag.topological_op_nodes():
        label = getattr(node.op, "label", None) or ""
        wires = [index[q] for q in node.qargs]
        if not label.startswith(_LABEL):
            out.append(node.op, [out.qubits[data[w]] for w in wires],
                       [clbit[c] for c in node.cargs])
            continue
        run, pair = blocks[int(label[len(_LABEL):])]
        triples = _swap_triples(run, pair)
        if triples:
            absorbed += _emit_with_triples(out, run, pair, triples, index, data)
            continue
        matrix = _block_matrix(run, pair)
        a, b = data[wires[0]], data[wires[1]]
        swapped = None if matrix is None else _SWAP @ matrix
        if swapped is not None and _cost(swapped) < _cost(matrix):
            out.compose(_CX_DECOMPOSER(swapped), [a, b], inplace=True)
            data[wires[0]], data[wires[1]] = b, a
            absorbed += 1
        else:
            for inner in run:
                out.append(inner.op, [out.qubits[data[index[q]]] for q in inner.qargs])
    return DeroutedCircuit(_collapse_cheap_runs(out) if absorbed else out, data, absorbed)


def _collapse_cheap_runs(circuit: QuantumCircuit) -> QuantumCircuit:
    """Rewrite two-qubit runs that amount to at most one CNOT as that CNOT.

    Removing a SWAP can leave stretches such as ``CX·CX·CX`` that equal one CNOT; longer runs
    are kept as they are because their gates carry the phase-polynomial structure.
    """
    dag = circuit_to_dag(circuit)
    index = {q: i for i, q in enumerate(dag.qubits)}
    changed = False
    for run in dag.collect_2q_runs():
        pair = tuple(sorted({q for node in run for q in node.qargs}, key=index.__getitem__))
        two_qubit = sum(1 for node in run if len(node.qargs) == 2)
        if len(pair) != 2 or two_qubit < 2:
            continue
        matrix = _block_matrix(run, pair)
        if matrix is None or _cost(matrix) > 1:
            continue
        replacement = _CX_DECOMPOSER(matrix)
        dag.replace_block_with_op(
            run, replacement.to_gate(label="qattn_collapsed"),
            {q: i for i, q in enumerate(pair)}, cycle_check=False,
        )
        changed = True
    if not changed:
        return circuit
    return dag_to_circuit(inline_labelled(dag, "qattn_collapsed"))


def _emit_with_triples(out, run, pair, triples, index, data) -> int:
    """Copy ``run`` to ``out`` with each SWAP stretch replaced by local gates + relabelling."""
    starts = {first: (last, factors) for first, last, factors in triples}
    i = 0
    while i < len(run):
        if i in starts:
            last, (low, high) = starts[i]
            a, b = index[pair[0]], index[pair[1]]
            out.append(UnitaryGate(low, check_input=False), [data[a]])
            out.append(UnitaryGate(high, check_input=False), [data[b]])
            data[a], data[b] = data[b], data[a]
            i = last + 1
            continue
        node = run[i]
        out.append(node.op, [out.qubits[data[index[q]]] for q in node.qargs])
        i += 1
    return len(triples)
