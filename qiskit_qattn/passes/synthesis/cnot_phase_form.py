"""Rewrite a physical circuit so that its CNOT-phase regions become visible.

After routing and translation, an attention circuit's phase separator is a soup of ``CZ``/``ECR``
gates and merged single-qubit unitaries. Every two-qubit gate locally equivalent to ``CZ`` is
rewritten as ``CZ`` with single-qubit dressing; each ``CZ`` then gets a *frame* per qubit:
control (``C``, frame ``I`` or ``X``) or target (``T``, frame ``W = RZ(φ) H``, so that
``W CX W† = CZ``). Frames are chosen so that the merged single-qubit runs between two frames,
``W_next† U W_prev``, are monomial (diagonal or anti-diagonal), and at most one side of a ``CZ``
is a target: every slot starts with the frames its neighbouring runs admit, arc consistency
prunes them, and a depth-first assignment in circuit order (with a bounded number of backtracks)
fixes one frame per slot. The monomial runs are emitted as ``P``/``X`` gates and the ``CZ`` gates
as ``CX`` (one ``T`` side) or ``CZ`` (both ``C``), so maximal ``{cx, cz, p, x}`` blocks are exactly
CNOT-phase circuits. A run that fits no assignment is dropped from the constraints; it is
emitted as a ``U`` gate and bounds the blocks.

The rewrite is exact (same operator, including global phase).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from qiskit.circuit import Gate
from qiskit.circuit.library import CXGate, CZGate, PhaseGate, UGate, XGate
from qiskit.dagcircuit import DAGCircuit, DAGOpNode
from qiskit.synthesis import OneQubitEulerDecomposer, TwoQubitBasisDecomposer

_ATOL = 1e-9
_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_I2 = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_EULER = OneQubitEulerDecomposer("U")
_CZ = np.diag([1, 1, 1, -1]).astype(complex)
_CX_AB = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=complex)
_CX_BA = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)


def _rz(phi: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * phi), np.exp(0.5j * phi)])


def frame_matrix(kind: str, phi: float) -> np.ndarray:
    """Frame of a slot: ``X^b`` for a control (``phi`` holds ``b``), ``RZ(φ) H`` for a target."""
    if kind == "C":
        return _X if phi else _I2
    return _rz(phi) @ _H


def _fits(run: np.ndarray, prev: tuple[str, float], nxt: tuple[str, float]) -> bool:
    """Whether ``W_next† run W_prev`` is monomial."""
    m = frame_matrix(*nxt).conj().T @ run @ frame_matrix(*prev)
    return is_monomial(m, 1e-8)


def is_monomial(m: np.ndarray, atol: float = _ATOL) -> bool:
    """Whether a 2x2 matrix is diagonal or anti-diagonal."""
    return (abs(m[0, 1]) < atol and abs(m[1, 0]) < atol) or (
        abs(m[0, 0]) < atol and abs(m[1, 1]) < atol
    )


def _mod_pi(x: float) -> float:
    return float(np.mod(x, np.pi))


def _same_mod_pi(a: float, b: float, atol: float = 1e-7) -> bool:
    d = np.mod(a - b, np.pi)
    return d < atol or np.pi - d < atol


def classify_run(u: np.ndarray) -> dict[str, object]:
    """Frame pairs under which the run ``u`` becomes monomial.

    Returns a dict with keys ``"CC"`` (bool), ``"CT"`` (φ of the next frame or ``None``),
    ``"TC"`` (φ of the previous frame or ``None``) and ``"TT"`` (``("fixed", φp, φn)``,
    ``("rel", A)`` meaning ``φn = φp + A`` mod π, or ``None``).
    """
    out: dict[str, object] = {"CC": is_monomial(u), "CT": None, "TC": None, "TT": None}
    a00, a01, a10, a11 = u[0, 0], u[0, 1], u[1, 0], u[1, 1]
    if abs(abs(a00) - abs(a10)) < 1e-9 and abs(a00) > 1e-6:
        out["CT"] = _mod_pi(np.angle(-a10 / a00))
    if abs(abs(a00) - abs(a01)) < 1e-9 and abs(a00) > 1e-6:
        out["TC"] = _mod_pi(np.angle(-np.conj(a01) / np.conj(a00)))
    if abs(a00) > 1e-6 and abs(a01) > 1e-6:
        big_a = float(np.angle(a11 / a00))
        big_b = float(np.angle(a10 / a01))
        out["TT"] = ("fixed", _mod_pi((big_b - big_a) / 2), _mod_pi((big_a + big_b) / 2))
    elif abs(a01) < 1e-6:
        out["TT"] = ("rel", float(np.angle(a11 / a00)))
    return out


@lru_cache(maxsize=256)
def _cz_dressing(key: tuple) -> tuple | None:
    """``G = e^{iγ} (A1⊗B1) CZ (A0⊗B0)`` for a two-qubit gate matrix, or ``None``."""
    mat = np.array(key[1], dtype=complex).reshape(4, 4)
    decomposer = TwoQubitBasisDecomposer(CZGate(), euler_basis="U")
    if decomposer.num_basis_gates(mat) != 1:
        return None
    circ = decomposer(mat)
    before = [_I2.copy(), _I2.copy()]
    after = [_I2.copy(), _I2.copy()]
    seen_cz = False
    for inst in circ.data:
        if inst.operation.name == "cz":
            if seen_cz:
                return None
            seen_cz = True
            continue
        q = circ.find_bit(inst.qubits[0]).index
        m = inst.operation.to_matrix()
        if seen_cz:
            after[q] = m @ after[q]
        else:
            before[q] = m @ before[q]
    if not seen_cz:
        return None
    return before[0], before[1], after[0], after[1], float(circ.global_phase)


def cz_dressing(op: Gate) -> tuple | None:
    """Single-qubit dressing that turns a CZ-equivalent two-qubit gate into ``CZ``."""
    try:
        mat = np.asarray(op.to_matrix(), dtype=complex)
    except Exception:  # noqa: BLE001 - parameterised or matrix-less gates are left alone
        return None
    key = (op.name, tuple(np.round(mat, 12).ravel().tolist()))
    return _cz_dressing(key)


def _one_qubit_matrix(node: DAGOpNode) -> np.ndarray | None:
    op = node.op
    if len(node.qargs) != 1 or node.cargs or getattr(op, "condition", None) is not None:
        return None
    if not isinstance(op, Gate) or op.is_parameterized():
        return None
    try:
        return np.asarray(op.to_matrix(), dtype=complex)
    except Exception:  # noqa: BLE001
        return None


class _Slot:
    __slots__ = ("kind", "phi")

    def __init__(self) -> None:
        self.kind = "C"
        self.phi = 0.0


def _add_value(values: list[float], v: float) -> None:
    v = _mod_pi(v)
    if not any(_same_mod_pi(v, w) for w in values):
        values.append(v)


def _chain_candidates(runs: list[np.ndarray | None], n: int) -> list[list[float]]:
    """φ values each target slot of a chain might need, proposed by its neighbouring runs."""
    cands: list[list[float]] = [[] for _ in range(n)]
    rel: list[tuple[int, float]] = []
    for i, u in enumerate(runs):  # run i lies between slot i and slot i + 1
        if u is None:
            continue
        for x in (_I2, _X):
            after = u @ x  # previous slot is a control with frame x
            if abs(after[0, 0]) > 1e-6 and abs(abs(after[0, 0]) - abs(after[1, 0])) < 1e-9:
                _add_value(cands[i + 1], float(np.angle(-after[1, 0] / after[0, 0])))
            before = x @ u  # next slot is a control with frame x
            if abs(before[0, 0]) > 1e-6 and abs(abs(before[0, 0]) - abs(before[0, 1])) < 1e-9:
                _add_value(
                    cands[i], float(np.angle(-np.conj(before[0, 1]) / np.conj(before[0, 0])))
                )
        tt = classify_run(u)["TT"]
        if tt is not None and tt[0] == "fixed":
            _add_value(cands[i], tt[1])
            _add_value(cands[i + 1], tt[2])
        elif tt is not None:
            rel.append((i, tt[1]))
    for _ in range(2):  # carry values through relative runs, both ways
        for i, off in rel:
            for v in list(cands[i]):
                _add_value(cands[i + 1], v + off)
        for i, off in reversed(rel):
            for v in list(cands[i + 1]):
                _add_value(cands[i], v - off)
    for c in cands:
        if not c:
            c.append(0.0)
    return cands


#: Fruitless backtracking steps allowed before a run is declared broken.
BACKTRACK_BUDGET = 60


def _assign_frames(
    czs: list[tuple[int, int]],
    slots: list[tuple[_Slot, _Slot]],
    chains: list[list[tuple[int, int]]],
    chain_runs: list[list[np.ndarray | None]],
) -> None:
    """Frames by arc consistency over (kind, φ) states, then depth-first assignment.

    Slots are assigned in circuit order, each assignment propagated by arc consistency; after
    :data:`BACKTRACK_BUDGET` fruitless backtracks the runs into the failing slot are dropped
    from the constraint set (genuine non-CNOT-phase gates between two CZs), which makes them
    region boundaries.
    """
    dom: dict[tuple[int, int], list[tuple[str, float]]] = {}
    nbrs: dict[tuple[int, int], list[tuple[tuple[int, int], np.ndarray, bool]]] = {}
    for chain, runs in zip(chains, chain_runs, strict=True):
        values = _chain_candidates(runs, len(chain))
        for i, key in enumerate(chain):
            dom[key] = [("C", 0.0), ("C", 1.0)] + [("T", v) for v in values[i]]
            nbrs.setdefault(key, [])
        for i, cls in enumerate(runs):
            if cls is not None:
                p, n = chain[i], chain[i + 1]
                nbrs[p].append((n, cls, True))  # p is the previous slot of the run
                nbrs[n].append((p, cls, False))

    cache: dict[tuple, bool] = {}

    def ok(run: np.ndarray, mine: tuple[str, float], other: tuple[str, float], mine_prev: bool):
        key = (id(run), mine, other, mine_prev)
        hit = cache.get(key)
        if hit is None:
            hit = _fits(run, mine, other) if mine_prev else _fits(run, other, mine)
            cache[key] = hit
        return hit

    def revise(d: dict, key: tuple[int, int]) -> list[tuple[int, int]] | None:
        """Filter key's domain against neighbours; return keys to revisit, None if emptied."""
        keep = []
        for st in d[key]:
            good = all(
                any(ok(cls, st, o, prev) for o in d[other]) for other, cls, prev in nbrs[key]
            )
            partner = (key[0], 1 - key[1])
            if good and st[0] == "T" and all(o[0] == "T" for o in d[partner]):
                good = False
            if good:
                keep.append(st)
        if not keep:
            return None
        if len(keep) == len(d[key]):
            return []
        d[key] = keep
        return [o for o, _, _ in nbrs[key]] + [(key[0], 1 - key[1])]

    def propagate(d: dict, queue: list[tuple[int, int]]) -> bool:
        seen = set(queue)
        while queue:
            key = queue.pop()
            seen.discard(key)
            more = revise(d, key)
            if more is None:
                return False
            for k in more:
                if k not in seen:
                    seen.add(k)
                    queue.append(k)
        return True

    def drop_links(key: tuple[int, int]) -> None:
        for other, _, _ in nbrs[key]:
            nbrs[other] = [e for e in nbrs[other] if e[0] != key]
        nbrs[key] = []

    # Initial consistency; a slot whose domain would empty loses its run constraints.
    keys = list(dom)
    for key in keys:
        if revise(dom, key) is None:
            drop_links(key)
    work = dict(dom)
    if not propagate(work, list(keys)):
        work = dict(dom)
    dom = work
    # Depth-first assignment in topological order, maintaining arc consistency; after
    # BACKTRACK_BUDGET fruitless backtracks the runs into the failing slot are dropped.
    order = [(g, side) for g in range(len(czs)) for side in (0, 1)]

    def attempt(d: dict, key: tuple[int, int], st: tuple[str, float]) -> dict | None:
        trial = dict(d)
        trial[key] = [st]
        queue = [o for o, _, _ in nbrs[key]] + [(key[0], 1 - key[1])]
        return trial if propagate(trial, queue) else None

    stack: list[tuple[int, dict, list, int]] = []
    failure: tuple[int, dict, list] | None = None
    budget = 0
    total_budget = 10 * len(order) + BACKTRACK_BUDGET  # keeps the search linear overall
    i = 0
    while i < len(order):
        if failure is not None and i > failure[0]:
            failure = None
        key = order[i]
        options = sorted(dom[key], key=lambda st: st[0] == "T")
        chosen = None
        for j, st in enumerate(options):
            trial = attempt(dom, key, st)
            if trial is not None:
                chosen = (j, trial)
                break
        if chosen is not None:
            stack.append((i, dom, options, chosen[0]))
            dom = chosen[1]
            i += 1
            continue
        if failure is None:
            failure = (i, dom, list(stack))
            budget = min(BACKTRACK_BUDGET, total_budget)
            total_budget -= budget
        resumed = False
        while stack and budget > 0 and not resumed:
            budget -= 1
            pi, pdom, popts, pj = stack.pop()
            for j in range(pj + 1, len(popts)):
                trial = attempt(pdom, order[pi], popts[j])
                if trial is not None:
                    stack.append((pi, pdom, popts, j))
                    dom, i, resumed = trial, pi + 1, True
                    break
        if resumed:
            continue
        i, dom, stack = failure
        failure = None
        drop_links(order[i])
        # Unconstrained now; a control never clashes with its partner, so no propagation.
        stack.append((i, dom, [("C", 0.0)], 0))
        dom = dict(dom)
        dom[order[i]] = [("C", 0.0)]
        i += 1
    for (gi, side), states in dom.items():
        slots[gi][side].kind, slots[gi][side].phi = states[0]


