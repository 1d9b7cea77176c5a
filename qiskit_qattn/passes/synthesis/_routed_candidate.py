"""Qiskit's all-to-all CNOT-phase synthesis routed with Sabre on a block's qubits (a candidate)."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import DiagonalGate
from qiskit.synthesis import synth_cnot_count_full_pmh, synth_cnot_phase_aam
from qiskit.transpiler import CouplingMap
from scipy.optimize import linear_sum_assignment

from .cnot_phase_blocks import CnotPhaseFunction
from .graph import WireGraph

_BASIS = ["cx", "rz", "sx", "x"]


def _row_order(linear: list[int], k: int) -> list[int]:
    """``order[w]`` = output placed on wire ``w`` so that the linear part is close to identity."""
    cost = np.array([[(linear[j] ^ (1 << w)).bit_count() for j in range(k)] for w in range(k)])
    _, cols = linear_sum_assignment(cost)
    return [int(c) for c in cols]


def routed_candidate(
    func: CnotPhaseFunction, graph: WireGraph, free: bool, seed: int
) -> tuple[list[tuple], list[int], float, int] | None:
    """``(ops, out, global_phase, cx_count)`` of the routed all-to-all synthesis, or ``None``.

    ``None`` when ``free`` is false and routing left a permutation.
    """
    k = func.num_wires
    qc = QuantumCircuit(k)
    if func.terms:
        if len(func.terms) >= 2 ** (k - 1):
            qc.append(DiagonalGate(list(np.exp(1j * func.diagonal_phases()))), range(k))
        else:
            masks = list(func.terms)
            cnots = [[(m >> i) & 1 for m in masks] for i in range(k)]
            qc.compose(synth_cnot_phase_aam(cnots, [func.terms[m] for m in masks]), inplace=True)
    order = _row_order(func.linear, k) if free else list(range(k))
    rows = [func.linear[order[w]] for w in range(k)]
    if rows != [1 << i for i in range(k)]:
        mat = np.array([[(r >> j) & 1 for j in range(k)] for r in rows], dtype=bool)
        qc.compose(synth_cnot_count_full_pmh(mat), inplace=True)
    for w in range(k):
        if func.constants[order[w]]:
            qc.x(w)
    edges = [list(e) for e in graph.directed_edges]
    routed = transpile(
        qc,
        coupling_map=CouplingMap(edges) if edges else None,
        basis_gates=_BASIS,
        initial_layout=list(range(k)),
        optimization_level=3,
        seed_transpiler=seed,
    )
    final = routed.layout.final_index_layout() if routed.layout is not None else list(range(k))
    if not free and final != list(range(k)):
        return None  # the routing permutation cannot be absorbed by the layout here
    ops = [
        (inst.operation, tuple(routed.find_bit(q).index for q in inst.qubits))
        for inst in routed.data
    ]
    out = [0] * k
    for w in range(k):
        out[order[w]] = final[w]
    cost = sum(1 for op, wires in ops if len(wires) == 2)
    return ops, out, float(routed.global_phase), cost
