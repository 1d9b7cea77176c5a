"""``LogicalRecompile``: undo routing, resynthesize the phase polynomials, compile again.

The optimization stage only ever sees a routed, translated circuit, where a phase separator's
CNOT ladders are scattered across SWAPs. This pass

1. takes the circuit as it entered the optimization stage (stashed by
   :class:`.StashRoutedCircuit`, else the current one), cuts it down to its active qubits
   and undoes the routing (:func:`.deroute`),
2. rewrites every CNOT-phase region of the recovered logical circuit with the cheapest of a
   Gray-code diagonal (:func:`.synthesize_diagonal`), GraySynth and the original gates
   (:func:`.recover_phase_blocks`),
3. compiles that logical circuit again with Qiskit's preset pass manager at the same level
   (layout, routing, translation, optimisation; one run per seed), and
4. keeps the best result only when it has fewer two-qubit gates than the incoming circuit (or as
   many and less depth), rewriting ``layout`` and ``final_layout`` so that the
   ``TranspileLayout`` of the output stays exact.

Circuits with control flow, unbound parameters or non-unitary operations other than final
measurements and barriers are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp
from qiskit.converters import dag_to_circuit
from qiskit.dagcircuit import DAGCircuit
from qiskit.transpiler import Layout, Target, TranspileLayout, generate_preset_pass_manager
from qiskit.transpiler.basepasses import TransformationPass

from .deroute import deroute
from .phase_block_recovery import recover_phase_blocks
from .stash_routed_circuit import ROUTED_DAG_KEY, ROUTED_FINAL_LAYOUT_KEY, ROUTED_LAYOUT_KEY

_ALLOWED_NON_GATES = frozenset({"measure", "barrier"})


def _two_qubit_count(circuit: QuantumCircuit | DAGCircuit) -> int:
    if isinstance(circuit, DAGCircuit):
        return sum(1 for n in circuit.op_nodes() if len(n.qargs) == 2 and n.op.name != "barrier")
    return sum(
        1 for i in circuit.data if len(i.qubits) == 2 and i.operation.name != "barrier"
    )


def _score(circuit: QuantumCircuit | DAGCircuit) -> tuple[int, int]:
    return _two_qubit_count(circuit), circuit.depth()


def _eligible(dag: DAGCircuit) -> bool:
    for node in dag.op_nodes():
        op = node.op
        if isinstance(op, ControlFlowOp) or getattr(op, "condition", None) is not None:
            return False
        if op.name in _ALLOWED_NON_GATES:
            continue
        if not hasattr(op, "to_matrix") and op.definition is None:
            return False
        if op.name in ("reset", "delay", "initialize") or op.is_parameterized():
            return False
    return True


class LogicalRecompile(TransformationPass):
    """Recompile a routed circuit from its recovered logical form when that is cheaper.

    Args:
        target: the device target (or ``None`` with ``basis_gates``/``coupling_map``).
        seeds: transpiler seeds of the inner compilations (the best result is kept).
        optimization_level: level of the inner preset pass manager.
        basis_gates: basis when there is no target.
        coupling_map: coupling when there is no target.
        error_budget: phase angle the recovery may drop (operator-norm error bound).
        max_active_qubits: larger circuits are left alone.
        qubits_initially_zero: forwarded to the inner pass manager.
        keep_layout: place every logical wire where it started (set when the user fixed an
            ``initial_layout``); only routing and synthesis are redone.

    Example:
        >>> from qiskit.transpiler import CouplingMap, generate_preset_pass_manager
        >>> qc = QuantumCircuit(3); _ = qc.h(range(3))
        >>> _ = qc.cx(0, 2); _ = qc.rz(0.3, 2); _ = qc.cx(1, 2); _ = qc.rz(0.2, 2)
        >>> _ = qc.cx(0, 2); _ = qc.rz(0.1, 2); _ = qc.cx(1, 2)
        >>> cmap = CouplingMap.from_line(3)
        >>> pm = generate_preset_pass_manager(3, basis_gates=["cx", "rz", "sx", "x"],
        ...                                   coupling_map=cmap, seed_transpiler=0)
        >>> pm.optimization.append(LogicalRecompile(None, basis_gates=["cx", "rz", "sx", "x"],
        ...                                         coupling_map=cmap))
        >>> pm.run(qc).num_nonlocal_gates() <= 4
        True
    """

    def __init__(
        self,
        target: Target | None,
        *,
        seeds: Sequence[int] = (0,),
        optimization_level: int = 3,
        basis_gates: Sequence[str] | None = None,
        coupling_map=None,
        error_budget: float = 0.0,
        max_active_qubits: int = 24,
        qubits_initially_zero: bool = True,
        keep_layout: bool = False,
    ) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("seeds must hold at least one transpiler seed")
        if optimization_level not in (1, 2, 3):
            raise ValueError(f"optimization_level must be 1, 2 or 3; got {optimization_level!r}")
        self.target = target
        self.seeds = [int(s) for s in seeds]
        self.optimization_level = optimization_level
        self.basis_gates = list(basis_gates) if basis_gates is not None else None
        self.coupling_map = coupling_map
        self.error_budget = float(error_budget)
        self.max_active_qubits = int(max_active_qubits)
        self.qubits_initially_zero = bool(qubits_initially_zero)
        self.keep_layout = bool(keep_layout)

    # ------------------------------------------------------------------ helpers
    def _pass_manager(self, seed: int, initial_layout: list[int] | None):
        common = {
            "seed_transpiler": seed, "approximation_degree": 1.0,
            "qubits_initially_zero": self.qubits_initially_zero,
            "initial_layout": initial_layout,
        }
        if self.target is not None:
            return generate_preset_pass_manager(
                self.optimization_level, target=self.target, **common
            )
        return generate_preset_pass_manager(
            self.optimization_level, basis_gates=self.basis_gates,
            coupling_map=self.coupling_map, **common,
        )

    def _compile(
        self, logical: QuantumCircuit, initial_layout: list[int] | None = None
    ) -> QuantumCircuit:
        best = None
        for seed in self.seeds:
            compiled = self._pass_manager(seed, initial_layout).run(logical)
            if best is None or _score(compiled) < _score(best):
                best = compiled
        return best

    # ---------------------------------------------------------------------- run
    def run(self, dag: DAGCircuit) -> DAGCircuit:
        source = self.property_set[ROUTED_DAG_KEY]
        layout = final = None
        if source is None or len(source.qubits) != len(dag.qubits):
            source = dag
            if self.property_set["layout"] is not None:
                normalised = TranspileLayout.from_property_set(dag, self.property_set)
                layout, final = normalised.initial_layout, normalised.final_layout
        else:
            layout = self.property_set[ROUTED_LAYOUT_KEY]
            final = self.property_set[ROUTED_FINAL_LAYOUT_KEY]
        if not _eligible(source):
            return dag
        if layout is None:
            return self._run_unmapped(dag, source)
        positions = {q: i for i, q in enumerate(source.qubits)}
        active = sorted({positions[q] for n in source.op_nodes() for q in n.qargs})
        if not active or len(active) > self.max_active_qubits:
            return dag
        index = {p: k for k, p in enumerate(active)}
        small = QuantumCircuit(len(active), len(source.clbits), global_phase=source.global_phase)
        clbits = {c: i for i, c in enumerate(source.clbits)}
        for node in source.topological_op_nodes():
            small.append(node.op, [index[positions[q]] for q in node.qargs],
                         [clbits[c] for c in node.cargs])
        derouted = deroute(small)
        logical, report = recover_phase_blocks(derouted.circuit, error_budget=self.error_budget)
        if derouted.swaps_absorbed == 0 and report.rewritten == 0:
            return dag  # nothing was routed or resynthesized: compiling again repeats O3
        compiled = self._compile(logical, active if self.keep_layout else None)
        if compiled.layout is None or _score(compiled) >= _score(dag):
            return dag
        return self._adopt(
            dag, compiled, active, derouted.data_at_end, report.error_bound, layout, final
        )

    def _run_unmapped(self, dag: DAGCircuit, source: DAGCircuit) -> DAGCircuit:
        circuit = dag_to_circuit(source)
        logical, report = recover_phase_blocks(circuit, error_budget=self.error_budget)
        compiled = self._compile(logical)
        trivial = compiled.layout is None or (
            compiled.layout.final_index_layout(filter_ancillas=False)
            == compiled.layout.initial_index_layout(filter_ancillas=False)
            == list(range(compiled.num_qubits))
        )
        if not trivial or compiled.num_qubits != len(dag.qubits) or _score(compiled) >= _score(dag):
            return dag
        self._add_error(report.error_bound)
        return self._copy_into(dag, compiled)

    def _add_error(self, bound: float) -> None:
        if bound:
            prev = self.property_set["qattn_error_bound"] or 0.0
            self.property_set["qattn_error_bound"] = float(prev + bound)

    @staticmethod
    def _copy_into(dag: DAGCircuit, compiled: QuantumCircuit) -> DAGCircuit:
        out = dag.copy_empty_like()
        out.global_phase = compiled.global_phase
        for inst in compiled.data:
            out.apply_operation_back(
                inst.operation,
                tuple(dag.qubits[compiled.find_bit(q).index] for q in inst.qubits),
                tuple(dag.clbits[compiled.find_bit(c).index] for c in inst.clbits),
                check=False,
            )
        return out

    def _adopt(
        self,
        dag: DAGCircuit,
        compiled: QuantumCircuit,
        active: list[int],
        data_at_end: list[int],
        error_bound: float,
        old_layout: Layout,
        old_final: Layout | None,
    ) -> DAGCircuit:
        """Install ``compiled`` and rewrite ``layout``/``final_layout`` to match it.

        ``old_layout``/``old_final`` are the layouts of the circuit the recompilation started
        from (positions in ``active`` refer to them).
        """
        num = len(dag.qubits)
        if compiled.num_qubits != num:
            return dag
        qubit_at = old_layout.get_physical_bits()  # physical index -> virtual qubit
        old_perm = (
            list(range(num)) if old_final is None
            else [old_final[dag.qubits[p]] for p in range(num)]
        )
        index = {p: k for k, p in enumerate(active)}
        # Data starting on logical wire k ends on logical wire ``ends[k]`` of the recovered circuit.
        ends = [data_at_end[index[old_perm[p]]] for p in active]
        starts_new = compiled.layout.initial_index_layout(filter_ancillas=True)
        finals_new = compiled.layout.final_index_layout(filter_ancillas=True)
        start_of = {k: starts_new[k] for k in range(len(active))}
        end_of = {k: finals_new[ends[k]] for k in range(len(active))}

        touched = {compiled.find_bit(q).index for i in compiled.data for q in i.qubits}
        used_starts = set(start_of.values())
        used_ends = set(end_of.values())
        free_fixed = [
            p for p in range(num)
            if p not in touched and p not in used_starts and p not in used_ends
        ]
        originals = self.property_set["original_qubit_indices"] or {}
        new_layout: dict = {}
        perm: dict[int, int] = {}
        for k, p in enumerate(active):
            new_layout[qubit_at[p]] = start_of[k]
            perm[start_of[k]] = end_of[k]
        idle_real = [v for p, v in qubit_at.items() if p not in index and v in originals]
        if len(idle_real) > len(free_fixed):
            return dag
        for v, p in zip(idle_real, free_fixed, strict=False):
            new_layout[v] = p
            perm[p] = p
        rest_virtual = [v for p, v in sorted(qubit_at.items()) if v not in new_layout]
        rest_starts = [p for p in range(num) if p not in perm]
        rest_ends = sorted(set(range(num)) - set(perm.values()))
        for v, p in zip(rest_virtual, rest_starts, strict=True):
            new_layout[v] = p
        ends_left = set(rest_ends)
        routing = compiled.layout.routing_permutation()
        unmatched = []
        for p in rest_starts:
            if routing[p] in ends_left:
                perm[p] = routing[p]
                ends_left.discard(routing[p])
            else:
                unmatched.append(p)
        for p, e in zip(unmatched, sorted(ends_left), strict=True):
            perm[p] = e

        out = self._copy_into(dag, compiled)
        self.property_set["layout"] = Layout(new_layout)
        self.property_set["final_layout"] = Layout({out.qubits[s]: e for s, e in perm.items()})
        # Any permutation elided before layout is part of the final layout written above.
        self.property_set["virtual_permutation_layout"] = None
        self._add_error(error_bound)
        return out
