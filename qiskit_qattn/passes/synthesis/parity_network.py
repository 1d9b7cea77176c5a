"""Connectivity-aware synthesis of CNOT-phase circuits (phase polynomials) on a coupling graph.

A CNOT-phase block maps ``|x> -> exp(i sum_p c_p (p.x)) |A x + b>``. Every parity ``p`` with a
non-zero angle must appear on some wire at some point, where a phase gate ``P(c_p)`` is applied.
CNOTs are only placed on graph edges, so routing is part of the synthesis instead of an
afterthought. Parities are tracked by their *wire sets*: ``R(p)`` is the set of wires whose
current values XOR to ``p``; a CNOT ``c -> t`` toggles ``c`` in every ``R(p)`` that contains
``t``. A greedy step takes the CNOT that completes most parities, then the one that most reduces
the summed Steiner-tree sizes of the pending wire sets (a GraySynth-like cost that sees the
graph), with a guaranteed-progress move when greedy stalls. The final linear map is made with
Steiner-Gauss elimination, optionally up to an output permutation (absorbed by the caller into
the layout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .graph import EXACT_CLOSURE_MAX_WIRES, WireGraph
from .linear import synthesize_linear

#: Angles below this (mod 2π) are treated as zero.
ANGLE_ATOL = 1e-10


@dataclass
class CnotPhaseCircuit:
    """A synthesized CNOT-phase block.

    Attributes:
        ops: ``("cx", control, target)``, ``("p", wire, angle)`` or ``("x", wire)`` in order.
        output_wires: ``output_wires[j]`` is the wire holding target output ``j`` at the end.
        global_phase: phase to add to the enclosing circuit.
    """

    ops: list[tuple] = field(default_factory=list)
    output_wires: list[int] = field(default_factory=list)
    global_phase: float = 0.0

    @property
    def cx_count(self) -> int:
        """Number of CNOTs."""
        return sum(1 for op in self.ops if op[0] == "cx")


def wrap_angle(theta: float) -> float:
    """Angle mapped into ``(-π, π]``."""
    t = float(np.mod(theta + np.pi, 2 * np.pi) - np.pi)
    return np.pi if t <= -np.pi + 1e-15 else t


def drop_small_terms(
    terms: Mapping[int, float], budget: float
) -> tuple[dict[int, float], float]:
    """Drop the smallest phase terms while the sum of their |angles| fits ``budget``.

    The dropped total bounds the operator-norm change of the phase polynomial.

    Example:
        >>> kept, used = drop_small_terms({1: 0.01, 2: 0.5, 3: -0.02}, 0.05)
        >>> kept, round(used, 12)
        ({2: 0.5}, 0.03)
    """
    if budget <= 0 or not terms:
        return dict(terms), 0.0
    keep, used = dict(terms), 0.0
    for mask, angle in sorted(terms.items(), key=lambda kv: abs(wrap_angle(kv[1]))):
        size = abs(wrap_angle(angle))
        if used + size > budget:
            break
        used += size
        del keep[mask]
    return keep, used


def synthesize_cnot_phase(
    graph: WireGraph,
    terms: Mapping[int, float],
    linear: Sequence[int] | None = None,
    constants: Sequence[int] | None = None,
    *,
    free_permutation: bool = False,
) -> CnotPhaseCircuit:
    """CNOT + phase circuit on ``graph`` implementing a phase polynomial and an affine map.

    Args:
        graph: connected coupling graph of the block's wires ``0..n-1``.
        terms: ``{parity mask: angle}``; the block multiplies ``|x>`` by
            ``exp(i * angle * parity(x))`` for every term (``parity(x) = popcount(mask & x) % 2``).
        linear: output parities ``A`` (row masks, default identity).
        constants: output bit flips ``b`` (default zeros).
        free_permutation: let outputs end on permuted wires (see ``output_wires``).

    Returns:
        The circuit as a list of operations.

    Example:
        >>> g = WireGraph(3, [(0, 1), (1, 2)])
        >>> net = synthesize_cnot_phase(g, {0b101: 0.3})   # exp(0.3 i (x0 ^ x2))
        >>> net.cx_count, net.output_wires
        (6, [0, 1, 2])
    """
    n = graph.num_wires
    full = (1 << n) - 1
    if linear is None:
        linear = [1 << i for i in range(n)]
    if constants is None:
        constants = [0] * n
    if len(linear) != n or len(constants) != n:
        raise ValueError(f"linear and constants must have {n} entries")
    pending: dict[int, float] = {}
    for mask, angle in terms.items():
        mask = int(mask)
        if mask <= 0 or mask & ~full:
            raise ValueError(f"terms must be non-zero parity masks over {n} wires; got {mask}")
        a = wrap_angle(float(angle))
        if abs(a) > ANGLE_ATOL:
            pending[mask] = a
    ops: list[tuple] = []
    state = [1 << i for i in range(n)]  # parity held by each wire
    # Pending parities as wire-set masks R(p) (the state is the identity at the start).
    masks = np.array(list(pending), dtype=np.int64)
    angles = np.array([pending[int(m)] for m in masks], dtype=float)
    single = np.array([1 << i for i in range(n)], dtype=np.int64)

    def emit_phases(ms: np.ndarray, an: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        done = (ms & (ms - 1)) == 0
        for m, a in zip(ms[done], an[done], strict=True):
            ops.append(("p", int(m).bit_length() - 1, float(a)))
        return ms[~done], an[~done]

    def cost_of(ms: np.ndarray) -> int:
        if n <= EXACT_CLOSURE_MAX_WIRES:
            return int(graph.steiner_table[ms].sum())
        return int(sum(graph.steiner_edges(int(m)) for m in ms))

    masks, angles = emit_phases(masks, angles)
    while len(masks):
        cost_now = cost_of(masks)
        best_key, best_move, best_new = None, None, None
        for c, t in graph.directed_edges:
            sel = (masks >> t) & 1
            if not sel.any():
                continue
            new = np.where(sel == 1, masks ^ single[c], masks)
            hits = int(((new & (new - 1)) == 0).sum())
            key = (-hits, cost_of(new))
            if best_key is None or key < best_key:
                best_key, best_move, best_new = key, (c, t), new
        if best_key is None or (best_key[0] == 0 and best_key[1] >= cost_now):
            # Greedy stalled: finish the cheapest pending parity along its Steiner tree.
            goal = int(masks[int(np.argmin([graph.steiner_edges(int(m)) for m in masks]))])
            while goal & (goal - 1):
                c, t = _progress_move(graph, goal)
                ops.append(("cx", c, t))
                state[t] ^= state[c]
                if goal >> t & 1:
                    goal ^= 1 << c
                sel = (masks >> t) & 1
                masks, angles = emit_phases(np.where(sel == 1, masks ^ single[c], masks), angles)
            continue
        c, t = best_move
        ops.append(("cx", c, t))
        state[t] ^= state[c]
        masks, angles = emit_phases(best_new, angles)
    cleanup, out = synthesize_linear(state, list(linear), graph, free_permutation=free_permutation)
    if list(linear) == [1 << i for i in range(n)]:
        # Undoing the network's CNOTs in reverse order also restores the identity.
        mirror = [(op[1], op[2]) for op in reversed(ops) if op[0] == "cx"]
        if len(mirror) < len(cleanup):
            cleanup, out = mirror, list(range(n))
    ops.extend(("cx", c, t) for c, t in cleanup)
    for j, flip in enumerate(constants):
        if flip:
            ops.append(("x", out[j]))
    return CnotPhaseCircuit(ops=ops, output_wires=out)


def _progress_move(graph: WireGraph, m: int) -> tuple[int, int]:
    """A CNOT that brings wire set ``m`` one step closer to a single wire."""
    if graph.is_connected(m):
        # Fold a leaf of a spanning tree of R(p) into its neighbour: |R(p)| shrinks by one.
        leaf = graph.leaf(m)
        nbr = next(v for v in graph.adjacency[leaf] if m >> v & 1)
        return leaf, nbr
    # Otherwise pull a Steiner wire of the closure into R(p) next to a member.
    closure = graph.closure(m)
    for t in range(graph.num_wires):
        if m >> t & 1:
            for c in graph.adjacency[t]:
                if closure >> c & 1 and not m >> c & 1:
                    return c, t
    raise RuntimeError("coupling graph of the block is not connected")  # pragma: no cover
