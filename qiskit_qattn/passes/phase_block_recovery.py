"""Recover the phase polynomials of a logical circuit and resynthesize them all-to-all.

Attention phase separators arrive as Pauli-evolution CNOT ladders (one ladder per Walsh term),
as merged two-qubit blocks, or as ``DiagonalGate`` instances. Rewritten in CNOT-phase form
(:func:`~.cnot_phase_form.to_cnot_phase_form`), each maximal ``cx/cz/p/x`` region is one
function ``|x> -> e^{i f(x)} |A x + b>``; it is emitted again by the cheapest of

* a Gray-code diagonal (:func:`.synthesize_diagonal`, ``2^k - 2`` CNOTs on ``k`` wires,
  whatever the term count),
* Qiskit's GraySynth (``synth_cnot_phase_aam``, cheap for sparse polynomials), and
* the original gates,

followed by the linear part (a permutation, or PMH linear synthesis) and the bit flips. The
rewrite is exact unless an error budget lets the smallest phase terms go (their total absolute
angle bounds the operator-norm error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import PermutationGate
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.dagcircuit import DAGCircuit
from qiskit.exceptions import QiskitError
from qiskit.synthesis import synth_cnot_count_full_pmh, synth_cnot_phase_aam
from qiskit.transpiler.basepasses import TransformationPass

from ._inline import inline_labelled
from .synthesis.cnot_phase_blocks import (
    CnotPhaseFunction,
    block_function,
    collect_cnot_phase_blocks,
    node_op_tuple,
)
from .synthesis.cnot_phase_form import to_cnot_phase_form
from .synthesis.diagonal import synthesize_diagonal
from .synthesis.parity_network import drop_small_terms

#: Widest block offered the Gray-code diagonal synthesis (it builds ``2**k`` phases).
MAX_DIAGONAL_WIRES = 12


@dataclass
class RecoveryReport:
    """What :func:`recover_phase_blocks` did.

    Attributes:
        blocks: CNOT-phase blocks found.
        rewritten: blocks replaced by a cheaper synthesis.
        cx_before: CNOTs in the blocks before.
        cx_after: CNOTs in the blocks after (all-to-all).
        error_bound: operator-norm bound of the dropped phase terms (0 when exact).
    """

    blocks: int = 0
    rewritten: int = 0
    cx_before: int = 0
    cx_after: int = 0
    error_bound: float = 0.0


def _permutation_of(linear: list[int]) -> list[int] | None:
    """``pattern`` with ``pattern[j] = i`` when output wire j carries input bit i, else None."""
    pattern = []
    for row in linear:
        if row == 0 or row & (row - 1):
            return None
        pattern.append(row.bit_length() - 1)
    return pattern if len(set(pattern)) == len(pattern) else None


def _graysynth(func: CnotPhaseFunction, terms: dict[int, float]) -> QuantumCircuit:
    k = func.num_wires
    if not terms:
        return QuantumCircuit(k)
    masks = list(terms)
    cnots = [[(mask >> i) & 1 for mask in masks] for i in range(k)]
    angles = [float(terms[m]) for m in masks]
    try:
        return synth_cnot_phase_aam(cnots, angles, section_size=2)
    except QiskitError:  # Qiskit's PMH section size must be smaller than the block
        return synth_cnot_phase_aam(cnots, angles, section_size=1)


def _diagonal(func: CnotPhaseFunction, terms: dict[int, float]) -> QuantumCircuit:
    """Gray-code diagonal (:func:`.synthesize_diagonal`: ``2^k - 2`` CNOTs, routes well)."""
    k = func.num_wires
    shadow = CnotPhaseFunction(k, terms, func.linear, func.constants, 0.0)
    return synthesize_diagonal(shadow.diagonal_phases())


def _linear_tail(func: CnotPhaseFunction) -> tuple[QuantumCircuit, int]:
    """Circuit for ``x -> A x + b`` and its CNOT count (SWAPs counted as 3)."""
    k = func.num_wires
    qc = QuantumCircuit(k)
    pattern = _permutation_of(func.linear)
    if pattern is not None:
        cost = 0
        if pattern != list(range(k)):
            qc.append(PermutationGate(pattern), range(k))
            seen, cycles = set(), 0
            for start in range(k):
                if start not in seen:
                    cycles += 1
                    j = start
                    while j not in seen:
                        seen.add(j)
                        j = pattern[j]
            cost = 3 * (k - cycles)
    else:
        # Row j of A is the parity output wire j carries: matrix[j][i] = bit i of row j.
        matrix = np.array([[(row >> i) & 1 for i in range(k)] for row in func.linear], dtype=bool)
        lin = synth_cnot_count_full_pmh(matrix)
        qc.compose(lin, inplace=True)
        cost = lin.num_nonlocal_gates()
    for j, flip in enumerate(func.constants):
        if flip:
            qc.x(j)
    return qc, cost


#: Basis of the frame-free form: CNOT-phase gates plus the one-qubit gates that bound regions.
_CX_FORM_BASIS = ["cx", "rz", "p", "x", "sx", "h", "rx", "ry", "u"]


def _cx_form(dag: DAGCircuit) -> DAGCircuit:
    """``dag`` unrolled to :data:`_CX_FORM_BASIS` (CNOTs stay CNOTs, rotations stay rotations)."""
    from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
    from qiskit.transpiler.passes import BasisTranslator, HighLevelSynthesis

    basis = _CX_FORM_BASIS + ["measure", "barrier", "reset", "delay"]
    dag = HighLevelSynthesis(basis_gates=basis).run(dag)
    return BasisTranslator(SessionEquivalenceLibrary, basis).run(dag)


def recover_phase_blocks_dag(
    dag: DAGCircuit,
    *,
    error_budget: float = 0.0,
    report: RecoveryReport | None = None,
    frames: bool = True,
    replace_ties: bool = True,
) -> DAGCircuit:
    """DAG version of :func:`recover_phase_blocks` (same qubits, clbits and operator).

    ``frames=True`` finds the regions through :func:`.to_cnot_phase_form` (needed for routed,
    CZ/ECR-translated circuits); ``frames=False`` unrolls to CNOTs and rotations and takes the
    ``cx``/phase regions as they are (logical circuits: a mixer layer of ``RX`` then always
    separates two phase separators). ``replace_ties`` lets a Gray-code diagonal replace a block
    of the same all-to-all CNOT count (it usually routes better).
    """
    report = report if report is not None else RecoveryReport()
    form = to_cnot_phase_form(dag) if frames else _cx_form(dag)
    qindex = {q: i for i, q in enumerate(form.qubits)}
    budget = float(error_budget)
    changed = False
    for block in collect_cnot_phase_blocks(form):
        qubits = sorted({q for n in block for q in n.qargs}, key=qindex.__getitem__)
        local = {q: j for j, q in enumerate(qubits)}
        func = block_function([node_op_tuple(n, local) for n in block], len(qubits))
        before = sum(1 for n in block if len(n.qargs) == 2)
        report.blocks += 1
        report.cx_before += before
        terms, used = drop_small_terms(func.terms, budget)
        tail, tail_cost = _linear_tail(func)
        options = [_graysynth(func, terms)]
        if len(qubits) <= MAX_DIAGONAL_WIRES:
            options.append(_diagonal(func, terms))
        costs = [opt.num_nonlocal_gates() + tail_cost for opt in options]
        # Ties go to the Gray-code diagonal: it keeps one target per multiplexor, which routes
        # far better on sparse devices than GraySynth's CNOT trees (90 vs 133 2q gates on
        # FakeTorino for a dense 6-qubit phase separator at the same all-to-all count).
        best = min(range(len(options)), key=lambda i: (costs[i], -i))
        # An equal-cost Gray-code diagonal still replaces the block: it routes better than other
        # syntheses of the same diagonal (e.g. 387 vs 437 two-qubit gates at 8 qubits).
        gray_tie = (
            replace_ties and best == len(options) - 1 and len(options) > 1
            and costs[best] == before
        )
        if (costs[best] > before or (costs[best] == before and not gray_tie)) and used == 0.0:
            report.cx_after += before
            continue
        replacement = options[best].compose(tail)
        replacement.global_phase += func.global_phase
        form.replace_block_with_op(block, replacement.to_gate(label="qattn_phase_block"),
                                   local, cycle_check=False)
        budget -= used
        report.error_bound += used
        report.rewritten += 1
        report.cx_after += costs[best]
        changed = True
    if not changed:
        return dag
    # Inline the replacement gates so the caller sees ordinary instructions.
    return inline_labelled(form, "qattn_phase_block")


def recover_phase_blocks(
    circuit: QuantumCircuit, *, error_budget: float = 0.0, frames: bool = True
) -> tuple[QuantumCircuit, RecoveryReport]:
    """Resynthesize every CNOT-phase region of ``circuit`` when that saves CNOTs.

    Args:
        circuit: a circuit of one- and two-qubit gates (other operations bound the regions).
        error_budget: total absolute phase angle that may be dropped (operator-norm error bound).
        frames: find regions through CZ frames (routed circuits) or in CNOT form (logical ones).

    Returns:
        The rewritten circuit and a :class:`RecoveryReport`.

    Example:
        >>> from qiskit.circuit.library import PauliEvolutionGate
        >>> from qiskit.quantum_info import Operator, SparsePauliOp
        >>> op = SparsePauliOp(["ZZZ", "ZZI", "IZZ", "ZIZ"], [0.3, -0.2, 0.5, 0.1])
        >>> qc = QuantumCircuit(3); _ = qc.append(PauliEvolutionGate(op, 1.0), range(3))
        >>> from qiskit import transpile
        >>> ladder = transpile(qc, basis_gates=["cx", "rz", "sx", "x"], optimization_level=0)
        >>> out, report = recover_phase_blocks(ladder)
        >>> ladder.num_nonlocal_gates(), report.cx_after, Operator(out).equiv(Operator(qc))
        (8, 6, True)
    """
    if error_budget < 0 or not np.isfinite(error_budget):
        raise ValueError(f"error_budget must be a finite number >= 0; got {error_budget!r}")
    report = RecoveryReport()
    out = recover_phase_blocks_dag(
        circuit_to_dag(circuit), error_budget=error_budget, report=report, frames=frames
    )
    return dag_to_circuit(out), report


class PhaseBlockRecovery(TransformationPass):
    """Transpiler pass around :func:`recover_phase_blocks` (exact unless given a budget).

    The error bound it spent is added to ``property_set["qattn_error_bound"]``.

    Example:
        >>> from qiskit.transpiler import PassManager
        >>> qc = QuantumCircuit(2); _ = qc.cx(0, 1); _ = qc.rz(0.4, 1); _ = qc.cx(0, 1)
        >>> PassManager([PhaseBlockRecovery()]).run(qc).num_nonlocal_gates()
        2
    """

    def __init__(
        self, error_budget: float = 0.0, *, frames: bool = True, replace_ties: bool = True
    ) -> None:
        super().__init__()
        if error_budget < 0 or not np.isfinite(error_budget):
            raise ValueError(f"error_budget must be a finite number >= 0; got {error_budget!r}")
        self.error_budget = float(error_budget)
        self.frames = bool(frames)
        self.replace_ties = bool(replace_ties)

    def run(self, dag: DAGCircuit) -> DAGCircuit:
        if any(node.op.is_parameterized() for node in dag.op_nodes() if hasattr(node.op, "params")):
            return dag
        report = RecoveryReport()
        out = recover_phase_blocks_dag(
            dag, error_budget=self.error_budget, report=report, frames=self.frames,
            replace_ties=self.replace_ties,
        )
        if report.error_bound:
            bound = self.property_set["qattn_error_bound"] or 0.0
            self.property_set["qattn_error_bound"] = float(bound + report.error_bound)
        return out