def _monomial_ops(m: np.ndarray) -> tuple[list[Gate], float]:
    """``P``/``X`` gates (in circuit order) and global phase for a monomial 2x2 matrix."""
    if abs(m[0, 1]) < _ATOL and abs(m[1, 0]) < _ATOL:
        theta = float(np.angle(m[1, 1] / m[0, 0]))
        return ([PhaseGate(theta)] if abs(theta) > 1e-12 else []), float(np.angle(m[0, 0]))
    theta = float(np.angle(m[0, 1] / m[1, 0]))
    ops: list[Gate] = [PhaseGate(theta)] if abs(theta) > 1e-12 else []
    return ops + [XGate()], float(np.angle(m[1, 0]))


def to_cnot_phase_form(dag: DAGCircuit) -> DAGCircuit:
    """Equivalent DAG whose CNOT-phase regions are ``cx``/``cz``/``p``/``x`` gates.

    Args:
        dag: a circuit of one- and two-qubit gates (any basis; other operations are kept and
            bound the regions).

    Returns:
        A new DAG over the same qubits and clbits with the same operator.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.converters import circuit_to_dag, dag_to_circuit
        >>> from qiskit.quantum_info import Operator
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.h(1); _ = qc.cz(0, 1); _ = qc.h(1); _ = qc.rz(0.3, 1)
        >>> _ = qc.h(1); _ = qc.cz(0, 1); _ = qc.h(1)
        >>> out = dag_to_circuit(to_cnot_phase_form(circuit_to_dag(qc)))
        >>> out.count_ops()["cx"], Operator(out).equiv(Operator(qc))
        (2, True)
    """
    index = {q: i for i, q in enumerate(dag.qubits)}
    items: list[tuple] = []
    global_phase = float(dag.global_phase) if not _is_param(dag.global_phase) else 0.0
    gp_param = dag.global_phase if _is_param(dag.global_phase) else None
    for node in dag.topological_op_nodes():
        m = _one_qubit_matrix(node)
        if m is not None:
            items.append(("u", index[node.qargs[0]], m))
            continue
        dressing = None
        if (
            len(node.qargs) == 2
            and not node.cargs
            and isinstance(node.op, Gate)
            and not node.op.is_parameterized()
            and getattr(node.op, "condition", None) is None
        ):
            dressing = cz_dressing(node.op)
        if dressing is None:
            items.append(("other", node))
            continue
        a0, b0, a1, b1, phase = dressing
        a, b = index[node.qargs[0]], index[node.qargs[1]]
        global_phase += phase
        items += [("u", a, a0), ("u", b, b0), ("cz", a, b), ("u", a, a1), ("u", b, b1)]

    # Pass 1: per-qubit chains of CZ slots and the runs between them.
    nq = len(dag.qubits)
    czs: list[tuple[int, int]] = []
    slots: list[tuple[_Slot, _Slot]] = []
    acc = [_I2.copy() for _ in range(nq)]
    chains: list[list[tuple[int, int]]] = []
    chain_runs: list[list[np.ndarray | None]] = []
    current: list[int | None] = [None] * nq  # index of the qubit's chain
    cut = [True] * nq  # an 'other' op since the last slot
    for item in items:
        if item[0] == "u":
            acc[item[1]] = item[2] @ acc[item[1]]
        elif item[0] == "cz":
            g = len(czs)
            czs.append((item[1], item[2]))
            slots.append((_Slot(), _Slot()))
            for side, q in enumerate((item[1], item[2])):
                if current[q] is None:
                    current[q] = len(chains)
                    chains.append([])
                    chain_runs.append([])
                else:
                    chain_runs[current[q]].append(None if cut[q] else acc[q])
                chains[current[q]].append((g, side))
                cut[q] = False
                acc[q] = _I2.copy()
        else:
            for qb in item[1].qargs:
                q = index[qb]
                cut[q] = True
                acc[q] = _I2.copy()

    # Pass 2: frames (arc consistency + depth-first assignment with forward propagation).
    _assign_frames(czs, slots, chains, chain_runs)

    # Pass 3: emit.
    out = dag.copy_empty_like()
    qubits = dag.qubits
    acc = [_I2.copy() for _ in range(nq)]
    gp = global_phase
    g = 0

    def flush(q: int, frame_dag: np.ndarray) -> float:
        """Emit ``frame_dag @ acc[q]`` as gates on qubit q; return its global phase."""
        m = frame_dag @ acc[q]
        acc[q] = _I2.copy()
        if is_monomial(m):
            ops, phase = _monomial_ops(m)
        else:
            theta, phi, lam, phase = _EULER.angles_and_phase(m)
            ops = [UGate(theta, phi, lam)]
        for op in ops:
            out.apply_operation_back(op, (qubits[q],), (), check=False)
        return phase

    for item in items:
        if item[0] == "u":
            acc[item[1]] = item[2] @ acc[item[1]]
        elif item[0] == "cz":
            a, b = item[1], item[2]
            sa, sb = slots[g]
            g += 1
            wa = frame_matrix(sa.kind, sa.phi)
            wb = frame_matrix(sb.kind, sb.phi)
            gp += flush(a, wa.conj().T)
            gp += flush(b, wb.conj().T)
            if sa.kind == "C" and sb.kind == "T":
                gate, wires, mat = CXGate(), (a, b), _CX_AB
            elif sa.kind == "T" and sb.kind == "C":
                gate, wires, mat = CXGate(), (b, a), _CX_BA
            else:
                gate, wires, mat = CZGate(), (a, b), _CZ
            out.apply_operation_back(gate, tuple(qubits[w] for w in wires), (), check=False)
            # CZ = K (W G W†) with K a product of one-qubit diagonals (exact bookkeeping).
            frame = np.kron(wb, wa)
            k = np.diag(_CZ @ (frame @ mat @ frame.conj().T).conj().T)
            acc[a] = np.diag([1.0, k[1] / k[0]]) @ wa
            acc[b] = np.diag([1.0, k[2] / k[0]]) @ wb
            gp += float(np.angle(k[0]))
        else:
            node = item[1]
            for qb in node.qargs:
                gp += flush(index[qb], _I2)
            out.apply_operation_back(node.op, node.qargs, node.cargs, check=False)
    for q in range(nq):
        if not np.allclose(acc[q], _I2, atol=1e-12):
            gp += flush(q, _I2)
    out.global_phase = gp if gp_param is None else gp_param + gp
    return out


def _is_param(value: object) -> bool:
    from qiskit.circuit import ParameterExpression

    return isinstance(value, ParameterExpression)


__all__ = ["classify_run", "cz_dressing", "to_cnot_phase_form"]
