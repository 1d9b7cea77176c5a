"""``CnotPhaseResynthesis``: resynthesize the CNOT-phase regions of a routed circuit in place.

Runs after layout, routing and translation; the ``qattn`` optimization stage appends it after
:class:`.LogicalRecompile` when built with ``resynthesis=True``. The circuit is rewritten with
:func:`to_cnot_phase_form` so that phase separators, uniformly controlled rotations and routing
SWAPs appear as ``cx/cz/p/x`` blocks; each block's phase polynomial and affine map is extracted
and synthesized again *on the coupling graph*:

* by the package's architecture-aware parity-network synthesis
  (:mod:`.synthesis.parity_network`), and
* by Qiskit's all-to-all synthesis (Gray-code ``DiagonalGate`` or ``synth_cnot_phase_aam``)
  routed with Sabre on the block's qubits,

keeping the cheapest of these and the original block. Adjacent diagonal layers merge because a
block is a maximal region. When no two-qubit gate outside the blocks follows, a block may end on
permuted wires; later operations are relabelled and the permutation goes into
``final_layout`` (measurements keep their classical bits, so results are unchanged).

Optional approximation: with ``error_budget > 0`` the smallest phase terms are dropped while the
sum of their absolute angles fits the budget; the bound on the operator-norm error
``||U - U'||`` is accumulated in ``property_set["qattn_error_bound"]``.

When a ``post_pass_manager`` is given (translation + peephole optimisation to the target ISA),
the result is compared with the input and kept only if it has fewer two-qubit gates (or as many
and less depth), so the pass never makes a circuit worse.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit.circuit import Gate, Qubit
from qiskit.circuit.library import CXGate, CZGate, PhaseGate, XGate
from qiskit.converters import circuit_to_dag, dag_to_circuit
from qiskit.dagcircuit import DAGCircuit
from qiskit.passmanager import BasePassManager
from qiskit.transpiler import CouplingMap, Layout, Target
from qiskit.transpiler.basepasses import TransformationPass

from .synthesis.cnot_phase_blocks import (
    CnotPhaseFunction,
    block_function,
    collect_cnot_phase_blocks,
    node_op_tuple,
)
from .synthesis.cnot_phase_form import to_cnot_phase_form
from .synthesis.graph import WireGraph
from .synthesis.parity_network import drop_small_terms, synthesize_cnot_phase

#: Blocks with fewer two-qubit gates skip the (slower) routed all-to-all candidate.
ROUTED_CANDIDATE_MIN_2Q = 6
#: Blocks wider than this are only resynthesized by the graph-native synthesis.
ROUTED_CANDIDATE_MAX_WIRES = 12
#: Largest block (wires) the resynthesis touches at all.
MAX_BLOCK_WIRES = 20


class _BlockPlaceholder(Gate):
    def __init__(self, index: int, num_qubits: int) -> None:
        super().__init__("qattn_cnot_phase_block", num_qubits, [])
        self.index = index


@dataclass
class _Candidate:
    ops: list[tuple]  # (Gate, local wires) in circuit order
    out: list[int]  # out[j] = local wire holding output j
    global_phase: float
    cost: int
    label: str


def _two_qubit_count(dag: DAGCircuit) -> int:
    return sum(
        1 for n in dag.op_nodes() if len(n.qargs) == 2 and n.op.name not in ("barrier", "delay")
    )


def _device_adjacency(
    target: Target | None, coupling_map: CouplingMap | None, num_qubits: int
) -> list[set[int]] | None:
    cmap = coupling_map
    if target is not None:
        cmap = target.build_coupling_map()
    if cmap is None:
        return None
    adj: list[set[int]] = [set() for _ in range(num_qubits)]
    for u, v in cmap.get_edges():
        if u < num_qubits and v < num_qubits and u != v:
            adj[u].add(v)
            adj[v].add(u)
    return adj


def _connect(wires: list[int], adj: list[set[int]] | None) -> list[int]:
    """``wires`` plus shortest-path wires of the device so that they induce a connected graph."""
    if adj is None or len(wires) <= 1:
        return list(wires)
    chosen = list(wires)
    inside = set(wires)
    while True:
        comp = _component(chosen[0], inside, adj)
        if len(comp) == len(inside):
            return chosen
        # BFS from the component to the nearest wire outside it that is in `inside`.
        parents = {w: None for w in comp}
        queue = deque(comp)
        hit = None
        while queue and hit is None:
            u = queue.popleft()
            for v in adj[u]:
                if v not in parents:
                    parents[v] = u
                    if v in inside:
                        hit = v
                        break
                    queue.append(v)
        if hit is None:
            raise ValueError("block qubits lie in different components of the coupling map")
        u = parents[hit]
        while u is not None and u not in comp:
            if u not in inside:
                inside.add(u)
                chosen.append(u)
            u = parents[u]


def _component(start: int, allowed: set[int], adj: list[set[int]]) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v in allowed and v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


def _local_graph(phys: Sequence[int], adj: list[set[int]] | None) -> WireGraph:
    if adj is None:
        return WireGraph(len(phys))
    index = {p: i for i, p in enumerate(phys)}
    edges = [(index[u], index[v]) for u in phys for v in adj[u] if v in index and u < v]
    return WireGraph(len(phys), edges)


class CnotPhaseResynthesis(TransformationPass):
    """Resynthesize CNOT-phase regions of a physical circuit on the coupling graph.

    Args:
        target: the backend target (its coupling map wins over ``coupling_map``); ``None`` with
            no ``coupling_map`` means all-to-all.
        coupling_map: coupling map used when no target is given.
        post_pass_manager: pass manager bringing the result back to the target ISA (translation
            and one-qubit optimisation). With it the pass keeps the better of input and result.
        error_budget: total |angle| of phase terms that may be dropped (0 = exact).
        routed_candidates: also try Qiskit's all-to-all synthesis routed with Sabre.
        seed: seed for the routed candidates.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.transpiler import CouplingMap, PassManager
        >>> qc = QuantumCircuit(3)
        >>> _ = qc.cx(0, 1); _ = qc.cx(1, 2); _ = qc.rz(0.3, 2); _ = qc.cx(1, 2); _ = qc.cx(0, 1)
        >>> out = PassManager(CnotPhaseResynthesis(coupling_map=CouplingMap.from_line(3))).run(qc)
        >>> out.count_ops()["cx"] <= 4
        True
    """

    def __init__(
        self,
        target: Target | None = None,
        coupling_map: CouplingMap | None = None,
        *,
        post_pass_manager: BasePassManager | None = None,
        error_budget: float = 0.0,
        routed_candidates: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if error_budget < 0 or not np.isfinite(error_budget):
            raise ValueError(f"error_budget must be a finite number >= 0; got {error_budget!r}")
        self.target = target
        self.coupling_map = coupling_map
        self.post_pass_manager = post_pass_manager
        self.error_budget = float(error_budget)
        self.routed_candidates = routed_candidates
        self.seed = seed

    # ------------------------------------------------------------------ run
    def run(self, dag: DAGCircuit) -> DAGCircuit:
        new_dag, perm, used = self._resynthesize(dag)
        if new_dag is None:
            return dag
        if self.post_pass_manager is not None:
            new_dag = circuit_to_dag(self.post_pass_manager.run(dag_to_circuit(new_dag)))
        before = (_two_qubit_count(dag), dag.depth())
        after = (_two_qubit_count(new_dag), new_dag.depth())
        if after >= before and used == 0.0:
            return dag
        if after[0] > before[0]:
            return dag
        if perm is not None and any(p != i for i, p in enumerate(perm)):
            layout = Layout(dict(zip(dag.qubits, perm, strict=True)))
            prev = self.property_set["final_layout"]
            self.property_set["final_layout"] = (
                layout if prev is None else prev.compose(layout, dag.qubits)
            )
        bound = self.property_set["qattn_error_bound"] or 0.0
        self.property_set["qattn_error_bound"] = float(bound + used)
        return new_dag

    # ------------------------------------------------------ resynthesis
    def _resynthesize(self, dag: DAGCircuit) -> tuple[DAGCircuit | None, list[int] | None, float]:
        form = to_cnot_phase_form(dag)
        blocks = collect_cnot_phase_blocks(form)
        if not blocks:
            return None, None, 0.0
        nq = len(form.qubits)
        qindex = {q: i for i, q in enumerate(form.qubits)}
        functions: list[tuple[list[int], CnotPhaseFunction, list[tuple], int]] = []
        for i, block in enumerate(blocks):
            qubits = sorted({q for n in block for q in n.qargs}, key=qindex.__getitem__)
            local = {q: j for j, q in enumerate(qubits)}
            ops = [node_op_tuple(n, local) for n in block]
            func = block_function(ops, len(qubits))
            two_q = sum(1 for n in block if len(n.qargs) == 2)
            functions.append(([qindex[q] for q in qubits], func, ops, two_q))
            form.replace_block_with_op(
                block, _BlockPlaceholder(i, len(qubits)), local, cycle_check=False
            )
        free = not any(
            len(n.qargs) > 1
            and not isinstance(n.op, _BlockPlaceholder)
            and n.op.name != "barrier"
            for n in form.op_nodes()
        )
        adj = _device_adjacency(self.target, self.coupling_map, nq)
        tau = list(range(nq))  # original qubit -> current physical position
        where = list(range(nq))  # physical position -> original qubit whose data is there
        out = form.copy_empty_like()
        qubits: list[Qubit] = list(out.qubits)
        budget_left = self.error_budget
        used_total = 0.0
        for node in form.topological_op_nodes():
            if not isinstance(node.op, _BlockPlaceholder):
                out.apply_operation_back(
                    node.op, tuple(qubits[tau[qindex[q]]] for q in node.qargs), node.cargs,
                    check=False,
                )
                continue
            _, func, ops, two_q = functions[node.op.index]
            orig = [qindex[q] for q in node.qargs]
            if budget_left > 0:
                kept, used = drop_small_terms(func.terms, budget_left)
                if used > 0:
                    func = CnotPhaseFunction(
                        func.num_wires, kept, func.linear, func.constants, func.global_phase
                    )
                    budget_left -= used
                    used_total += used
                    ops = None  # the original block no longer implements the function
            phys = [tau[o] for o in orig]
            cand, wires = self._best_candidate(func, ops, two_q, phys, orig, adj, free)
            for op, local_wires in cand.ops:
                out.apply_operation_back(
                    op, tuple(qubits[wires[w]] for w in local_wires), (), check=False
                )
            out.global_phase += cand.global_phase
            # Relabel: output j of the block (data formerly at wires[j]) is now at wires[out[j]].
            moved = {wires[j]: wires[cand.out[j]] for j in range(len(wires))}
            if any(a != b for a, b in moved.items()):
                new_where = list(where)
                for a, b in moved.items():
                    new_where[b] = where[a]
                where = new_where
                for p, o in enumerate(where):
                    tau[o] = p
        return out, tau, used_total

    def _best_candidate(
        self,
        func: CnotPhaseFunction,
        ops: list[tuple] | None,
        two_q: int,
        phys: list[int],
        orig: list[int],
        adj: list[set[int]] | None,
        free: bool,
    ) -> tuple[_Candidate, list[int]]:
        n = func.num_wires
        wires = _connect(phys, adj) if free else list(phys)
        k = len(wires)
        if k > n:
            func = CnotPhaseFunction(
                k,
                func.terms,
                list(func.linear) + [1 << i for i in range(n, k)],
                list(func.constants) + [0] * (k - n),
                func.global_phase,
            )
        candidates: list[_Candidate] = []
        if ops is not None and phys == orig:
            candidates.append(_original(ops, n, k, two_q))
        if k <= MAX_BLOCK_WIRES:
            graph = _local_graph(wires, adj)
            net = synthesize_cnot_phase(
                graph, func.terms, func.linear, func.constants, free_permutation=free
            )
            gate_ops = []
            for op in net.ops:
                if op[0] == "cx":
                    gate_ops.append((CXGate(), (op[1], op[2])))
                elif op[0] == "p":
                    gate_ops.append((PhaseGate(op[2]), (op[1],)))
                else:
                    gate_ops.append((XGate(), (op[1],)))
            candidates.append(
                _Candidate(gate_ops, net.output_wires, func.global_phase, net.cx_count, "graph")
            )
            if (
                self.routed_candidates
                and two_q >= ROUTED_CANDIDATE_MIN_2Q
                and k <= ROUTED_CANDIDATE_MAX_WIRES
                and k >= 3
            ):
                from .synthesis._routed_candidate import routed_candidate

                routed = routed_candidate(func, graph, free, self.seed)
                if routed is not None:
                    r_ops, r_out, r_phase, r_cost = routed
                    candidates.append(
                        _Candidate(r_ops, r_out, func.global_phase + r_phase, r_cost, "routed")
                    )
        if not candidates:  # pragma: no cover - only for blocks wider than MAX_BLOCK_WIRES
            raise RuntimeError("no candidate for a permuted block")
        return min(candidates, key=lambda c: (c.cost, len(c.ops))), wires


def _original(ops: list[tuple], n: int, k: int, two_q: int) -> _Candidate:
    gates = []
    for name, wires, angle in ops:
        if name == "cx":
            gates.append((CXGate(), wires))
        elif name == "cz":
            gates.append((CZGate(), wires))
        elif name == "p":
            gates.append((PhaseGate(angle), wires))
        elif name == "x":
            gates.append((XGate(), wires))
        else:
            from qiskit.circuit.library import get_standard_gate_name_mapping

            gate = get_standard_gate_name_mapping()[name]
            if angle is not None:
                gate = type(gate)(angle)
            gates.append((gate, wires))
    return _Candidate(gates, list(range(k)), 0.0, two_q, "original")
