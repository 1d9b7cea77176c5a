"""Small coupling graphs: adjacency, connected closures and Steiner trees on a few qubits.

The synthesis routines in this package work on the handful of physical qubits one block touches,
relabelled ``0..n-1``. Graphs here are undirected (direction is fixed later by ``GateDirection``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import cached_property

import numpy as np

#: Largest wire count for which exact connected-closure tables (2**n entries) are built.
EXACT_CLOSURE_MAX_WIRES = 14


class WireGraph:
    """Undirected graph on wires ``0..n-1`` with cached closure tables.

    Args:
        num_wires: number of wires ``n >= 1``.
        edges: undirected edges ``(u, v)`` with ``u != v``; ``None`` means all-to-all.

    Example:
        >>> g = WireGraph(3, [(0, 1), (1, 2)])
        >>> g.steiner_edges(0b101), g.is_connected()
        (2, True)
    """

    def __init__(self, num_wires: int, edges: Iterable[tuple[int, int]] | None = None) -> None:
        if num_wires < 1:
            raise ValueError(f"num_wires must be >= 1; got {num_wires!r}")
        self.num_wires = int(num_wires)
        if edges is None:
            edges = [(u, v) for u in range(num_wires) for v in range(u + 1, num_wires)]
        adj: list[set[int]] = [set() for _ in range(num_wires)]
        for u, v in edges:
            u, v = int(u), int(v)
            if not (0 <= u < num_wires and 0 <= v < num_wires) or u == v:
                raise ValueError(
                    f"edges must join distinct wires in 0..{num_wires - 1}; got {(u, v)}"
                )
            adj[u].add(v)
            adj[v].add(u)
        self.adjacency = [sorted(a) for a in adj]
        self.edges = sorted({(min(u, v), max(u, v)) for u in range(num_wires) for v in adj[u]})
        self.directed_edges = [(u, v) for u, v in self.edges] + [(v, u) for u, v in self.edges]

    def is_connected(self, mask: int | None = None) -> bool:
        """Whether the wires in ``mask`` (default: all) induce a connected subgraph."""
        if mask is None:
            mask = (1 << self.num_wires) - 1
        if mask == 0:
            return False
        start = (mask & -mask).bit_length() - 1
        seen = 1 << start
        stack = [start]
        while stack:
            u = stack.pop()
            for v in self.adjacency[u]:
                if mask >> v & 1 and not seen >> v & 1:
                    seen |= 1 << v
                    stack.append(v)
        return seen == mask

    @cached_property
    def _closure(self) -> tuple[np.ndarray, np.ndarray]:
        """For every mask: size of and a smallest connected superset (exact, superset DP)."""
        n = self.num_wires
        size = 1 << n
        best = np.full(size, n + 1, dtype=np.int64)
        arg = np.zeros(size, dtype=np.int64)
        for mask in range(1, size):
            if self.is_connected(mask):
                best[mask] = mask.bit_count()
                arg[mask] = mask
        masks = np.arange(size)
        for bit in range(n):
            step = 1 << bit
            low = masks[(masks & step) == 0]
            better = best[low | step] < best[low]
            best[low[better]] = best[low[better] | step]
            arg[low[better]] = arg[low[better] | step]
        best[0] = 0
        return best, arg

    @cached_property
    def steiner_table(self) -> np.ndarray:
        """``table[mask]`` = edges of a minimal tree spanning ``mask`` (``n <= 14``)."""
        best, _ = self._closure
        return np.maximum(best - 1, 0)

    def closure(self, mask: int) -> int:
        """A smallest connected set of wires containing ``mask`` (exact for small graphs)."""
        if mask == 0:
            return 0
        if self.num_wires <= EXACT_CLOSURE_MAX_WIRES:
            return int(self._closure[1][mask])
        return self._path_closure(mask)

    def steiner_edges(self, mask: int) -> int:
        """Edges of a (near-)minimal tree spanning ``mask``."""
        if self.num_wires <= EXACT_CLOSURE_MAX_WIRES:
            return int(self.steiner_table[mask])
        return max(self._path_closure(mask).bit_count() - 1, 0)

    def _bfs_parents(self, root: int, allowed: int) -> dict[int, int]:
        parents = {root: -1}
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for v in self.adjacency[u]:
                if allowed >> v & 1 and v not in parents:
                    parents[v] = u
                    queue.append(v)
        return parents

    def _path_closure(self, mask: int, allowed: int | None = None) -> int:
        """Union of shortest paths joining the terminals one by one (an approximation)."""
        if allowed is None:
            allowed = (1 << self.num_wires) - 1
        terminals = [i for i in range(self.num_wires) if mask >> i & 1]
        tree = 1 << terminals[0]
        for t in terminals[1:]:
            if tree >> t & 1:
                continue
            parents = self._bfs_parents(t, allowed)
            reachable = [i for i in range(self.num_wires) if tree >> i & 1 and i in parents]
            if not reachable:
                raise ValueError("terminals are not connected within the allowed wires")
            u = min(reachable, key=lambda i: self._depth(parents, i))
            while u != -1:
                tree |= 1 << u
                u = parents[u]
        return tree

    @staticmethod
    def _depth(parents: dict[int, int], node: int) -> int:
        d = 0
        while parents[node] != -1:
            node = parents[node]
            d += 1
        return d

    def steiner_tree(
        self, root: int, terminals: int, allowed: int | None = None
    ) -> list[tuple[int, int]]:
        """Tree edges ``(parent, child)`` in BFS order from ``root`` spanning ``terminals``.

        Only wires in ``allowed`` (default: all) are used; non-terminal leaves are pruned, so
        every leaf is a terminal (or the root).
        """
        full = (1 << self.num_wires) - 1
        allowed = full if allowed is None else allowed
        want = terminals | (1 << root)
        mask = self.closure(want)
        if mask & ~allowed:
            mask = self._path_closure(want, allowed)
        parents = self._bfs_parents(root, mask)
        order = list(parents)
        children: dict[int, list[int]] = {u: [] for u in order}
        for u in order[1:]:
            children[parents[u]].append(u)
        keep = {u: bool(terminals >> u & 1) or u == root for u in order}
        for u in reversed(order):
            if any(keep[c] for c in children[u]):
                keep[u] = True
        return [(parents[u], u) for u in order[1:] if keep[u]]

    def leaf(self, allowed: int) -> int:
        """A wire of ``allowed`` whose removal keeps the rest connected (a BFS-tree leaf)."""
        start = (allowed & -allowed).bit_length() - 1
        return list(self._bfs_parents(start, allowed))[-1]
