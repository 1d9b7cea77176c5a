"""CNOT synthesis of linear reversible maps on a coupling graph (Steiner-Gauss, row-column).

Matrices over GF(2) are lists of ``int`` row masks: row ``w`` is the parity that wire ``w``
holds, bit ``j`` set when input variable ``j`` takes part. A CNOT ``(c, t)`` adds row ``c`` into
row ``t``. Each pivot is a non-cut wire of the remaining graph; its column is cleared along a
Steiner tree, then its row (a column step on the inverse transpose), as in Kissinger & Meijer-van
de Griend's and Wu et al.'s architecture-aware elimination.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .graph import WireGraph

Ops = list[tuple[int, int]]


def gf2_inverse(rows: Sequence[int], n: int) -> list[int]:
    """Inverse of an invertible ``n x n`` GF(2) matrix given as row masks.

    Example:
        >>> gf2_inverse([0b11, 0b10], 2)
        [3, 2]
    """
    a = list(rows)
    inv = [1 << i for i in range(n)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r] >> col & 1), None)
        if pivot is None:
            raise ValueError("matrix is singular over GF(2)")
        a[col], a[pivot] = a[pivot], a[col]
        inv[col], inv[pivot] = inv[pivot], inv[col]
        for r in range(n):
            if r != col and a[r] >> col & 1:
                a[r] ^= a[col]
                inv[r] ^= inv[col]
    return inv


def gf2_transpose(rows: Sequence[int], n: int) -> list[int]:
    """Transpose of an ``n x n`` GF(2) matrix of row masks."""
    return [sum(((rows[r] >> c) & 1) << r for r in range(n)) for c in range(n)]


def gf2_multiply(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """Product ``a @ b`` of GF(2) matrices (row masks)."""
    out = []
    for row in a:
        acc, j = 0, 0
        while row:
            if row & 1:
                acc ^= b[j]
            row >>= 1
            j += 1
        out.append(acc)
    return out


def _column_step(m: list[int], v: int, graph: WireGraph, allowed: int, emit) -> None:
    """Row-add along a Steiner tree so that column ``v`` of ``m`` becomes ``e_v`` (in allowed)."""
    ones = 0
    for r in range(graph.num_wires):
        if allowed >> r & 1 and m[r] >> v & 1 and r != v:
            ones |= 1 << r
    if not ones:
        return
    tree = graph.steiner_tree(v, ones, allowed)
    for parent, child in reversed(tree):
        if not m[parent] >> v & 1 and m[child] >> v & 1:
            emit(child, parent)
    for parent, child in reversed(tree):
        if m[child] >> v & 1:
            emit(parent, child)


def steiner_gauss(rows: Sequence[int], graph: WireGraph) -> Ops:
    """CNOTs on ``graph`` edges that reduce ``rows`` to the identity.

    Args:
        rows: invertible GF(2) matrix (row masks) on ``graph.num_wires`` wires.
        graph: connected coupling graph.

    Returns:
        ``[(control, target), ...]``; applying them in order as row additions to ``rows`` gives
        the identity, so their reversed sequence implements ``rows`` from the identity.

    Example:
        >>> g = WireGraph(3, [(0, 1), (1, 2)])
        >>> ops = steiner_gauss([0b001, 0b010, 0b101], g)  # wire 2 holds x0 ^ x2
        >>> m = [0b001, 0b010, 0b101]
        >>> for c, t in ops: m[t] ^= m[c]
        >>> m, all((min(c, t), max(c, t)) in g.edges for c, t in ops)
        ([1, 2, 4], True)
    """
    n = graph.num_wires
    m = list(rows)
    if len(m) != n:
        raise ValueError(f"rows must have {n} entries; got {len(m)}")
    ops: Ops = []
    remaining = (1 << n) - 1

    def emit_m(c: int, t: int) -> None:
        m[t] ^= m[c]
        ops.append((c, t))

    while remaining:
        v = graph.leaf(remaining)
        _column_step(m, v, graph, remaining, emit_m)
        nt = gf2_transpose(gf2_inverse(m, n), n)

        def emit_nt(c: int, t: int, nt=nt) -> None:
            nt[t] ^= nt[c]
            emit_m(t, c)

        _column_step(nt, v, graph, remaining, emit_nt)
        remaining &= ~(1 << v)
    if any(m[i] != 1 << i for i in range(n)):  # pragma: no cover - guarded by the algebra
        raise RuntimeError("Steiner-Gauss elimination did not reach the identity")
    return ops


def greedy_reduce(rows: Sequence[int], graph: WireGraph) -> tuple[Ops, list[int]]:
    """CNOTs on graph edges that lower the total row weight while they can (greedy)."""
    m = list(rows)
    ops: Ops = []
    while True:
        best, gain = None, 0
        for c, t in graph.directed_edges:
            g = m[t].bit_count() - (m[t] ^ m[c]).bit_count()
            if g > gain:
                best, gain = (c, t), g
        if best is None:
            return ops, m
        c, t = best
        m[t] ^= m[c]
        ops.append(best)


def _best_reduction(rows: Sequence[int], graph: WireGraph) -> Ops:
    """The shorter of plain Steiner-Gauss and greedy weight reduction followed by it."""
    plain = steiner_gauss(rows, graph)
    ops, rest = greedy_reduce(rows, graph)
    mixed = ops + steiner_gauss(rest, graph)
    return mixed if len(mixed) < len(plain) else plain


def synthesize_linear(
    current: Sequence[int],
    target: Sequence[int],
    graph: WireGraph,
    *,
    free_permutation: bool = False,
) -> tuple[Ops, list[int]]:
    """CNOTs taking wire parities ``current`` to ``target`` (optionally up to a wire permutation).

    Args:
        current: parities the wires hold now (row masks over input variables).
        target: parities wanted; ``target[j]`` must end on wire ``out[j]``.
        graph: connected coupling graph on the wires.
        free_permutation: allow ``out`` to be any permutation (else the identity).

    Returns:
        ``(ops, out)``: CNOTs ``(control, target)`` in circuit order and the wire of every target
        row.

    Example:
        >>> g = WireGraph(2, [(0, 1)])
        >>> synthesize_linear([0b01, 0b11], [0b01, 0b10], g)
        ([(0, 1)], [0, 1])
    """
    n = graph.num_wires
    # Row ops E with E @ current = P @ target  <=>  E @ x = P for x = current @ target^-1.
    x = gf2_multiply(current, gf2_inverse(target, n))
    options: list[tuple[Ops, list[int]]] = []
    if free_permutation and n > 1:
        ops, rest = greedy_reduce(x, graph)
        if sorted(rest) == [1 << i for i in range(n)]:
            options.append((ops, [r.bit_length() - 1 for r in rest]))
        cost = np.array(
            [[((x[w] ^ (1 << j)).bit_count()) for j in range(n)] for w in range(n)], dtype=float
        )
        _, cols = linear_sum_assignment(cost)
        candidates = [list(range(n)), [int(c) for c in cols]]
    else:
        candidates = [list(range(n))]
    for wire_to_row in candidates:
        # Want E x = P with P[w] = e_{wire_to_row[w]}; eliminate x P^-1 (column permutation).
        xp = [sum(((row >> wire_to_row[k]) & 1) << k for k in range(n)) for row in x]
        options.append((_best_reduction(xp, graph), list(wire_to_row)))
    ops, wire_to_row = min(options, key=lambda o: len(o[0]))
    out = [0] * n
    for w, j in enumerate(wire_to_row):
        out[j] = w
    return ops, out
