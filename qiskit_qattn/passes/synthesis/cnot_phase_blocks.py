"""CNOT-phase blocks of a DAG and the phase polynomial + affine map each one implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit.circuit import Gate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.dagcircuit.collect_blocks import BlockCollector

#: Operation names a CNOT-phase block may contain.
CNOT_PHASE_GATES = frozenset({"cx", "cz", "p", "x", "rz", "z", "s", "sdg", "t", "tdg"})

_PHASE_ANGLE = {"z": np.pi, "s": np.pi / 2, "sdg": -np.pi / 2, "t": np.pi / 4, "tdg": -np.pi / 4}


def is_cnot_phase_node(node: DAGOpNode) -> bool:
    """Whether ``node`` is an unconditioned numeric CX/CZ/phase/X gate."""
    op = node.op
    if op.name not in CNOT_PHASE_GATES or node.cargs or not isinstance(op, Gate):
        return False
    if getattr(op, "condition", None) is not None:
        return False
    return not op.is_parameterized()


@dataclass
class CnotPhaseFunction:
    """``|x> -> exp(i (g + sum_p c_p p.x)) |A x + b>`` on ``num_wires`` wires.

    Attributes:
        num_wires: wire count.
        terms: ``{parity mask: angle}``.
        linear: output parities (row masks).
        constants: output bit flips.
        global_phase: ``g``.
    """

    num_wires: int
    terms: dict[int, float]
    linear: list[int]
    constants: list[int]
    global_phase: float

    def diagonal_phases(self) -> np.ndarray:
        """Phase ``sum_p c_p p.x`` of every basis state ``x`` (length ``2**num_wires``)."""
        x = np.arange(2**self.num_wires)
        out = np.zeros(len(x))
        for mask, angle in self.terms.items():
            parity = np.zeros(len(x), dtype=np.int64)
            m = mask
            bit = 0
            while m:
                if m & 1:
                    parity ^= (x >> bit) & 1
                m >>= 1
                bit += 1
            out += angle * parity
        return out


def block_function(ops: Sequence[tuple], num_wires: int) -> CnotPhaseFunction:
    """Phase polynomial and affine map of a CNOT-phase gate list on local wires.

    Args:
        ops: ``(name, wires, angle)`` with names in :data:`CNOT_PHASE_GATES`.
        num_wires: number of wires.

    Example:
        >>> f = block_function([("cx", (0, 1), None), ("p", (1,), 0.5), ("cx", (0, 1), None)], 2)
        >>> f.terms, f.linear
        ({3: 0.5}, [1, 2])
    """
    parity = [1 << i for i in range(num_wires)]
    const = [0] * num_wires
    terms: dict[int, float] = {}
    gphase = 0.0

    def add(mask: int, flip: int, angle: float) -> None:
        nonlocal gphase
        # angle * (p.x XOR flip) = angle*flip + angle*(1 - 2 flip) * p.x
        if flip:
            gphase += angle
            angle = -angle
        if mask == 0:
            return
        terms[mask] = terms.get(mask, 0.0) + angle

    for name, wires, angle in ops:
        if name == "cx":
            c, t = wires
            parity[t] ^= parity[c]
            const[t] ^= const[c]
        elif name == "x":
            const[wires[0]] ^= 1
        elif name == "cz":
            a, b = wires
            half = np.pi / 2
            add(parity[a], const[a], half)
            add(parity[b], const[b], half)
            add(parity[a] ^ parity[b], const[a] ^ const[b], -half)
        elif name == "rz":
            # RZ(θ) = e^{-iθ/2} P(θ)
            gphase -= angle / 2
            add(parity[wires[0]], const[wires[0]], angle)
        else:
            theta = angle if name == "p" else _PHASE_ANGLE[name]
            add(parity[wires[0]], const[wires[0]], theta)
    clean = {
        m: float(a) for m, a in terms.items() if abs(np.mod(a + np.pi, 2 * np.pi) - np.pi) > 1e-10
    }
    return CnotPhaseFunction(num_wires, clean, parity, const, gphase)


def node_op_tuple(node: DAGOpNode, wire_index: dict) -> tuple:
    """``(name, local wires, angle)`` of a CNOT-phase node."""
    wires = tuple(wire_index[q] for q in node.qargs)
    angle = float(node.op.params[0]) if node.op.name in ("p", "rz") else None
    return node.op.name, wires, angle


def collect_cnot_phase_blocks(dag: DAGCircuit) -> list[list[DAGOpNode]]:
    """Maximal convex blocks of CNOT-phase nodes that contain a two-qubit gate."""
    blocks = BlockCollector(dag).collect_all_matching_blocks(
        is_cnot_phase_node, split_blocks=True, min_block_size=1
    )
    return [b for b in blocks if any(len(n.qargs) == 2 for n in b)]
